//! What the console's browser tests share (`crates/cli/tests/browser.rs` on `opsbell serve`,
//! `tests/tests/acceptance/console_browser.rs` on the console Lambda): Chromium over WebDriver,
//! the OIDC provider, signing in, waiting for pages, screenshots.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// The workspace's root (where `Cargo.lock` is), whichever crate's test this is.
pub fn workspace() -> PathBuf {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    while !dir.join("Cargo.lock").exists() {
        dir = dir
            .parent()
            .expect("a workspace above the crate")
            .to_path_buf();
    }
    dir
}

/// A child process that is killed with the test.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The first line of `child`'s standard output that `pick` finds something in. The rest is
/// read on (and dropped) by a thread: a closed pipe would end the child at its next line.
pub fn read_line<T: Send + 'static>(
    child: &mut Child,
    what: &str,
    pick: impl Fn(&str) -> Option<T> + Send + 'static,
) -> T {
    let out = child.stdout.take().unwrap();
    let (found, first) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(out).lines().map_while(Result::ok);
        for line in lines.by_ref() {
            if let Some(value) = pick(&line) {
                let _ = found.send(value);
                break;
            }
        }
        lines.for_each(drop);
    });
    first
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("{what} did not start"))
}

/// The OIDC provider, its issuer, and the file its clients are read from.
pub struct Provider {
    _proc: Proc,
    pub issuer: String,
    pub clients: PathBuf,
}

pub fn provider(dir: &Path) -> Provider {
    let clients = dir.join("clients.json");
    std::fs::write(&clients, "[]").unwrap();
    let mut child = Command::new("node")
        .arg(workspace().join("scripts/oidc/provider.mjs"))
        .env("CLIENTS_FILE", &clients)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node (scripts/test.sh installs the provider)");
    let issuer = read_line(&mut child, "the OIDC provider", |l| {
        serde_json::from_str::<Value>(l).ok()?["issuer"]
            .as_str()
            .map(str::to_string)
    });
    Provider {
        _proc: Proc(child),
        issuer,
        clients,
    }
}

pub const CLIENT_SECRET: &str = "browser-test-client-secret-0123456789";

/// A headless Chromium with `language` first in Accept-Language.
pub async fn browser(dir: &Path, language: &str) -> (Proc, Client) {
    let mut driver = Command::new("chromedriver")
        .arg("--port=0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver (scripts/test.sh installs chromium-driver)");
    let port: u16 = read_line(&mut driver, "chromedriver", |l| {
        l.split("started successfully on port ")
            .nth(1)?
            .trim_end_matches('.')
            .parse()
            .ok()
    });
    let profile = dir.join(format!("profile-{language}-{}", fastrand_suffix()));
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1100,900",
        &format!("--lang={language}"),
        &format!("--user-data-dir={}", profile.display()),
    ];
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({ "binary": "/usr/bin/chromium", "args": args, "prefs": { "intl.accept_languages": language } }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let client = ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a WebDriver session in Chromium");
    (Proc(driver), client)
}

pub fn fastrand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

pub async fn shot(client: &Client, name: &str) {
    let dir = workspace().join("target/console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = client.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

pub async fn text(client: &Client) -> String {
    let body = client
        .wait()
        .for_element(Locator::Css("body"))
        .await
        .unwrap();
    body.text().await.unwrap()
}

/// Clicks what `css` finds and waits for the page it loads (the old one gone stale).
pub async fn click_and_load(client: &Client, css: &str) {
    let old = client.find(Locator::Css("html")).await.unwrap();
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    for _ in 0..200 {
        if old.tag_name().await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    client
        .wait()
        .for_element(Locator::Css("body"))
        .await
        .unwrap();
}

/// Signs in at the provider's login form as `email`, from wherever the console sent us.
pub async fn sign_in(client: &Client, console: &str, email: &str) {
    client.goto(&format!("{console}/")).await.unwrap();
    let login = client
        .wait()
        .for_element(Locator::Css("input[name=login]"))
        .await
        .unwrap();
    login.send_keys(email).await.unwrap();
    client
        .find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys("any")
        .await
        .unwrap();
    click_and_load(client, "button[type=submit]").await;
    for _ in 0..100 {
        if client
            .current_url()
            .await
            .unwrap()
            .as_str()
            .starts_with(console)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "not back at the console: {}",
        client.current_url().await.unwrap()
    );
}

/// Waits until the page at `path` (reloaded) contains `what`.
pub async fn until_page_says(client: &Client, url: &str, what: &str) -> String {
    let mut body = String::new();
    for _ in 0..50 {
        client.goto(url).await.unwrap();
        body = text(client).await;
        if body.contains(what) {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{url} never said {what:?}:\n{body}");
}
