//! `GET /metrics`: Prometheus text. The HTTP edge's own counters live in [`ApiMetrics`]; the worker
//! pipeline appends its counters through `WorkerMetrics::render_prometheus`. Nothing rendered here carries
//! a secret or an API key: labels are route templates, status codes and fixed reason names.
//! [`prometheus_response`] is the `/metrics` answer of the API and of `argus worker`'s probe listener.

use super::AppState;
use argus_workers::WorkerMetrics;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

/// Counters of the HTTP edge.
#[derive(Debug, Default)]
pub struct ApiMetrics {
    http_requests: Mutex<BTreeMap<(String, u16), u64>>,
    ingest_batches: AtomicU64,
    ingest_items: AtomicU64,
    ingest_snapshots: AtomicU64,
    intake_rejections: Mutex<BTreeMap<&'static str, u64>>,
    rate_limited: AtomicU64,
    rate_limit_degraded: AtomicU64,
    bus_backpressure: AtomicU64,
    github_webhooks: Mutex<BTreeMap<(String, &'static str), u64>>,
}

impl ApiMetrics {
    /// Counts one answered request by route template (or `unmatched`) and status.
    pub fn record_request(&self, route: &str, status: u16) {
        let mut requests = self.http_requests.lock().unwrap_or_else(PoisonError::into_inner);
        *requests.entry((route.to_owned(), status)).or_default() += 1;
    }

    /// Counts an accepted batch with its items and snapshots.
    pub fn record_batch_accepted(&self, items: usize, snapshots: usize) {
        self.ingest_batches.fetch_add(1, Ordering::Relaxed);
        self.ingest_items.fetch_add(items as u64, Ordering::Relaxed);
        self.ingest_snapshots.fetch_add(snapshots as u64, Ordering::Relaxed);
    }

    /// Counts a refused batch by reason (`malformed_json`, `invalid_batch`, `body_too_large`, …).
    pub fn record_intake_rejection(&self, reason: &'static str) {
        let mut rejections = self.intake_rejections.lock().unwrap_or_else(PoisonError::into_inner);
        *rejections.entry(reason).or_default() += 1;
    }

    /// Counts a request refused with 429.
    pub fn record_rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a request let through because the rate-limit counter was unavailable.
    pub fn record_rate_limit_degraded(&self) {
        self.rate_limit_degraded.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a publish refused by bus backpressure.
    pub fn record_bus_backpressure(&self) {
        self.bus_backpressure.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a GitHub webhook delivery by event name (`unverified` before the signature was checked) and
    /// outcome (`accepted`, `duplicate`, `ignored`, `pong`, `unauthenticated`, `invalid`, …).
    pub fn record_github_webhook(&self, event: &str, outcome: &'static str) {
        let mut deliveries = self.github_webhooks.lock().unwrap_or_else(PoisonError::into_inner);
        *deliveries.entry((event.to_owned(), outcome)).or_default() += 1;
    }

    /// Appends the counters in Prometheus text format.
    pub fn render_prometheus(&self, out: &mut String) {
        header_lines(out, "argus_http_requests_total", "HTTP requests answered, by route and status.");
        {
            let requests = self.http_requests.lock().unwrap_or_else(PoisonError::into_inner);
            for ((route, status), count) in requests.iter() {
                let _ = writeln!(
                    out,
                    "argus_http_requests_total{{route=\"{}\",status=\"{status}\"}} {count}",
                    escape_label(route)
                );
            }
        }
        counter(out, "argus_ingest_batches_total", "Event batches accepted.", &self.ingest_batches);
        counter(out, "argus_ingest_items_total", "Events accepted in batches.", &self.ingest_items);
        counter(
            out,
            "argus_ingest_snapshots_total",
            "DOM snapshots accepted in batches.",
            &self.ingest_snapshots,
        );
        header_lines(out, "argus_intake_rejections_total", "Event batches refused, by reason.");
        {
            let rejections = self.intake_rejections.lock().unwrap_or_else(PoisonError::into_inner);
            for (reason, count) in rejections.iter() {
                let _ = writeln!(out, "argus_intake_rejections_total{{reason=\"{reason}\"}} {count}");
            }
        }
        counter(
            out,
            "argus_rate_limited_total",
            "Requests refused by the per-project rate limit.",
            &self.rate_limited,
        );
        counter(
            out,
            "argus_rate_limit_degraded_total",
            "Requests let through because the rate-limit counter was unavailable.",
            &self.rate_limit_degraded,
        );
        counter(
            out,
            "argus_bus_backpressure_total",
            "Batches whose publish hit bus backpressure.",
            &self.bus_backpressure,
        );
        header_lines(out, "argus_github_webhooks_total", "GitHub webhook deliveries, by event and outcome.");
        {
            let deliveries = self.github_webhooks.lock().unwrap_or_else(PoisonError::into_inner);
            for ((event, outcome), count) in deliveries.iter() {
                let _ = writeln!(
                    out,
                    "argus_github_webhooks_total{{event=\"{}\",outcome=\"{outcome}\"}} {count}",
                    escape_label(event)
                );
            }
        }
    }
}

fn header_lines(out: &mut String, name: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} counter");
}

fn counter(out: &mut String, name: &str, help: &str, value: &AtomicU64) {
    header_lines(out, name, help);
    let _ = writeln!(out, "{name} {}", value.load(Ordering::Relaxed));
}

fn escape_label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Middleware: counts every answered request by matched route template and status.
pub async fn track_requests(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    state.metrics.record_request(&route, response.status().as_u16());
    response
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<AppState>) -> Response {
    prometheus_response(Some(&state.metrics), state.worker_metrics.as_deref())
}

/// The `/metrics` answer: the HTTP edge's counters (when the process serves the API), then the pipeline's
/// (when it runs workers), as Prometheus text.
pub fn prometheus_response(api: Option<&ApiMetrics>, workers: Option<&WorkerMetrics>) -> Response {
    let mut body = String::new();
    if let Some(api) = api {
        api.render_prometheus(&mut body);
    }
    if let Some(workers) = workers {
        workers.render_prometheus(&mut body);
    }
    ([(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"))], body)
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_render_with_labels() {
        let metrics = ApiMetrics::default();
        metrics.record_request("/api/v1/events", 202);
        metrics.record_request("/api/v1/events", 202);
        metrics.record_batch_accepted(4, 2);
        metrics.record_intake_rejection("malformed_json");
        metrics.record_rate_limited();
        let mut out = String::new();
        metrics.render_prometheus(&mut out);
        assert!(
            out.contains("argus_http_requests_total{route=\"/api/v1/events\",status=\"202\"} 2"),
            "{out}"
        );
        assert!(out.contains("argus_ingest_items_total 4"));
        assert!(out.contains("argus_ingest_snapshots_total 2"));
        assert!(out.contains("argus_intake_rejections_total{reason=\"malformed_json\"} 1"));
        assert!(out.contains("argus_rate_limited_total 1"));
        assert!(out.contains("argus_bus_backpressure_total 0"));
        metrics.record_github_webhook("star", "ignored");
        let mut out = String::new();
        metrics.render_prometheus(&mut out);
        assert!(out.contains("argus_github_webhooks_total{event=\"star\",outcome=\"ignored\"} 1"), "{out}");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
