//! Untrusted text made safe for each vendor's markup, then fitted to the vendor's limits.
//!
//! Job names, error text and alarm reasons are written by robots and strangers. Each vendor
//! gets its own escape ([`slack`], [`html`], [`chatwork`], [`brackets`]); the cut comes after
//! it, counted in the escaped text, on a whole escape: never inside `&lt;`, never past the
//! limit because `<` became four characters.

/// What a cut leaves at its end.
pub const CUT: &str = " …(truncated)";

/// Slack mrkdwn: `&`, `<`, `>` as entities, so no `<@U…>`, `<!channel>` or `<url|text>` can
/// form. <https://api.slack.com/reference/surfaces/formatting#escaping>
pub fn slack(c: char, out: &mut String) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        c => out.push(c),
    }
}

/// Card text (Google Chat's HTML subset): `&`, `<`, `>` as entities.
/// <https://developers.google.com/workspace/chat/format-messages#card-formatting>
pub fn html(c: char, out: &mut String) {
    slack(c, out)
}

/// Google Chat message text, which has no escape: `<users/…>` mentions and `<url|label>`
/// links need `<`, so `<` and `>` become their full-width forms (＜ ＞), which read the same
/// and parse as nothing. <https://developers.google.com/workspace/chat/format-messages>
pub fn chat_text(c: char, out: &mut String) {
    match c {
        '<' => out.push('＜'),
        '>' => out.push('＞'),
        c => out.push(c),
    }
}

/// Chatwork's notation is tags in square brackets (`[toall]`, `[To:1]`, `[rp aid=…]`,
/// `[info]`, `[/info]`, `[code]`), with no escape: brackets become full-width (［ ］).
/// <https://developer.chatwork.com/docs/message-notation>
pub fn chatwork(c: char, out: &mut String) {
    brackets(c, out)
}

/// Square brackets as full-width (［ ］): Markdown links (`[text](url)`), Backlog notation
/// links (`[[text>url]]`) and Adaptive Card Markdown links cannot form.
pub fn brackets(c: char, out: &mut String) {
    match c {
        '[' => out.push('［'),
        ']' => out.push('］'),
        c => out.push(c),
    }
}

/// Adaptive Card Markdown (Teams): brackets as [`brackets`], and `<` `>` full-width, so no
/// `<at>` mention or HTML can form.
pub fn teams(c: char, out: &mut String) {
    match c {
        '<' => out.push('＜'),
        '>' => out.push('＞'),
        c => brackets(c, out),
    }
}

/// `s` escaped, whole.
pub fn escape(s: &str, escape: fn(char, &mut String)) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        escape(c, &mut out);
    }
    out
}

/// `s` escaped, then cut to at most `max` characters counted in the escaped text, on a whole
/// escape, ending with [`CUT`] when it was cut.
pub fn escape_fit(s: &str, max: usize, escape: fn(char, &mut String)) -> String {
    let whole = self::escape(s, escape);
    if whole.len() <= max || whole.chars().count() <= max {
        return whole;
    }
    let room = max.saturating_sub(CUT.chars().count());
    let (mut out, mut used, mut piece) = (String::new(), 0, String::new());
    for c in s.chars() {
        piece.clear();
        escape(c, &mut piece);
        let n = piece.chars().count();
        if used + n > room {
            break;
        }
        out.push_str(&piece);
        used += n;
    }
    out.push_str(CUT);
    out
}

/// The longest prefix of `s` of at most `max` bytes, on a character boundary.
pub fn prefix_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cut_counts_escaped_characters_and_never_splits_an_escape() {
        let s = "<&>".repeat(100);
        for max in 20..60 {
            let fitted = escape_fit(&s, max, slack);
            assert!(fitted.chars().count() <= max, "{max}: {fitted}");
            let body = fitted.strip_suffix(CUT).unwrap();
            assert!(body.ends_with(';'), "{max}: {body}");
        }
        assert_eq!(escape_fit("a<b", 10, slack), "a&lt;b");
        let cjk = "障害が発生しました".repeat(10);
        assert_eq!(escape_fit(&cjk, 100, slack), cjk);
        assert!(escape_fit(&cjk, 30, slack).chars().count() <= 30);
    }

    #[test]
    fn vendor_tokens_cannot_form() {
        let s = "[toall][To:1][rp aid=1 to=2-3][/info]";
        let out = escape(s, chatwork);
        assert!(!out.contains('[') && !out.contains(']'), "{out}");
        assert_eq!(escape("<users/all>", chat_text), "＜users/all＞");
        assert_eq!(escape("[x](http://e)", teams), "［x］(http://e)");
        assert_eq!(escape("<at>x</at>", teams), "＜at＞x＜/at＞");
    }
}
