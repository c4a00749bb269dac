//! `beacon-processor top [ADDR]`: a terminal view of a running instance, like `vector top`.
//! It reads the instance's `/api/status` (the status page's data) every second and redraws:
//! readiness, rates and totals, warnings, the busiest schemas, error reasons, Kafka lag per
//! group and topic, followed files, latency and queues. `--once` prints one view and exits
//! (also what it does when standard output is not a terminal).

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::cli::TopArgs;
use crate::metrics::cut;

use super::lifecycle::{install_signal_handlers, thousands};
use super::CommandError;

/// How often the view is redrawn.
const REFRESH: Duration = Duration::from_secs(1);
/// Schemas shown.
const SCHEMA_ROWS: usize = 15;

/// Shows the status of the instance at `args.address` until Ctrl-C.
pub fn top(args: &TopArgs) -> Result<(), CommandError> {
    let stop = Arc::new(AtomicBool::new(false));
    install_signal_handlers(&stop)?;
    let url = status_url(&args.address);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into();
    let once = args.once || !std::io::stdout().is_terminal();
    let mut stdout = std::io::stdout();
    loop {
        let view = match fetch(&agent, &url) {
            Ok(status) => render(&status, &args.address),
            Err(error) if once => {
                return Err(CommandError::Other(format!(
                    "cannot read {url}: {error} (is beacon-processor running with its status \
                     server on {}?)",
                    args.address
                )))
            }
            Err(error) => format!("beacon-processor top: cannot read {url}: {error}; retrying…\n"),
        };
        let frame = if once {
            view
        } else {
            // Home, clear the screen, draw.
            format!("\x1b[H\x1b[2J{view}")
        };
        if stdout
            .write_all(frame.as_bytes())
            .and_then(|()| stdout.flush())
            .is_err()
        {
            // The reader went away (`top | head`): a clean stop.
            return Ok(());
        }
        if once {
            return Ok(());
        }
        for _ in 0..10 {
            if stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            std::thread::sleep(REFRESH / 10);
        }
    }
}

fn status_url(address: &str) -> String {
    let base = if address.starts_with("http://") || address.starts_with("https://") {
        address.trim_end_matches('/').to_owned()
    } else {
        format!("http://{}", address.trim_end_matches('/'))
    };
    format!("{base}/api/status")
}

fn fetch(agent: &ureq::Agent, url: &str) -> Result<Value, String> {
    let mut response = agent.get(url).call().map_err(|e| e.to_string())?;
    let body = response
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    serde_json::from_str(&body).map_err(|e| format!("not the status JSON: {e}"))
}

fn int(value: &Value) -> String {
    value.as_u64().map_or_else(|| "–".to_owned(), thousands)
}

fn rate(value: &Value) -> String {
    value
        .as_f64()
        .map_or_else(|| "–".to_owned(), |r| thousands(r.round() as u64))
}

fn percent(value: &Value) -> String {
    value
        .as_f64()
        .map_or_else(|| "–".to_owned(), |r| format!("{:.2} %", r * 100.0))
}

fn seconds(value: &Value) -> String {
    match value.as_f64() {
        Some(s) if s < 1.0 => format!("{:.1} ms", s * 1000.0),
        Some(s) => format!("{s:.2} s"),
        None => "–".to_owned(),
    }
}

/// The view of one status snapshot, as text.
pub fn render(status: &Value, address: &str) -> String {
    let mut out = String::new();
    let ready = if status["ready"] == true {
        "ready"
    } else {
        "NOT READY"
    };
    let _ = writeln!(
        out,
        "beacon-processor {} at {address}: {ready}, up {} s, {} -> {}",
        status["version"].as_str().unwrap_or("?"),
        int(&Value::from(
            status["uptime_seconds"].as_f64().unwrap_or(0.0) as u64
        )),
        status["source"].as_str().unwrap_or("?"),
        status["sink"].as_str().unwrap_or("?"),
    );
    for warning in status["warnings"].as_array().into_iter().flatten() {
        let _ = writeln!(out, "WARNING: {}", warning.as_str().unwrap_or_default());
    }
    let totals = &status["totals"];
    let rates = &status["rates"];
    let _ = writeln!(out);
    let _ = writeln!(out, "{:<14}{:>16}{:>14}", "", "total", "per second");
    for (label, key, rate_key) in [
        ("lines", "lines", "lines_per_second"),
        ("valid", "valid", "valid_per_second"),
        ("errors", "invalid", "invalid_per_second"),
    ] {
        let _ = writeln!(
            out,
            "{label:<14}{:>16}{:>14}",
            int(&totals[key]),
            rate(&rates[rate_key])
        );
    }
    let _ = writeln!(
        out,
        "{:<14}{:>16}",
        "error rate",
        percent(&status["error_rate"])
    );
    let latency = &status["latency"];
    let _ = writeln!(
        out,
        "{:<14}{:>16}{:>14}",
        "latency p50/99",
        seconds(&latency["p50_seconds"]),
        seconds(&latency["p99_seconds"])
    );

    let mut schemas: Vec<&Value> = status["schemas"].as_array().into_iter().flatten().collect();
    schemas.sort_by(|a, b| {
        let total =
            |s: &Value| s["valid"].as_u64().unwrap_or(0) + s["invalid"].as_u64().unwrap_or(0);
        total(b).cmp(&total(a))
    });
    if !schemas.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<40}{:>12}{:>12}{:>10}{:>10}",
            "schema", "valid", "invalid", "errors", "valid/s"
        );
        for s in schemas.iter().take(SCHEMA_ROWS) {
            let valid = s["valid"].as_u64().unwrap_or(0);
            let invalid = s["invalid"].as_u64().unwrap_or(0);
            let share = if valid + invalid > 0 {
                invalid as f64 / (valid + invalid) as f64
            } else {
                0.0
            };
            let _ = writeln!(
                out,
                "{:<40}{:>12}{:>12}{:>10}{:>10}",
                cut(s["schema"].as_str().unwrap_or("?"), 39),
                thousands(valid),
                thousands(invalid),
                percent(&Value::from(share)),
                rate(&s["valid_per_second"])
            );
        }
        if schemas.len() > SCHEMA_ROWS {
            let _ = writeln!(out, "… and {} more", schemas.len() - SCHEMA_ROWS);
        }
    }
    let reasons: Vec<&Value> = status["error_reasons"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    if !reasons.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "{:<40}{:>12}", "error reason", "events");
        for r in reasons.iter().take(10) {
            let _ = writeln!(
                out,
                "{:<40}{:>12}",
                r["reason"].as_str().unwrap_or("?"),
                int(&r["count"])
            );
        }
    }
    let lag: Vec<&Value> = status["lag_totals"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    if !lag.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "{:<30}{:<30}{:>12}", "consumer group", "topic", "lag");
        for l in lag {
            let _ = writeln!(
                out,
                "{:<30}{:<30}{:>12}",
                cut(l["group"].as_str().unwrap_or("?"), 29),
                cut(l["topic"].as_str().unwrap_or("?"), 29),
                int(&l["lag"])
            );
        }
    }
    if let Some(files) = status["files"].as_object() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "files: {} matched, checkpoint written {} ago",
            int(&files["matched"]),
            seconds(&files["checkpoint_age_seconds"])
        );
        for f in files["followed"].as_array().into_iter().flatten() {
            let _ = writeln!(
                out,
                "  {:<50}{:>14} read{:>14} delivered",
                cut(f["path"].as_str().unwrap_or("?"), 49),
                int(&f["read_offset"]),
                int(&f["delivered_offset"])
            );
        }
    }
    if let Some(queues) = status["queues"].as_object().filter(|q| !q.is_empty()) {
        let parts: Vec<String> = queues
            .iter()
            .map(|(name, batches)| format!("{name} {}", int(batches)))
            .collect();
        let _ = writeln!(out, "\nqueues (batches waiting): {}", parts.join(", "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_snapshot_renders_its_numbers() {
        let status = serde_json::json!({
            "version": "0.1.0", "ready": false, "uptime_seconds": 61.5,
            "source": "kafka", "sink": "kafka",
            "warnings": ["a Kafka client reaches no broker: not ready"],
            "totals": {"lines": 1234567, "valid": 1200000, "invalid": 34567},
            "rates": {"lines_per_second": 2500.4, "valid_per_second": 2400.0, "invalid_per_second": 100.4},
            "error_rate": 0.028,
            "latency": {"p50_seconds": 0.012, "p99_seconds": 1.5},
            "schemas": [
                {"schema": "Quiet", "valid": 1, "invalid": 0, "valid_per_second": 0.0},
                {"schema": "Busy", "valid": 900, "invalid": 100, "valid_per_second": 12.6}
            ],
            "error_reasons": [{"reason": "validation", "count": 34567}],
            "lag_totals": [{"group": "g", "topic": "raw", "lag": 42, "partitions": 3}],
            "queues": {"lines": 2, "records": 0}
        });
        let view = render(&status, "127.0.0.1:9102");
        assert!(
            view.starts_with(
                "beacon-processor 0.1.0 at 127.0.0.1:9102: NOT READY, up 61 s, kafka -> kafka"
            ),
            "{view}"
        );
        assert!(
            view.contains("WARNING: a Kafka client reaches no broker"),
            "{view}"
        );
        assert!(
            view.contains("lines                1,234,567         2,500"),
            "{view}"
        );
        assert!(view.contains("error rate              2.80 %"), "{view}");
        assert!(view.contains("12.0 ms"), "{view}");
        let busy = view.find("Busy").unwrap();
        let quiet = view.find("Quiet").unwrap();
        assert!(busy < quiet, "busiest schema first: {view}");
        assert!(view.contains("10.00 %"), "{view}");
        assert!(view.contains("g                             raw"), "{view}");
        assert!(
            view.contains("queues (batches waiting): lines 2, records 0"),
            "{view}"
        );
    }

    #[test]
    fn addresses_become_status_urls() {
        assert_eq!(
            status_url("127.0.0.1:9102"),
            "http://127.0.0.1:9102/api/status"
        );
        assert_eq!(status_url("http://h:1/"), "http://h:1/api/status");
    }
}
