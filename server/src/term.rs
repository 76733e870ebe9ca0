//! Text for a terminal: what the command line prints that came from the cluster or a registry
//! (event and termination messages, registry errors) has its control characters escaped, so an
//! escape sequence in a pod's message cannot rewrite the admin's terminal (set its title, clear
//! lines, move the cursor).
//!
//! Control characters are C0 (U+0000–U+001F), DEL (U+007F) and C1 (U+0080–U+009F, which some
//! terminals read as 8-bit escapes). Each is written as `\u{…}` (`\n`, `\r`, `\t` as themselves
//! escaped), so support still sees what the cluster said.

use app::status::StatusDocument;
use std::borrow::Cow;

fn is_control(c: char) -> bool {
    c.is_control() // C0, DEL and C1: exactly the Unicode general category Cc
}

fn escape(text: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(|c| is_control(c) && !keep(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            c if !is_control(c) || keep(c) => out.push(c),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    Cow::Owned(out)
}

/// One value on one line: every control character escaped, line breaks included.
pub fn field(text: &str) -> Cow<'_, str> {
    escape(text, |_| false)
}

/// Text of several lines: every control character escaped but line breaks and tabs.
pub fn lines(text: &str) -> Cow<'_, str> {
    escape(text, |c| c == '\n' || c == '\t')
}

/// The document with every string in it made a safe [`field`]: for text output only (JSON
/// output escapes control characters itself and keeps the data as it is).
pub fn document(doc: &StatusDocument) -> StatusDocument {
    fn walk(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::String(s) => {
                if let Cow::Owned(safe) = field(s) {
                    *s = safe;
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            serde_json::Value::Object(map) => map.values_mut().for_each(walk),
            _ => {}
        }
    }
    let Ok(mut value) = serde_json::to_value(doc) else {
        return doc.clone();
    };
    walk(&mut value);
    serde_json::from_value(value).unwrap_or_else(|_| doc.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn escape_sequences_are_shown_not_obeyed() {
        let title = "pulling\u{1b}]0;owned\u{7}done";
        assert_eq!(field(title), "pulling\\u{1b}]0;owned\\u{7}done");
        let clear = "ok\u{1b}[2K\rLogin ready ✔\nnext";
        assert_eq!(field(clear), "ok\\u{1b}[2K\\rLogin ready ✔\\nnext");
        assert_eq!(lines(clear), "ok\\u{1b}[2K\\rLogin ready ✔\nnext");
        assert_eq!(field("8-bit CSI \u{9b}2J"), "8-bit CSI \\u{9b}2J");
        assert!(matches!(field("plain text, ünïcode ✔"), Cow::Borrowed(_)));
    }

    #[test]
    fn a_document_for_text_output_has_no_control_characters() {
        let mut doc: StatusDocument =
            serde_json::from_str(include_str!("../../app/fixtures/status-document.json")).unwrap();
        doc.top_blockers[0].reason = "tag missing\u{1b}]0;pwned\u{7}".into();
        doc.rollup.message = "fine\u{1b}[2K\r".into();
        let safe = document(&doc);
        let text = crate::cli::render_text(&safe);
        assert!(!text.chars().any(|c| is_control(c) && c != '\n'), "{text}");
        assert!(text.contains("tag missing\\u{1b}]0;pwned\\u{7}"), "{text}");
        assert_eq!(safe.site_id, doc.site_id);
    }

    proptest! {
        #[test]
        fn nothing_escaped_is_a_control_character(text in any::<String>()) {
            prop_assert!(!field(&text).chars().any(is_control));
            prop_assert!(!lines(&text).chars().any(|c| is_control(c) && c != '\n' && c != '\t'));
            // nothing printable is lost or changed
            let printable: String = text.chars().filter(|c| !is_control(*c) && *c != '\\').collect();
            let shown: String = field(&text).chars().filter(|c| *c != '\\').collect();
            let mut rest = shown.as_str();
            for c in printable.chars() {
                let at = rest.find(c);
                prop_assert!(at.is_some());
                rest = &rest[at.unwrap() + c.len_utf8()..];
            }
        }
    }
}
