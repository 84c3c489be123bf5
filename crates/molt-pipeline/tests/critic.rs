//! The LLM critic through the router, against a fake OpenAI-compatible server
//! on 127.0.0.1: its structured verdict, retries of malformed verdicts, the
//! fallback to the next critic, the cost ledger, and the API key's secrecy.

mod common;
#[path = "common/fake_openai.rs"]
mod fake_openai;

use common::Studio;
use fake_openai::{chat_reply, FakeOpenAi, Reply, Seen};
use molt_core::config::{RemoteProviderConfig, Secret};
use molt_core::{Config, ErrorClass, Stage};
use molt_pipeline::registry::{build_router, NoLocalProviders};
use molt_pipeline::router::{CallContext, Routed, Router};
use molt_pipeline::stages::{CritiqueInput, CritiqueOutput};
use molt_store::PipelineStore;
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const KEY: &str = "sk-critic-SECRET-0042";

const GOOD: &str = r#"{"score": 0.8, "issues": [{"line": 2, "kind": "wrong_script", "message": "English words in a Khmer song", "suggestion": null}], "corrections": [{"line": 2, "text": "ខ្ញុំស្រលាញ់អូន"}]}"#;

fn config(studio: &Studio, url: &str, chain: &[&str]) -> Config {
    let mut config = studio.config.clone();
    config.providers.insert(
        "studio".into(),
        RemoteProviderConfig {
            kind: "openai".into(),
            base_url: url.into(),
            api_key: Some(Secret::new(KEY)),
            timeout_secs: 10,
            rate_per_minute: None,
        },
    );
    config.pipeline.chains.critique = chain.iter().map(|e| e.to_string()).collect();
    config
}

fn router(studio: &Studio, config: &Config) -> Router {
    build_router(config, Arc::new(studio.store.clone()) as Arc<dyn PipelineStore>, &NoLocalProviders).unwrap()
}

fn input() -> Value {
    serde_json::to_value(CritiqueInput {
        title: "ចម្ប៉ាបាត់ដំបង".into(),
        artist: "Sinn Sisamouth".into(),
        lyrics: "ចម្ប៉ាបាត់ដំបង\nI love you\nខ្ញុំនឹករលឹកដល់ស្រុកកំណើត".into(),
        confidence: 0.9,
        duration_secs: 180.0,
        language: Some("km".into()),
        ..CritiqueInput::default()
    })
    .unwrap()
}

/// A context for a fresh critique job of `song` (the ledger row points at it).
fn ctx(studio: &Studio, song: i64) -> CallContext {
    let job = studio.store.enqueue_job(molt_core::jobs::NewJob::stage(song, Stage::Critique)).unwrap();
    CallContext {
        song_id: song,
        job_id: job,
        stage: Stage::Critique,
        attempt: 1,
        skip: 0,
        actor: "test".into(),
    }
}

fn price(studio: &Studio, model: &'static str) {
    let now = molt_core::time::now_stamp();
    studio
        .store
        .write(move |c| molt_store::sqlite::pipeline::set_price(c, "studio", model, "input_token", 3.0, &now))
        .unwrap();
}

/// The ledger: (model, outcome, units, micro-USD) per row.
fn ledger(studio: &Studio) -> Vec<(String, String, f64, i64)> {
    studio
        .store
        .read(|c| {
            let mut statement =
                c.prepare("SELECT model, outcome, units, micro_usd FROM cost_ledger ORDER BY id")?;
            let rows = statement.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .unwrap()
}

fn row(model: &str, outcome: &str, units: f64, micro_usd: i64) -> (String, String, f64, i64) {
    (model.into(), outcome.into(), units, micro_usd)
}

/// Replies with `replies[n]` to the model's n-th request (the last one after that).
fn scripted(replies: Vec<(&'static str, u64, u64)>) -> (impl Fn(&Seen) -> Reply, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let handler = move |_: &Seen| {
        let n = seen.fetch_add(1, Ordering::SeqCst).min(replies.len() - 1);
        let (content, prompt, completion) = replies[n];
        chat_reply(content, prompt, completion)
    };
    (handler, count)
}

#[tokio::test]
async fn a_good_verdict_becomes_findings_and_its_tokens_are_billed() {
    logs();
    let studio = Studio::new();
    let song = studio.songs(1).await[0];
    let (handler, calls) = scripted(vec![(GOOD, 200, 40)]);
    let fake = FakeOpenAi::start(handler).await;
    price(&studio, "critic-1");
    let router = router(&studio, &config(&studio, &fake.url(), &["studio:critic-1"]));

    let answer = match router.route(&ctx(&studio, song), &input()).await {
        Routed::Answer(answer) => answer,
        other => panic!("{other:?}"),
    };
    assert_eq!(answer.quality, Some(0.8));
    let output: CritiqueOutput = serde_json::from_value(answer.output).unwrap();
    assert_eq!(output.issues, vec!["line 2: English words in a Khmer song"]);
    assert_eq!(output.findings.len(), 1);
    assert_eq!(output.findings[0].line, Some(2));
    assert_eq!(output.findings[0].kind, "wrong_script");
    assert_eq!(output.findings[0].suggestion.as_deref(), Some("ខ្ញុំស្រលាញ់អូន"));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(
        ledger(&studio),
        vec![row("critic-1", "ok", 240.0, 720)],
        "prompt + completion tokens × price"
    );
    assert_eq!(answer.cost_micro_usd, 720);
}

#[tokio::test]
async fn a_malformed_verdict_is_retried_at_once_and_both_calls_are_billed() {
    logs();
    let studio = Studio::new();
    let song = studio.songs(1).await[0];
    let (handler, calls) = scripted(vec![(r#"{"score": 0.8, "issues": ["#, 10, 5), (GOOD, 200, 40)]);
    let fake = FakeOpenAi::start(handler).await;
    price(&studio, "critic-1");
    let router = router(&studio, &config(&studio, &fake.url(), &["studio:critic-1"]));

    match router.route(&ctx(&studio, song), &input()).await {
        Routed::Answer(answer) => assert_eq!(answer.quality, Some(0.8)),
        other => panic!("{other:?}"),
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2, "one immediate retry");
    assert_eq!(ledger(&studio), vec![row("critic-1", "ok", 255.0, 765)], "the rejected reply's tokens too");
}

#[tokio::test]
async fn schema_violations_are_retried_a_bounded_number_of_times_then_the_next_critic_answers() {
    logs();
    let studio = Studio::new();
    let song = studio.songs(1).await[0];
    let bad_calls = Arc::new(AtomicUsize::new(0));
    let counter = bad_calls.clone();
    let fake = FakeOpenAi::start(move |seen: &Seen| match seen.model().as_deref() {
        // A score out of range, then a line the lyrics do not have: both rejected.
        Some("bad") if counter.fetch_add(1, Ordering::SeqCst).is_multiple_of(2) => {
            chat_reply(r#"{"score": 1.7, "issues": []}"#, 10, 5)
        }
        Some("bad") => {
            chat_reply(r#"{"score": 0.4, "issues": [{"line": 999, "kind": "loop", "message": "m"}]}"#, 10, 5)
        }
        _ => chat_reply(GOOD, 200, 40),
    })
    .await;
    price(&studio, "bad");
    let config = config(&studio, &fake.url(), &["studio:bad", "studio:good"]);
    assert_eq!(config.pipeline.breaker_threshold, 3);
    let router = router(&studio, &config);

    for attempt in 1..=2 {
        match router.route(&ctx(&studio, song), &input()).await {
            Routed::Defer { class, error, .. } => {
                assert_eq!(class, ErrorClass::Transient, "attempt {attempt}");
                assert!(
                    error.starts_with("studio:bad: critic: the model's answer is not the expected JSON"),
                    "{error}"
                );
                assert!(error.contains("`issues[0].line` is 999, outside the lyrics' lines 1..3"), "{error}");
            }
            other => panic!("attempt {attempt}: {other:?}"),
        }
    }
    // The third failure in a row opens the circuit: the next critic in the chain answers.
    match router.route(&ctx(&studio, song), &input()).await {
        Routed::Answer(answer) => {
            assert_eq!(answer.provider.model, "good");
            assert_eq!(answer.index, 1);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(bad_calls.load(Ordering::SeqCst), 6, "two calls per attempt, three attempts");
    assert!(router.circuit_open(&molt_pipeline::ProviderId::new("studio", "bad")));
    let rows = ledger(&studio);
    assert_eq!(rows[..3], vec![row("bad", "error", 30.0, 90); 3], "every rejected verdict is billed");
    assert_eq!(rows[3], row("good", "ok", 240.0, 0), "no price set for `good`");
}

/// Collects everything logged, at every level.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

/// This test binary's log, installed as the global subscriber on first use. Not a
/// scoped (`set_default`) one: tests run on parallel threads, and tracing caches
/// each log site's interest globally, so a scoped subscriber misses events.
fn logs() -> &'static Logs {
    static LOGS: std::sync::OnceLock<Logs> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(logs.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
        logs
    })
}

impl std::io::Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;
    fn make_writer(&'a self) -> Logs {
        self.clone()
    }
}

/// Every file under `dir`, recursively (the store, its WAL, assets).
fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn the_api_key_never_appears_in_errors_the_store_or_the_logs() {
    let logs = logs();
    let studio = Studio::new();
    let song = studio.songs(1).await[0];
    // A hostile or broken provider echoes the Authorization header back: in a
    // 401's error message, and inside a chat reply that is not a verdict.
    let fake = FakeOpenAi::start(|seen: &Seen| {
        let header = seen.authorization.clone().unwrap_or_default();
        match seen.model().as_deref() {
            Some("echo-401") => {
                Reply::status(401, &format!(r#"{{"error": {{"message": "invalid key {header}"}}}}"#))
            }
            _ => chat_reply(&format!("I cannot answer. Your header: {header}"), 10, 5),
        }
    })
    .await;
    let config = config(&studio, &fake.url(), &["studio:echo-401", "studio:echo-json"]);
    assert!(!format!("{config:?}").contains(KEY) && !config.to_redacted_toml().contains(KEY));
    let router = router(&studio, &config);

    let error = match router.route(&ctx(&studio, song), &input()).await {
        Routed::Defer { error, class, .. } => {
            assert_eq!(class, ErrorClass::Transient);
            error
        }
        other => panic!("{other:?}"),
    };
    let seen = fake.seen();
    assert_eq!(seen.len(), 3, "401 once (next provider), then a malformed verdict and its retry");
    assert!(seen.iter().all(|s| s.authorization.as_deref() == Some(&format!("Bearer {KEY}") as &str)));
    assert!(error.contains("malformed JSON") && !error.contains(KEY), "{error}");

    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logged.contains("transient failure; retrying at once"), "the logs were captured: {logged}");
    assert!(!logged.contains(KEY), "the key was logged: {logged}");
    for file in files(studio.dir.path()) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(!bytes.windows(KEY.len()).any(|w| w == KEY.as_bytes()), "the key is in {}", file.display());
    }
}
