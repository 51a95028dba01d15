//! The Grafana dashboard under `deploy/grafana/` checked against the binary: every metric
//! its queries name is one the real API or bridge serves at `GET /metrics` (`ryze
//! serve`'s two servers, in this process), so renaming a metric cannot leave a panel
//! blank without this test failing.

use std::collections::{BTreeSet, HashMap};
use std::net::TcpListener;
use std::path::PathBuf;

use serde_json::Value;

fn dashboard_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/grafana/ryze-relay.json")
}

/// Every string under a key named `expr`, `query` or `definition` (panel targets and
/// template variables).
fn queries(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(fields) => {
            for (key, field) in fields {
                match (key.as_str(), field) {
                    ("expr" | "query" | "definition", Value::String(query)) => {
                        found.push(query.clone());
                    }
                    _ => queries(field, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| queries(item, found)),
        _ => {}
    }
}

/// The metric names (`ryze_…`) the dashboard's queries use.
fn dashboard_metrics(dashboard: &str) -> BTreeSet<String> {
    let dashboard: Value = serde_json::from_str(dashboard).expect("the dashboard is JSON");
    let mut found = Vec::new();
    queries(&dashboard, &mut found);
    let mut names = BTreeSet::new();
    for query in found {
        let mut rest = query.as_str();
        while let Some(start) = rest.find("ryze_") {
            let name: String = rest[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            rest = &rest[start + name.len()..];
            names.insert(name);
        }
    }
    names
}

/// The sample names an OpenMetrics exposition can have, from its `# TYPE` lines: a
/// counter `x` is sampled as `x_total`, a histogram as `x_bucket`, `x_count`, `x_sum`.
fn served_sample_names(exposition: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in exposition.lines() {
        let mut words = line.split_whitespace();
        if (words.next(), words.next()) != (Some("#"), Some("TYPE")) {
            continue;
        }
        let (Some(family), Some(kind)) = (words.next(), words.next()) else {
            continue;
        };
        let suffixes: &[&str] = match kind {
            "counter" => &["_total", "_created"],
            "histogram" => &["_bucket", "_count", "_sum", "_created"],
            _ => &[""],
        };
        names.extend(suffixes.iter().map(|suffix| format!("{family}{suffix}")));
    }
    names
}

/// The dashboard's metrics that the exposition does not serve.
fn unknown_metrics(dashboard: &str, exposition: &str) -> Vec<String> {
    let served = served_sample_names(exposition);
    dashboard_metrics(dashboard)
        .into_iter()
        .filter(|name| !served.contains(name))
        .collect()
}

/// `GET /metrics` of the real API and bridge (`ryze serve` over a throwaway SQLite
/// database), concatenated.
async fn served_metrics() -> String {
    let directory = tempfile::tempdir().unwrap();
    let env = HashMap::from([
        (
            "DATABASE_URL".to_owned(),
            format!("sqlite://{}", directory.path().join("ryze.db").display()),
        ),
        (
            "RYZE_KEY_FILE".to_owned(),
            directory.path().join("master.key").display().to_string(),
        ),
    ]);
    let mut settings = ryze::settings::load_from(None, &env).unwrap();
    settings.http.workers = 1;
    let api_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let bridge_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let api = format!("http://{}", api_listener.local_addr().unwrap());
    let bridge = format!("http://{}", bridge_listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        ryze::commands::serve_api_and_bridge(&settings, api_listener, bridge_listener).await
    });
    let client = reqwest::Client::new();
    let mut exposition = String::new();
    for base in [&api, &bridge] {
        super::support::split::wait_until_ready(&client, base).await;
        let answer = client.get(format!("{base}/metrics")).send().await.unwrap();
        assert_eq!(answer.status(), 200, "GET {base}/metrics");
        exposition.push_str(&answer.text().await.unwrap());
    }
    server.abort();
    exposition
}

#[tokio::test]
async fn every_metric_the_dashboard_queries_is_served_by_the_binary() {
    let dashboard = std::fs::read_to_string(dashboard_path()).unwrap();
    let used = dashboard_metrics(&dashboard);
    assert!(used.len() >= 10, "the dashboard queries {used:?}");
    let exposition = served_metrics().await;
    let unknown = unknown_metrics(&dashboard, &exposition);
    assert!(
        unknown.is_empty(),
        "deploy/grafana/ryze-relay.json queries metrics the binary does not serve: {unknown:?}\n{exposition}"
    );
}

#[test]
fn a_renamed_metric_is_refused() {
    let exposition = "# TYPE ryze_relay_retries counter\n\
                      # TYPE ryze_relay_message_latency_seconds histogram\n\
                      # TYPE ryze_bridge_pending_webhooks gauge\n# EOF\n";
    let dashboard = serde_json::json!({"panels": [{"targets": [
        {"expr": "rate(ryze_relay_retries_total[5m])"},
        {"expr": "histogram_quantile(0.9, rate(ryze_relay_message_latency_seconds_bucket[5m]))"},
        {"expr": "ryze_bridge_pending_webhooks + ryze_relay_retry_count"},
    ]}]})
    .to_string();
    assert_eq!(
        unknown_metrics(&dashboard, exposition),
        ["ryze_relay_retry_count"]
    );
    assert_eq!(
        unknown_metrics(
            &dashboard.replace("ryze_relay_retry_count", "ryze_relay_retries"),
            exposition
        ),
        ["ryze_relay_retries"],
        "a counter is sampled as _total"
    );
}
