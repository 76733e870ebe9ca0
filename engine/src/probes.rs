//! Probe results: what the service measured itself (login URL, DNS, outbound HTTPS, seed data).
//!
//! Probes are named `NAME=VALUE` pairs, the same on the command line (`--probe`), in scenario files
//! and from the live prober:
//!
//! | name | value | meaning |
//! |---|---|---|
//! | `login-url` | `307 /msp/dashboard`, `200`, `error: <text>` | HTTP status (and redirect target) of the login URL |
//! | `seed-users` | `12`, `error: <text>` | `SELECT count(*) FROM users` in database `server` |
//! | `dns:<host>` | `ok` or the resolver's error | name resolution of an outside host |
//! | `https:<host>` | `ok` or the error | outbound HTTPS to an outside host |
//! | `storage-smoke` | `ok` or the error | a test PVC on the local-path class binds |

use crate::{Error, Result};
use std::collections::BTreeMap;

/// All probe results, by name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Probes {
    values: BTreeMap<String, String>,
}

/// The login URL probe, parsed.
#[derive(Clone, Debug, PartialEq)]
pub enum LoginProbe {
    /// The URL answered with this status and, for redirects, this target.
    Answered {
        status: u16,
        location: Option<String>,
    },
    /// The request failed.
    Failed(String),
}

impl LoginProbe {
    /// 2xx, or a 3xx that leads to the sign-in page or the dashboard.
    pub fn works(&self) -> bool {
        match self {
            LoginProbe::Answered { status, location } => match status {
                200..=299 => true,
                300..=399 => location.as_deref().is_none_or(|l| !l.contains("error")),
                _ => false,
            },
            LoginProbe::Failed(_) => false,
        }
    }

    /// In words, for check details.
    pub fn describe(&self) -> String {
        match self {
            LoginProbe::Answered {
                status,
                location: Some(l),
            } => format!("HTTP {status} → {l}"),
            LoginProbe::Answered {
                status,
                location: None,
            } => format!("HTTP {status}"),
            LoginProbe::Failed(e) => e.clone(),
        }
    }
}

/// What a failed probe reported: its value after `error:`, or the whole value. Data the engine
/// reads (and quotes in findings), not an error of the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure(pub String);

impl Failure {
    /// The probe's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The outcome of a check-style probe.
pub type ProbeOutcome = std::result::Result<(), Failure>;

const KNOWN: [&str; 3] = ["login-url", "seed-users", "storage-smoke"];

impl Probes {
    /// Sets `name` to `value`, validating the name and the value's form.
    pub fn set(&mut self, name: &str, value: &str) -> Result<()> {
        let name = name.trim();
        let known = KNOWN.contains(&name)
            || name.strip_prefix("dns:").is_some_and(|h| !h.is_empty())
            || name.strip_prefix("https:").is_some_and(|h| !h.is_empty());
        if !known {
            return Err(Error::Probe(format!(
                "unknown probe {name:?}: expected login-url, seed-users, storage-smoke, dns:<host> or https:<host>"
            )));
        }
        let value = value.trim().to_string();
        let probe = Probes {
            values: BTreeMap::from([(name.to_string(), value.clone())]),
        };
        if name == "login-url" && probe.login_url().is_none() {
            return Err(Error::Probe(format!(
                "login-url={value:?}: expected `STATUS [LOCATION]` or `error: TEXT`"
            )));
        }
        if name == "seed-users" && probe.seed_users().is_none() {
            return Err(Error::Probe(format!(
                "seed-users={value:?}: expected a count or `error: TEXT`"
            )));
        }
        self.values.insert(name.to_string(), value);
        Ok(())
    }

    /// Parses `NAME=VALUE`.
    pub fn set_pair(&mut self, pair: &str) -> Result<()> {
        let (name, value) = pair
            .split_once('=')
            .ok_or_else(|| Error::Probe(format!("{pair:?}: expected NAME=VALUE")))?;
        self.set(name, value)
    }

    /// Every probe's raw value, by name (what `--probe NAME=VALUE` takes back).
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Removes a probe result.
    pub fn clear(&mut self, name: &str) {
        self.values.remove(name);
    }

    /// The login URL probe, if it ran.
    pub fn login_url(&self) -> Option<LoginProbe> {
        let v = self.values.get("login-url")?;
        if let Some(e) = error_text(v) {
            return Some(LoginProbe::Failed(e));
        }
        let mut parts = v.split_whitespace();
        let status = parts.next()?.parse().ok()?;
        Some(LoginProbe::Answered {
            status,
            location: parts.next().map(str::to_string),
        })
    }

    /// The seed-data user count, if the query ran.
    pub fn seed_users(&self) -> Option<std::result::Result<i64, Failure>> {
        let v = self.values.get("seed-users")?;
        if let Some(e) = error_text(v) {
            return Some(Err(Failure(e)));
        }
        v.parse().ok().map(Ok)
    }

    /// The storage smoke test, if it ran.
    pub fn storage_smoke(&self) -> Option<ProbeOutcome> {
        self.values.get("storage-smoke").map(|v| outcome(v))
    }

    /// DNS (`dns:`) or HTTPS (`https:`) probes: host and outcome.
    pub fn hosts(&self, prefix: &str) -> Vec<(&str, ProbeOutcome)> {
        self.values
            .iter()
            .filter_map(|(k, v)| k.strip_prefix(prefix).map(|h| (h, outcome(v))))
            .collect()
    }

    /// Every result, for the document (and so `/metrics`): whether it passes, and its value.
    pub fn results(&self) -> Vec<app::status::ProbeResult> {
        self.values
            .iter()
            .map(|(name, value)| {
                let ok = match name.as_str() {
                    "login-url" => self.login_url().is_some_and(|p| p.works()),
                    "seed-users" => matches!(self.seed_users(), Some(Ok(n)) if n > 0),
                    _ => outcome(value).is_ok(),
                };
                app::status::ProbeResult {
                    name: name.clone(),
                    ok,
                    value: value.clone(),
                }
            })
            .collect()
    }

    /// Whether no probe result is known.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

fn error_text(v: &str) -> Option<String> {
    v.strip_prefix("error:").map(|e| e.trim().to_string())
}

fn outcome(v: &str) -> ProbeOutcome {
    if v.eq_ignore_ascii_case("ok") {
        Ok(())
    } else {
        Err(Failure(error_text(v).unwrap_or_else(|| v.to_string())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_probe() {
        let mut p = Probes::default();
        p.set_pair("login-url=307 /msp/dashboard").unwrap();
        p.set_pair("seed-users=12").unwrap();
        p.set_pair("dns:ghcr.io=lookup ghcr.io on 192.168.64.1:53: connection refused")
            .unwrap();
        p.set_pair("https:ghcr.io=ok").unwrap();
        assert!(p.login_url().unwrap().works());
        assert_eq!(p.seed_users(), Some(Ok(12)));
        assert!(p.hosts("dns:")[0]
            .1
            .as_ref()
            .unwrap_err()
            .as_str()
            .contains("connection refused"));
        assert_eq!(p.hosts("https:"), vec![("ghcr.io", Ok(()))]);
    }

    #[test]
    fn rejects_unknown_names_and_bad_values() {
        let mut p = Probes::default();
        assert!(p.set_pair("login=200").is_err());
        assert!(p.set_pair("login-url=soon").is_err());
        assert!(p.set_pair("seed-users=many").is_err());
        assert!(p.set_pair("no-equals").is_err());
        assert!(p.set_pair("dns:=ok").is_err());
    }

    #[test]
    fn login_probe_judges_status() {
        let failed = LoginProbe::Failed("connection refused".into());
        assert!(!failed.works());
        assert!(!LoginProbe::Answered {
            status: 502,
            location: None
        }
        .works());
        assert!(LoginProbe::Answered {
            status: 200,
            location: None
        }
        .works());
    }
}
