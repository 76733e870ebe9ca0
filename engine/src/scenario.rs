//! Scenarios: timelines of Kubernetes objects with status. The same files drive unit tests, the
//! demo mode and (later) the real-API-server tests.
//!
//! ```yaml
//! apiVersion: appliance-status/v1alpha1
//! kind: Scenario
//! metadata: {name: observed-bootstrap, description: "..."}
//! start: "2026-04-30T01:00:00Z"      # the scenario clock's origin; object timestamps use it
//! steps:
//!   - at: 16m                         # offset from start
//!     name: the alga-psa-ee pull finishes
//!     apply: [ <objects as kubectl get -o yaml prints them> ]
//!     delete: [ {kind: Pod, namespace: msp, name: db-0} ]
//!     probes: {login-url: "307 /msp/dashboard", seed-users: null}   # null clears a probe
//!     logs: [ {namespace: msp, pod: temporal-0, container: temporal, lines: ["..."]} ]
//!     expect:                         # checked by the scenario tests, `checkAfter` past `at`
//!       rollup: installing
//!       ready: [platform]             # tiers that must be ready; all others must not be
//!       topBlocker: {component: db, layer: storage, loginBlocking: true}
//! ```

use crate::objects::{object_from_value, ObjectId};
use crate::probes::Probes;
use crate::snapshot::{LogExcerpt, Snapshot};
use crate::{Error, Result};
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The embedded demo: the PRD's observed bootstrap, step by step.
pub const OBSERVED_BOOTSTRAP: &str = include_str!("../scenarios/observed-bootstrap.yaml");

/// A whole scenario.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scenario {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub kind: String,
    pub metadata: ScenarioMeta,
    pub start: Timestamp,
    pub steps: Vec<Step>,
}

/// Name and description.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioMeta {
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// One step of the timeline.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Step {
    #[serde(deserialize_with = "de_offset")]
    pub at: SignedDuration,
    pub name: String,
    #[serde(default)]
    pub apply: Vec<serde_json::Value>,
    #[serde(default)]
    pub delete: Vec<ObjectId>,
    #[serde(default)]
    pub probes: BTreeMap<String, Option<String>>,
    #[serde(default)]
    pub logs: Vec<LogExcerpt>,
    pub expect: Option<Expectation>,
}

/// What the engine must conclude after a step (for tests).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expectation {
    pub rollup: app::status::RollupState,
    /// Tiers that must be ready; every other tier must not be.
    pub ready: Vec<app::status::Tier>,
    pub top_blocker: Option<ExpectedBlocker>,
    /// How long after `at` to assess (default 2 min, past hysteresis).
    #[serde(default, deserialize_with = "de_offset_opt")]
    pub check_after: Option<SignedDuration>,
}

/// The expected top blocker.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExpectedBlocker {
    pub component: String,
    pub layer: app::status::Layer,
    pub login_blocking: bool,
}

/// Parses `90s`, `16m`, `1h2m30s`.
pub fn parse_offset(text: &str) -> Result<SignedDuration> {
    let mut total = 0i64;
    let mut number = String::new();
    if text.trim().is_empty() {
        return Err(Error::EmptyDuration);
    }
    for ch in text.trim().chars() {
        if ch.is_ascii_digit() {
            number.push(ch);
            continue;
        }
        let unit = match ch {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => {
                return Err(Error::DurationUnit {
                    text: text.to_string(),
                    unit: ch,
                })
            }
        };
        let n: i64 = number.parse().map_err(|_| Error::DurationNumber {
            text: text.to_string(),
            unit: ch,
        })?;
        total = total.saturating_add(n.saturating_mul(unit));
        number.clear();
    }
    if !number.is_empty() {
        return Err(Error::DurationMissingUnit {
            text: text.to_string(),
            number,
        });
    }
    Ok(SignedDuration::from_secs(total))
}

fn de_offset<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<SignedDuration, D::Error> {
    let s = String::deserialize(d)?;
    parse_offset(&s).map_err(serde::de::Error::custom)
}

fn de_offset_opt<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<SignedDuration>, D::Error> {
    let s = Option::<String>::deserialize(d)?;
    s.map(|s| parse_offset(&s).map_err(serde::de::Error::custom))
        .transpose()
}

impl Scenario {
    /// Parses and validates a scenario; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Scenario> {
        let err = |message: String| Error::Scenario {
            origin: origin.to_string(),
            message,
        };
        let scenario: Scenario = serde_yaml::from_str(text).map_err(|e| err(e.to_string()))?;
        if scenario.kind != "Scenario" {
            return Err(err(format!(
                "kind must be Scenario, not {:?}",
                scenario.kind
            )));
        }
        let mut last = SignedDuration::ZERO;
        for (i, step) in scenario.steps.iter().enumerate() {
            if step.at < last {
                return Err(err(format!(
                    "step {} ({:?}) is earlier than the step before it",
                    i + 1,
                    step.name
                )));
            }
            last = step.at;
            for (j, object) in step.apply.iter().enumerate() {
                object_from_value(object.clone()).map_err(|m| {
                    err(format!(
                        "step {} ({:?}), object {}: {m}",
                        i + 1,
                        step.name,
                        j + 1
                    ))
                })?;
            }
            let mut probes = Probes::default();
            for (name, value) in &step.probes {
                if let Some(v) = value {
                    probes
                        .set(name, v)
                        .map_err(|e| err(format!("step {} ({:?}): {e}", i + 1, step.name)))?;
                }
            }
        }
        Ok(scenario)
    }

    /// Reads a scenario file.
    pub fn from_file(path: &Path) -> Result<Scenario> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.display().to_string(),
            source,
        })?;
        Scenario::parse(&text, &path.display().to_string())
    }

    /// The embedded observed-bootstrap demo.
    pub fn observed_bootstrap() -> Scenario {
        Scenario::parse(OBSERVED_BOOTSTRAP, "embedded observed-bootstrap")
            .expect("the embedded scenario is validated by its tests")
    }

    /// The scenario time of the last step.
    pub fn duration(&self) -> SignedDuration {
        self.steps
            .last()
            .map(|s| s.at)
            .unwrap_or(SignedDuration::ZERO)
    }
}

/// Plays a scenario into a snapshot, step by step.
#[derive(Clone, Debug)]
pub struct Replay {
    pub scenario: Scenario,
    pub snapshot: Snapshot,
    pub probes: Probes,
    next: usize,
}

impl Replay {
    /// A replay before its first step.
    pub fn new(scenario: Scenario) -> Replay {
        Replay {
            scenario,
            snapshot: Snapshot::default(),
            probes: Probes::default(),
            next: 0,
        }
    }

    /// Applies every step due at `offset`; returns the steps applied.
    pub fn advance_to(&mut self, offset: SignedDuration) -> Vec<usize> {
        let mut applied = Vec::new();
        while let Some(step) = self.scenario.steps.get(self.next) {
            if step.at > offset {
                break;
            }
            apply_step(&mut self.snapshot, &mut self.probes, step);
            applied.push(self.next);
            self.next += 1;
        }
        applied
    }

    /// The index of the next step, or `None` when all are applied.
    pub fn next_step(&self) -> Option<&Step> {
        self.scenario.steps.get(self.next)
    }
}

/// Applies one step to a snapshot and probe set. Objects were validated by [`Scenario::parse`].
pub fn apply_step(snapshot: &mut Snapshot, probes: &mut Probes, step: &Step) {
    for id in &step.delete {
        snapshot.delete(id);
    }
    for value in &step.apply {
        if let Ok(Some(object)) = object_from_value(value.clone()) {
            snapshot.apply(object);
        }
    }
    for (name, value) in &step.probes {
        match value {
            Some(v) => {
                let _ = probes.set(name, v);
            }
            None => probes.clear(name),
        }
    }
    for log in &step.logs {
        snapshot.logs.retain(|l| {
            !(l.namespace == log.namespace && l.pod == log.pod && l.container == log.container)
        });
        if !log.lines.is_empty() {
            snapshot.logs.push(log.clone());
        }
    }
    snapshot.remember();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets() {
        assert_eq!(parse_offset("90s").unwrap(), SignedDuration::from_secs(90));
        assert_eq!(
            parse_offset("1h2m30s").unwrap(),
            SignedDuration::from_secs(3750)
        );
        assert!(parse_offset("5").is_err());
        assert!(parse_offset("5d").is_err());
        assert!(parse_offset("").is_err());
    }

    #[test]
    fn bad_scenarios_are_clear_errors() {
        let bad_order = "apiVersion: appliance-status/v1alpha1\nkind: Scenario\nmetadata: {name: x}\nstart: 2026-04-30T01:00:00Z\nsteps:\n- {at: 5m, name: a}\n- {at: 1m, name: b}\n";
        assert!(Scenario::parse(bad_order, "s")
            .unwrap_err()
            .to_string()
            .contains("earlier"));
        let bad_object = "apiVersion: appliance-status/v1alpha1\nkind: Scenario\nmetadata: {name: x}\nstart: 2026-04-30T01:00:00Z\nsteps:\n- {at: 0s, name: a, apply: [{apiVersion: v1, kind: Pod, metadata: {namespace: msp}}]}\n";
        let err = Scenario::parse(bad_object, "s.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("s.yaml") && err.contains("object 1"), "{err}");
        let bad_probe = "apiVersion: appliance-status/v1alpha1\nkind: Scenario\nmetadata: {name: x}\nstart: 2026-04-30T01:00:00Z\nsteps:\n- {at: 0s, name: a, probes: {login: '200'}}\n";
        assert!(Scenario::parse(bad_probe, "s").is_err());
    }
}
