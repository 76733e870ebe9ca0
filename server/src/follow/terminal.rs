//! `wait`'s display on a terminal: lines that last (a tier turning ready, the login URL), and
//! below them one area redrawn in place. Every line is wrapped to the terminal's width as it is
//! now (asked again at each redraw, so a resized terminal is followed), so the terminal never
//! wraps one itself and the area is always exactly as many rows as were written: moving up that
//! many rows and clearing to the end of the screen redraws it without leaving copies behind.

use unicode_width::UnicodeWidthChar;

/// The marks of the display; plain ones where emoji cannot be shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Symbols {
    pub waiting: &'static str,
    pub failed: &'static str,
    pub done: &'static str,
}

impl Symbols {
    pub const EMOJI: Symbols = Symbols {
        waiting: "⏳",
        failed: "✖",
        done: "✔",
    };
    pub const PLAIN: Symbols = Symbols {
        waiting: "[..]",
        failed: "[!!]",
        done: "[ok]",
    };

    /// Emoji unless `ascii` is asked for, the locale is not UTF-8 or the terminal is dumb.
    pub fn for_terminal(ascii: bool) -> Symbols {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        // the first of LC_ALL, LC_CTYPE, LANG that is set decides, as for any program
        let locale = var("LC_ALL")
            .or_else(|| var("LC_CTYPE"))
            .or_else(|| var("LANG"))
            .unwrap_or_default()
            .to_ascii_lowercase();
        let utf8 = locale.contains("utf-8") || locale.contains("utf8");
        if ascii || !utf8 || var("TERM").as_deref() == Some("dumb") {
            Symbols::PLAIN
        } else {
            Symbols::EMOJI
        }
    }
}

/// The terminal's size on standard output (columns, rows); 80×24 when it cannot be asked.
pub fn size() -> (usize, usize) {
    // SAFETY: TIOCGWINSZ writes a `winsize` into the struct passed, nothing else.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let asked = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
    if asked && ws.ws_col > 0 {
        (usize::from(ws.ws_col), usize::from(ws.ws_row.max(4)))
    } else {
        (80, 24)
    }
}

/// `text` in rows of at most `width` columns, broken between words where it can; rows after the
/// first are indented by two spaces more than the text's own indent.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(8);
    let body = text.trim_start_matches(' ');
    let indent = (text.len() - body.len()).min(width / 2);
    let hang = (indent + 2).min(width / 2);
    let cols = |s: &str| s.chars().map(|c| c.width().unwrap_or(0)).sum::<usize>();
    let mut rows = Vec::new();
    let mut row = " ".repeat(indent);
    let mut used = indent;
    let mut words_on_row = 0;
    for word in body.split(' ').filter(|w| !w.is_empty()) {
        let w = cols(word);
        let gap = usize::from(words_on_row > 0);
        if used + gap + w > width && words_on_row > 0 {
            rows.push(std::mem::replace(&mut row, " ".repeat(hang)));
            used = hang;
            words_on_row = 0;
        }
        if words_on_row > 0 {
            row.push(' ');
            used += 1;
        }
        // a word longer than a row is cut where the row ends
        for c in word.chars() {
            let cw = c.width().unwrap_or(0);
            if used + cw > width {
                rows.push(std::mem::replace(&mut row, " ".repeat(hang)));
                used = hang;
            }
            row.push(c);
            used += cw;
        }
        words_on_row += 1;
    }
    if words_on_row > 0 || rows.is_empty() {
        rows.push(row);
    }
    rows
}

/// What is on the screen below the lasting lines.
#[derive(Default, Debug)]
pub struct Screen {
    /// Rows of the area now on the screen, the cursor at the end of its last one.
    area: usize,
    /// The size to lay out for; asked of the terminal when `None`.
    fixed: Option<(usize, usize)>,
}

impl Screen {
    /// A screen of a fixed size (tests).
    #[cfg(test)]
    pub fn sized(columns: usize, rows: usize) -> Screen {
        Screen {
            area: 0,
            fixed: Some((columns, rows)),
        }
    }

    fn size(&self) -> (usize, usize) {
        self.fixed.unwrap_or_else(size)
    }

    /// Erases the area.
    pub fn clear(&mut self) -> String {
        let out = match self.area {
            0 => String::new(),
            1 => "\r\x1b[J".to_string(),
            n => format!("\r\x1b[{}A\x1b[J", n - 1),
        };
        self.area = 0;
        out
    }

    /// Lines that last: written above the area (which the next `draw` puts back).
    pub fn permanent(&mut self, lines: &[String]) -> String {
        let (columns, _) = self.size();
        let mut out = self.clear();
        for line in lines {
            for row in wrap(line, columns.saturating_sub(1)) {
                out.push_str(&row);
                out.push('\n');
            }
        }
        out
    }

    /// The area, redrawn in place of the last one: at most the screen's height less two rows,
    /// the cursor left at the end of its last row.
    pub fn draw(&mut self, lines: &[String]) -> String {
        let (columns, rows) = self.size();
        let mut out = self.clear();
        let mut fitted: Vec<String> = lines
            .iter()
            .flat_map(|l| wrap(l, columns.saturating_sub(1)))
            .collect();
        let most = rows.saturating_sub(2).max(1);
        if fitted.len() > most {
            fitted.truncate(most);
            if let Some(last) = fitted.last_mut() {
                last.push('…');
                if last.chars().map(|c| c.width().unwrap_or(0)).sum::<usize>() >= columns {
                    last.pop();
                    last.pop();
                    last.push('…');
                }
            }
        }
        out.push_str(&fitted.join("\n"));
        self.area = fitted.len();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn width(s: &str) -> usize {
        s.chars().map(|c| c.width().unwrap_or(0)).sum()
    }

    #[test]
    fn a_long_line_wraps_between_words_with_a_hanging_indent() {
        let rows = wrap(
            "  Next: Check the resolver's upstream servers (talosctl get resolvers)",
            30,
        );
        assert_eq!(
            rows,
            [
                "  Next: Check the resolver's",
                "    upstream servers (talosctl",
                "    get resolvers)"
            ]
        );
    }

    #[test]
    fn the_area_is_redrawn_over_itself() {
        let mut screen = Screen::sized(40, 24);
        let first = screen.draw(&["⏳ 1 s · Installing".into(), "  Top issue: a: b".into()]);
        assert_eq!(first, "⏳ 1 s · Installing\n  Top issue: a: b");
        let second = screen.draw(&["⏳ 3 s · Installing".into()]);
        assert!(second.starts_with("\r\x1b[1A\x1b[J"), "{second:?}");
        let lasting = screen.permanent(&["CORE_READY ready".into()]);
        assert_eq!(lasting, "\r\x1b[JCORE_READY ready\n");
        assert_eq!(screen.clear(), "", "nothing left to clear");
    }

    #[test]
    fn the_area_never_fills_the_screen() {
        let mut screen = Screen::sized(20, 6);
        let lines: Vec<String> = (0..10).map(|i| format!("line {i} of many words")).collect();
        let drawn = screen.draw(&lines);
        assert_eq!(drawn.lines().count(), 4);
        assert!(drawn.ends_with('…'), "{drawn:?}");
        assert!(drawn.lines().all(|l| width(l) < 20), "{drawn:?}");
    }

    #[test]
    fn plain_symbols_without_a_utf8_locale() {
        assert_eq!(Symbols::for_terminal(true), Symbols::PLAIN);
    }

    proptest! {
        /// No row is wider than asked, and every word is there, in order.
        #[test]
        fn wrapped_rows_fit_and_keep_every_word(text in "[a-z✔⏳ ]{0,200}", w in 8usize..120) {
            let rows = wrap(&text, w);
            prop_assert!(rows.iter().all(|r| width(r) <= w), "{:?}", rows);
            let words: String = text.split_whitespace().collect::<Vec<_>>().concat();
            let back: String = rows.concat().split_whitespace().collect::<Vec<_>>().concat();
            prop_assert_eq!(back, words);
        }
    }
}
