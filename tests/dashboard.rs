//! Structure of the operator assets: the Grafana dashboard (`config/grafana/beacon-processor.json`)
//! and the Prometheus alerting rules (`config/prometheus/beacon-processor-alerts.yaml`, with its
//! `promtool test rules` file). Every PromQL expression may only use the metric families the
//! processor exports (the contract of `GET /metrics`), so a renamed metric cannot silently leave
//! a panel or an alert empty. `scripts/check-ops-assets.sh` checks the PromQL itself with promtool.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

/// The metric families of `GET /metrics`, as exposed (counters with `_total`).
const EXPORTED_METRICS: &[&str] = &[
    "beacon_lines_read_total",
    "beacon_events_delivered_total",
    "beacon_events_valid_total",
    "beacon_events_invalid_total",
    "beacon_errors_total",
    "beacon_events_skipped_total",
    "beacon_processing_latency_seconds",
    "beacon_queue_batches",
    "beacon_kafka_consumer_lag",
    "beacon_kafka_producer_queue_messages",
    "beacon_kafka_delivery_errors_total",
    "beacon_files_watched",
    "beacon_files_matched",
    "beacon_files_rotated_total",
    "beacon_files_truncated_total",
    "beacon_checkpoint_age_seconds",
    "beacon_schema_cache_requests_total",
    "beacon_http_requests_total",
    "beacon_http_request_duration_seconds",
    "beacon_http_requests_in_flight",
    "beacon_http_hasty_events_lost_total",
    "beacon_ready",
    "beacon_start_time_seconds",
    "beacon_build_info",
];

/// Histogram families: queried through their `_bucket`, `_sum` and `_count` series.
const HISTOGRAMS: &[&str] = &[
    "beacon_processing_latency_seconds",
    "beacon_http_request_duration_seconds",
];
const HISTOGRAM_SUFFIXES: &[&str] = &["_bucket", "_sum", "_count"];

fn repo_file(path: &str) -> String {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// The `beacon_*` metric names an expression uses.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let token = Regex::new(r"beacon_[a-z_]+").expect("valid regex");
    token
        .find_iter(expr)
        .map(|m| m.as_str().to_string())
        .collect()
}

/// Whether a name is an exported metric (or one of a histogram's series).
fn is_exported(name: &str) -> bool {
    EXPORTED_METRICS.contains(&name)
        || HISTOGRAMS.iter().any(|histogram| {
            HISTOGRAM_SUFFIXES
                .iter()
                .any(|suffix| name.strip_suffix(suffix) == Some(histogram))
        })
}

/// Names in `expr` that the processor does not export.
fn unknown_metrics(expr: &str) -> Vec<String> {
    metric_names(expr)
        .into_iter()
        .filter(|name| !is_exported(name))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Grafana dashboard

fn dashboard() -> Value {
    let text = repo_file("config/grafana/beacon-processor.json");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("dashboard is not JSON: {e}"))
}

/// Every panel, rows' nested panels included.
fn all_panels(dashboard: &Value) -> Vec<&Value> {
    fn walk<'a>(panels: &'a Value, out: &mut Vec<&'a Value>) {
        for panel in panels.as_array().into_iter().flatten() {
            out.push(panel);
            if let Some(nested) = panel.get("panels") {
                walk(nested, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

fn is_row(panel: &Value) -> bool {
    panel["type"] == "row"
}

fn title(panel: &Value) -> &str {
    panel["title"].as_str().unwrap_or("")
}

#[test]
fn dashboard_is_an_importable_grafana_dashboard() {
    let dashboard = dashboard();
    assert_eq!(dashboard["title"], "beacon-processor");
    assert_eq!(dashboard["uid"], "beacon-processor");
    let schema_version = dashboard["schemaVersion"]
        .as_u64()
        .expect("schemaVersion is a number");
    assert!(
        (36..=41).contains(&schema_version),
        "schemaVersion {schema_version}"
    );
    // Importable anywhere: no fixed id, and the data source is chosen by a variable.
    assert!(dashboard["id"].is_null(), "a dashboard id pins one Grafana");
    let variables: BTreeMap<&str, &Value> = dashboard["templating"]["list"]
        .as_array()
        .expect("templating.list")
        .iter()
        .map(|v| (v["name"].as_str().expect("variable name"), v))
        .collect();
    assert_eq!(variables["datasource"]["type"], "datasource");
    assert_eq!(variables["datasource"]["query"], "prometheus");
    for name in ["job", "instance"] {
        let variable = variables
            .get(name)
            .unwrap_or_else(|| panic!("no `{name}` template variable"));
        assert_eq!(variable["type"], "query", "{name}");
        assert_eq!(
            variable["datasource"]["uid"], "${datasource}",
            "{name} queries the chosen data source"
        );
        let query = variable["definition"].as_str().expect("definition");
        assert!(query.starts_with("label_values("), "{name}: {query}");
        assert!(unknown_metrics(query).is_empty(), "{name}: {query}");
    }
    assert_eq!(variables["instance"]["includeAll"], true);
}

#[test]
fn dashboard_panels_have_unique_ids_titles_data_sources_and_targets() {
    let dashboard = dashboard();
    let panels = all_panels(&dashboard);
    assert!(panels.len() >= 20, "only {} panels", panels.len());
    let mut ids = BTreeSet::new();
    for panel in &panels {
        let id = panel["id"]
            .as_u64()
            .unwrap_or_else(|| panic!("panel {:?} has no numeric id", title(panel)));
        assert!(ids.insert(id), "panel id {id} is used twice");
        assert!(!title(panel).trim().is_empty(), "panel {id} has no title");
        let grid = &panel["gridPos"];
        for key in ["h", "w", "x", "y"] {
            assert!(grid[key].is_u64(), "panel {id}: gridPos.{key}");
        }
        let right_edge = grid["x"].as_u64().unwrap_or(0) + grid["w"].as_u64().unwrap_or(0);
        assert!(right_edge <= 24, "panel {id} is wider than the grid");
        if is_row(panel) {
            continue; // rows group panels: no query of their own
        }
        assert_eq!(
            panel["datasource"]["uid"],
            "${datasource}",
            "panel {:?}: data source",
            title(panel)
        );
        let targets = panel["targets"]
            .as_array()
            .unwrap_or_else(|| panic!("panel {:?} has no targets", title(panel)));
        assert!(
            !targets.is_empty(),
            "panel {:?} has no targets",
            title(panel)
        );
        let mut ref_ids = BTreeSet::new();
        for target in targets {
            let expr = target["expr"].as_str().unwrap_or("");
            assert!(
                !expr.trim().is_empty(),
                "panel {:?}: empty expr",
                title(panel)
            );
            let ref_id = target["refId"].as_str().unwrap_or("");
            assert!(
                ref_ids.insert(ref_id),
                "panel {:?}: refId {ref_id:?} twice",
                title(panel)
            );
        }
    }
}

#[test]
fn dashboard_queries_use_only_exported_metrics_and_the_dashboard_filters() {
    let dashboard = dashboard();
    let mut used = BTreeSet::new();
    for panel in all_panels(&dashboard) {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().unwrap_or("");
            let names = metric_names(expr);
            assert!(
                !names.is_empty(),
                "panel {:?}: no beacon_ metric in {expr}",
                title(panel)
            );
            assert_eq!(
                unknown_metrics(expr),
                Vec::<String>::new(),
                "panel {:?}: {expr}",
                title(panel)
            );
            // Each selector honours the job and instance variables.
            let selectors = expr.matches("beacon_").count();
            assert_eq!(
                expr.matches(r#"job=~"$job", instance=~"$instance""#)
                    .count(),
                selectors,
                "panel {:?}: a metric without the $job/$instance filter in {expr}",
                title(panel)
            );
            used.extend(names);
        }
    }
    // Everything an operator looks at has a panel.
    let missing: Vec<&&str> = EXPORTED_METRICS
        .iter()
        .filter(|metric| {
            !used.iter().any(|name| {
                name == **metric
                    || HISTOGRAM_SUFFIXES
                        .iter()
                        .any(|s| name.strip_suffix(s) == Some(**metric))
            })
        })
        .collect();
    assert!(missing.is_empty(), "metrics without a panel: {missing:?}");
}

#[test]
fn dashboard_covers_the_operators_questions() {
    let dashboard = dashboard();
    let titles: Vec<String> = all_panels(&dashboard)
        .iter()
        .map(|p| title(p).to_lowercase())
        .collect();
    for wanted in [
        "lines read by source",
        "events delivered by topic",
        "error rate",
        "error rate by schema",
        "errors by reason",
        "processing latency",
        "queue depths",
        "consumer lag by partition",
        "producer queue",
        "delivery errors",
        "files watched",
        "rotations and truncations",
        "checkpoint age",
        "schema cache hit ratio",
        "ready",
    ] {
        assert!(
            titles.iter().any(|t| t.starts_with(wanted)),
            "no panel titled {wanted:?} in {titles:?}"
        );
    }
    let latency = all_panels(&dashboard)
        .into_iter()
        .find(|p| title(p).starts_with("Processing latency"))
        .expect("latency panel");
    let quantiles: Vec<&str> = latency["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .filter_map(|t| t["expr"].as_str())
        .filter(|e| e.starts_with("histogram_quantile("))
        .collect();
    assert_eq!(quantiles.len(), 3, "p50, p90, p99: {quantiles:?}");
}

#[test]
fn metric_name_check_rejects_unknown_names_and_allows_histogram_series() {
    assert_eq!(
        unknown_metrics("rate(beacon_lines_read_total[5m]) / beacon_lines_total"),
        vec!["beacon_lines_total".to_string()]
    );
    assert!(unknown_metrics(
        "histogram_quantile(0.9, rate(beacon_processing_latency_seconds_bucket[5m]))"
    )
    .is_empty());
    assert_eq!(
        unknown_metrics("beacon_ready_bucket + beacon_queue_batches_sum"),
        vec![
            "beacon_queue_batches_sum".to_string(),
            "beacon_ready_bucket".to_string()
        ]
    );
    // Label values such as job="beacon-processor" are not metric names.
    assert!(metric_names(r#"up{job="beacon-processor"}"#).is_empty());
}

// ---------------------------------------------------------------------------------------------
// Prometheus alerting rules

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    groups: Vec<RuleGroup>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleGroup {
    name: String,
    rules: Vec<Rule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rule {
    alert: Option<String>,
    record: Option<String>,
    expr: String,
    #[serde(rename = "for")]
    pending_for: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

fn alert_rules() -> RuleFile {
    let text = repo_file("config/prometheus/beacon-processor-alerts.yaml");
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("alert rules are not valid: {e}"))
}

fn alerts(file: &RuleFile) -> Vec<&Rule> {
    file.groups.iter().flat_map(|g| g.rules.iter()).collect()
}

#[test]
fn every_alert_has_expr_for_severity_and_annotations() {
    let file = alert_rules();
    let duration = Regex::new(r"^[0-9]+(ms|s|m|h|d|w|y)$").expect("valid regex");
    let mut names = BTreeSet::new();
    let mut group_names = BTreeSet::new();
    for group in &file.groups {
        assert!(
            group_names.insert(&group.name),
            "group {} twice",
            group.name
        );
        assert!(!group.rules.is_empty(), "group {} is empty", group.name);
    }
    for rule in alerts(&file) {
        assert!(rule.record.is_none(), "recording rules belong elsewhere");
        let name = rule.alert.as_deref().expect("every rule is an alert");
        assert!(names.insert(name), "alert {name} twice");
        assert!(
            name.starts_with("BeaconProcessor"),
            "{name}: alerts are named BeaconProcessor*"
        );
        assert!(!rule.expr.trim().is_empty(), "{name}: empty expr");
        let pending = rule
            .pending_for
            .as_deref()
            .unwrap_or_else(|| panic!("{name}: no `for`"));
        assert!(duration.is_match(pending), "{name}: for {pending:?}");
        let severity = rule
            .labels
            .get("severity")
            .unwrap_or_else(|| panic!("{name}: no severity label"));
        assert!(
            ["critical", "warning"].contains(&severity.as_str()),
            "{name}: severity {severity}"
        );
        for key in ["summary", "description"] {
            let text = rule
                .annotations
                .get(key)
                .unwrap_or_else(|| panic!("{name}: no {key} annotation"));
            assert!(!text.trim().is_empty(), "{name}: empty {key}");
        }
    }
    for wanted in [
        "BeaconProcessorSchemaErrorRateHigh",
        "BeaconProcessorErrorRateHigh",
        "BeaconProcessorSchemaTrafficDrop",
        "BeaconProcessorKafkaLagGrowing",
        "BeaconProcessorNotReady",
        "BeaconProcessorDown",
        "BeaconProcessorAbsent",
        "BeaconProcessorProduceErrors",
    ] {
        assert!(names.contains(wanted), "no alert {wanted}");
    }
}

#[test]
fn alert_expressions_use_only_exported_metrics() {
    let file = alert_rules();
    let mut used = BTreeSet::new();
    for rule in alerts(&file) {
        let name = rule.alert.as_deref().unwrap_or("?");
        assert_eq!(
            unknown_metrics(&rule.expr),
            Vec::<String>::new(),
            "{name}: {}",
            rule.expr
        );
        used.extend(metric_names(&rule.expr));
        // Scrape health is the only non-beacon series an alert may use.
        if metric_names(&rule.expr).is_empty() {
            assert!(
                rule.expr.contains(r#"up{job="beacon-processor"}"#),
                "{name}: {}",
                rule.expr
            );
        }
    }
    for metric in [
        "beacon_events_invalid_total",
        "beacon_events_valid_total",
        "beacon_kafka_consumer_lag",
        "beacon_ready",
        "beacon_errors_total",
    ] {
        assert!(used.contains(metric), "no alert uses {metric}");
    }
    // The specific thresholds the alerts promise.
    let by_name: BTreeMap<&str, &Rule> = alerts(&file)
        .into_iter()
        .filter_map(|r| Some((r.alert.as_deref()?, r)))
        .collect();
    let error_rate = by_name["BeaconProcessorSchemaErrorRateHigh"];
    assert!(error_rate.expr.contains("> 0.05"));
    assert_eq!(error_rate.pending_for.as_deref(), Some("10m"));
    assert!(by_name["BeaconProcessorSchemaTrafficDrop"]
        .expr
        .contains("offset 1d"));
    assert!(by_name["BeaconProcessorKafkaLagGrowing"]
        .expr
        .contains("deriv(beacon_kafka_consumer_lag[15m]) > 0"));
    let not_ready = by_name["BeaconProcessorNotReady"];
    assert_eq!(not_ready.expr.trim(), "beacon_ready == 0");
    assert_eq!(not_ready.pending_for.as_deref(), Some("5m"));
    assert_eq!(not_ready.labels["severity"], "critical");
}

// ---------------------------------------------------------------------------------------------
// promtool unit tests of the rules

#[derive(Debug, Deserialize)]
struct RuleTestFile {
    rule_files: Vec<String>,
    tests: Vec<RuleTestGroup>,
}

#[derive(Debug, Deserialize)]
struct RuleTestGroup {
    #[serde(default)]
    alert_rule_test: Vec<AlertTestCase>,
}

#[derive(Debug, Deserialize)]
struct AlertTestCase {
    alertname: String,
    #[serde(default)]
    exp_alerts: Vec<Value>,
}

#[test]
fn rule_tests_cover_firing_and_quiet_cases_of_the_key_alerts() {
    let text = repo_file("config/prometheus/beacon-processor-alerts.test.yaml");
    let tests: RuleTestFile =
        serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("rule tests are not valid: {e}"));
    assert_eq!(tests.rule_files, ["beacon-processor-alerts.yaml"]);
    let file = alert_rules();
    let known: BTreeSet<&str> = alerts(&file)
        .into_iter()
        .filter_map(|r| r.alert.as_deref())
        .collect();
    // alert name -> (cases where it fires, cases where it must not)
    let mut coverage: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for case in tests.tests.iter().flat_map(|t| t.alert_rule_test.iter()) {
        assert!(
            known.contains(case.alertname.as_str()),
            "test of an unknown alert {}",
            case.alertname
        );
        let entry = coverage.entry(case.alertname.as_str()).or_default();
        if case.exp_alerts.is_empty() {
            entry.1 += 1;
        } else {
            entry.0 += 1;
        }
    }
    for alert in [
        "BeaconProcessorSchemaErrorRateHigh",
        "BeaconProcessorErrorRateHigh",
        "BeaconProcessorNotReady",
        "BeaconProcessorKafkaLagGrowing",
        "BeaconProcessorSchemaTrafficDrop",
        "BeaconProcessorDown",
        "BeaconProcessorAbsent",
        "BeaconProcessorProduceErrors",
    ] {
        let (firing, quiet) = coverage.get(alert).copied().unwrap_or_default();
        assert!(
            firing >= 1 && quiet >= 1,
            "{alert}: {firing} firing and {quiet} quiet test cases"
        );
    }
}
