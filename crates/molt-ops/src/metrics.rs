//! Prometheus metrics (`GET /metrics`, text exposition format 0.0.4).
//!
//! Two sources. What the store knows is read at scrape time, so every process
//! serving `/metrics` tells the same truth and nothing is lost on restart: queue
//! depth per stage, stage runs by outcome, stage durations as histograms, spend.
//! What only this process knows is counted in memory: HTTP request durations
//! (by method, route template and status) and the provider circuits of this
//! process's router.

use molt_core::ops::MetricsSnapshot;
use molt_store::OpsStore;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

/// Upper bounds (seconds) of the HTTP latency buckets.
pub const HTTP_BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];
/// Upper bounds (seconds) of the stage duration buckets (molt-store computes the counts).
pub const STAGE_BUCKETS: [f64; 10] = [1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0];

/// A provider circuit's state, as the router sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Circuit {
    Closed,
    HalfOpen,
    Open,
}

impl Circuit {
    /// The gauge's value: 0 closed, 1 half-open, 2 open.
    pub fn value(self) -> u8 {
        match self {
            Circuit::Closed => 0,
            Circuit::HalfOpen => 1,
            Circuit::Open => 2,
        }
    }
}

/// Where this process's provider circuits come from (its pipeline router).
pub trait CircuitSource: Send + Sync {
    /// (provider:model, state) of every provider in the router's chains.
    fn circuits(&self) -> Vec<(String, Circuit)>;
}

#[derive(Debug, Default, Clone)]
struct Histogram {
    /// Cumulative counts per bucket of [`HTTP_BUCKETS`].
    buckets: [u64; HTTP_BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (bound, bucket) in HTTP_BUCKETS.iter().zip(self.buckets.iter_mut()) {
            if seconds <= *bound {
                *bucket += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }
}

/// (method, route template, status code)
type HttpKey = (String, String, u16);

pub struct Metrics {
    store: Arc<dyn OpsStore>,
    circuits: Mutex<Option<Arc<dyn CircuitSource>>>,
    http: Mutex<BTreeMap<HttpKey, Histogram>>,
}

impl Metrics {
    pub fn new(store: Arc<dyn OpsStore>) -> Metrics {
        Metrics { store, circuits: Mutex::new(None), http: Mutex::default() }
    }

    /// Reports the circuits of `source` (a process that runs workers).
    pub fn with_circuits(self, source: Arc<dyn CircuitSource>) -> Metrics {
        *self.circuits.lock().unwrap_or_else(|p| p.into_inner()) = Some(source);
        self
    }

    /// One HTTP request. `route` is the route's template (`/api/v1/songs/{id}`),
    /// never the raw path, so ids and queries do not multiply the series.
    pub fn observe_http(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let key = (method.to_string(), route.to_string(), status);
        self.http.lock().unwrap_or_else(|p| p.into_inner()).entry(key).or_default().observe(seconds);
    }

    /// The whole exposition. A store that cannot be read drops only its
    /// families, and `molt_store_up` says so.
    pub fn render(&self) -> String {
        let mut out = Exposition::default();
        match self.store.metrics_snapshot(&STAGE_BUCKETS) {
            Ok(snapshot) => {
                out.gauge("molt_store_up", "1 when the store answered this scrape.", &[], 1.0);
                store_families(&mut out, &snapshot);
            }
            Err(e) => {
                tracing::warn!(error = %e, "metrics: the store could not be read");
                out.gauge("molt_store_up", "1 when the store answered this scrape.", &[], 0.0);
            }
        }
        self.http_family(&mut out);
        self.circuit_family(&mut out);
        out.text
    }

    fn http_family(&self, out: &mut Exposition) {
        let http = self.http.lock().unwrap_or_else(|p| p.into_inner()).clone();
        out.header(
            "molt_http_request_duration_seconds",
            "HTTP requests by method, route and status.",
            "histogram",
        );
        for ((method, route, status), h) in &http {
            let status = status.to_string();
            let labels =
                [("method", method.as_str()), ("route", route.as_str()), ("status", status.as_str())];
            out.histogram(
                "molt_http_request_duration_seconds",
                &labels,
                &HTTP_BUCKETS,
                &h.buckets,
                h.count,
                h.sum,
            );
        }
    }

    fn circuit_family(&self, out: &mut Exposition) {
        let source = self.circuits.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let Some(source) = source else { return };
        out.header(
            "molt_provider_circuit_state",
            "Provider circuit in this process: 0 closed, 1 half-open, 2 open.",
            "gauge",
        );
        for (provider, state) in source.circuits() {
            out.sample("molt_provider_circuit_state", &[("provider", &provider)], f64::from(state.value()));
        }
    }
}

fn store_families(out: &mut Exposition, s: &MetricsSnapshot) {
    out.header("molt_queue_depth", "Jobs waiting to run, per pipeline stage.", "gauge");
    for (stage, n) in &s.queued_by_stage {
        out.sample("molt_queue_depth", &[("stage", stage)], *n as f64);
    }
    out.header("molt_stage_runs_total", "Finished stage runs by stage and outcome.", "counter");
    for ((stage, state), n) in &s.stage_runs {
        out.sample("molt_stage_runs_total", &[("stage", stage), ("outcome", state)], *n as f64);
    }
    out.header("molt_stage_duration_seconds", "Durations of succeeded stage runs.", "histogram");
    for (stage, h) in &s.stage_durations {
        out.histogram(
            "molt_stage_duration_seconds",
            &[("stage", stage)],
            &STAGE_BUCKETS,
            &h.buckets,
            h.count,
            h.sum_ms as f64 / 1000.0,
        );
    }
    out.header("molt_cost_usd_total", "Spend on provider calls, by service, model and outcome.", "counter");
    for ((service, model, outcome), micro) in &s.cost_micro_usd {
        let labels =
            [("service", service.as_str()), ("model", model.as_str()), ("outcome", outcome.as_str())];
        out.sample("molt_cost_usd_total", &labels, crate::usd(*micro));
    }
    out.header("molt_provider_calls_total", "Provider calls by service, model and outcome.", "counter");
    for ((service, model, outcome), n) in &s.calls {
        let labels =
            [("service", service.as_str()), ("model", model.as_str()), ("outcome", outcome.as_str())];
        out.sample("molt_provider_calls_total", &labels, *n as f64);
    }
}

/// The text format, written family by family.
#[derive(Default)]
struct Exposition {
    text: String,
}

impl Exposition {
    fn header(&mut self, name: &str, help: &str, kind: &str) {
        let _ = writeln!(self.text, "# HELP {name} {}", help.replace('\\', "\\\\").replace('\n', "\\n"));
        let _ = writeln!(self.text, "# TYPE {name} {kind}");
    }

    fn gauge(&mut self, name: &str, help: &str, labels: &[(&str, &str)], value: f64) {
        self.header(name, help, "gauge");
        self.sample(name, labels, value);
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        let _ = writeln!(self.text, "{name}{} {}", label_set(labels), number(value));
    }

    /// `_bucket` lines (cumulative, ending at `+Inf` = count), `_sum`, `_count`.
    fn histogram(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        bounds: &[f64],
        cumulative: &[u64],
        count: u64,
        sum: f64,
    ) {
        for (bound, n) in bounds.iter().zip(cumulative) {
            let le = number(*bound);
            let with_le: Vec<(&str, &str)> = labels.iter().copied().chain([("le", le.as_str())]).collect();
            self.sample(&format!("{name}_bucket"), &with_le, *n as f64);
        }
        let with_inf: Vec<(&str, &str)> = labels.iter().copied().chain([("le", "+Inf")]).collect();
        self.sample(&format!("{name}_bucket"), &with_inf, count as f64);
        self.sample(&format!("{name}_sum"), labels, sum);
        self.sample(&format!("{name}_count"), labels, count as f64);
    }
}

/// `{a="x",b="y"}` with `\`, `"` and newlines escaped; empty for no labels.
fn label_set(labels: &[(&str, &str)]) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let pairs: Vec<String> = labels
        .iter()
        .map(|(k, v)| {
            format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n"))
        })
        .collect();
    format!("{{{}}}", pairs.join(","))
}

/// A sample value as Prometheus writes it (integers without a fraction).
fn number(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_numbers_plain() {
        assert_eq!(label_set(&[("a", "x\"y\\z\nw")]), r#"{a="x\"y\\z\nw"}"#);
        assert_eq!(label_set(&[]), "");
        assert_eq!(number(3.0), "3");
        assert_eq!(number(0.25), "0.25");
    }

    #[test]
    fn http_buckets_are_cumulative() {
        let mut h = Histogram::default();
        h.observe(0.003);
        h.observe(0.2);
        assert_eq!(h.buckets[0], 0);
        assert_eq!(h.buckets[2], 1, "≤ 5 ms");
        assert_eq!(h.buckets[7], 2, "≤ 250 ms");
        assert_eq!((h.count, h.buckets[HTTP_BUCKETS.len() - 1]), (2, 2));
    }
}
