//! "Where is my song?" (issue 7, item 8): a song's status, its stage, its
//! progress and how long it has left, for `GET /api/v1/songs/{id}/status`,
//! `molt song status` and `molt query` when the query asks for a song's status.
//!
//! It lives here, beside search, because it answers one of the query intents
//! of DESIGN §9 ([`crate::intent::Intent::ProcessingStatus`]) under the same
//! tiers: staff see every song; everyone else sees published songs only, and
//! any other song is "not found", so its existence does not leak. The rule is
//! enforced in [`song_status`], not by the interfaces.
//!
//! # What is read
//!
//! One store snapshot ([`molt_store::PipelineStore::song_progress`]): the
//! song, its accepted stage outputs ("2 of 4 stages done"), its live job
//! (queued or running, with the attempt), its newest stage run (where it
//! failed and why), the due jobs a worker would claim before its job, the jobs
//! running now, and the durations of each stage's newest [`HISTORY_RUNS`]
//! succeeded runs. Every read is indexed; the jobs ahead of a queued song are
//! counted one by one, so that part grows with the queue (not benchmarked).
//!
//! # The ETA
//!
//! Only a song with a queued or running job has one; a song waiting for a
//! person (pending and not queued, in review, failed) has none.
//!
//! - **Each remaining stage** takes its *typical* time: the median duration of
//!   its newest [`HISTORY_RUNS`] succeeded runs, studio-wide (a cached answer
//!   counts as a run: it is what the stage costs now). With fewer than
//!   [`MIN_SAMPLES`] runs a default is used instead:
//!   - transcribe: [`TRANSCRIBE_LOAD_SECS`] + [`TRANSCRIBE_RTF`] × the song's
//!     length (or [`ASSUMED_SONG_SECS`] when unknown). The factor is measured
//!     (docs/BENCHMARKS.md: the base model on 2 cores, a 3-minute track in 21 s);
//!   - context [`CONTEXT_SECS`], critique [`CRITIQUE_SECS`], art [`ART_SECS`]:
//!     *not measured*; generous round figures for the local providers (a
//!     knowledge-base search with one embedded query, a rules critic, two PNGs
//!     rendered), so an answer errs late rather than early.
//! - **The running stage** counts only what is left of its typical time; past
//!   it, 0 (the answer says it is taking longer than usual).
//! - **Queue wait**, for a queued job: the typical time of each due job ahead
//!   of it (a job of another kind: the mean of the four stages), divided by the
//!   workers, taken to be the jobs running now (at least 1: the store knows no
//!   more about idle workers); at least the back-off of a job waiting to retry.
//! - `basis` says where the numbers came from: `history` (every stage used had
//!   enough runs), `defaults` (none had), `mixed`; `derivation` says it in words.
//!
//! The arithmetic is [`estimate`], a pure function of the snapshot's numbers.

use crate::tier::Tier;
use molt_core::jobs::JobState;
use molt_core::{SongStatus, Stage};
use molt_store::{LiveJob, PipelineStore, SongProgress, StoreError};
use serde::Serialize;

/// Succeeded runs per stage an ETA is taken from.
pub const HISTORY_RUNS: usize = 200;
/// Fewer runs than this and a stage's default is used: one or two are anecdotes.
pub const MIN_SAMPLES: usize = 3;
/// Transcription time per second of audio (docs/BENCHMARKS.md: RTF 0.12).
pub const TRANSCRIBE_RTF: f64 = 0.12;
/// Transcription's fixed part: loading the model, decoding and resampling.
pub const TRANSCRIBE_LOAD_SECS: f64 = 3.0;
/// A song's length when the store does not know it (a typical track).
pub const ASSUMED_SONG_SECS: f64 = 180.0;
pub const CONTEXT_SECS: f64 = 5.0;
pub const CRITIQUE_SECS: f64 = 2.0;
pub const ART_SECS: f64 = 5.0;

#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// No such song, or one the caller may not see.
    #[error("song {0} not found")]
    NotFound(i64),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl StatusError {
    /// A stable code for interfaces (`{"error":{"code"}}`).
    pub fn code(&self) -> &'static str {
        match self {
            StatusError::NotFound(_) => "not_found",
            StatusError::Store(_) => "store_error",
        }
    }
}

/// The answer.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SongStatusAnswer {
    pub song_id: i64,
    pub title: String,
    pub artist: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub status: SongStatus,
    /// The stage running or next to run, or the one it failed at; absent otherwise.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub stage: Option<Stage>,
    /// `stage`'s place in the order transcribe, context, critique, art (1–4).
    pub stage_number: Option<usize>,
    pub stages_total: usize,
    /// Stages with an accepted output.
    pub stages_done: usize,
    /// e.g. "2 of 4 stages done".
    pub progress: String,
    /// The song's queued or running job.
    pub job: Option<JobStatus>,
    /// Why it failed or needs a human.
    pub reason: Option<String>,
    /// Where and how it failed (failed songs).
    pub failure: Option<Failure>,
    /// Time left, for a song with a queued or running job.
    pub eta: Option<Eta>,
    /// The answer in one sentence.
    pub summary: String,
    /// When the store was read (UTC).
    pub as_of: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobStatus {
    /// `queued` or `running`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub state: JobState,
    /// The attempt running, or the one a queued job will make.
    pub attempt: u32,
    pub max_attempts: u32,
    /// Queued: due jobs a worker takes before this one.
    pub jobs_ahead: Option<u64>,
    /// Queued for a retry: seconds until it may run.
    pub retry_in_secs: Option<u64>,
    /// Why the previous attempt failed.
    pub last_error: Option<String>,
    /// Running: seconds since the attempt started.
    pub running_secs: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Failure {
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub stage: Option<Stage>,
    /// The error class (DESIGN §6): transient, rate_limited, schema, …
    pub error_class: Option<String>,
    /// The last attempt's error.
    pub error: Option<String>,
    pub attempts: Option<u32>,
}

/// Where the ETA's numbers came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EtaBasis {
    /// Every stage used had at least [`MIN_SAMPLES`] recent runs.
    History,
    /// None had: the documented defaults.
    Defaults,
    /// Some had.
    Mixed,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Eta {
    /// Seconds left: queue wait plus the remaining stages.
    pub seconds: u64,
    pub basis: EtaBasis,
    /// How it was derived, in words.
    pub derivation: String,
    /// The part spent waiting for a worker (or a retry's back-off).
    pub queue_wait_secs: u64,
    /// The workers the queue wait assumes.
    pub workers_assumed: u64,
    /// Each remaining stage.
    pub stages: Vec<StageEstimate>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StageEstimate {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub stage: Stage,
    /// Seconds left in it.
    pub seconds: u64,
    /// Its typical duration (median of recent runs, or the default).
    pub typical_secs: f64,
    pub basis: EtaBasis,
    /// Recent succeeded runs the median was taken over (0: the default).
    pub samples: usize,
    /// Running past its typical time.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub overdue: bool,
}

/// A song's status as `tier` may see it: a song that is not published is
/// [`StatusError::NotFound`] for everyone but staff, exactly like a missing one.
pub fn song_status(
    store: &dyn PipelineStore,
    tier: Tier,
    song_id: i64,
) -> Result<SongStatusAnswer, StatusError> {
    let progress = store.song_progress(song_id, HISTORY_RUNS)?.ok_or(StatusError::NotFound(song_id))?;
    if !tier.sees_unpublished() && progress.song.status != SongStatus::Published {
        return Err(StatusError::NotFound(song_id));
    }
    Ok(answer(&progress))
}

/// A song id as typed: ASCII or Khmer digits (`១២` is 12), nothing else.
pub fn parse_song_id(text: &str) -> Option<i64> {
    let ascii = molt_core::digits::khmer_to_ascii_digits(text.trim());
    if ascii.is_empty() || !ascii.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    ascii.parse().ok().filter(|id| *id > 0)
}

/// The answer a snapshot gives.
pub fn answer(p: &SongProgress) -> SongStatusAnswer {
    let song = &p.song;
    let stage = shown_stage(p);
    let live = p.job.as_ref().filter(|_| matches!(song.status, SongStatus::Pending | SongStatus::Processing));
    let job = live.map(|j| job_status(p, j));
    let eta = live.map(|j| {
        let remaining: Vec<Stage> = Stage::ORDER.into_iter().filter(|s| !p.done.contains(s)).collect();
        estimate(&EtaInput {
            remaining: &remaining,
            running_ms: (j.state == JobState::Running).then(|| running_ms(p, j)).flatten(),
            song_secs: song.duration_secs,
            history: &p.history,
            ahead: &p.ahead,
            running_jobs: p.running_jobs,
            due_in_ms: if j.state == JobState::Queued { j.due_in_ms } else { 0 },
        })
    });
    let failure = (song.status == SongStatus::Failed).then(|| failure(p));
    let total = Stage::ORDER.len();
    let mut answer = SongStatusAnswer {
        song_id: song.id,
        title: song.title.clone(),
        artist: crate::service::artist_display(&song.artist),
        status: song.status,
        stage,
        stage_number: stage.map(stage_number),
        stages_total: total,
        stages_done: p.done.len(),
        progress: format!("{} of {total} stages done", p.done.len()),
        job,
        // A reason belongs to the status it came with; a finished song has none to give.
        reason: song
            .failure_reason
            .clone()
            .filter(|_| !matches!(song.status, SongStatus::Published | SongStatus::Archived)),
        failure,
        eta,
        summary: String::new(),
        as_of: p.as_of.clone(),
    };
    answer.summary = summary(&answer);
    answer
}

fn stage_number(stage: Stage) -> usize {
    Stage::ORDER.iter().position(|s| *s == stage).unwrap_or(0) + 1
}

/// The stage worth naming: the live job's, else the song's own, else (failed)
/// the one its newest run was at.
fn shown_stage(p: &SongProgress) -> Option<Stage> {
    match p.song.status {
        SongStatus::Pending | SongStatus::Processing => {
            p.job.as_ref().map(|j| j.stage).or(p.song.current_stage)
        }
        SongStatus::Failed => p.last_run.as_ref().map(|r| r.stage).or(p.song.current_stage),
        _ => None,
    }
}

/// How long the job's current run has been going, when the newest run is it.
fn running_ms(p: &SongProgress, job: &LiveJob) -> Option<u64> {
    p.last_run.as_ref().filter(|r| r.stage == job.stage && r.state == "running").and_then(|r| r.running_ms)
}

fn job_status(p: &SongProgress, j: &LiveJob) -> JobStatus {
    let queued = j.state == JobState::Queued;
    JobStatus {
        state: j.state,
        // A claim counts the attempt, so a queued job's next one is one more.
        attempt: if queued { j.attempt + 1 } else { j.attempt.max(1) },
        max_attempts: j.max_attempts,
        jobs_ahead: queued.then(|| p.ahead.iter().map(|(_, n)| n).sum()),
        retry_in_secs: (queued && j.due_in_ms > 0).then(|| j.due_in_ms.div_ceil(1000)),
        last_error: j.last_error.clone(),
        running_secs: if queued { None } else { running_ms(p, j).map(|ms| ms / 1000) },
    }
}

fn failure(p: &SongProgress) -> Failure {
    let run = p.last_run.as_ref().filter(|r| r.state == "failed");
    Failure {
        stage: shown_stage(p),
        error_class: run.and_then(|r| r.error_class.clone()),
        error: run.and_then(|r| r.error.clone()),
        attempts: run.map(|r| r.attempt),
    }
}

/// What [`estimate`] is computed from: numbers only, no clock.
#[derive(Debug, Clone)]
pub struct EtaInput<'a> {
    /// Stages still to run, in order; the first may be running.
    pub remaining: &'a [Stage],
    /// How long the first has been running.
    pub running_ms: Option<u64>,
    /// The song's length, for the transcription default.
    pub song_secs: Option<f64>,
    /// Per stage, recent succeeded durations in ms.
    pub history: &'a [(Stage, Vec<u64>)],
    /// Due jobs ahead of the song's queued job, per stage (`None`: another kind).
    pub ahead: &'a [(Option<Stage>, u64)],
    pub running_jobs: u64,
    /// Until the song's queued job may run (a retry's back-off).
    pub due_in_ms: u64,
}

/// A stage's typical duration in seconds, where it came from, and the runs behind it.
pub fn typical(
    stage: Stage,
    history: &[(Stage, Vec<u64>)],
    song_secs: Option<f64>,
) -> (f64, EtaBasis, usize) {
    let runs = history.iter().find(|(s, _)| *s == stage).map_or(&[][..], |(_, ms)| ms.as_slice());
    if runs.len() >= MIN_SAMPLES {
        return (median_ms(runs) / 1000.0, EtaBasis::History, runs.len());
    }
    let default = match stage {
        Stage::Transcribe => {
            let secs = song_secs.filter(|s| s.is_finite() && *s > 0.0).unwrap_or(ASSUMED_SONG_SECS);
            TRANSCRIBE_LOAD_SECS + TRANSCRIBE_RTF * secs
        }
        Stage::Context => CONTEXT_SECS,
        Stage::Critique => CRITIQUE_SECS,
        Stage::Art => ART_SECS,
    };
    (default, EtaBasis::Defaults, 0)
}

/// The median; the mean of the middle two for an even count. `values` non-empty.
pub fn median_ms(values: &[u64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid] as f64
    } else {
        (sorted[mid - 1] as f64 + sorted[mid] as f64) / 2.0
    }
}

/// Time left (see the module docs).
pub fn estimate(input: &EtaInput) -> Eta {
    let typical_of = |stage| typical(stage, input.history, input.song_secs);
    let mut bases = Vec::new();
    let stages: Vec<StageEstimate> = input
        .remaining
        .iter()
        .enumerate()
        .map(|(i, &stage)| {
            let (secs, basis, samples) = typical_of(stage);
            bases.push(basis);
            let elapsed = if i == 0 { input.running_ms.unwrap_or(0) as f64 / 1000.0 } else { 0.0 };
            StageEstimate {
                stage,
                seconds: (secs - elapsed).max(0.0).ceil() as u64,
                typical_secs: (secs * 10.0).round() / 10.0,
                basis,
                samples,
                overdue: elapsed > secs,
            }
        })
        .collect();
    let mean_stage = Stage::ORDER.iter().map(|&s| typical_of(s).0).sum::<f64>() / Stage::ORDER.len() as f64;
    let work_ahead: f64 = input
        .ahead
        .iter()
        .map(|&(stage, n)| {
            let secs = stage.map_or(mean_stage, |s| {
                let (secs, basis, _) = typical_of(s);
                bases.push(basis);
                secs
            });
            secs * n as f64
        })
        .sum();
    let workers = input.running_jobs.max(1);
    let queue_wait = (work_ahead / workers as f64).max(input.due_in_ms as f64 / 1000.0).ceil() as u64;
    let basis = combined(&bases);
    let jobs_ahead: u64 = input.ahead.iter().map(|(_, n)| n).sum();
    Eta {
        seconds: queue_wait + stages.iter().map(|s| s.seconds).sum::<u64>(),
        basis,
        derivation: derivation(basis, jobs_ahead, workers, input.due_in_ms),
        queue_wait_secs: queue_wait,
        workers_assumed: workers,
        stages,
    }
}

fn combined(bases: &[EtaBasis]) -> EtaBasis {
    if bases.iter().all(|b| *b == EtaBasis::History) && !bases.is_empty() {
        EtaBasis::History
    } else if bases.iter().all(|b| *b == EtaBasis::Defaults) {
        EtaBasis::Defaults
    } else {
        EtaBasis::Mixed
    }
}

fn derivation(basis: EtaBasis, jobs_ahead: u64, workers: u64, due_in_ms: u64) -> String {
    let mut out = match basis {
        EtaBasis::History => "median of recent runs".to_string(),
        EtaBasis::Defaults => "default estimates: no run history yet".to_string(),
        EtaBasis::Mixed => "median of recent runs, defaults for stages without history".to_string(),
    };
    if jobs_ahead > 0 {
        out.push_str(&format!(", {jobs_ahead} job(s) ahead shared by {workers} worker(s)"));
    }
    if due_in_ms > 0 {
        out.push_str(", after the retry's back-off");
    }
    out
}

/// Seconds as people say them: "40 s", "3 min", "1 h 5 min".
pub fn human_secs(secs: u64) -> String {
    match secs {
        0..90 => format!("{secs} s"),
        90..5400 => format!("{} min", (secs + 30) / 60),
        _ => format!("{} h {} min", secs / 3600, (secs % 3600 + 30) / 60),
    }
}

/// The answer in one sentence, for people.
pub fn summary(a: &SongStatusAnswer) -> String {
    let head = format!("Song {} \"{}\": {}", a.song_id, a.title, a.status.as_str().replace('_', " "));
    let at =
        |stage: Stage| format!("stage {} of {} ({})", stage_number(stage), a.stages_total, stage.as_str());
    let body = match (a.status, &a.job, a.stage) {
        (SongStatus::Pending | SongStatus::Processing, Some(job), Some(stage)) => job_clause(job, &at(stage)),
        (SongStatus::Pending, _, _) => format!("not queued for processing yet ({})", a.progress),
        (SongStatus::Processing, _, _) => format!("{}, but no job is queued or running", a.progress),
        (SongStatus::Review, _, _) => format!("{}; waiting for a reviewer", a.progress),
        (SongStatus::NeedsHumanReview, _, _) => {
            let why = a.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
            format!("{}; waiting for a reviewer{why}", a.progress)
        }
        (SongStatus::Failed, _, _) => failed_clause(a, at),
        (SongStatus::Published, _, _) => "lyrics are available".to_string(),
        (SongStatus::Archived, _, _) => "no longer listed".to_string(),
    };
    let eta = a
        .eta
        .as_ref()
        .map(|e| format!("; about {} left ({})", human_secs(e.seconds), e.derivation))
        .unwrap_or_default();
    format!("{head} — {body}{eta}")
}

fn job_clause(job: &JobStatus, at: &str) -> String {
    match (job.state, job.retry_in_secs) {
        (JobState::Running, _) => {
            let late =
                job.running_secs.map(|s| format!(", running for {}", human_secs(s))).unwrap_or_default();
            format!("{at}, attempt {}{late}", job.attempt)
        }
        (_, Some(secs)) => {
            let why = job.last_error.as_deref().map(|e| format!(" (last error: {e})")).unwrap_or_default();
            format!(
                "{at}, retrying in {} as attempt {} of {}{why}",
                human_secs(secs),
                job.attempt,
                job.max_attempts
            )
        }
        _ => match job.jobs_ahead.unwrap_or(0) {
            0 => format!("{at} queued, next in line"),
            n => format!("{at} queued, {n} job(s) ahead"),
        },
    }
}

fn failed_clause(a: &SongStatusAnswer, at: impl Fn(Stage) -> String) -> String {
    let mut out = match &a.failure {
        Some(Failure { stage: Some(stage), attempts, .. }) => {
            let tries = attempts.map(|n| format!(" after {n} attempt(s)")).unwrap_or_default();
            format!("at {}{tries}", at(*stage))
        }
        _ => a.progress.clone(),
    };
    if let Some(reason) = &a.reason {
        out.push_str(&format!(": {reason}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(
        remaining: &'a [Stage],
        history: &'a [(Stage, Vec<u64>)],
        ahead: &'a [(Option<Stage>, u64)],
    ) -> EtaInput<'a> {
        EtaInput {
            remaining,
            running_ms: None,
            song_secs: Some(100.0),
            history,
            ahead,
            running_jobs: 0,
            due_in_ms: 0,
        }
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median_ms(&[5]), 5.0);
        assert_eq!(median_ms(&[9, 1, 5]), 5.0);
        assert_eq!(median_ms(&[4, 1, 3, 2]), 2.5);
        assert_eq!(median_ms(&[1000, 1000, 1_000_000]), 1000.0, "an outlier does not move it");
    }

    #[test]
    fn defaults_without_history_say_so() {
        let eta = estimate(&input(&Stage::ORDER, &[], &[]));
        // transcribe 3 + 0.12 × 100 = 15, context 5, critique 2, art 5.
        let secs: Vec<u64> = eta.stages.iter().map(|s| s.seconds).collect();
        assert_eq!(secs, [15, 5, 2, 5]);
        assert_eq!((eta.seconds, eta.basis, eta.queue_wait_secs), (27, EtaBasis::Defaults, 0));
        assert!(eta.derivation.contains("default"), "{}", eta.derivation);
        let unknown_length = EtaInput { song_secs: None, ..input(&[Stage::Transcribe], &[], &[]) };
        assert_eq!(estimate(&unknown_length).seconds, (3.0 + 0.12 * 180.0_f64).ceil() as u64);
    }

    #[test]
    fn history_medians_replace_defaults_from_three_runs() {
        let history = [
            (Stage::Critique, vec![10_000, 30_000, 20_000]),
            (Stage::Art, vec![8_000, 8_000]), // too few: the default
        ];
        let eta = estimate(&input(&[Stage::Critique, Stage::Art], &history, &[]));
        assert_eq!(
            eta.stages[0],
            StageEstimate {
                stage: Stage::Critique,
                seconds: 20,
                typical_secs: 20.0,
                basis: EtaBasis::History,
                samples: 3,
                overdue: false
            }
        );
        assert_eq!((eta.stages[1].seconds, eta.stages[1].basis), (5, EtaBasis::Defaults));
        assert_eq!((eta.seconds, eta.basis), (25, EtaBasis::Mixed));
        let only_critique = estimate(&input(&[Stage::Critique], &history, &[]));
        assert_eq!(
            (only_critique.basis, only_critique.derivation.as_str()),
            (EtaBasis::History, "median of recent runs")
        );
    }

    #[test]
    fn a_running_stage_counts_what_is_left_and_never_less_than_nothing() {
        let history = [(Stage::Context, vec![40_000; 5])];
        let mut running = input(&[Stage::Context, Stage::Critique], &history, &[]);
        running.running_ms = Some(15_000);
        let eta = estimate(&running);
        assert_eq!((eta.stages[0].seconds, eta.stages[0].overdue), (25, false));
        assert_eq!(eta.seconds, 25 + 2);
        running.running_ms = Some(90_000);
        let late = estimate(&running);
        assert_eq!((late.stages[0].seconds, late.stages[0].overdue), (0, true));
        assert_eq!(late.seconds, 2);
    }

    #[test]
    fn queue_wait_shares_the_work_ahead_among_running_workers() {
        let history = [(Stage::Transcribe, vec![20_000; 3])];
        let ahead = [(Some(Stage::Transcribe), 4), (Some(Stage::Art), 2)];
        let mut queued = input(&[Stage::Transcribe], &history, &ahead);
        queued.running_jobs = 2;
        let eta = estimate(&queued);
        // (4 × 20 + 2 × 5) / 2 workers = 45, then its own transcription 20.
        assert_eq!((eta.queue_wait_secs, eta.workers_assumed, eta.seconds), (45, 2, 65));
        assert_eq!(eta.basis, EtaBasis::Mixed, "the art jobs ahead used a default");
        assert!(eta.derivation.contains("6 job(s) ahead shared by 2 worker(s)"), "{}", eta.derivation);
        queued.running_jobs = 0;
        assert_eq!(estimate(&queued).workers_assumed, 1, "no job running: one worker assumed");
    }

    #[test]
    fn a_retry_waits_at_least_its_back_off() {
        let mut retry = input(&[Stage::Critique], &[], &[]);
        retry.due_in_ms = 8_500;
        let eta = estimate(&retry);
        assert_eq!((eta.queue_wait_secs, eta.seconds), (9, 11));
        assert!(eta.derivation.ends_with("after the retry's back-off"), "{}", eta.derivation);
        let other_kind = [(None, 2)];
        let mean = (15.0 + 5.0 + 2.0 + 5.0) / 4.0;
        let eta = estimate(&input(&[Stage::Art], &[], &other_kind));
        assert_eq!(eta.queue_wait_secs, (2.0_f64 * mean).ceil() as u64);
    }

    #[test]
    fn durations_read_like_speech() {
        assert_eq!(human_secs(0), "0 s");
        assert_eq!(human_secs(89), "89 s");
        assert_eq!(human_secs(90), "2 min");
        assert_eq!(human_secs(3600), "60 min");
        assert_eq!(human_secs(5400), "1 h 30 min");
    }

    #[test]
    fn song_ids_accept_khmer_digits_only_as_digits() {
        assert_eq!(parse_song_id("12"), Some(12));
        assert_eq!(parse_song_id(" ១២ "), Some(12));
        assert_eq!(parse_song_id("0"), None);
        for bad in ["", "-1", "12a", "1.5", "99999999999999999999"] {
            assert_eq!(parse_song_id(bad), None, "{bad}");
        }
    }
}
