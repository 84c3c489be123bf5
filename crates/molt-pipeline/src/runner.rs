//! The stage runner: a worker claims stage jobs, runs each through the router,
//! applies the quality rules (E004), and records the result in one fenced
//! transaction that also queues the next stage. A restart resumes at the first
//! stage without an accepted output.

use crate::router::{Answer, CallContext, Routed, Router};
use crate::stages::{ArtInput, ArtOutput, ContextInput, CritiqueInput, TranscribeInput};
use molt_core::catalog::{LyricsSource, NewLyrics, Song};
use molt_core::jobs::{ClaimedJob, JobOutcome, JobState, NewJob};
use molt_core::pipeline::{NewEscalation, StageOutput};
use molt_core::time::stamp_in;
use molt_core::{ErrorClass, SongStatus, Stage};
use molt_store::sqlite::pipeline::RunEnd;
use molt_store::{PipelineStore, StageFailure, StageStart, StageSuccess, StoreResult};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The quality gate's thresholds (DESIGN §3).
#[derive(Debug, Clone)]
pub struct QualityGate {
    pub lyrics_confidence: f64,
    pub context_relevance: f64,
    /// The critic's score the lyrics need as well as the confidence (`pipeline.critique_score`).
    pub critique_score: f64,
}

impl Default for QualityGate {
    fn default() -> Self {
        QualityGate { lyrics_confidence: 0.85, context_relevance: 0.80, critique_score: 0.70 }
    }
}

#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Lease per claim; a job with no heartbeat for this long is rescued (E003).
    pub lease: Duration,
    pub batch: usize,
    pub owner: String,
    pub gate: QualityGate,
    pub data_dir: PathBuf,
}

pub struct Runner {
    store: Arc<dyn PipelineStore>,
    router: Arc<Router>,
    config: RunnerConfig,
    /// When finished jobs were last pruned (unix seconds).
    last_prune: std::sync::atomic::AtomicI64,
}

/// How often, and after how long, finished jobs are pruned (failed ones are kept).
const PRUNE_EVERY_SECS: i64 = 3600;
const JOB_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);
/// DESIGN §6: infrastructure failures page after 3 attempts.
const PAGE_AFTER_ATTEMPTS: u32 = 3;

/// What one pass over the queue did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub claimed: usize,
    pub rescued: usize,
}

impl Runner {
    pub fn new(store: Arc<dyn PipelineStore>, router: Arc<Router>, config: RunnerConfig) -> Runner {
        Runner { store, router, config, last_prune: std::sync::atomic::AtomicI64::new(0) }
    }

    /// Queue a song at its first stage without an accepted output.
    /// Refuses songs that are not ready (prerequisites of DESIGN §3).
    pub fn start_song(&self, song_id: i64) -> Result<Option<Stage>, String> {
        let song = self
            .store
            .song(song_id)
            .map_err(|e| e.to_string())?
            .ok_or(format!("song {song_id} not found"))?;
        if !matches!(song.status, SongStatus::Pending | SongStatus::Processing | SongStatus::Failed) {
            return Err(format!(
                "song {song_id} is {}; only pending, processing or failed songs are processed",
                song.status
            ));
        }
        self.check_prerequisites(&song)?;
        let done = self.store.stage_outputs(song_id).map_err(|e| e.to_string())?;
        let Some(stage) = Stage::ORDER.into_iter().find(|s| !done.iter().any(|o| o.stage == *s)) else {
            return Ok(None);
        };
        self.store.enqueue_job(NewJob::stage(song_id, stage)).map_err(|e| e.to_string())?;
        Ok(Some(stage))
    }

    /// DESIGN §3: title and artist present, the audio file present and decodable.
    fn check_prerequisites(&self, song: &Song) -> Result<(), String> {
        let id = song.id;
        if song.title.trim().is_empty() {
            return Err(format!("song {id} has no title"));
        }
        if song.artist.name_latin.is_none() && song.artist.name_km.is_none() {
            return Err(format!("song {id} has no artist"));
        }
        let path = self.audio_path(song);
        let limits = molt_media::AudioLimits {
            max_bytes: u64::MAX,
            min_duration_secs: 0.0,
            max_duration_secs: f64::MAX,
        };
        molt_media::probe_file(&path, &limits)
            .map_err(|e| format!("song {id}'s audio cannot be processed: {e}"))?;
        Ok(())
    }

    fn audio_path(&self, song: &Song) -> PathBuf {
        self.config.data_dir.join("assets/audio_in").join(format!(
            "{}.{}",
            song.audio_sha256,
            extension_for(&song.audio_mime)
        ))
    }

    /// The router every stage call goes through (its circuits feed `/metrics`).
    pub fn router(&self) -> &Arc<Router> {
        &self.router
    }

    /// Rescue expired leases, then claim and run one batch.
    pub async fn pass(&self) -> StoreResult<Pass> {
        let rescued = self.rescue()?;
        let jobs = self.store.claim_jobs(&self.config.owner, self.config.batch, self.config.lease)?;
        let claimed = jobs.len();
        for job in jobs {
            self.process(job).await?;
        }
        Ok(Pass { claimed, rescued })
    }

    /// E003: jobs out of attempts after losing their lease fail their song and escalate.
    /// Once an hour, finished jobs past their retention are pruned.
    pub fn rescue(&self) -> StoreResult<usize> {
        let now = chrono::Utc::now().timestamp();
        let last = self.last_prune.load(std::sync::atomic::Ordering::Relaxed);
        if now - last >= PRUNE_EVERY_SECS {
            self.last_prune.store(now, std::sync::atomic::Ordering::Relaxed);
            let pruned = self.store.prune_jobs(JOB_RETENTION)?;
            if pruned > 0 {
                tracing::info!(pruned, "pruned finished jobs");
            }
        }
        let report = self.store.rescue_expired(self.config.lease + self.router.config().timeout)?;
        for failed in &report.failed {
            let stage = failed.stage.map_or("?", Stage::as_str);
            let reason = format!("{stage} stage stuck: no heartbeat, {} attempts used", failed.attempt);
            if let Some(song_id) = failed.song_id {
                self.store.set_status(song_id, SongStatus::Failed, &reason)?;
            }
            self.store.escalate(NewEscalation {
                kind: "stuck_job",
                to_role: "engineer",
                song_id: failed.song_id,
                job_id: Some(failed.id),
                error_class: Some(ErrorClass::Infrastructure),
                summary: reason,
                details: json!({ "job_id": failed.id }),
            })?;
        }
        Ok(report.requeued.len() + report.failed.len())
    }

    async fn process(&self, job: ClaimedJob) -> StoreResult<()> {
        let Some(start) = self.store.begin_stage(&job)? else {
            tracing::warn!(job = job.id, "lease lost before the stage started; skipping");
            return Ok(());
        };
        let stage = job.stage.expect("begin_stage checked");
        // Stopped however this future ends: a worker task aborted mid-stage
        // must not leave a heartbeat renewing the job's lease for ever.
        let heartbeat = AbortOnDrop(self.keep_alive(job.clone()));
        let decision = self.run_stage(&job, &start, stage).await;
        drop(heartbeat);
        self.record(&job, &start, stage, decision)
    }

    /// Heartbeats at a third of the lease while the stage runs.
    fn keep_alive(&self, job: ClaimedJob) -> tokio::task::JoinHandle<()> {
        let store = self.store.clone();
        let lease = self.config.lease;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(lease / 3);
            tick.tick().await;
            loop {
                tick.tick().await;
                match store.extend_lease(&job, lease) {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(job = job.id, "lease lost while running; the result will be refused");
                        return;
                    }
                    Err(e) => tracing::warn!(job = job.id, error = %e, "heartbeat failed"),
                }
            }
        })
    }

    async fn run_stage(&self, job: &ClaimedJob, start: &StageStart, stage: Stage) -> Decision {
        let input = match self.input_for(stage, &start.song, &start.outputs) {
            Ok(input) => input,
            Err(error) => {
                return Decision::Routed(Routed::Fail { error, class: ErrorClass::SchemaData }, false)
            }
        };
        let ctx = CallContext {
            song_id: start.song.id,
            job_id: job.id,
            stage,
            attempt: job.attempt,
            skip: 0,
            actor: format!("worker:{}", self.config.owner),
        };
        let first = self.router.route(&ctx, &input).await;
        match stage {
            Stage::Transcribe => self.retry_low_transcript(&ctx, &input, first).await,
            Stage::Context => self.retry_low_context(&ctx, input, first).await,
            Stage::Critique => {
                // Flagged below the gate's threshold, so `molt song show` marks it.
                let threshold = self.config.gate.critique_score;
                let low = matches!(&first, Routed::Answer(a) if a.quality.unwrap_or(0.0) < threshold);
                Decision::Routed(first, low)
            }
            Stage::Art => self.art_or_placeholder(job, first),
        }
    }

    /// E004: a transcript below the threshold is retried with the next transcriber.
    async fn retry_low_transcript(&self, ctx: &CallContext, input: &Value, mut routed: Routed) -> Decision {
        let threshold = self.config.gate.lyrics_confidence;
        let mut best: Option<Answer> = None;
        while let Routed::Answer(answer) = &routed {
            if answer.quality.unwrap_or(0.0) >= threshold {
                return Decision::Routed(routed, false);
            }
            let next = answer.index + 1;
            if best.as_ref().is_none_or(|b| b.quality < answer.quality) {
                best = Some(answer.clone());
            }
            if next >= self.router.chain_len(ctx.stage) {
                break;
            }
            routed = self.router.route(&CallContext { skip: next, ..ctx.clone() }, input).await;
        }
        match best {
            Some(best) => Decision::Routed(Routed::Answer(best), true),
            None => Decision::Routed(routed, false),
        }
    }

    /// E004: context with low relevance is retried once with broader sources.
    async fn retry_low_context(&self, ctx: &CallContext, mut input: Value, first: Routed) -> Decision {
        let threshold = self.config.gate.context_relevance;
        let Routed::Answer(narrow) = &first else { return Decision::Routed(first, false) };
        if narrow.quality.unwrap_or(0.0) >= threshold {
            return Decision::Routed(first, false);
        }
        input["broaden"] = Value::Bool(true);
        match self.router.route(ctx, &input).await {
            Routed::Answer(broad) if broad.quality >= narrow.quality => {
                let low = broad.quality.unwrap_or(0.0) < threshold;
                Decision::Routed(Routed::Answer(broad), low)
            }
            _ => Decision::Routed(first, true),
        }
    }

    /// E004: art that cannot be made falls back to a flagged placeholder, never a fake image.
    fn art_or_placeholder(&self, job: &ClaimedJob, routed: Routed) -> Decision {
        let last_attempt = job.attempt >= job.max_attempts;
        match routed {
            Routed::Fail { .. } | Routed::NoProvider(_) => Decision::Placeholder,
            Routed::Defer { .. } if last_attempt => Decision::Placeholder,
            other => Decision::Routed(other, false),
        }
    }

    fn input_for(&self, stage: Stage, song: &Song, outputs: &[StageOutput]) -> Result<Value, String> {
        let output = |s: Stage| outputs.iter().find(|o| o.stage == s).map(|o| o.output.clone());
        let lyrics = output(Stage::Transcribe)
            .and_then(|t| t["text"].as_str().map(str::to_string))
            .unwrap_or_default();
        let artist = song.artist.name_latin.clone().or(song.artist.name_km.clone()).unwrap_or_default();
        let value = match stage {
            Stage::Transcribe => {
                let path = self.audio_path(song);
                if !path.is_file() {
                    return Err(format!("the song's audio file is missing ({})", song.audio_sha256));
                }
                serde_json::to_value(TranscribeInput {
                    audio_path: path.display().to_string(),
                    language: song.language.clone(),
                    duration_secs: song.duration_secs.unwrap_or_default(),
                })
            }
            Stage::Context => serde_json::to_value(ContextInput {
                title: song.title.clone(),
                title_latin: song.title_latin.clone(),
                artist_names: [&song.artist.name_km, &song.artist.name_latin]
                    .into_iter()
                    .flatten()
                    .cloned()
                    .collect(),
                artist,
                year: song.year,
                lyrics,
                broaden: false,
            }),
            Stage::Critique => {
                let transcript = output(Stage::Transcribe).unwrap_or_default();
                let facts = output(Stage::Context).map(|c| c["facts"].clone()).unwrap_or(json!([]));
                critique_input(song, artist, lyrics, &transcript, facts)
            }
            Stage::Art => serde_json::to_value(ArtInput {
                title: song.title.clone(),
                title_latin: song.title_latin.clone(),
                artist,
                year: song.year,
                genre: output(Stage::Context).and_then(|c| genre_from_facts(&c)),
            }),
        };
        value.map_err(|e| e.to_string())
    }

    fn record(
        &self,
        job: &ClaimedJob,
        start: &StageStart,
        stage: Stage,
        decision: Decision,
    ) -> StoreResult<()> {
        let song_id = start.song.id;
        let accepted = match decision {
            Decision::Routed(Routed::Answer(answer), flagged) => (answer, flagged),
            Decision::Placeholder => (placeholder_art(), true),
            Decision::Routed(other, _) => return self.record_failure(job, start, stage, other),
        };
        let (mut answer, flagged) = accepted;
        if stage == Stage::Art {
            if let Err(error) = self.store_art(&mut answer.output) {
                let routed = Routed::Fail { error, class: ErrorClass::SchemaData };
                return self.record_failure(job, start, stage, routed);
            }
        }
        let output = StageOutput {
            stage,
            run_id: start.run_id,
            provider: answer.provider.name.clone(),
            model: answer.provider.model.clone(),
            output: answer.output.clone(),
            quality: answer.quality,
            flagged,
        };
        let lyrics = (stage == Stage::Transcribe).then(|| lyrics_from(&answer)).flatten();
        let next =
            Stage::ORDER.iter().position(|s| *s == stage).and_then(|i| Stage::ORDER.get(i + 1)).copied();
        let (song_status, escalations) = match next {
            Some(_) => (None, Vec::new()),
            None => self.quality_gate(song_id, &start.outputs, &output),
        };
        let success = StageSuccess {
            run_id: start.run_id,
            end: RunEnd {
                succeeded: true,
                provider: Some(answer.provider.name),
                model: Some(answer.provider.model),
                quality: answer.quality,
                cost_micro_usd: answer.cost_micro_usd,
                ..Default::default()
            },
            output,
            next: next.map(|s| NewJob::stage(song_id, s)),
            song_status,
            escalations,
            lyrics,
        };
        if !self.store.complete_stage(job, success)? {
            tracing::warn!(
                job = job.id,
                "lease lost: the stage's result was refused (another worker owns it now)"
            );
        }
        Ok(())
    }

    /// Move generated art out of the JSON into `assets/art/<sha256>.<ext>`
    /// (temp file, then rename), keeping only its hash in the output: the main
    /// image and each of `images` (the sizes a provider made).
    fn store_art(&self, output: &mut Value) -> Result<(), String> {
        self.store_art_image(output)?;
        if let Some(images) = output.get_mut("images").and_then(Value::as_array_mut) {
            for image in images {
                self.store_art_image(image)?;
            }
        }
        Ok(())
    }

    /// Stores one `{image_base64, mime}` object's image and replaces its base64 by `asset_sha256`.
    fn store_art_image(&self, output: &mut Value) -> Result<(), String> {
        let Some(encoded) = output.get("image_base64").and_then(Value::as_str) else { return Ok(()) };
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|e| format!("art is not valid base64: {e}"))?;
        let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
        let ext = match output["mime"].as_str() {
            Some("image/png") => "png",
            Some("image/jpeg") => "jpg",
            Some("image/webp") => "webp",
            other => return Err(format!("art has an unsupported type {other:?}")),
        };
        let dir = self.config.data_dir.join("assets/art");
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let dest = dir.join(format!("{sha}.{ext}"));
        if !dest.exists() {
            // A unique temp file per write: two workers may store the same image at once.
            let mut tmp =
                tempfile::NamedTempFile::new_in(&dir).map_err(|e| format!("could not store the art: {e}"))?;
            std::io::Write::write_all(&mut tmp, &bytes)
                .map_err(|e| format!("could not store the art: {e}"))?;
            // On disk before the name exists (a crash must not leave a truncated file under
            // its content's hash, which no later write would replace), and readable by the
            // web server like any published asset (temp files are created 0600).
            tmp.as_file().sync_all().map_err(|e| format!("could not store the art: {e}"))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let readable = std::fs::Permissions::from_mode(0o644);
                tmp.as_file()
                    .set_permissions(readable)
                    .map_err(|e| format!("could not store the art: {e}"))?;
            }
            if let Err(e) = tmp.persist(&dest) {
                if !dest.exists() {
                    return Err(format!("could not store the art: {}", e.error));
                }
            }
        }
        output.as_object_mut().map(|o| o.remove("image_base64"));
        output["asset_sha256"] = Value::String(sha);
        Ok(())
    }

    /// After the last stage: REVIEW, or NEEDS_HUMAN_REVIEW with an alert.
    fn quality_gate(
        &self,
        song_id: i64,
        earlier: &[StageOutput],
        last: &StageOutput,
    ) -> (Option<(SongStatus, Option<String>)>, Vec<NewEscalation>) {
        let gate = &self.config.gate;
        let quality = |s: Stage| earlier.iter().chain([last]).find(|o| o.stage == s).and_then(|o| o.quality);
        let mut problems = Vec::new();
        // The lyrics pass only when the transcriber was sure of them *and* the critic
        // found them plausible: each check names itself in the reason.
        let confidence = quality(Stage::Transcribe).unwrap_or(0.0);
        if confidence < gate.lyrics_confidence {
            problems.push(format!("lyrics confidence {confidence:.2} < {:.2}", gate.lyrics_confidence));
        }
        let critique = quality(Stage::Critique).unwrap_or(0.0);
        if critique < gate.critique_score {
            problems.push(format!("lyrics critique score {critique:.2} < {:.2}", gate.critique_score));
        }
        let relevance = quality(Stage::Context).unwrap_or(0.0);
        if relevance < gate.context_relevance {
            problems.push(format!("context relevance {relevance:.2} < {:.2}", gate.context_relevance));
        }
        if earlier.iter().chain([last]).any(|o| o.stage == Stage::Art && o.flagged) {
            problems.push("no art could be generated; a placeholder stands in".to_string());
        }
        if problems.is_empty() {
            return (Some((SongStatus::Review, None)), Vec::new());
        }
        let reason = problems.join("; ");
        let escalation = NewEscalation {
            kind: "quality",
            to_role: "operator",
            song_id: Some(song_id),
            job_id: None,
            error_class: None,
            summary: format!("song {song_id} needs human review: {reason}"),
            details: json!({ "problems": problems }),
        };
        (Some((SongStatus::NeedsHumanReview, Some(reason))), vec![escalation])
    }

    fn record_failure(
        &self,
        job: &ClaimedJob,
        start: &StageStart,
        stage: Stage,
        routed: Routed,
    ) -> StoreResult<()> {
        let song_id = start.song.id;
        let (outcome, class, error, final_status, to_role) = match routed {
            Routed::Defer { after, error, class } => {
                let outcome =
                    JobOutcome::Retry { run_at: stamp_in(after.as_secs_f64()), error: error.clone(), class };
                (outcome, class, error, SongStatus::Failed, "engineer")
            }
            Routed::Fail { error, class } => {
                let to = if class == ErrorClass::SchemaData { "engineer" } else { "operator" };
                (JobOutcome::Failed { error: error.clone(), class }, class, error, SongStatus::Failed, to)
            }
            Routed::NoProvider(error) => {
                let class = ErrorClass::Infrastructure;
                (
                    JobOutcome::Failed { error: error.clone(), class },
                    class,
                    error,
                    SongStatus::Failed,
                    "engineer",
                )
            }
            Routed::Budget(stop) => return self.record_budget_stop(job, start, stage, stop),
            Routed::Answer(_) => unreachable!("answers are accepted, not failed"),
        };
        if class == ErrorClass::Infrastructure && job.attempt == PAGE_AFTER_ATTEMPTS {
            self.store.escalate(NewEscalation {
                kind: "provider_down",
                to_role: "infrastructure",
                song_id: Some(song_id),
                job_id: Some(job.id),
                error_class: Some(class),
                summary: format!(
                    "{} providers failing for {PAGE_AFTER_ATTEMPTS} attempts: {error}",
                    stage.as_str()
                ),
                details: json!({ "stage": stage, "attempt": job.attempt }),
            })?;
        }
        let reason = format!("{} stage failed: {error}", stage.as_str());
        let failure = StageFailure {
            run_id: Some(start.run_id),
            end: RunEnd {
                error: Some(error.clone()),
                error_class: Some(class.as_str().into()),
                ..Default::default()
            },
            outcome,
            song_status_if_final: Some((final_status, reason.clone())),
            escalations_if_final: vec![NewEscalation {
                kind: "critical_failure",
                to_role,
                song_id: Some(song_id),
                job_id: Some(job.id),
                error_class: Some(class),
                summary: reason,
                details: json!({ "stage": stage, "attempt": job.attempt, "error": error }),
            }],
        };
        if self.store.fail_stage(job, failure)?.is_none() {
            tracing::warn!(
                job = job.id,
                "lease lost: the failure was not recorded (another worker owns the job)"
            );
        }
        Ok(())
    }

    /// A per-song cap stops the song for a human; a daily cap pauses the stage until tomorrow.
    fn record_budget_stop(
        &self,
        job: &ClaimedJob,
        start: &StageStart,
        stage: Stage,
        stop: molt_core::pipeline::BudgetStop,
    ) -> StoreResult<()> {
        let summary = format!("{} stage stopped: {stop}", stage.as_str());
        let escalation = NewEscalation {
            kind: "budget",
            to_role: "operator",
            song_id: Some(start.song.id),
            job_id: Some(job.id),
            error_class: Some(ErrorClass::Business),
            summary: summary.clone(),
            details: serde_json::to_value(&stop).unwrap_or_default(),
        };
        let end = RunEnd {
            error: Some(summary.clone()),
            error_class: Some("business".into()),
            ..Default::default()
        };
        let failure = if stop.scope == "per_day" {
            self.store.escalate(escalation)?;
            let tomorrow =
                (chrono::Utc::now() + chrono::Duration::days(1)).format("%Y-%m-%dT00:00:00.000Z").to_string();
            // A paused stage does not use up an attempt's worth of patience: it waits for the new day.
            StageFailure {
                run_id: Some(start.run_id),
                end,
                outcome: JobOutcome::Retry {
                    run_at: tomorrow,
                    error: summary.clone(),
                    class: ErrorClass::Business,
                },
                song_status_if_final: Some((SongStatus::NeedsHumanReview, summary)),
                escalations_if_final: Vec::new(),
            }
        } else {
            StageFailure {
                run_id: Some(start.run_id),
                end,
                outcome: JobOutcome::Failed { error: summary.clone(), class: ErrorClass::Business },
                song_status_if_final: Some((SongStatus::NeedsHumanReview, summary)),
                escalations_if_final: vec![escalation],
            }
        };
        if self.store.fail_stage(job, failure)? == Some(JobState::Queued) {
            tracing::warn!(job = job.id, "daily budget reached: stage paused until tomorrow");
        }
        Ok(())
    }
}

enum Decision {
    /// The router's answer, and whether an accepted answer is flagged (below the gate).
    Routed(Routed, bool),
    Placeholder,
}

/// What the critic judges. Its `lyrics` are the transcript's non-blank segments,
/// one per line, exactly as the stored lyrics version shows them, so that a
/// finding's line number points at a line the reviewer sees (the transcript's
/// `text` runs the segments together); without segments, the transcript's text.
fn critique_input(
    song: &Song,
    artist: String,
    text: String,
    transcript: &Value,
    facts: Value,
) -> serde_json::Result<Value> {
    let mut segments: Vec<crate::stages::Segment> =
        serde_json::from_value(transcript["segments"].clone()).unwrap_or_default();
    // No critic reads word timings; leaving them out keeps the input (and its cache key) small.
    segments.iter_mut().for_each(|s| s.words.clear());
    let lines: Vec<&str> = segments.iter().map(|s| s.text.trim()).filter(|t| !t.is_empty()).collect();
    let lyrics = if lines.is_empty() { text } else { lines.join("\n") };
    let language = song
        .language
        .clone()
        .or_else(|| transcript["language"].as_str().map(str::to_string))
        .unwrap_or_else(|| "km".to_string());
    // A song without a probed duration is judged by where its last segment ends.
    let duration_secs =
        song.duration_secs.unwrap_or_else(|| segments.iter().map(|s| s.end).fold(0.0, f64::max));
    serde_json::to_value(CritiqueInput {
        title: song.title.clone(),
        artist,
        lyrics,
        confidence: transcript["confidence"].as_f64().unwrap_or_default(),
        facts: serde_json::from_value(facts).unwrap_or_default(),
        segments,
        duration_secs,
        language: Some(language),
    })
}

/// The transcript as a new lyrics version (source = asr) with its timings.
fn lyrics_from(answer: &Answer) -> Option<NewLyrics> {
    let transcript: crate::stages::Transcript = serde_json::from_value(answer.output.clone()).ok()?;
    let timed = timed_lyrics(&transcript);
    let text = timed.lines.iter().map(|l| l.text.as_str()).collect::<Vec<_>>().join("\n");
    Some(NewLyrics {
        text,
        timed: serde_json::to_value(&timed).ok(),
        source: LyricsSource::Asr,
        author: format!("asr:{}", answer.provider),
        model: Some(transcript.model.clone().unwrap_or_else(|| answer.provider.to_string())),
        language: transcript.language.clone(),
        confidence: Some(transcript.confidence),
    })
}

/// Segments become lines and recognised words become word timings, clamped so
/// they nest in their line and never overlap (what every lyrics format requires).
pub fn timed_lyrics(transcript: &crate::stages::Transcript) -> molt_lyrics::Lyrics {
    let ms = |secs: f64| (secs.max(0.0) * 1000.0).round() as u64;
    let mut previous_start = 0;
    let lines = transcript
        .segments
        .iter()
        .filter(|s| !s.text.trim().is_empty())
        .map(|s| {
            let start = ms(s.start).max(previous_start).min(molt_lyrics::MAX_TIME_MS);
            let end = ms(s.end).clamp(start, molt_lyrics::MAX_TIME_MS);
            previous_start = start;
            let mut cursor = start;
            let words: Vec<molt_lyrics::Word> = s
                .words
                .iter()
                .filter(|w| !w.text.trim().is_empty())
                .map(|w| {
                    let word_start = ms(w.start).clamp(cursor, end);
                    let word_end = ms(w.end).clamp(word_start, end);
                    cursor = word_end;
                    molt_lyrics::Word {
                        start_ms: word_start,
                        end_ms: word_end,
                        text: w.text.trim().to_string(),
                    }
                })
                .collect();
            let text = s.text.trim().to_string();
            let words = if spells(&text, &words) { words } else { Vec::new() };
            molt_lyrics::Line { start_ms: Some(start), end_ms: Some(end), text, words }
        })
        .collect();
    let language = transcript
        .language
        .clone()
        .filter(|l| molt_lyrics::Lyrics { language: Some(l.clone()), lines: vec![] }.validate().is_ok());
    molt_lyrics::Lyrics { language, lines }
}

/// Word timings are kept only when the words, in order, are exactly the line's
/// text apart from blanks (what enhanced LRC and TTML can represent).
fn spells(text: &str, words: &[molt_lyrics::Word]) -> bool {
    let compact = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    compact(text) == words.iter().map(|w| compact(&w.text)).collect::<String>()
}

fn placeholder_art() -> Answer {
    let output = ArtOutput { mime: "image/svg+xml".into(), placeholder: true, ..ArtOutput::default() };
    Answer {
        provider: crate::ProviderId::new("placeholder", "typeset"),
        index: 0,
        output: serde_json::to_value(output).unwrap_or_default(),
        quality: Some(0.0),
        cost_micro_usd: 0,
        cached: false,
    }
}

/// The song's genre for the artist: the first context fact taken from a
/// knowledge-base document keyed `genre-NAME` (the knowledge base's genre
/// articles, e.g. `genre-romvong`) gives `NAME`. A small, documented rule: the
/// facts are ordered by relevance, so the first is the best-supported genre.
fn genre_from_facts(context: &Value) -> Option<String> {
    let facts = context.get("facts")?.as_array()?;
    facts.iter().find_map(|fact| {
        let name = fact.get("document")?.as_str()?.strip_prefix("genre-")?;
        Some(name.to_string()).filter(|n| !n.is_empty())
    })
}

fn extension_for(mime: &str) -> &'static str {
    molt_media::AudioFormat::ALL.into_iter().find(|f| f.mime() == mime).map_or("bin", |f| f.extension())
}

/// Aborts its task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::timed_lyrics;
    use crate::stages::{Segment, TimedWord, Transcript};

    fn word(start: f64, end: f64, text: &str) -> TimedWord {
        TimedWord { start, end, text: text.into(), probability: None }
    }

    #[test]
    fn transcripts_become_exportable_timed_lyrics() {
        let transcript = Transcript {
            text: String::new(),
            language: Some("en".into()),
            language_probability: None,
            confidence: 0.9,
            model: None,
            segments: vec![
                Segment {
                    start: 1.0,
                    end: 3.0,
                    text: " Hello, my love".into(),
                    // Overlapping and out-of-line word times are clamped into order.
                    words: vec![word(0.9, 1.5, "Hello,"), word(1.4, 2.0, "my"), word(2.0, 3.4, "love")],
                    ..Segment::default()
                },
                Segment {
                    start: 3.0,
                    end: 4.0,
                    text: "again!".into(),
                    // Words that do not spell the text are dropped, keeping the line.
                    words: vec![word(3.0, 3.5, "a")],
                    ..Segment::default()
                },
                Segment { start: 4.0, end: 4.5, text: "  ".into(), ..Segment::default() },
            ],
        };
        let lyrics = timed_lyrics(&transcript);
        assert!(lyrics.validate().is_ok(), "{:?}", lyrics.validate());
        assert_eq!(lyrics.lines.len(), 2, "blank segments are not lines");
        let words: Vec<(u64, u64)> = lyrics.lines[0].words.iter().map(|w| (w.start_ms, w.end_ms)).collect();
        assert_eq!(words, vec![(1000, 1500), (1500, 2000), (2000, 3000)]);
        assert!(lyrics.lines[1].words.is_empty());
        let elrc = molt_lyrics::export(&lyrics, molt_lyrics::Format::Elrc).unwrap();
        assert!(elrc.contains("<00:01.50>my"), "{elrc}");
    }

    #[test]
    fn the_artists_genre_is_the_first_genre_document_among_the_facts() {
        let context = serde_json::json!({"relevance": 0.9, "facts": [
            {"text": "a", "source": "s"},
            {"text": "b", "source": "s", "document": "artist-sinn-sisamouth"},
            {"text": "c", "source": "s", "document": "genre-romvong"},
            {"text": "d", "source": "s", "document": "genre-saravan"},
        ]});
        assert_eq!(super::genre_from_facts(&context).as_deref(), Some("romvong"));
        let none = serde_json::json!({"facts": [{"text": "a", "source": "s", "document": "genre-"}]});
        assert_eq!(super::genre_from_facts(&none), None);
        assert_eq!(super::genre_from_facts(&serde_json::json!({})), None);
    }
}
