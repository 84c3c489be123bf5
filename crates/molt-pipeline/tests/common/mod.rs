//! A studio for engine tests: a real store in a temp dir, real songs with real
//! audio files, and in-process providers whose behaviour each test scripts.

#![allow(dead_code)]

use async_trait::async_trait;
use molt_catalog::Catalog;
use molt_core::catalog::SongQuery;
use molt_core::validate::SongInput;
use molt_core::{Config, ErrorClass, SongStatus, Stage};
use molt_pipeline::provider::{ProviderId, StageProvider, Usage};
use molt_pipeline::router::{Link, Router, RouterConfig};
use molt_pipeline::runner::{QualityGate, Runner, RunnerConfig};
use molt_pipeline::ProviderError;
use molt_store::{Database, PipelineStore, SqliteStore, StoreOptions};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct Studio {
    pub dir: tempfile::TempDir,
    pub config: Config,
    pub store: SqliteStore,
}

impl Studio {
    pub fn new() -> Studio {
        let dir = tempfile::tempdir().unwrap();
        let config = Config { data_dir: dir.path().to_path_buf(), ..Config::default() };
        let store = SqliteStore::open_migrated(&StoreOptions::from_config(&config)).unwrap();
        Studio { dir, config, store }
    }

    /// Add `n` real songs (distinct audio) and return their ids.
    pub async fn songs(&self, n: u32) -> Vec<i64> {
        let catalog = Catalog::new(Arc::new(self.store.clone()), &self.config);
        let mut ids = Vec::new();
        for i in 0..n {
            let mut staged = catalog.stage().unwrap();
            staged
                .write_chunk(&molt_media::testing::sine_wav(1.5, 8_000, 1, 220.0 + f64::from(i) * 3.0))
                .unwrap();
            let input = SongInput {
                title: Some(format!("song {i}")),
                artist: Some("Sinn Sisamouth".into()),
                ..Default::default()
            };
            ids.push(catalog.add_song(input, staged, "test").await.unwrap().id);
        }
        ids
    }

    pub fn runner(&self, router: Router, lease: Duration) -> Runner {
        let config = RunnerConfig {
            lease,
            batch: 4,
            owner: "test-worker".into(),
            gate: QualityGate::default(),
            data_dir: self.config.data_dir.clone(),
        };
        Runner::new(Arc::new(self.store.clone()), Arc::new(router), config)
    }

    pub fn router(&self, config: RouterConfig) -> Router {
        Router::new(Arc::new(self.store.clone()) as Arc<dyn PipelineStore>, config)
    }

    pub async fn status(&self, id: i64) -> SongStatus {
        Database::get_song(&self.store, id).await.unwrap().unwrap().status
    }

    pub async fn statuses(&self) -> Vec<SongStatus> {
        let songs = self.store.list_songs(SongQuery { limit: 1000, ..Default::default() }).await.unwrap();
        songs.into_iter().map(|s| s.status).collect()
    }

    /// Make every delayed job due now (instead of waiting for its run_at).
    pub fn fast_forward(&self) {
        let now = molt_core::time::now_stamp();
        self.store
            .write(move |c| Ok(c.execute("UPDATE jobs SET run_at = ?1 WHERE state = 'queued'", [now])?))
            .unwrap();
    }

    pub fn set_price(&self, provider: &'static str, micro_usd_per_call: f64) {
        let now = molt_core::time::now_stamp();
        self.store
            .write(move |c| {
                molt_store::sqlite::pipeline::set_price(c, provider, "m1", "call", micro_usd_per_call, &now)
            })
            .unwrap();
    }

    pub fn set_budget(&self, scope: &'static str, limit_micro_usd: i64) {
        let now = molt_core::time::now_stamp();
        self.store
            .write(move |c| molt_store::sqlite::pipeline::set_budget(c, scope, limit_micro_usd, &now))
            .unwrap();
    }

    pub fn scalar(&self, sql: &'static str) -> i64 {
        self.store.read(|c| Ok(c.query_row(sql, [], |r| r.get(0))?)).unwrap()
    }

    pub fn job(&self, song: i64, stage: Stage) -> (String, u32, Option<String>, String) {
        self.store
            .read(|c| {
                Ok(c.query_row(
                    "SELECT state, attempt, error_class, run_at FROM jobs WHERE song_id = ?1 AND stage = ?2 ORDER BY id DESC LIMIT 1",
                    rusqlite::params![song, stage.as_str()],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )?)
            })
            .unwrap()
    }
}

/// What a fake provider does on one call.
#[derive(Clone, Debug)]
pub enum Act {
    /// Answer with this quality.
    Ok(f64),
    Err(ErrorClass, Option<Duration>),
    /// Never answer (the router's timeout must fire).
    Hang,
}

type Script = Box<dyn Fn(usize, &Value) -> Act + Send + Sync>;

/// An in-process provider for one stage. Counts calls and successful (billable) calls.
pub struct Fake {
    id: ProviderId,
    stage: Stage,
    script: Script,
    pub calls: Arc<AtomicUsize>,
    pub paid: Arc<AtomicUsize>,
    pub inputs: Arc<Mutex<Vec<Value>>>,
}

impl Fake {
    pub fn new(
        stage: Stage,
        name: &str,
        script: impl Fn(usize, &Value) -> Act + Send + Sync + 'static,
    ) -> Fake {
        Fake {
            id: ProviderId::new(name, "m1"),
            stage,
            script: Box::new(script),
            calls: Arc::default(),
            paid: Arc::default(),
            inputs: Arc::default(),
        }
    }

    pub fn good(stage: Stage, name: &str) -> Fake {
        Fake::new(stage, name, |_, _| Act::Ok(0.95))
    }

    pub fn link(self) -> Link {
        Link { provider: Arc::new(self), rate_per_minute: None }
    }
}

fn output_for(stage: Stage, quality: f64) -> Value {
    match stage {
        Stage::Transcribe => {
            json!({"text": "ខ្ញុំស្រលាញ់អូន", "language": "km", "segments": [{"start": 0.0, "end": 1.5, "text": "ខ្ញុំស្រលាញ់អូន"}], "confidence": quality})
        }
        Stage::Context => {
            json!({"facts": [{"text": "Recorded in Phnom Penh", "source": "kb"}], "relevance": quality})
        }
        Stage::Critique => json!({"score": quality, "issues": []}),
        Stage::Art => json!({"asset_sha256": "ab", "mime": "image/png", "placeholder": false}),
    }
}

#[async_trait]
impl StageProvider for Fake {
    fn id(&self) -> &ProviderId {
        &self.id
    }

    fn stage(&self) -> Stage {
        self.stage
    }

    fn estimate(&self, _input: &Value) -> Result<Usage, ProviderError> {
        Ok(Usage { unit_kind: "call", units: 1.0 })
    }

    async fn call(&self, input: &Value) -> Result<(Value, Option<f64>, Usage), ProviderError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        self.inputs.lock().unwrap().push(input.clone());
        match (self.script)(n, input) {
            Act::Ok(q) => {
                self.paid.fetch_add(1, Ordering::SeqCst);
                let quality = if self.stage == Stage::Art { 1.0 } else { q };
                Ok((output_for(self.stage, q), Some(quality), Usage { unit_kind: "call", units: 1.0 }))
            }
            Act::Err(class, retry_after) => {
                Err(ProviderError::new(class, format!("scripted {class:?}")).with_retry_after(retry_after))
            }
            Act::Hang => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                unreachable!()
            }
        }
    }
}

/// A router with one good provider per stage (plus `extra` links first).
pub fn full_router(studio: &Studio, config: RouterConfig, extra: Vec<Link>) -> Router {
    let mut router = studio.router(config);
    let mut staged: Vec<Stage> = Vec::new();
    for link in extra {
        staged.push(link.provider.stage());
        router.push(link);
    }
    for stage in Stage::ORDER {
        if !staged.contains(&stage) {
            router.push(Fake::good(stage, &format!("good-{}", stage.as_str())).link());
        }
    }
    router
}

/// Run passes until nothing is claimed (fast-forwarding delays), at most `max` passes.
pub async fn drain(studio: &Studio, runner: &Runner, max: usize) {
    for _ in 0..max {
        studio.fast_forward();
        let pass = runner.pass().await.unwrap();
        if pass.claimed == 0 && pass.rescued == 0 {
            return;
        }
    }
    panic!("the queue did not drain in {max} passes");
}
