//! The timeline's drawing, as plain numbers: where each tier's moment and each span sit on an
//! SVG of fixed width. Integer arithmetic on the document's offsets only, so the server's render
//! and the browser's hydration agree to the unit and no float formatting reaches the wasm.

use crate::format::duration;
use crate::status::{SpanKind, SpanState, Timeline};

/// The drawing's width in SVG units; the page scales it to the card.
pub const WIDTH: u64 = 760;
/// Where the time axis begins (the labels' column is to its left).
pub const AXIS_X: u64 = 230;
/// Height of one row.
pub const ROW: u64 = 20;
/// The axis and its tick labels above the first row.
pub const TOP: u64 = 24;
const RIGHT_MARGIN: u64 = 10;
const LABEL_CHARS: usize = 34;

/// One tick of the time axis.
#[derive(Clone, Debug, PartialEq)]
pub struct Tick {
    pub x: u64,
    pub label: String,
}

/// A tier's moment on the first row.
#[derive(Clone, Debug, PartialEq)]
pub struct Marker {
    pub x: u64,
    /// `ready` or `failed`.
    pub class: &'static str,
    /// Short, drawn under the axis: `LOGIN`.
    pub label: String,
    /// Said on hover and to screen readers.
    pub title: String,
}

/// One span's row.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    pub y: u64,
    pub x: u64,
    pub width: u64,
    /// CSS classes: its kind and state, e.g. `image_pull succeeded`.
    pub class: String,
    pub label: String,
    pub title: String,
}

/// The whole drawing.
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    pub height: u64,
    pub ticks: Vec<Tick>,
    pub markers: Vec<Marker>,
    pub bars: Vec<Bar>,
}

/// Lays the timeline out; `None` when there is nothing to draw.
pub fn chart(t: &Timeline) -> Option<Chart> {
    t.started.as_ref()?;
    if t.spans.is_empty() && t.tiers.is_empty() {
        return None;
    }
    let total = t.elapsed_seconds.max(1);
    let span = WIDTH - AXIS_X - RIGHT_MARGIN;
    let x = |seconds: u64| AXIS_X + seconds.min(total).saturating_mul(span) / total;
    let step = tick_step(total);
    let ticks = (0..=total / step)
        .map(|i| Tick {
            x: x(i * step),
            label: if i == 0 {
                "start".into()
            } else {
                duration(i * step)
            },
        })
        .collect();
    let markers = t
        .tiers
        .iter()
        .map(|m| {
            let name = m.tier.readiness_name();
            Marker {
                x: x(m.after_seconds),
                class: if m.ready { "ready" } else { "failed" },
                label: name.trim_end_matches("_READY").to_string(),
                title: format!(
                    "{name} {} {} after the start",
                    if m.ready { "ready" } else { "failed" },
                    duration(m.after_seconds)
                ),
            }
        })
        .collect();
    let bars = t
        .spans
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let end = s.end_or(t.elapsed_seconds);
            let (x0, x1) = (x(s.start_seconds), x(end));
            let took = duration(end - s.start_seconds);
            let going = matches!(s.state, SpanState::Running | SpanState::Open);
            let label = match s.kind {
                SpanKind::ImagePull => format!("pull {}", image_name(&s.label)),
                _ => s.label.clone(),
            };
            Bar {
                y: TOP + ROW * (i as u64 + 1),
                x: x0,
                width: (x1 - x0).max(2),
                class: format!("{} {}", s.kind.as_str(), s.state.as_str()),
                label: cut(&label),
                title: format!(
                    "{} ({}): {} from {} after the start, {}{}{}",
                    s.label,
                    s.component.as_deref().unwrap_or("cluster"),
                    s.state.as_str(),
                    duration(s.start_seconds),
                    if going { "so far " } else { "took " },
                    took,
                    if s.detail.is_empty() {
                        String::new()
                    } else {
                        format!(" — {}", s.detail)
                    }
                ),
            }
        })
        .collect();
    Some(Chart {
        height: TOP + ROW * (t.spans.len() as u64 + 1) + 6,
        ticks,
        markers,
        bars,
    })
}

/// A tick every 1, 5, 10, 15, 30 minutes, 1, 2, 6, 12 hours or a day: at most 8 ticks.
fn tick_step(total: u64) -> u64 {
    const STEPS: [u64; 10] = [60, 300, 600, 900, 1800, 3600, 7200, 21_600, 43_200, 86_400];
    STEPS
        .into_iter()
        .find(|s| total / s <= 8)
        .unwrap_or_else(|| total.div_ceil(8 * 86_400) * 86_400)
}

/// `ghcr.io/nine-minds/alga-psa-ee:1.0-rc5` → `alga-psa-ee:1.0-rc5`.
fn image_name(reference: &str) -> &str {
    reference.rsplit('/').next().unwrap_or(reference)
}

fn cut(label: &str) -> String {
    match label.char_indices().nth(LABEL_CHARS) {
        Some((at, _)) => format!("{}…", &label[..at]),
        None => label.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{span, Span, Tier, TierMoment, Timestamp};

    fn timeline() -> Timeline {
        let span = |kind, state, start, end: Option<u64>, label: &str| Span {
            state,
            component: Some("alga-core".into()),
            ..span(kind, Tier::Login, (start, end), label)
        };
        Timeline {
            started: Some(Timestamp::default()),
            elapsed_seconds: 3300,
            tiers: vec![TierMoment {
                tier: Tier::Login,
                ready: true,
                at: Timestamp::default(),
                after_seconds: 2340,
            }],
            spans: vec![
                span(
                    SpanKind::ImagePull,
                    SpanState::Succeeded,
                    188,
                    Some(1152),
                    "ghcr.io/nine-minds/alga-psa-ee:1.0-rc5",
                ),
                span(
                    SpanKind::Problem,
                    SpanState::Open,
                    3000,
                    None,
                    "a problem standing",
                ),
                span(
                    SpanKind::Job,
                    SpanState::Succeeded,
                    3300,
                    Some(3300),
                    "Job instant",
                ),
            ],
        }
    }

    #[test]
    fn spans_sit_where_their_seconds_say() {
        let c = chart(&timeline()).unwrap();
        let span = WIDTH - AXIS_X - RIGHT_MARGIN;
        let pull = &c.bars[0];
        assert_eq!(pull.x, AXIS_X + 188 * span / 3300);
        assert_eq!(pull.x + pull.width, AXIS_X + 1152 * span / 3300);
        assert_eq!(pull.class, "image_pull succeeded");
        assert_eq!(pull.label, "pull alga-psa-ee:1.0-rc5");
        assert!(pull.title.contains("took 16 min 4 s"), "{}", pull.title);
        let open = &c.bars[1];
        assert_eq!(
            open.x + open.width,
            WIDTH - RIGHT_MARGIN,
            "a standing problem reaches now"
        );
        assert!(open.title.contains("so far 5 min"), "{}", open.title);
        assert_eq!(c.bars[2].width, 2, "an instant is still visible");
        assert_eq!(c.markers[0].label, "LOGIN");
        assert_eq!(
            c.markers[0].title,
            "LOGIN_READY ready 39 min after the start"
        );
        assert_eq!(c.bars[2].y, TOP + 3 * ROW);
        assert_eq!(c.height, TOP + 4 * ROW + 6);
    }

    #[test]
    fn ticks_stay_few_and_round() {
        assert_eq!(tick_step(55 * 60), 600);
        assert_eq!(tick_step(4 * 60), 60);
        assert_eq!(tick_step(3 * 86_400), 43_200);
        assert_eq!(tick_step(30 * 86_400), 4 * 86_400);
        let c = chart(&timeline()).unwrap();
        let labels: Vec<&str> = c.ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(
            labels,
            ["start", "10 min", "20 min", "30 min", "40 min", "50 min"]
        );
        assert!(chart(&Timeline::default()).is_none());
    }
}
