//! `/metrics` in Prometheus text format: checked by a strict reader of the
//! format (names, labels, escapes, TYPE before samples, contiguous families,
//! cumulative histogram buckets ending at `+Inf` = `_count`), and the values
//! follow from what the store holds.

use molt_core::jobs::NewJob;
use molt_core::Stage;
use molt_ops::metrics::{Circuit, CircuitSource, Metrics};
use molt_store::{PipelineStore, SqliteStore, StoreOptions};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

fn store(dir: &std::path::Path) -> SqliteStore {
    SqliteStore::open_migrated(&StoreOptions::in_dir(dir)).unwrap()
}

/// One sample: family name, sample name, labels, value.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

fn valid_name(name: &str, metric: bool) -> bool {
    let mut chars = name.chars();
    let first_ok = |c: char| c.is_ascii_alphabetic() || c == '_' || (metric && c == ':');
    chars.next().is_some_and(first_ok) && chars.all(|c| first_ok(c) || c.is_ascii_digit())
}

/// `{a="x",b="y\"z"}` → map; panics with the line on any deviation.
fn labels(text: &str, line: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"").unwrap_or_else(|| panic!("label without =\": {line}"));
        assert!(valid_name(name, false), "label name {name:?}: {line}");
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c @ ('\\' | '"'))) => value.push(c),
                    other => panic!("bad escape {other:?}: {line}"),
                },
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => panic!("unterminated label value: {line}"),
            }
        };
        assert!(out.insert(name.to_string(), value).is_none(), "repeated label {name}: {line}");
        rest = &after[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
    out
}

/// Reads the exposition strictly; returns (family → type, samples).
fn parse(text: &str) -> (BTreeMap<String, String>, Vec<Sample>) {
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut samples = Vec::new();
    let mut finished: BTreeSet<String> = BTreeSet::new();
    let mut current: Option<String> = None;
    assert!(text.ends_with('\n'), "the exposition ends with a newline");
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (keyword, name) = (parts.next().unwrap(), parts.next().expect("a name"));
            assert!(valid_name(name, true), "{line}");
            if keyword == "TYPE" {
                let kind = parts.next().expect("a type");
                assert!(["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind), "{line}");
                assert!(types.insert(name.to_string(), kind.to_string()).is_none(), "second TYPE: {line}");
                assert!(!finished.contains(name), "family {name} split: {line}");
                if let Some(previous) = current.replace(name.to_string()) {
                    finished.insert(previous);
                }
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("no value: {line}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value: {line}")),
        };
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, labels(rest.strip_suffix('}').expect("closing brace"), line)),
            None => (series, BTreeMap::new()),
        };
        assert!(valid_name(name, true), "{line}");
        let family = current.clone().unwrap_or_else(|| panic!("sample before any TYPE: {line}"));
        let suffixes = ["", "_bucket", "_sum", "_count"];
        assert!(
            suffixes
                .iter()
                .any(|s| name.strip_suffix(s) == Some(family.as_str()) || (s.is_empty() && name == family)),
            "sample {name} outside its family {family}: {line}"
        );
        samples.push(Sample { name: name.to_string(), labels, value });
    }
    check_histograms(&types, &samples);
    (types, samples)
}

fn check_histograms(types: &BTreeMap<String, String>, samples: &[Sample]) {
    for (family, _) in types.iter().filter(|(_, t)| *t == "histogram") {
        let mut series: BTreeMap<BTreeMap<String, String>, Vec<(f64, f64)>> = BTreeMap::new();
        for s in samples.iter().filter(|s| s.name == format!("{family}_bucket")) {
            let mut key = s.labels.clone();
            let le = key.remove("le").expect("le on a bucket");
            let le = if le == "+Inf" { f64::INFINITY } else { le.parse().expect("numeric le") };
            series.entry(key).or_default().push((le, s.value));
        }
        for (key, buckets) in series {
            assert!(buckets.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1), "{family} {key:?}");
            let (last_le, last) = *buckets.last().unwrap();
            assert_eq!(last_le, f64::INFINITY, "{family} {key:?} ends at +Inf");
            let count = samples
                .iter()
                .find(|s| s.name == format!("{family}_count") && s.labels == key)
                .unwrap_or_else(|| panic!("{family}_count {key:?}"));
            assert_eq!(count.value, last, "{family} {key:?}: +Inf bucket = count");
            assert!(samples.iter().any(|s| s.name == format!("{family}_sum") && s.labels == key));
        }
    }
}

fn value(samples: &[Sample], name: &str, want: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .find(|s| {
            s.name == name && want.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .unwrap_or_else(|| panic!("{name} {want:?} missing"))
        .value
}

struct TwoCircuits;

impl CircuitSource for TwoCircuits {
    fn circuits(&self) -> Vec<(String, Circuit)> {
        vec![("local_whisper:base".into(), Circuit::Closed), ("openai:\"gpt\"".into(), Circuit::Open)]
    }
}

#[test]
fn the_exposition_is_valid_prometheus_text_and_its_values_follow_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    for (n, stage) in [Stage::Transcribe, Stage::Transcribe, Stage::Art].into_iter().enumerate() {
        let job = NewJob { stage: Some(stage), unique_key: Some(format!("j{n}")), ..NewJob::new("stage") };
        store.enqueue_job(job).unwrap();
    }
    store
        .write(|c| {
            c.execute_batch(
                "INSERT INTO artists (id, name_km) VALUES (1, 'a');
                 INSERT INTO assets (id, kind, sha256, path, mime, bytes) VALUES (1, 'audio_in', 'x', 'p', 'audio/wav', 1);
                 INSERT INTO songs (id, title, artist_id, audio_asset_id, audio_sha256, status, created_by)
                     VALUES (1, 't', 1, 1, 'x', 'processing', 'test');
                 INSERT INTO stage_runs (song_id, stage, attempt, state, started_at, duration_ms)
                     VALUES (1, 'transcribe', 1, 'succeeded', '2026-11-20T00:00:00.000Z', 4000),
                            (1, 'transcribe', 2, 'succeeded', '2026-11-20T00:01:00.000Z', 90000),
                            (1, 'art', 1, 'failed', '2026-11-20T00:02:00.000Z', 100);
                 INSERT INTO cost_ledger (service, model, micro_usd, outcome)
                     VALUES ('openai', 'whisper-1', 250000, 'ok'), ('openai', 'whisper-1', 0, 'error'),
                            ('openai', 'whisper-1', 999, 'reserved');",
            )?;
            Ok(())
        })
        .unwrap();
    let metrics = Metrics::new(Arc::new(store.clone())).with_circuits(Arc::new(TwoCircuits));
    metrics.observe_http("GET", "/api/v1/songs/{id}", 200, 0.004);
    metrics.observe_http("GET", "/api/v1/songs/{id}", 200, 0.3);
    metrics.observe_http("POST", "/api/v1/songs", 413, 0.02);

    let text = metrics.render();
    let (types, samples) = parse(&text);
    assert_eq!(types["molt_stage_duration_seconds"], "histogram");
    assert_eq!(types["molt_http_request_duration_seconds"], "histogram");
    assert_eq!(types["molt_cost_usd_total"], "counter");
    assert_eq!(value(&samples, "molt_store_up", &[]), 1.0);
    assert_eq!(value(&samples, "molt_queue_depth", &[("stage", "transcribe")]), 2.0);
    assert_eq!(value(&samples, "molt_queue_depth", &[("stage", "art")]), 1.0);
    assert_eq!(
        value(&samples, "molt_stage_runs_total", &[("stage", "transcribe"), ("outcome", "succeeded")]),
        2.0
    );
    assert_eq!(value(&samples, "molt_stage_runs_total", &[("stage", "art"), ("outcome", "failed")]), 1.0);
    // 4 s and 90 s: one under 5 s, both under 120 s; the failed art run is not a duration.
    let transcribe = [("stage", "transcribe")];
    assert_eq!(
        value(&samples, "molt_stage_duration_seconds_bucket", &[("stage", "transcribe"), ("le", "5")]),
        1.0
    );
    assert_eq!(
        value(&samples, "molt_stage_duration_seconds_bucket", &[("stage", "transcribe"), ("le", "60")]),
        1.0
    );
    assert_eq!(
        value(&samples, "molt_stage_duration_seconds_bucket", &[("stage", "transcribe"), ("le", "120")]),
        2.0
    );
    assert_eq!(value(&samples, "molt_stage_duration_seconds_sum", &transcribe), 94.0);
    assert!(!text.contains("molt_stage_duration_seconds_count{stage=\"art\"}"));
    // Reserved money is not spend.
    let whisper = [("service", "openai"), ("model", "whisper-1"), ("outcome", "ok")];
    assert_eq!(value(&samples, "molt_cost_usd_total", &whisper), 0.25);
    assert!(!text.contains("outcome=\"reserved\""));
    assert_eq!(value(&samples, "molt_provider_calls_total", &[("outcome", "error")]), 1.0);
    let song = [("method", "GET"), ("route", "/api/v1/songs/{id}"), ("status", "200")];
    assert_eq!(value(&samples, "molt_http_request_duration_seconds_count", &song), 2.0);
    let with_le = [("route", "/api/v1/songs/{id}"), ("le", "0.005")];
    assert_eq!(value(&samples, "molt_http_request_duration_seconds_bucket", &with_le), 1.0);
    assert_eq!(value(&samples, "molt_provider_circuit_state", &[("provider", "openai:\"gpt\"")]), 2.0);
    assert_eq!(value(&samples, "molt_provider_circuit_state", &[("provider", "local_whisper:base")]), 0.0);
}

#[test]
fn an_unreadable_store_drops_only_its_families() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let metrics = Metrics::new(Arc::new(store.clone()));
    metrics.observe_http("GET", "/health", 200, 0.001);
    store.write(|c| Ok(c.execute_batch("DROP TABLE stage_runs")?)).unwrap();
    let (_, samples) = parse(&metrics.render());
    assert_eq!(value(&samples, "molt_store_up", &[]), 0.0);
    assert!(samples.iter().all(|s| !s.name.starts_with("molt_queue_depth")));
    assert_eq!(value(&samples, "molt_http_request_duration_seconds_count", &[("route", "/health")]), 1.0);
}

#[test]
#[should_panic(expected = "+Inf bucket = count")]
fn the_reader_refuses_a_histogram_whose_inf_bucket_is_not_its_count() {
    parse("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 3\n");
}

#[test]
#[should_panic(expected = "sample before any TYPE")]
fn the_reader_refuses_a_sample_without_a_type() {
    parse("x 1\n");
}

#[test]
#[should_panic(expected = "bad escape")]
fn the_reader_refuses_a_bad_escape() {
    parse("# TYPE g gauge\ng{a=\"\\t\"} 1\n");
}
