//! `GET /metrics` in Prometheus text format (version 0.0.4): request latency histograms per
//! route, responses per route and status, the log's head position (its rate is appends per
//! second, across every instance), each projection's position and lag, and this instance's
//! database pool. Nothing in it names a person or holds free text.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::AppState;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    /// Per bucket, the requests at or under its bound (not yet cumulative).
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        if let Some(bucket) = BUCKETS.iter().position(|bound| seconds <= *bound) {
            self.counts[bucket] += 1;
        }
        self.count += 1;
        self.sum += seconds;
    }
}

/// What this instance has served since it started.
#[derive(Debug, Default, Clone)]
pub struct Metrics {
    inner: Arc<Mutex<Recorded>>,
}

#[derive(Debug, Default)]
struct Recorded {
    /// (method, route) → latency.
    latency: BTreeMap<(String, String), Histogram>,
    /// (method, route, status) → responses.
    responses: BTreeMap<(String, String, u16), u64>,
}

impl Metrics {
    fn record(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let mut recorded = self
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        recorded
            .latency
            .entry((method.to_owned(), route.to_owned()))
            .or_default()
            .observe(elapsed.as_secs_f64());
        *recorded
            .responses
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default() += 1;
    }

    fn render_requests(&self, out: &mut String) {
        let recorded = self
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        family(
            out,
            "insats_http_request_duration_seconds",
            "histogram",
            "Time to answer a request, per route.",
        );
        for ((method, route), histogram) in &recorded.latency {
            let labels = format!("method=\"{method}\",route=\"{}\"", escape(route));
            let mut cumulative = 0;
            for (bound, count) in BUCKETS.iter().zip(histogram.counts) {
                cumulative += count;
                let _ = writeln!(
                    out,
                    "insats_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "insats_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                histogram.count
            );
            let _ = writeln!(
                out,
                "insats_http_request_duration_seconds_sum{{{labels}}} {}",
                histogram.sum
            );
            let _ = writeln!(
                out,
                "insats_http_request_duration_seconds_count{{{labels}}} {}",
                histogram.count
            );
        }
        family(
            out,
            "insats_http_responses_total",
            "counter",
            "Responses, per route and status.",
        );
        for ((method, route, status), count) in &recorded.responses {
            let _ = writeln!(
                out,
                "insats_http_responses_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {count}",
                escape(route)
            );
        }
    }
}

/// The `# HELP` and `# TYPE` lines of a metric family.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A request method as a label: the standard ones by name, anything else as `other`, so
/// that no one can grow the series without limit by inventing methods.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// Times every request, labelled by its route pattern (never the path itself, which can
/// hold ids), or `unmatched`.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = method_label(request.method()).to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    state.metrics.record(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

const HEAD: &str = "SELECT coalesce(max(position), 0) FROM events";

const PROJECTIONS: &str = "
    SELECT c.name, c.position,
           (SELECT count(*) FROM (SELECT 1 FROM events e
                                  WHERE (e.transaction_id, e.position) > (c.transaction_id::text::xid8, c.position)
                                  LIMIT 100000) pending),
           extract(epoch FROM now() - c.updated_at)::float8
    FROM projection_checkpoints c ORDER BY c.name";

/// `GET /metrics`.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut out = String::with_capacity(16 * 1024);
    state.metrics.render_requests(&mut out);

    let pool = &state.pool;
    let (size, idle) = (pool.size(), pool.num_idle() as u32);
    family(
        &mut out,
        "insats_db_pool_connections",
        "gauge",
        "Connections of this instance's pool, by state.",
    );
    let _ = writeln!(
        out,
        "insats_db_pool_connections{{state=\"in_use\"}} {}",
        size.saturating_sub(idle)
    );
    let _ = writeln!(out, "insats_db_pool_connections{{state=\"idle\"}} {idle}");
    family(
        &mut out,
        "insats_db_pool_max_connections",
        "gauge",
        "The pool's upper limit.",
    );
    let _ = writeln!(
        out,
        "insats_db_pool_max_connections {}",
        pool.options().get_max_connections()
    );

    let database_up = match sqlx::query_scalar::<_, i64>(HEAD).fetch_one(pool).await {
        Ok(head) => {
            family(
                &mut out,
                "insats_log_head_position",
                "counter",
                "The highest position in the event log; its rate is appends per second.",
            );
            let _ = writeln!(out, "insats_log_head_position {head}");
            true
        }
        Err(_) => false,
    };
    if database_up
        && let Ok(rows) = sqlx::query_as::<_, (String, i64, i64, f64)>(PROJECTIONS)
            .fetch_all(pool)
            .await
    {
        family(
            &mut out,
            "insats_projection_position",
            "gauge",
            "The last position a projection has applied.",
        );
        for (name, position, _, _) in &rows {
            let _ = writeln!(
                out,
                "insats_projection_position{{projection=\"{name}\"}} {position}"
            );
        }
        family(
            &mut out,
            "insats_projection_lag_events",
            "gauge",
            "Events in the log after the projection's checkpoint (counted up to 100 000).",
        );
        for (name, _, lag, _) in &rows {
            let _ = writeln!(
                out,
                "insats_projection_lag_events{{projection=\"{name}\"}} {lag}"
            );
        }
        family(
            &mut out,
            "insats_projection_checkpoint_age_seconds",
            "gauge",
            "Time since the projection last wrote its checkpoint.",
        );
        for (name, _, _, age) in &rows {
            let _ = writeln!(
                out,
                "insats_projection_checkpoint_age_seconds{{projection=\"{name}\"}} {age}"
            );
        }
    }
    family(
        &mut out,
        "insats_database_up",
        "gauge",
        "Whether the database answered this scrape.",
    );
    let _ = writeln!(out, "insats_database_up {}", u8::from(database_up));
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        out,
    )
        .into_response()
}
