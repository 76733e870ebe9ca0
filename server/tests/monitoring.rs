//! Monitoring across a fleet, as the chart ships it (opt-in): the alerts
//! (`helm/appliance-status/files/alerts.yaml`, rendered into a PrometheusRule) run by Prometheus'
//! own rule evaluator, `promtool test rules`, on series scraped from the service itself (the
//! embedded demo played through the PRD's observed bootstrap, one scrape per scenario minute);
//! the Grafana dashboard's queries checked by promtool and against the metrics the service
//! really publishes; the Service and ServiceMonitor against the Deployment they point at, and
//! every monitoring object against the Prometheus Operator's own CRDs on a real API server.

mod support;

use prometheus_parse::{Sample, Scrape};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use support::{bin, serve_demo};
use testenv::{built, chart_template, free_port, helm, project_root, TestCluster};

/// The job label a ServiceMonitor gives its targets: the Service's name, the release's fullname.
const JOB: &str = "appliance-status";
const TOKEN: &str = "monitoring-test-token-0123456789abcdef";
/// The site id the demo runs under (`serve --site-id`): alerts and the dashboard name it.
const SITE: &str = "acme-hq-01";

/// promtool, built (or found cached) by `testing/promtool/build.sh`.
fn promtool() -> PathBuf {
    built("testing/promtool/build.sh").join("promtool")
}

fn run_promtool(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(promtool())
        .current_dir(dir)
        .args(args)
        .output()
        .expect("promtool runs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

const MONITORING: [&str; 6] = [
    "--set",
    "monitoring.prometheusRule.enabled=true",
    "--set",
    "monitoring.serviceMonitor.enabled=true",
    "--set",
    "monitoring.grafanaDashboard.enabled=true",
];

fn objects(manifests: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(manifests)
        .filter_map(|d| serde::Deserialize::deserialize(d).ok())
        .filter(|v: &Value| !v.is_null())
        .collect()
}

fn object<'a>(objects: &'a [Value], kind: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} rendered"))
}

/// The alerts as the chart renders them: the PrometheusRule's spec, a Prometheus rules file.
fn rendered_rules(dir: &Path) -> PathBuf {
    let all = objects(&chart_template(&MONITORING));
    let rule = object(&all, "PrometheusRule");
    let path = dir.join("rules.yaml");
    std::fs::write(&path, serde_yaml::to_string(&rule["spec"]).unwrap()).unwrap();
    path
}

/// One scrape per scenario minute of the embedded demo, from its start until it reads fully
/// healthy: the minute (scenario time since the first document) and the samples.
struct Recording {
    minutes: BTreeMap<i64, Vec<Sample>>,
    /// Every metric the scrapes documented (`# HELP`), with or without samples: a family with
    /// nothing in it (no watches in the demo) is still one the service publishes.
    documented: std::collections::BTreeSet<String>,
    /// The appliance's site id (the document's), which `build_info` carries.
    site: String,
    /// The last document, for what only a live service publishes (its watches).
    last: app::status::StatusDocument,
}

async fn record_the_demo() -> Recording {
    let port = free_port().unwrap();
    let mut child = serve_demo(TOKEN, "60", port)
        .args(["--site-id", SITE])
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let get = |path: &str| {
        client
            .get(format!("{base}{path}"))
            .bearer_auth(TOKEN)
            .timeout(Duration::from_secs(5))
            .send()
    };
    let began = Instant::now();
    let mut first: Option<jiff::Timestamp> = None;
    let mut minutes = BTreeMap::new();
    let mut documented = std::collections::BTreeSet::new();
    let mut site = String::new();
    let last = loop {
        assert!(
            began.elapsed() < Duration::from_secs(180),
            "the demo did not reach fully healthy"
        );
        let Ok(status) = get("/api/status").await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        if !status.status().is_success() {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        let doc: app::status::StatusDocument =
            serde_json::from_str(&status.text().await.unwrap()).unwrap();
        let metrics = get("/metrics").await.unwrap().text().await.unwrap();
        let scrape = Scrape::parse(metrics.lines().map(|l| Ok(l.to_string()))).unwrap();
        documented.extend(scrape.docs.keys().cloned());
        site.clone_from(&doc.site_id);
        let start = *first.get_or_insert(doc.timestamp);
        let minute = doc.timestamp.duration_since(start).as_secs() / 60;
        minutes.entry(minute).or_insert(scrape.samples);
        // The scenario's last step (55 min) leaves it fully healthy; an unchanged document keeps
        // its timestamp, so the minutes stop there.
        if doc.rollup.state == app::status::RollupState::FullyHealthy && minute >= 55 {
            break doc;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let _ = child.kill();
    let _ = child.wait();
    Recording {
        minutes,
        documented,
        site,
        last,
    }
}

/// A series' identity: name and labels, as promtool writes them.
fn series_key(s: &Sample) -> String {
    let mut labels: Vec<(String, String)> = s
        .labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    labels.extend(scrape_labels());
    labels.sort();
    let inner: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}={}", serde_json::to_string(v).unwrap()))
        .collect();
    format!("{}{{{}}}", s.metric, inner.join(", "))
}

/// What Prometheus adds to every series it scrapes through the ServiceMonitor.
fn scrape_labels() -> Vec<(String, String)> {
    [
        ("job", JOB),
        ("instance", "10.244.0.7:8080"),
        ("namespace", "appliance-system"),
        ("pod", "appliance-status-5d8f7b9c6-x2k4p"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn number(s: &Sample) -> f64 {
    match s.value {
        prometheus_parse::Value::Counter(v)
        | prometheus_parse::Value::Gauge(v)
        | prometheus_parse::Value::Untyped(v) => v,
        _ => f64::NAN,
    }
}

/// promtool input series: for each scenario minute in `timeline` (index = minute of the test),
/// the recorded minute whose samples stand there; a series missing at a minute is `_`.
fn input_series(
    rec: &Recording,
    timeline: &[i64],
    edit: &dyn Fn(&str, usize, f64) -> f64,
) -> String {
    let mut series: BTreeMap<String, Vec<Option<f64>>> = BTreeMap::new();
    for (i, minute) in timeline.iter().enumerate() {
        for s in &rec.minutes[minute] {
            let key = series_key(s);
            let values = series
                .entry(key)
                .or_insert_with(|| vec![None; timeline.len()]);
            values[i] = Some(edit(&s.metric, i, number(s)));
        }
    }
    let mut out = String::new();
    for (key, values) in series {
        let values: Vec<String> = values
            .iter()
            .map(|v| v.map_or("_".to_string(), |v| v.to_string()))
            .collect();
        out.push_str(&format!(
            "      - series: {}\n        values: \"{}\"\n",
            serde_json::to_string(&key).unwrap(),
            values.join(" ")
        ));
    }
    out
}

fn up_series(values: &str) -> String {
    format!(
        "      - series: 'up{{job=\"{JOB}\", instance=\"10.244.0.7:8080\", namespace=\"appliance-system\", pod=\"appliance-status-5d8f7b9c6-x2k4p\"}}'\n        values: \"{values}\"\n"
    )
}

/// `eval_time`, alert, and the labels of the series it fires for (none: must not fire); the
/// annotations it must carry are the rule's, expanded with those labels as Prometheus does.
fn expect(rules: &Value, at: i64, alert: &str, fires_with: Option<&[(&str, &str)]>) -> String {
    let mut out = format!("      - eval_time: {at}m\n        alertname: {alert}\n");
    match fires_with {
        None => out.push_str("        exp_alerts: []\n"),
        Some(labels) => {
            out.push_str("        exp_alerts:\n          - exp_labels:\n");
            for (k, v) in labels {
                out.push_str(&format!(
                    "              {k}: {}\n",
                    serde_json::to_string(v).unwrap()
                ));
            }
            out.push_str("            exp_annotations:\n");
            let annotations = rules["groups"][0]["rules"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["alert"] == alert)
                .map(|r| r["annotations"].clone())
                .unwrap_or_else(|| panic!("no rule {alert}"));
            let label = regex::Regex::new(r"\{\{\s*\$labels\.([a-z_]+)\s*\}\}").unwrap();
            for (k, template) in annotations.as_object().unwrap() {
                let expanded = label
                    .replace_all(template.as_str().unwrap(), |c: &regex::Captures| {
                        labels
                            .iter()
                            .find(|(k, _)| *k == &c[1])
                            .map_or(String::new(), |(_, v)| v.to_string())
                    })
                    .into_owned();
                out.push_str(&format!(
                    "              {k}: {}\n",
                    serde_json::to_string(&expanded).unwrap()
                ));
            }
        }
    }
    out
}

/// The labels an alert on one of the service's series carries: the series' own and the scrape's,
/// the site joined from `build_info`, the rule's severity.
fn alert_labels<'a>(
    series: &[(&'a str, &'a str)],
    severity: &'a str,
    site: &'a str,
) -> Vec<(&'a str, &'a str)> {
    let mut labels = vec![
        ("severity", severity),
        ("site", site),
        ("job", JOB),
        ("instance", "10.244.0.7:8080"),
        ("namespace", "appliance-system"),
        ("pod", "appliance-status-5d8f7b9c6-x2k4p"),
    ];
    labels.extend_from_slice(series);
    labels
}

const ALERTS: [&str; 5] = [
    "ApplianceActionRequired",
    "ApplianceLoginNotReady",
    "ApplianceBackgroundDegraded",
    "ApplianceStatusStale",
    "ApplianceStatusDown",
];

/// The first and last minute of the longest run of consecutive minutes in `minutes` (sorted).
fn longest_run(minutes: &[i64]) -> (i64, i64) {
    let mut best = (minutes[0], minutes[0]);
    let mut start = minutes[0];
    for pair in minutes.windows(2) {
        if pair[1] != pair[0] + 1 {
            start = pair[1];
        }
        if pair[1] - start > best.1 - best.0 {
            best = (start, pair[1]);
        }
    }
    best
}

/// The minutes at which the recording reads rollup `state`.
fn minutes_in(rec: &Recording, state: &str) -> Vec<i64> {
    rec.minutes
        .iter()
        .filter(|(_, samples)| {
            samples.iter().any(|s| {
                s.metric == "appliance_status_rollup"
                    && s.labels.get("state") == Some(state)
                    && number(s) == 1.0
            })
        })
        .map(|(m, _)| *m)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_alerts_fire_on_the_services_own_series_when_and_only_when_they_should() {
    let dir = tempfile::tempdir().unwrap();
    let rules = rendered_rules(dir.path());
    let (ok, out) = run_promtool(dir.path(), &["check", "rules", rules.to_str().unwrap()]);
    assert!(ok, "promtool check rules: {out}");
    assert!(out.contains("5 rules found"), "{out}");
    let rule_set: Value = serde_yaml::from_str(&std::fs::read_to_string(&rules).unwrap()).unwrap();
    let expect = |at: i64, alert: &str, fires_with: Option<&[(&str, &str)]>| {
        expect(&rule_set, at, alert, fires_with)
    };

    let rec = record_the_demo().await;
    let last = *rec.minutes.keys().last().unwrap();
    // Every minute from the first to the last, each standing for itself or, where the scrape
    // loop missed one, for the minute before.
    let observed: Vec<i64> = (0..=last)
        .map(|m| *rec.minutes.range(..=m).next_back().unwrap().0)
        .collect();
    let failed = minutes_in(&rec, "failed_action_required");
    let background = minutes_in(&rec, "ready_with_background_issues");
    // The longest stretch of minutes that read failed: the DNS resolver refusing, then the
    // image pull and the database's volume, over half an hour of the observed bootstrap (a step
    // may pass through "installing" for the hysteresis while one failure gives way to the next).
    let (f0, f1) = longest_run(&failed);
    assert!(f1 - f0 >= 20, "failed minutes {failed:?}");
    assert!(
        (5..30).contains(&background.len()),
        "background issues for {} min",
        background.len()
    );
    let hold = |minute: i64, n: usize| vec![minute; n];
    let same = |_: &str, _: usize, v: f64| v;
    let site = rec.site.as_str();
    assert_eq!(site, SITE, "the document carries serve --site-id");
    let failed_labels = alert_labels(&[("state", "failed_action_required")], "critical", site);
    let login_labels = alert_labels(&[("tier", "login")], "warning", site);
    let background_labels = alert_labels(
        &[("state", "ready_with_background_issues")],
        "warning",
        site,
    );
    let stale_labels = alert_labels(&[], "warning", site);

    let mut tests = String::new();
    let mut case = |name: &str, series: String, checks: Vec<String>| {
        tests.push_str(&format!(
            "  - name: {}\n    interval: 1m\n    input_series:\n{series}    alert_rule_test:\n{}",
            serde_json::to_string(name).unwrap(),
            checks.concat()
        ));
    };

    // 1. The observed bootstrap as it happened, then its healthy end held for an hour.
    let mut timeline = observed.clone();
    timeline.extend(hold(last, 60));
    let n = timeline.len() as i64;
    let mut checks = vec![
        expect(f0 + 8, ALERTS[0], None),
        expect(f0 + 12, ALERTS[0], Some(&failed_labels)),
        expect(f1 + 3, ALERTS[0], None),
    ];
    for alert in ALERTS {
        checks.push(expect(n - 1, alert, None));
    }
    // Login ready within the hour: never "login not ready for an hour".
    checks.push(expect(62, ALERTS[1], None));
    case(
        "the observed bootstrap",
        input_series(&rec, &timeline, &same) + &up_series(&format!("1x{}", n - 1)),
        checks,
    );

    // 2. Stuck at its first minute for 75 minutes: action required after 10, login not ready
    //    after an hour.
    let stuck = hold(f0, 75);
    case(
        "stuck at the first step",
        input_series(&rec, &stuck, &same) + &up_series("1x74"),
        vec![
            expect(58, ALERTS[1], None),
            expect(62, ALERTS[1], Some(&login_labels)),
            expect(20, ALERTS[0], Some(&failed_labels)),
            expect(62, ALERTS[2], None),
        ],
    );

    // 3. Background issues that last: degraded after 30 minutes, never login or failure alerts.
    let degraded = hold(background[background.len() / 2], 45);
    case(
        "background issues that last",
        input_series(&rec, &degraded, &same) + &up_series("1x44"),
        vec![
            expect(27, ALERTS[2], None),
            expect(33, ALERTS[2], Some(&background_labels)),
            expect(40, ALERTS[0], None),
            expect(40, ALERTS[1], None),
        ],
    );

    // 4. Stale: the healthy end, with the document no longer reassessed from minute 10
    //    (synthetic: its age grows by a minute a minute; the demo's own document stays fresh).
    let healthy = hold(last, 30);
    let aging = |metric: &str, i: usize, v: f64| {
        if metric == "appliance_status_assessment_age_seconds" && i >= 10 {
            ((i - 10) * 60) as f64
        } else {
            v
        }
    };
    case(
        "a document no longer reassessed",
        input_series(&rec, &healthy, &aging) + &up_series("1x29"),
        vec![
            expect(14, ALERTS[3], None),
            expect(20, ALERTS[3], Some(&stale_labels)),
            expect(20, ALERTS[4], None),
        ],
    );

    // 5. The service down from minute 10 (Prometheus' own `up`), and never scraped at all.
    case(
        "the service down",
        input_series(&rec, &hold(last, 10), &same) + &up_series("1x9 0x20"),
        vec![
            expect(12, ALERTS[4], None),
            expect(
                18,
                ALERTS[4],
                Some(&[
                    ("severity", "warning"),
                    ("job", JOB),
                    ("instance", "10.244.0.7:8080"),
                    ("namespace", "appliance-system"),
                    ("pod", "appliance-status-5d8f7b9c6-x2k4p"),
                ]),
            ),
        ],
    );
    case(
        "never scraped",
        "      - series: 'unrelated{job=\"other\"}'\n        values: \"1x20\"\n".to_string(),
        vec![
            expect(3, ALERTS[4], None),
            expect(8, ALERTS[4], Some(&[("severity", "warning"), ("job", JOB)])),
        ],
    );

    let file = format!("rule_files: [rules.yaml]\nevaluation_interval: 1m\ntests:\n{tests}");
    std::fs::write(dir.path().join("tests.yaml"), file).unwrap();
    let (ok, out) = run_promtool(dir.path(), &["test", "rules", "tests.yaml"]);
    assert!(ok, "promtool test rules:\n{out}");
    assert!(out.contains("SUCCESS"), "{out}");
}

/// The metric names a PromQL expression reads (`appliance_status_…` and `up`).
fn metric_names(expr: &str) -> Vec<String> {
    let re = regex::Regex::new(r"\b(appliance_status_[a-z_]+|up)\b").unwrap();
    re.find_iter(expr).map(|m| m.as_str().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_reads_what_the_service_publishes() {
    let all = objects(&chart_template(&MONITORING));
    let map = all
        .iter()
        .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == "appliance-status-dashboard")
        .expect("the dashboard ConfigMap");
    assert_eq!(map["metadata"]["labels"]["grafana_dashboard"], "1");
    let dashboard: Value =
        serde_json::from_str(map["data"]["appliance-status.json"].as_str().unwrap()).unwrap();
    let exprs: Vec<String> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap().clone())
        .map(|t| t["expr"].as_str().unwrap().to_string())
        .collect();
    assert!(exprs.len() >= 8, "{exprs:?}");

    // Valid PromQL: each query as a recording rule, checked by promtool.
    let dir = tempfile::tempdir().unwrap();
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, e) in exprs.iter().enumerate() {
        rules.push_str(&format!(
            "      - record: dashboard:query_{i}\n        expr: {}\n",
            serde_json::to_string(&e.replace("$site", ".*")).unwrap()
        ));
    }
    std::fs::write(dir.path().join("dashboard.yaml"), rules).unwrap();
    let (ok, out) = run_promtool(dir.path(), &["check", "rules", "dashboard.yaml"]);
    assert!(ok, "promtool check rules (the dashboard's queries): {out}");

    // Every metric it reads is one the service publishes.
    let rec = record_the_demo().await;
    let mut published = rec.documented.clone();
    published.extend(rec.minutes.values().flatten().map(|s| s.metric.clone()));
    // A demo has no watches; a live service publishes one series per watched kind, from the
    // document's watches, by the same function /metrics calls.
    let mut live = rec.last.clone();
    live.source.watches = vec![app::status::WatchStatus {
        kind: "Pod".into(),
        state: app::status::WatchState::Listed,
        objects: Some(1),
    }];
    let text = appliance_status::metrics::render(
        &live,
        None,
        &appliance_status::auth::Limiter::default(),
        live.timestamp,
    );
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap();
    published.extend(scrape.samples.iter().map(|s| s.metric.clone()));
    let rules_file = rendered_rules(dir.path());
    let rules = std::fs::read_to_string(rules_file).unwrap();
    for name in exprs
        .iter()
        .flat_map(|e| metric_names(e))
        .chain(metric_names(&rules))
        .filter(|n| n != "up")
    {
        assert!(
            published.contains(&name),
            "{name} is queried but the service publishes no such series ({published:?})"
        );
    }
}

#[test]
fn the_service_monitor_scrapes_the_pod_with_the_token() {
    let all = objects(&chart_template(&MONITORING));
    let deployment = object(&all, "Deployment");
    let service = object(&all, "Service");
    let monitor = object(&all, "ServiceMonitor");
    let pod_labels = &deployment["spec"]["template"]["metadata"]["labels"];
    for (k, v) in service["spec"]["selector"].as_object().unwrap() {
        assert_eq!(&pod_labels[k], v, "the Service selects the pod by {k}");
    }
    let ports = &deployment["spec"]["template"]["spec"]["containers"][0]["ports"];
    assert!(ports
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == service["spec"]["ports"][0]["targetPort"]));
    for (k, v) in monitor["spec"]["selector"]["matchLabels"]
        .as_object()
        .unwrap()
    {
        assert_eq!(
            &service["metadata"]["labels"][k], v,
            "the monitor selects the Service by {k}"
        );
    }
    let endpoint = &monitor["spec"]["endpoints"][0];
    assert_eq!(endpoint["port"], service["spec"]["ports"][0]["name"]);
    assert_eq!(endpoint["path"], "/metrics");
    assert_eq!(
        endpoint["authorization"]["credentials"],
        serde_json::json!({"name": "appliance-status-auth", "key": "token"})
    );
    // The job label the alerts' `up{job=…}` expects is the Service's name.
    let rule = object(&all, "PrometheusRule");
    let text = serde_yaml::to_string(&rule["spec"]).unwrap();
    assert!(text.contains(&format!(
        "up{{job=\"{}\"}}",
        service["metadata"]["name"].as_str().unwrap()
    )));
    assert!(!text.contains("APPLIANCE_STATUS_JOB"));

    // Open metrics: no token sent; off by default: nothing of it rendered.
    let mut open = MONITORING.to_vec();
    open.extend(["--set", "metrics.open=true"]);
    let all = objects(&chart_template(&open));
    assert!(object(&all, "ServiceMonitor")["spec"]["endpoints"][0]
        .get("authorization")
        .is_none());
    let default = objects(&chart_template(&[]));
    for kind in ["Service", "ServiceMonitor", "PrometheusRule"] {
        assert!(
            default.iter().all(|o| o["kind"] != kind),
            "{kind} rendered by default"
        );
    }

    // Without the ServiceMonitor the down alert is left out (`absent(up{job=…})` of a job nobody
    // scrapes would fire forever), unless the job is named.
    let alerts = |extra: &[&str]| -> Vec<String> {
        let mut args = vec!["--set", "monitoring.prometheusRule.enabled=true"];
        args.extend_from_slice(extra);
        let all = objects(&chart_template(&args));
        object(&all, "PrometheusRule")["spec"]["groups"][0]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                format!(
                    "{} {}",
                    r["alert"].as_str().unwrap(),
                    r["expr"].as_str().unwrap()
                )
            })
            .collect()
    };
    let alone = alerts(&[]);
    assert_eq!(alone.len(), 4, "{alone:?}");
    assert!(alone.iter().all(|a| !a.starts_with("ApplianceStatusDown")));
    let named = alerts(&["--set", "monitoring.prometheusRule.job=kubernetes-pods"]);
    assert!(named.iter().any(
        |a| a.starts_with("ApplianceStatusDown") && a.contains(r#"up{job="kubernetes-pods"}"#)
    ));

    // The site id: passed to serve; one the service would refuse is refused by the schema.
    let with_site = objects(&chart_template(&["--set", "siteId=acme-hq-01"]));
    let args = object(&with_site, "Deployment")["spec"]["template"]["spec"]["containers"][0]
        ["args"]
        .clone();
    assert!(
        args.as_array()
            .unwrap()
            .iter()
            .any(|a| a == "--site-id=acme-hq-01"),
        "{args}"
    );
    let refused = Command::new(helm())
        .args(["template", "appliance-status"])
        .arg(project_root().join("helm/appliance-status"))
        .args(["--set", "siteId=acme hq"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let out = bin()
        .args(["serve", "--no-site", "--demo", "--site-id", "acme hq"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--site-id"));
}

#[test]
fn the_monitoring_objects_pass_the_operators_schemas_on_a_real_api_server() {
    let cluster = TestCluster::start().expect("test API server");
    // The Prometheus Operator's CRDs, made (or found cached) by `testing/crds/monitoring.sh`.
    cluster
        .install_crds(&built("testing/crds/monitoring.sh"))
        .unwrap();
    cluster
        .kubectl(&["create", "namespace", "appliance-system"], None)
        .unwrap();
    let monitoring: Vec<Value> = objects(&chart_template(&MONITORING))
        .into_iter()
        .filter(|o| {
            matches!(
                o["kind"].as_str(),
                Some("Service" | "ServiceMonitor" | "PrometheusRule" | "ConfigMap")
            )
        })
        .collect();
    let as_yaml = |objects: &[Value]| {
        objects
            .iter()
            .map(|o| serde_yaml::to_string(o).unwrap())
            .collect::<Vec<_>>()
            .join("---\n")
    };
    let out = cluster
        .kubectl(
            &["apply", "--dry-run=server", "-f", "-"],
            Some(&as_yaml(&monitoring)),
        )
        .unwrap();
    for line in [
        "service/appliance-status created (server dry run)",
        "servicemonitor.monitoring.coreos.com/appliance-status created (server dry run)",
        "prometheusrule.monitoring.coreos.com/appliance-status created (server dry run)",
        "configmap/appliance-status-dashboard created (server dry run)",
    ] {
        assert!(out.contains(line), "{line:?} not in {out}");
    }
    // The schemas are enforced: a scrape interval that is no duration is refused.
    let mut wrong: Vec<Value> = monitoring
        .into_iter()
        .filter(|o| o["kind"] == "ServiceMonitor")
        .collect();
    wrong[0]["spec"]["endpoints"][0]["interval"] = Value::from("every thirty seconds");
    let refused = cluster
        .kubectl(
            &["apply", "--dry-run=server", "-f", "-"],
            Some(&as_yaml(&wrong)),
        )
        .unwrap_err()
        .to_string();
    assert!(refused.contains("interval"), "{refused}");
}
