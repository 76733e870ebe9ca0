//! What a command prints, in one grammar: `-o/--output text|json|yaml` on every command that
//! prints a document (`assess`, `status`, `token`, `validate-release`); `wait` streams text or
//! JSON lines.
//!
//! The convention for the two streams: **stdout** carries what the command produces (the
//! document, the token block, `wait`'s progress and its final line, whether it reached, failed or
//! timed out), so it can be piped or saved; **stderr** carries diagnostics about the run
//! (warnings, notes, and the error when the command could not do its work), each line starting
//! with `warning:`, `note:` or `error:`. Every output ends with a newline.
//!
//! Text from the cluster or a registry is made safe for a terminal in every format
//! (`crate::term`).

use serde::Serialize;

/// `-o/--output` of the commands that print a document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// One JSON document (indented).
    Json,
    /// The same data as YAML.
    Yaml,
}

/// `-o/--output` of `wait`: a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Stream {
    /// Lines for people (on a terminal: a display redrawn in place).
    Text,
    /// One JSON object per line, each flushed as it is written.
    Json,
}

/// `value` in `format`, ending with a newline; `text` renders it for people.
pub fn render<T: Serialize>(value: &T, format: Format, text: impl FnOnce() -> String) -> String {
    let mut out = match format {
        Format::Text => text(),
        Format::Json => crate::term::json(value, true),
        Format::Yaml => crate::term::yaml(value),
    };
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_ends_with_a_newline_and_carries_the_data() {
        let value = serde_json::json!({"state": "Installing", "blockers": ["a\u{1b}]0;x\u{7}"]});
        for format in [Format::Text, Format::Json, Format::Yaml] {
            let out = render(&value, format, || "Installing".into());
            assert!(out.ends_with('\n'), "{format:?}: {out:?}");
            assert!(!out.contains('\u{1b}'), "{format:?}: {out:?}");
        }
        let json: serde_json::Value =
            serde_json::from_str(&render(&value, Format::Json, String::new)).unwrap();
        assert_eq!(json, value);
        let yaml: serde_json::Value =
            serde_yaml::from_str(&render(&value, Format::Yaml, String::new)).unwrap();
        assert_eq!(yaml, value);
    }
}
