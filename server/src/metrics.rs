//! `GET /metrics` in the Prometheus text format (`prometheus-client`): read from the published
//! document (tiers, rollup, blockers, its age, watches, probes) and the access layer's counters.
//! Nothing here asks Kubernetes or recomputes status: a scrape encodes what is already published.
//! What a count can be zero of reads 0 rather than disappearing (alerts and dashboards need the
//! series); what is unknown (objects of a kind the service may not list) has no series.
//!
//! | metric | labels | meaning |
//! |---|---|---|
//! | `appliance_status_tier_ready` | `tier` | 1 when the tier is ready |
//! | `appliance_status_rollup` | `state` | 1 for the current rollup state, 0 for the others |
//! | `appliance_status_build_info` | `version`, `site` | 1, with the service's version and the site id |
//! | `appliance_status_blockers` | `severity`, `tier`, `layer` | open blockers |
//! | `appliance_status_open_blockers` | `severity` | open blockers of each severity, 0 when none |
//! | `appliance_status_unconfirmed_blockers` | | failures seen but not yet confirmed |
//! | `appliance_status_document_age_seconds` | | since the document last changed (its timestamp) |
//! | `appliance_status_assessment_age_seconds` | | since the service last assessed, changed or not |
//! | `appliance_status_source_stale` | | 1 while the Kubernetes API cannot be reached |
//! | `appliance_status_watch_listed` | `kind`, `state` | 1 when the kind is listed and watched |
//! | `appliance_status_objects` | `kind` | objects of the kind the service holds |
//! | `appliance_status_probe_ok` | `probe` | 1 when the service's own probe passes |
//! | `appliance_status_token_failures_total` | | wrong tokens at any door (form, bearer) |
//! | `appliance_status_lockouts_total` | | addresses locked out after repeated failures |

use crate::auth::Limiter;
use app::status::{RollupState, Severity, StatusDocument, Tier};
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::collections::BTreeMap;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TierLabel {
    tier: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: String,
    /// The appliance's site id: what tells appliances apart across a fleet (alerts and the
    /// dashboard join it onto the other series by `job` and `instance`).
    site: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SeverityLabel {
    severity: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BlockerLabels {
    severity: String,
    tier: String,
    layer: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WatchLabels {
    kind: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProbeLabel {
    probe: String,
}

/// A contract enum's wire name (`ready_to_log_in`, `critical`, …).
fn gauge_family<L>(registry: &mut Registry, name: &str, help: &str) -> Family<L, Gauge>
where
    L: Clone + std::hash::Hash + Eq + EncodeLabelSet + std::fmt::Debug + Send + Sync + 'static,
{
    let family = Family::<L, Gauge>::default();
    registry.register(name, help, family.clone());
    family
}

fn gauge(registry: &mut Registry, name: &str, help: &str, value: i64) {
    let g = Gauge::<i64>::default();
    g.set(value);
    registry.register(name, help, g);
}

/// The exposition text for `doc` at `now`, with the limiter's counters; `assessed_at` is the
/// publisher's last assessment (a document that did not change keeps its older timestamp).
pub fn render(
    doc: &StatusDocument,
    assessed_at: Option<jiff::Timestamp>,
    limiter: &Limiter,
    now: jiff::Timestamp,
) -> String {
    let mut registry = Registry::with_prefix("appliance_status");

    gauge_family::<BuildLabels>(
        &mut registry,
        "build_info",
        "1, labelled with the service's version and the appliance's site id",
    )
    .get_or_create(&BuildLabels {
        version: env!("CARGO_PKG_VERSION").to_string(),
        site: doc.site_id.clone(),
    })
    .set(1);

    let tiers = gauge_family::<TierLabel>(&mut registry, "tier_ready", "1 when the tier is ready");
    for tier in Tier::ALL {
        tiers
            .get_or_create(&TierLabel {
                tier: tier.as_str().to_string(),
            })
            .set(i64::from(doc.tiers.get(tier).ready));
    }
    let rollup = gauge_family::<StateLabel>(
        &mut registry,
        "rollup",
        "1 for the current rollup state, 0 for the others",
    );
    for &state in RollupState::VARIANTS {
        rollup
            .get_or_create(&StateLabel {
                state: state.as_str().to_string(),
            })
            .set(i64::from(doc.rollup.state == state));
    }
    let blockers = gauge_family::<BlockerLabels>(&mut registry, "blockers", "Open blockers");
    let mut counts: BTreeMap<(String, String, String), i64> = BTreeMap::new();
    for b in &doc.top_blockers {
        *counts
            .entry((
                b.severity.as_str().to_string(),
                b.tier.as_str().to_string(),
                b.layer.as_str().to_string(),
            ))
            .or_default() += 1;
    }
    let open = gauge_family::<SeverityLabel>(
        &mut registry,
        "open_blockers",
        "Open blockers of the severity, 0 when there are none",
    );
    for &severity in Severity::VARIANTS {
        open.get_or_create(&SeverityLabel {
            severity: severity.as_str().to_string(),
        })
        .set(
            doc.top_blockers
                .iter()
                .filter(|b| b.severity == severity)
                .count() as i64,
        );
    }
    gauge(
        &mut registry,
        "unconfirmed_blockers",
        "Failures seen but not yet confirmed (they change no tier and no rollup)",
        doc.unconfirmed.len() as i64,
    );
    for ((severity, tier, layer), n) in counts {
        blockers
            .get_or_create(&BlockerLabels {
                severity,
                tier,
                layer,
            })
            .set(n);
    }
    gauge(
        &mut registry,
        "document_age_seconds",
        "Seconds since the published document last changed (its timestamp; scenario time in demo mode)",
        now.duration_since(doc.timestamp).as_secs().max(0),
    );
    gauge(
        &mut registry,
        "assessment_age_seconds",
        "Seconds since the service last assessed (every 5 s, changed or not): above a minute, it is stuck",
        now.duration_since(assessed_at.unwrap_or(doc.timestamp))
            .as_secs()
            .max(0),
    );
    gauge(
        &mut registry,
        "source_stale",
        "1 while the Kubernetes API cannot be reached (the document is the last known state)",
        i64::from(doc.source.stale),
    );
    let watches = gauge_family::<WatchLabels>(
        &mut registry,
        "watch_listed",
        "1 when the kind is listed and watched; the state label says where it stands",
    );
    for w in &doc.source.watches {
        watches
            .get_or_create(&WatchLabels {
                kind: w.kind.clone(),
                state: w.state.as_str().to_string(),
            })
            .set(i64::from(w.state == app::status::WatchState::Listed));
    }
    let objects = gauge_family::<KindLabel>(
        &mut registry,
        "objects",
        "Objects of the kind the service holds (after pruning and its event bound)",
    );
    for w in &doc.source.watches {
        if let Some(n) = w.objects {
            objects
                .get_or_create(&KindLabel {
                    kind: w.kind.clone(),
                })
                .set(i64::from(n));
        }
    }
    let probes = gauge_family::<ProbeLabel>(&mut registry, "probe_ok", "1 when the probe passes");
    for p in &doc.source.probes {
        probes
            .get_or_create(&ProbeLabel {
                probe: p.name.clone(),
            })
            .set(i64::from(p.ok));
    }
    registry.register(
        "token_failures",
        "Wrong tokens at any door (login form, bearer token)",
        limiter.failures.clone(),
    );
    registry.register(
        "lockouts",
        "Addresses locked out after repeated failures",
        limiter.lockouts.clone(),
    );

    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = encode(&mut out, &registry);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use appliance_engine::fixtures::corpus_document;
    use std::time::Instant;

    /// Parsed with a Prometheus text parser (`prometheus-parse`): the value of `name` whose labels
    /// include every pair of `labels`.
    fn value(
        scrape: &prometheus_parse::Scrape,
        name: &str,
        labels: &[(&str, &str)],
    ) -> Option<f64> {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(number)
    }

    /// Every sample of `name`'s values.
    fn values(scrape: &prometheus_parse::Scrape, name: &str) -> Vec<f64> {
        scrape
            .samples
            .iter()
            .filter(|s| s.metric == name)
            .map(number)
            .collect()
    }

    fn number(sample: &prometheus_parse::Sample) -> f64 {
        match sample.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => f64::NAN,
        }
    }

    fn parse(text: &str) -> prometheus_parse::Scrape {
        prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
            .expect("valid exposition text")
    }

    #[test]
    fn the_document_and_the_counters_as_metrics() {
        let mut doc = corpus_document("04-core-tag-missing-behind-reconcile");
        doc.source.probes = vec![
            app::status::ProbeResult {
                name: "dns:ghcr.io".into(),
                ok: false,
                value: "error: lookup ghcr.io: refused".into(),
            },
            app::status::ProbeResult {
                name: "login-url".into(),
                ok: true,
                value: "307 /msp/dashboard".into(),
            },
        ];
        doc.source.watches = vec![
            app::status::WatchStatus {
                kind: "Pod".into(),
                state: app::status::WatchState::Listed,
                objects: Some(60),
            },
            app::status::WatchStatus {
                kind: "HelmRelease".into(),
                state: app::status::WatchState::Forbidden,
                objects: None,
            },
        ];
        let limiter = Limiter::default();
        let ip = "192.0.2.9".parse().unwrap();
        for _ in 0..6 {
            limiter.fail(ip, Instant::now());
        }
        let now = doc.timestamp + jiff::SignedDuration::from_secs(42);
        let scrape = parse(&render(
            &doc,
            Some(now - jiff::SignedDuration::from_secs(3)),
            &limiter,
            now,
        ));

        for tier in Tier::ALL {
            assert_eq!(
                value(
                    &scrape,
                    "appliance_status_tier_ready",
                    &[("tier", tier.as_str())]
                ),
                Some(f64::from(u8::from(doc.tiers.get(tier).ready))),
                "{tier:?}"
            );
        }
        assert_eq!(
            value(
                &scrape,
                "appliance_status_rollup",
                &[("state", doc.rollup.state.as_str())]
            ),
            Some(1.0)
        );
        let ones = values(&scrape, "appliance_status_rollup")
            .into_iter()
            .filter(|v| *v == 1.0)
            .count();
        assert_eq!(ones, 1, "exactly one rollup state is current");
        let top = &doc.top_blockers[0];
        let same = doc
            .top_blockers
            .iter()
            .filter(|b| (b.severity, b.tier, b.layer) == (top.severity, top.tier, top.layer))
            .count();
        assert_eq!(
            value(
                &scrape,
                "appliance_status_blockers",
                &[
                    ("severity", top.severity.as_str()),
                    ("tier", top.tier.as_str()),
                    ("layer", top.layer.as_str())
                ]
            ),
            Some(same as f64)
        );
        let total: f64 = values(&scrape, "appliance_status_blockers").iter().sum();
        assert_eq!(total, doc.top_blockers.len() as f64);
        assert_eq!(
            value(&scrape, "appliance_status_document_age_seconds", &[]),
            Some(42.0)
        );
        assert_eq!(
            value(&scrape, "appliance_status_assessment_age_seconds", &[]),
            Some(3.0),
            "since the last assessment, not since the document last changed"
        );
        assert_eq!(
            value(&scrape, "appliance_status_source_stale", &[]),
            Some(0.0)
        );
        assert_eq!(
            value(
                &scrape,
                "appliance_status_watch_listed",
                &[("kind", "Pod"), ("state", "listed")]
            ),
            Some(1.0)
        );
        assert_eq!(
            value(&scrape, "appliance_status_objects", &[("kind", "Pod")]),
            Some(60.0)
        );
        assert_eq!(
            value(
                &scrape,
                "appliance_status_objects",
                &[("kind", "HelmRelease")]
            ),
            None,
            "a kind the service may not list has no count"
        );
        assert_eq!(
            value(
                &scrape,
                "appliance_status_watch_listed",
                &[("kind", "HelmRelease"), ("state", "forbidden")]
            ),
            Some(0.0)
        );
        assert_eq!(
            value(
                &scrape,
                "appliance_status_probe_ok",
                &[("probe", "dns:ghcr.io")]
            ),
            Some(0.0)
        );
        assert_eq!(
            value(
                &scrape,
                "appliance_status_probe_ok",
                &[("probe", "login-url")]
            ),
            Some(1.0)
        );
        assert_eq!(
            value(&scrape, "appliance_status_token_failures_total", &[]),
            Some(6.0)
        );
        assert_eq!(
            value(&scrape, "appliance_status_lockouts_total", &[]),
            Some(1.0)
        );
        for &severity in Severity::VARIANTS {
            let n = doc
                .top_blockers
                .iter()
                .filter(|b| b.severity == severity)
                .count();
            assert_eq!(
                value(
                    &scrape,
                    "appliance_status_open_blockers",
                    &[("severity", severity.as_str())]
                ),
                Some(n as f64),
                "{severity:?}"
            );
        }
        assert!(values(&scrape, "appliance_status_open_blockers")
            .iter()
            .any(|v| *v > 0.0));
        assert_eq!(
            value(
                &scrape,
                "appliance_status_build_info",
                &[
                    ("version", env!("CARGO_PKG_VERSION")),
                    ("site", doc.site_id.as_str())
                ]
            ),
            Some(1.0)
        );
    }

    /// Nothing to count is a 0, not a missing series: an alert on "no critical blocker" or a
    /// dashboard's panel needs the series on a healthy appliance too.
    #[test]
    fn counts_read_zero_when_there_is_nothing_to_count() {
        let doc = corpus_document("01-fully-healthy");
        assert!(doc.top_blockers.is_empty() && doc.unconfirmed.is_empty());
        let scrape = parse(&render(
            &doc,
            Some(doc.timestamp),
            &Limiter::default(),
            doc.timestamp,
        ));
        for &severity in Severity::VARIANTS {
            assert_eq!(
                value(
                    &scrape,
                    "appliance_status_open_blockers",
                    &[("severity", severity.as_str())]
                ),
                Some(0.0),
                "{severity:?}"
            );
        }
        for name in [
            "appliance_status_unconfirmed_blockers",
            "appliance_status_token_failures_total",
            "appliance_status_lockouts_total",
            "appliance_status_document_age_seconds",
            "appliance_status_assessment_age_seconds",
            "appliance_status_source_stale",
        ] {
            assert_eq!(value(&scrape, name, &[]), Some(0.0), "{name}");
        }
        assert_eq!(
            values(&scrape, "appliance_status_rollup").len(),
            RollupState::VARIANTS.len()
        );
        assert_eq!(
            values(&scrape, "appliance_status_tier_ready"),
            vec![1.0; Tier::ALL.len()]
        );
    }
}
