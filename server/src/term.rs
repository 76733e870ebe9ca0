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

/// The innermost cause of an error chain, where the reason is ("connection refused", "failed
/// to lookup address information: …"), not its wrappers' contexts; an OS error without its
/// number, in lower case.
pub fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e;
    while let Some(next) = last.source() {
        last = next;
    }
    let text = last.to_string();
    match text.split_once(" (os error") {
        Some((head, _)) => {
            let mut c = head.chars();
            c.next()
                .map(|f| f.to_lowercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        }
        None => text,
    }
}

/// `value` as JSON (indented when `pretty`) that a terminal can show safely: JSON escapes C0
/// itself; DEL and C1, which JSON allows raw, are written as `\u007f`…`\u009f` too. The data
/// is the same to any JSON reader.
pub fn json(value: &impl serde::Serialize, pretty: bool) -> String {
    let text = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    }
    .unwrap_or_else(|e| format!("{{\"error\": \"cannot write JSON: {e}\"}}"));
    let raw = |c: char| c == '\u{7f}' || ('\u{80}'..='\u{9f}').contains(&c);
    if !text.chars().any(raw) {
        return text;
    }
    // outside strings JSON text is ASCII, so every DEL or C1 character is inside a string
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if raw(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// `value` as YAML a terminal can show safely: the emitter writes a string holding a control
/// character double-quoted with escapes (`"\e]0;…"`, `"\x9B"`); the property test below holds
/// it to that.
pub fn yaml(value: &impl serde::Serialize) -> String {
    serde_yaml::to_string(value).unwrap_or_else(|e| format!("error: \"cannot write YAML: {e}\"\n"))
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
    fn the_innermost_cause_is_said_once() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("client error (Connect)")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let refused = Outer(std::io::Error::from_raw_os_error(111));
        assert_eq!(innermost(&refused), "connection refused");
        let plain = std::io::Error::other("no route");
        assert_eq!(innermost(&plain), "no route");
    }

    #[test]
    fn escape_sequences_are_shown_not_obeyed() {
        let title = "pulling\u{1b}]0;owned\u{7}done";
        assert_eq!(field(title), "pulling\\u{1b}]0;owned\\u{7}done");
        let clear = "ok\u{1b}[2K\rLogin ready ✔\nnext";
        assert_eq!(field(clear), "ok\\u{1b}[2K\\rLogin ready ✔\\nnext");
        assert_eq!(lines(clear), "ok\\u{1b}[2K\\rLogin ready ✔\nnext");
        assert_eq!(field("8-bit CSI \u{9b}2J"), "8-bit CSI \\u{9b}2J");
        assert!(matches!(field("plain text, ünïcode ✔"), Cow::Borrowed(_)));
        assert_eq!(
            json(
                &serde_json::json!({"m": "8-bit CSI \u{9b}2J, DEL \u{7f}"}),
                false
            ),
            r#"{"m":"8-bit CSI \u009b2J, DEL \u007f"}"#
        );
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
        fn json_for_a_terminal_has_no_control_character_and_the_same_data(
            text in any::<String>(),
            pretty in any::<bool>(),
        ) {
            let value = serde_json::json!({"message": text, "list": [text.clone()]});
            let shown = json(&value, pretty);
            prop_assert!(!shown.chars().any(|c| is_control(c) && c != '\n'));
            let back: serde_json::Value = serde_json::from_str(&shown).unwrap();
            prop_assert_eq!(back, value);
        }

        #[test]
        fn yaml_for_a_terminal_has_no_control_character_and_the_same_data(text in any::<String>()) {
            let value = serde_json::json!({"message": text, "list": [text.clone()]});
            let shown = yaml(&value);
            prop_assert!(!shown.chars().any(|c| is_control(c) && c != '\n'), "{:?}", shown);
            let back: serde_json::Value = serde_yaml::from_str(&shown).unwrap();
            prop_assert_eq!(back, value);
        }

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
