//! How deep a YAML or JSON text nests its flow collections (`[…]`, `{…}`), found by one linear
//! scan before the parser sees it.
//!
//! The YAML parser keeps a possible simple key for every open flow level and re-examines all of
//! them at every token, so its work grows with the square of the depth: 100,000 nested `[` (a
//! 200 KB file) kept it busy for 27 s before serde's recursion limit (128) refused the document.
//! Kubernetes objects nest a few levels; anything deeper than [`MAX_DEPTH`] is refused here, at
//! once, naming the line.
//!
//! The scan counts a `[` or `{` only where a YAML node may start (after `:`, `-` or `?` followed
//! by a space, after `,`, an open bracket, or at the start of a line; a tag, anchor or alias in
//! between changes nothing), so brackets inside plain text (`failed [x`) do not count; quoted
//! strings and comments are skipped the same way. Inside a flow collection `:` needs no space
//! (`{"a":[…]}`).

/// Deeper than this is refused (the deserializer's own recursion limit is 128).
pub const MAX_DEPTH: usize = 128;

/// The first line (1-based) at which `text` opens its `max + 1`-th nested flow collection.
pub fn too_deep(text: &str, max: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut line = 1usize;
    // the last significant byte before this one on the same line, if any
    let mut prev: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let node_start = matches!(prev, None | Some(b':' | b'-' | b',' | b'?' | b'[' | b'{'));
        let spaced =
            |at: usize| matches!(bytes.get(at + 1), None | Some(b' ' | b'\t' | b'\r' | b'\n'));
        match b {
            // a tag, anchor or alias before a node: the node may still start after it
            b'!' | b'&' | b'*' if node_start => {
                while i < bytes.len() && !matches!(bytes[i], b' ' | b'\t' | b'\r' | b'\n') {
                    i += 1;
                }
                continue;
            }
            // indicators only when a space follows (or, for `:`, inside a flow collection)
            b':' if !(spaced(i) || depth > 0) => {
                prev = Some(b'x');
                i += 1;
                continue;
            }
            b'-' | b'?' if !spaced(i) => {
                prev = Some(b'x');
                i += 1;
                continue;
            }
            b'\n' => {
                line += 1;
                prev = None;
                i += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' => {
                i += 1;
                continue;
            }
            b'#' if prev.is_none() || i > 0 && matches!(bytes[i - 1], b' ' | b'\t') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'"' | b'\'' if node_start => {
                // a quoted scalar: to its closing quote (`\"` escapes in double quotes, `''` in
                // single ones), counting the lines it spans
                let quote = b;
                i += 1;
                while i < bytes.len() {
                    match bytes[i] {
                        b'\\' if quote == b'"' => i += 1,
                        b'\'' if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 1,
                        c if c == quote => break,
                        b'\n' => line += 1,
                        _ => {}
                    }
                    i += 1;
                }
            }
            b'[' | b'{' if node_start => {
                depth += 1;
                if depth > max {
                    return Some(line);
                }
            }
            b'[' | b'{' => {
                // inside plain text: text, and so is what follows it
                prev = Some(b'x');
                i += 1;
                continue;
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        prev = Some(b);
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn deep_flow_nesting_is_found_with_its_line() {
        assert_eq!(too_deep("a: [[[1]]]", 3), None);
        assert_eq!(too_deep("a: [[[[1]]]]", 3), Some(1));
        assert_eq!(too_deep("a: 1\nb:\n  - {x: [ {y: [\n 1]}]}", 3), Some(3));
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(too_deep(&deep, MAX_DEPTH), Some(1));
        let json = r#"{"kind": "List", "items": [{"metadata": {"labels": {"a": "b"}}}]}"#;
        assert_eq!(too_deep(json, 5), None);
        assert_eq!(too_deep(json, 4), Some(1));
    }

    #[test]
    fn brackets_in_text_quotes_and_comments_do_not_count() {
        let text = "message: failed [[[[ to pull\nnote: 'a [[[[ b' # and [[[[\nq: \"x [[[[ \\\" [[[[\"\nlog: don't [[[[ stop\n";
        assert_eq!(too_deep(text, 1), None);
        // a quote opening a value, brackets inside, then a real flow sequence
        assert_eq!(too_deep("a: 'it''s [[['\nb: [[1]]", 1), Some(2));
    }

    /// What a parser reads as nested levels is counted whatever stands before it.
    #[test]
    fn tags_anchors_and_colons_in_text_do_not_hide_nesting() {
        let tagged = format!("a: {}1{}", "!t [".repeat(200), "]".repeat(200));
        assert_eq!(too_deep(&tagged, MAX_DEPTH), Some(1));
        let anchored = format!("a: &x {}1{}", "[".repeat(200), "]".repeat(200));
        assert_eq!(too_deep(&anchored, MAX_DEPTH), Some(1));
        // `a:'` is plain text, not the start of a quoted scalar hiding the next line
        let hidden = format!(
            "x: a:'\ny: {}1{}\nz: b:'\n",
            "[".repeat(200),
            "]".repeat(200)
        );
        assert_eq!(too_deep(&hidden, MAX_DEPTH), Some(2));
        // and brackets after such text stay text
        assert_eq!(
            too_deep("image: ghcr.io/x:[[[[[\nurl: http://h:80/[[[[\n", 1),
            None
        );
    }

    #[test]
    fn a_kubectl_dump_passes() {
        let dump = include_str!("../../../server/corpus/01-fully-healthy/dump.yaml");
        assert_eq!(too_deep(dump, MAX_DEPTH), None);
    }

    proptest! {
        /// Generated flow nesting of a known depth is measured exactly.
        #[test]
        fn generated_nesting_is_measured(depth in 1usize..300, key in "[a-z]{1,8}") {
            let text = format!("{key}: {}1{}", "[".repeat(depth), "]".repeat(depth));
            prop_assert_eq!(too_deep(&text, depth), None);
            prop_assert_eq!(too_deep(&text, depth - 1), Some(1));
        }

        /// Whatever the text, the scan ends and never panics.
        #[test]
        fn any_text_is_scanned(text in "\\PC{0,200}") {
            let _ = too_deep(&text, 4);
        }
    }
}
