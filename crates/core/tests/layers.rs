//! The layering of `opsbell-core` (README, "Layers"), checked on its sources: every top-level
//! module imports only from its own layer or the layers below, and no two modules import each
//! other, directly or through others.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Bottom to top. A module may use modules of its own layer (without a cycle) and below.
const LAYERS: [&[&str]; 6] = [
    // leaves
    &[
        "event",
        "time",
        "locale",
        "problem",
        "ports",
        "http",
        "signature",
        "state",
    ],
    // the domain
    &[
        "source",
        "route",
        "render",
        "oncall",
        "silence",
        "heartbeat",
        "access",
    ],
    // the adapters
    &["notify", "client"],
    &["config"],
    // the flows
    &["ingest", "fanout", "poll", "chat", "escalation", "console"],
    // the composition root
    &["build"],
];

/// Test support, compiled only for tests (the `test-util` feature): free to use anything.
const SUPPORT: [&str; 3] = ["testing", "contract", "never_panic"];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to (`notify/slack.rs` → `notify`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next().unwrap().as_os_str();
    first.to_string_lossy().trim_end_matches(".rs").to_string()
}

/// Whether the file is test code: a `tests.rs`, `testkit.rs`, or anything under one.
fn is_test_file(src: &Path, file: &Path) -> bool {
    let rel = file.strip_prefix(src).unwrap();
    rel.components().any(|c| {
        let name = c.as_os_str().to_string_lossy();
        name == "tests.rs" || name == "tests" || name == "testkit.rs"
    })
}

/// The top-level modules `text` names through `crate::`, outside comments and inline tests.
fn imports(text: &str) -> BTreeSet<String> {
    let code = text
        .split("#[cfg(test)]\nmod tests {")
        .next()
        .unwrap_or_default();
    let code: Vec<&str> = code
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect();
    let code = code.join("\n");
    let mut found = BTreeSet::new();
    {
        let mut rest = code.as_str();
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                // `crate::{a::X, b::{Y, Z}}`: the first segment of each top-level item.
                let (mut depth, mut item_start) = (0usize, true);
                for (i, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => item_start = true,
                        c if item_start && depth == 0 && (c.is_alphanumeric() || c == '_') => {
                            found.insert(identifier(&group[i..]));
                            item_start = false;
                        }
                        _ => {}
                    }
                }
                continue;
            }
            found.insert(identifier(rest));
        }
    }
    found.retain(|m| !m.is_empty() && m != "self");
    found
}

fn identifier(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let module = module_of(&src, &file);
        if module == "lib" || SUPPORT.contains(&module.as_str()) || is_test_file(&src, &file) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let uses: Vec<String> = imports(&text)
            .into_iter()
            .filter(|m| *m != module)
            .collect();
        graph.entry(module).or_default().extend(uses);
    }
    graph
}

#[test]
fn every_module_has_a_layer() {
    let unplaced: Vec<String> = graph()
        .into_keys()
        .filter(|m| layer_of(m).is_none())
        .collect();
    assert!(
        unplaced.is_empty(),
        "modules missing from LAYERS: {unplaced:?}"
    );
}

#[test]
fn modules_import_only_downward() {
    let mut upward = Vec::new();
    for (module, uses) in graph() {
        let Some(own) = layer_of(&module) else {
            continue;
        };
        for used in uses {
            if SUPPORT.contains(&used.as_str()) {
                upward.push(format!("{module} -> {used} (test support)"));
            } else if layer_of(&used).is_some_and(|l| l > own) {
                upward.push(format!("{module} -> {used}"));
            }
        }
    }
    assert!(upward.is_empty(), "imports that go up: {upward:#?}");
}

#[test]
fn no_import_cycle() {
    let graph = graph();
    // Depth-first search for a back edge; reports the cycle it closes.
    fn visit(
        m: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == m) {
            let mut cycle = path[at..].to_vec();
            cycle.push(m.to_string());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_string());
        for next in graph.get(m).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        let cycle = visit(module, &graph, &mut Vec::new(), &mut done);
        assert!(
            cycle.is_none(),
            "import cycle: {}",
            cycle.unwrap().join(" -> ")
        );
    }
}

#[test]
fn the_reader_sees_grouped_and_inline_imports() {
    let text = "use crate::{\n    event::Event,\n    ports::{Queue, Records},\n};\nfn f() { crate::state::Space::partition(\"b\"); }\n// crate::build is only named in a comment\n";
    let found: Vec<String> = imports(text).into_iter().collect();
    assert_eq!(found, ["event", "ports", "state"]);
}
