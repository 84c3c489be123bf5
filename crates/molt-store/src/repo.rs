//! The repository interface every store implements. Callers hold an
//! `Arc<dyn Database>` and never see SQL, so PostgreSQL can be added as its own
//! crate without touching them (atuin's pattern).

use crate::error::StoreResult;
use async_trait::async_trait;
use molt_core::catalog::{Event, LyricsVersion, NewLyrics, NewSong, Song, SongQuery, TokenInfo};
use molt_core::jobs::{ClaimedJob, JobOutcome, JobState, NewJob};
use molt_core::knowledge::{KbChunk, KbDocument, KbPutOutcome, NewKbChunk, NewKbDocument};
use molt_core::pipeline::{BudgetStop, NewEscalation, Reservation, Settlement, StageOutput, StageRun};
use molt_core::Stage;
use molt_core::{Role, SongStatus};

use serde::Serialize;

/// What `/ready` needs to know.
#[derive(Debug, Clone, Serialize)]
pub struct Readiness {
    pub pending_migrations: usize,
    pub schema_version: Option<String>,
}

/// A token to store: only its hash and a recognisable prefix.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub name: String,
    pub role: Role,
    pub prefix: String,
    pub sha256: String,
}

#[async_trait]
pub trait Database: Send + Sync {
    /// The store answers and its schema is current.
    async fn readiness(&self) -> StoreResult<Readiness>;

    /// Create a PENDING song with its audio asset and artist, recording an event.
    /// The same audio twice is `StoreError::DuplicateAudio`.
    async fn create_song(&self, song: NewSong, actor: &str) -> StoreResult<Song>;
    async fn find_song_by_audio(&self, sha256: &str) -> StoreResult<Option<Song>>;
    async fn get_song(&self, id: i64) -> StoreResult<Option<Song>>;
    async fn list_songs(&self, query: SongQuery) -> StoreResult<Vec<Song>>;
    /// The one way a song's status changes: checked against the lifecycle and recorded as an event.
    async fn set_song_status(
        &self,
        id: i64,
        to: SongStatus,
        actor: &str,
        reason: Option<String>,
    ) -> StoreResult<Song>;
    async fn song_events(&self, song_id: i64) -> StoreResult<Vec<Event>>;

    /// Review → PUBLISHED. A protected or unknown-rights work needs `rights_override`
    /// (a reason), recorded as a `song.rights_override` event in the same transaction.
    async fn publish_song(&self, id: i64, actor: &str, rights_override: Option<String>) -> StoreResult<Song>;
    /// Review → back to `stage` (its output and later ones dropped, the stage queued
    /// again), or → FAILED with the reason when no stage is given.
    async fn reject_song(
        &self,
        id: i64,
        actor: &str,
        reason: String,
        stage: Option<Stage>,
    ) -> StoreResult<Song>;
    /// One of `molt_core::catalog::RIGHTS_STATUSES`, recorded as an event.
    async fn set_song_rights(&self, id: i64, rights: &'static str, actor: &str) -> StoreResult<Song>;

    /// Add a lyrics version (the next number); nothing is overwritten.
    async fn add_lyrics(&self, song_id: i64, lyrics: NewLyrics, actor: &str) -> StoreResult<LyricsVersion>;
    /// A given version, or the newest.
    async fn lyrics(&self, song_id: i64, version: Option<u32>) -> StoreResult<Option<LyricsVersion>>;
    async fn lyrics_versions(&self, song_id: i64) -> StoreResult<Vec<LyricsVersion>>;

    async fn create_token(&self, token: NewToken, actor: &str) -> StoreResult<TokenInfo>;
    /// An active (not revoked) token by the hash of its secret; marks it used.
    async fn authenticate_token(&self, sha256: &str) -> StoreResult<Option<TokenInfo>>;
    async fn list_tokens(&self) -> StoreResult<Vec<TokenInfo>>;
    async fn revoke_token(&self, id: i64, actor: &str) -> StoreResult<TokenInfo>;
}

/// The Historian's knowledge base. Blocking calls, like [`PipelineStore`]'s.
pub trait KnowledgeStore: Send + Sync {
    /// Adds or replaces the document `doc.key` and its chunks in one transaction;
    /// the same content under the same model writes nothing.
    fn kb_put(
        &self,
        doc: NewKbDocument,
        chunks: Vec<NewKbChunk>,
        actor: &str,
    ) -> StoreResult<(KbPutOutcome, KbDocument)>;
    fn kb_document(&self, key: &str) -> StoreResult<Option<KbDocument>>;
    fn kb_documents(&self) -> StoreResult<Vec<KbDocument>>;
    /// False when there was no such document.
    fn kb_remove(&self, key: &str, actor: &str) -> StoreResult<bool>;
    /// Every chunk embedded with `model`, with its vector.
    fn kb_chunks(&self, model: &str) -> StoreResult<Vec<KbChunk>>;
    /// Changes whenever chunks are added or removed, so a cached index knows it is stale.
    fn kb_fingerprint(&self) -> StoreResult<(i64, i64)>;
    fn kb_meta(&self, key: &str) -> StoreResult<Option<String>>;
    fn kb_set_meta(&self, key: &str, value: &str) -> StoreResult<()>;
}

/// The song search index (issue 7). Blocking calls, like [`KnowledgeStore`]'s.
/// Triggers queue a song in the outbox in the same transaction as any change to
/// its title, artist (names, aliases) or lyrics; indexing clears it.
pub trait SearchStore: Send + Sync {
    /// Songs whose index rows are out of date, oldest change first.
    fn search_pending(&self, limit: usize) -> StoreResult<Vec<molt_core::search::PendingSong>>;
    fn search_pending_count(&self) -> StoreResult<i64>;
    /// What indexing a song reads; `None` when there is no such song.
    fn search_source(&self, song_id: i64) -> StoreResult<Option<molt_core::search::SearchSource>>;
    /// [`SearchStore::search_source`] for many songs in one read; songs that do not exist are absent.
    fn search_sources(
        &self,
        ids: &[i64],
    ) -> StoreResult<std::collections::HashMap<i64, molt_core::search::SearchSource>>;
    /// Whether the outbox holds any song (cheap: one index probe, no lock).
    fn search_has_pending(&self) -> StoreResult<bool>;
    /// The index's generation: it moves with every change a search result can
    /// show (content through the outbox, a song's status by trigger).
    fn search_generation(&self) -> StoreResult<i64>;
    /// For each group of word alternatives, the songs whose words contain one
    /// of them (membership only, unranked, every status).
    fn search_word_groups(&self, groups: &[Vec<molt_core::search::WordTerm>]) -> StoreResult<Vec<Vec<i64>>>;
    /// How many songs the word index holds (every status): the N of its BM25.
    fn search_words_total(&self) -> StoreResult<i64>;
    /// Replaces the song's index rows in one transaction, clearing its outbox row
    /// if that is still at `generation` (true then). A song that no longer
    /// exists has its rows removed instead.
    fn search_put(&self, entry: molt_core::search::SearchEntry, generation: Option<i64>)
        -> StoreResult<bool>;
    /// Removes the song's index rows, clearing its outbox row likewise.
    fn search_remove(&self, song_id: i64, generation: Option<i64>) -> StoreResult<bool>;
    /// Queues every song (a full rebuild); how many.
    fn search_queue_all(&self, reason: &str) -> StoreResult<usize>;
    /// Queues the songs with a passage that has no vector from `model`; how many.
    fn search_queue_missing_vectors(&self, model: &str) -> StoreResult<usize>;
    /// Compacts the full-text indexes (after a rebuild).
    fn search_optimize(&self) -> StoreResult<()>;
    /// Word-level full text, best (BM25) first.
    fn search_words(
        &self,
        query: &molt_core::search::WordsQuery,
    ) -> StoreResult<Vec<molt_core::search::RankedSong>>;
    /// Songs containing, for every group, one of its alternatives (each at
    /// least 3 characters), best (BM25) first.
    fn search_trigrams(
        &self,
        groups: &[Vec<molt_core::search::SubstringTerm>],
        published_only: bool,
        limit: usize,
    ) -> StoreResult<Vec<molt_core::search::RankedSong>>;
    /// Songs containing a 1–2 character fragment (LIKE): title, then artist, then lyrics matches.
    fn search_like(
        &self,
        fragment: &str,
        published_only: bool,
        limit: usize,
    ) -> StoreResult<Vec<molt_core::search::RankedSong>>;
    /// Every passage embedded with `model`.
    fn search_line_vectors(&self, model: &str) -> StoreResult<Vec<molt_core::search::LineVector>>;
    /// Changes whenever passages are added or removed, so a cached vector index knows it is stale.
    fn search_lines_fingerprint(&self) -> StoreResult<(i64, i64)>;
    /// The status of each of `ids` that is a song (read as a query runs, so
    /// publishing or unpublishing needs no reindex).
    fn song_statuses(&self, ids: &[i64]) -> StoreResult<std::collections::HashMap<i64, SongStatus>>;
    /// Indexed songs, newest (highest id) first, at most `limit`: what
    /// "no results" suggestions compare a query with, and offer when nothing is close.
    fn search_indexed_songs(
        &self,
        published_only: bool,
        limit: usize,
    ) -> StoreResult<Vec<molt_core::catalog::Song>>;
}

/// One user query to log. The caller redacts the text first (molt-search's
/// `redact::log_query` is the way in); the store never sees a raw query.
#[derive(Debug, Clone)]
pub struct NewQueryLog {
    pub query_redacted: String,
    /// `song_search`, `lyrics_request`, `processing_status`, `general_info` or `bug_report`.
    pub intent: String,
    pub result_count: u64,
    pub response_ms: u64,
    /// `anonymous`, `free`, `premium` or `staff`.
    pub tier: String,
    /// An event recorded in the same transaction (e.g. `user.bug_report` for
    /// engineering); its details get the log row's id as `query_log_id`.
    pub event: Option<QueryEvent>,
}

/// An event that goes with a logged query.
#[derive(Debug, Clone)]
pub struct QueryEvent {
    pub actor: String,
    pub kind: String,
    /// A JSON object; must hold no raw query text.
    pub details: serde_json::Value,
}

/// A stored query-log row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueryLogEntry {
    pub id: i64,
    pub query_redacted: String,
    pub intent: String,
    pub result_count: u64,
    pub response_ms: u64,
    pub tier: String,
    pub created_at: String,
}

/// What logging a query wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LoggedQuery {
    pub id: i64,
    pub event_id: Option<i64>,
}

/// The query log (issue 7). Blocking calls, like [`KnowledgeStore`]'s.
pub trait QueryLogStore: Send + Sync {
    /// Appends a row, and its event if any, in one transaction.
    fn log_query(&self, entry: NewQueryLog) -> StoreResult<LoggedQuery>;
    /// The newest `limit` rows, newest first.
    fn query_log(&self, limit: usize) -> StoreResult<Vec<QueryLogEntry>>;
    /// The newest `limit` events of `kind` (e.g. `user.bug_report`), newest first:
    /// how engineering reads the bug reports.
    fn events_of_kind(&self, kind: &str, limit: usize) -> StoreResult<Vec<Event>>;
}

/// Views of one song on one UTC day, to add to the stored count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SongViews {
    pub song_id: i64,
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    pub views: u64,
}

/// How often learners and fans open songs (the `song_views` table): what
/// "popular" means for search suggestions.
pub trait ViewStore: Send + Sync {
    /// Adds the counts in one transaction. Views of a song deleted meanwhile are
    /// dropped; returns the views stored.
    fn record_views(&self, views: &[SongViews]) -> StoreResult<u64>;
    /// Published songs with the most views on `since_day` (`YYYY-MM-DD`) or
    /// later, most first (ties: the newer song first), at most `limit`.
    fn popular_songs(&self, since_day: &str, limit: usize) -> StoreResult<Vec<PopularSong>>;
}

/// A published song and its views in a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PopularSong {
    pub song_id: i64,
    pub title: String,
    pub views: u64,
}

/// What a worker knows when it starts a stage.
#[derive(Debug, Clone)]
pub struct StageStart {
    pub run_id: i64,
    pub song: Song,
    /// Outputs of the stages already done.
    pub outputs: Vec<StageOutput>,
}

/// A stage that produced an accepted output.
#[derive(Debug, Clone)]
pub struct StageSuccess {
    pub run_id: i64,
    pub end: crate::sqlite::pipeline::RunEnd,
    pub output: StageOutput,
    /// The next stage's job, if any.
    pub next: Option<NewJob>,
    /// Where the song goes (with a reason), e.g. REVIEW after the quality gate.
    pub song_status: Option<(SongStatus, Option<String>)>,
    pub escalations: Vec<NewEscalation>,
    /// A lyrics version to add with the stage's output (the transcript, for `transcribe`).
    pub lyrics: Option<NewLyrics>,
}

/// A stage attempt that failed.
#[derive(Debug, Clone)]
pub struct StageFailure {
    pub run_id: Option<i64>,
    pub end: crate::sqlite::pipeline::RunEnd,
    /// Retry later, or fail now.
    pub outcome: JobOutcome,
    /// Applied only when the job ends up failed (no attempts left, or no retry).
    pub song_status_if_final: Option<(SongStatus, String)>,
    pub escalations_if_final: Vec<NewEscalation>,
}

/// A paid answer to keep.
#[derive(Debug, Clone)]
pub struct CacheEntry {
    pub key: String,
    pub stage: Stage,
    pub provider: String,
    pub model: String,
    pub value: crate::sqlite::pipeline::Cached,
}

/// Where a song is in the pipeline, read in one snapshot, so its status, its
/// stages, its job and the queue agree (issue 7's "where is my song?").
#[derive(Debug, Clone)]
pub struct SongProgress {
    pub song: Song,
    /// Stages with an accepted output.
    pub done: Vec<Stage>,
    /// The song's live stage job (queued or running), if any.
    pub job: Option<LiveJob>,
    /// The song's newest stage run: the one running, or where it failed.
    pub last_run: Option<RunBrief>,
    /// For a queued job: the due jobs claimed before it (priority, then id),
    /// counted per stage (`None`: jobs of other kinds). Empty otherwise.
    pub ahead: Vec<(Option<Stage>, u64)>,
    /// Jobs running now, across the studio.
    pub running_jobs: u64,
    /// Per stage, the durations (ms) of its newest succeeded runs, newest first.
    pub history: Vec<(Stage, Vec<u64>)>,
    /// When the snapshot was read (UTC stamp).
    pub as_of: String,
}

/// A queued or running stage job.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveJob {
    pub id: i64,
    pub stage: Stage,
    pub state: JobState,
    /// Attempts started so far (a running job's is the current one).
    pub attempt: u32,
    pub max_attempts: u32,
    /// Why the previous attempt failed, for a job waiting to retry.
    pub last_error: Option<String>,
    /// Milliseconds until a queued job may run (a retry's back-off); 0 when due.
    pub due_in_ms: u64,
}

/// A stage run, as a status answer needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunBrief {
    pub stage: Stage,
    pub attempt: u32,
    /// `running`, `succeeded` or `failed`.
    pub state: String,
    pub error: Option<String>,
    pub error_class: Option<String>,
    /// How long it has been running (running runs only).
    pub running_ms: Option<u64>,
}

/// The health monitor's store (molt-ops `monitor`). Times are the caller's
/// clock, as UTC stamps.
pub trait OpsStore: Send + Sync {
    /// A trivial read: the store answers.
    fn ops_ping(&self) -> StoreResult<()>;
    /// The figures of one check, in one read transaction.
    fn ops_snapshot(
        &self,
        day_start: &str,
        cost_since: &str,
        stuck_before: &str,
    ) -> StoreResult<molt_core::ops::OpsSnapshot>;
    /// Ends the leases of running jobs with no sign of life since `before`, so
    /// the queue's rescue re-queues them (fenced); one audit event each.
    fn expire_stuck_jobs(&self, before: &str, actor: &str) -> StoreResult<Vec<molt_core::ops::StuckJob>>;
    fn record_status(&self, at: &str, status: &str, report: &serde_json::Value) -> StoreResult<i64>;
    fn latest_status(&self) -> StoreResult<Option<molt_core::ops::StatusRecord>>;
    /// (time, status) of every report since `since`, oldest first.
    fn status_history(&self, since: &str) -> StoreResult<Vec<(String, String)>>;
    /// Deletes status reports older than `before`. Returns how many.
    fn prune_status(&self, before: &str) -> StoreResult<usize>;
    /// A worker task is alive (registers it the first time).
    fn worker_beat(&self, name: &str, process: &str, now: &str) -> StoreResult<()>;
    fn worker_stopped(&self, name: &str, now: &str) -> StoreResult<()>;
    fn workers(&self) -> StoreResult<Vec<molt_core::ops::WorkerBeat>>;
    /// What `/metrics` reports from the store, in one read transaction; stage
    /// durations counted under each of `duration_bounds_secs` (cumulative).
    fn metrics_snapshot(&self, duration_bounds_secs: &[f64]) -> StoreResult<molt_core::ops::MetricsSnapshot>;
    /// Records an audit event (what the monitor or a supervisor did).
    fn ops_event(
        &self,
        actor: &str,
        kind: &str,
        song_id: Option<i64>,
        details: &serde_json::Value,
    ) -> StoreResult<()>;
}

/// The pipeline engine's view of the store. Blocking calls: they run on the
/// writer thread or a pooled reader and take microseconds.
pub trait PipelineStore: Send + Sync {
    /// Fenced: `None` when the job's lease is no longer this worker's.
    fn begin_stage(&self, job: &ClaimedJob) -> StoreResult<Option<StageStart>>;
    /// Fenced: false when the lease was lost; then nothing is written.
    fn complete_stage(&self, job: &ClaimedJob, success: StageSuccess) -> StoreResult<bool>;
    fn fail_stage(&self, job: &ClaimedJob, failure: StageFailure) -> StoreResult<Option<JobState>>;
    fn reserve(&self, reservation: Reservation) -> StoreResult<Result<i64, BudgetStop>>;
    fn settle(&self, ledger_id: i64, settlement: Settlement) -> StoreResult<()>;
    /// Settle a paid call and cache its answer in one transaction, so a crash
    /// can never leave a paid answer that a retry would pay for again.
    fn settle_and_cache(&self, ledger_id: i64, settlement: Settlement, entry: CacheEntry) -> StoreResult<()>;
    fn cached(&self, key: &str) -> StoreResult<Option<crate::sqlite::pipeline::Cached>>;
    fn use_cached(&self, key: &str, reservation: Reservation) -> StoreResult<()>;
    fn price(&self, provider: &str, model: &str, unit_kind: &str) -> StoreResult<Option<f64>>;
    fn escalate(&self, escalation: NewEscalation) -> StoreResult<i64>;
    fn stage_runs(&self, song_id: i64) -> StoreResult<Vec<StageRun>>;
    fn stage_outputs(&self, song_id: i64) -> StoreResult<Vec<StageOutput>>;
    /// Where a song is ([`SongProgress`]), read in one transaction with
    /// `history` succeeded runs per stage at most; `None` when there is no such song.
    fn song_progress(&self, song_id: i64, history: usize) -> StoreResult<Option<SongProgress>>;

    fn claim_jobs(
        &self,
        owner: &str,
        limit: usize,
        lease: std::time::Duration,
    ) -> StoreResult<Vec<ClaimedJob>>;
    /// Fenced: false when the lease was lost.
    fn extend_lease(&self, job: &ClaimedJob, lease: std::time::Duration) -> StoreResult<bool>;
    /// Re-queue or fail jobs whose lease expired (E003), close their runs, and
    /// release cost reservations older than `reservation_ttl` (their process died mid-call).
    fn rescue_expired(
        &self,
        reservation_ttl: std::time::Duration,
    ) -> StoreResult<molt_core::jobs::ReapReport>;
    fn enqueue_job(&self, job: NewJob) -> StoreResult<i64>;
    /// Delete succeeded and cancelled jobs older than `retention`; failed jobs are kept.
    fn prune_jobs(&self, retention: std::time::Duration) -> StoreResult<usize>;
    /// Set a song's status outside a stage (e.g. after the reaper gave up on it).
    fn set_status(&self, song_id: i64, status: SongStatus, reason: &str) -> StoreResult<()>;
    fn song(&self, song_id: i64) -> StoreResult<Option<Song>>;
}

/// Alerts and their delivery outbox (issue 8, DESIGN §10). Blocking calls,
/// like [`KnowledgeStore`]'s. Times are the caller's clock. Each change is one
/// transaction that also queues its notices (one per channel), so a notice is
/// never lost; a notice is never given up on either: it stays pending until
/// delivered.
pub trait AlertStore: Send + Sync {
    /// The condition `alert.key` holds at `now`. No firing alert for the key: a
    /// new one, with a `fired` notice per channel. A firing one whose last
    /// notice is at least `cooldown` old, or raised at a higher severity: a
    /// `repeated` notice (severity, summary and details updated). Otherwise it
    /// is only counted (occurrences, last_seen_at).
    fn raise_alert(
        &self,
        alert: molt_core::alerts::NewAlert,
        channels: &[molt_core::alerts::Channel],
        now: chrono::DateTime<chrono::Utc>,
        cooldown: std::time::Duration,
    ) -> StoreResult<molt_core::alerts::Raised>;
    /// The condition cleared: the firing alert (if any) is resolved, with a
    /// `resolved` notice per channel. `None` when none fired.
    fn resolve_alert(
        &self,
        key: &str,
        channels: &[molt_core::alerts::Channel],
        now: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<Option<molt_core::alerts::Resolved>>;
    /// Newest first; only the firing ones when `firing_only`.
    fn list_alerts(&self, firing_only: bool, limit: usize) -> StoreResult<Vec<molt_core::alerts::Alert>>;
    fn alert_with_deliveries(&self, id: i64) -> StoreResult<Option<molt_core::alerts::AlertWithDeliveries>>;
    /// Pending notices due at `now`, the longest due first (a read; see
    /// [`AlertStore::claim_due_deliveries`] to send them).
    fn due_deliveries(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        limit: usize,
    ) -> StoreResult<Vec<molt_core::alerts::DueDelivery>>;
    /// [`AlertStore::due_deliveries`], and their next attempt moved to `now + lease`
    /// in the same transaction, so another process does not send them meanwhile.
    fn claim_due_deliveries(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        lease: std::time::Duration,
        limit: usize,
    ) -> StoreResult<Vec<molt_core::alerts::DueDelivery>>;
    /// The pending ones of `ids` that are due, claimed likewise (to send new
    /// notices at once); one leased by another sender or in backoff is left alone.
    fn claim_deliveries(
        &self,
        ids: &[i64],
        now: chrono::DateTime<chrono::Utc>,
        lease: std::time::Duration,
    ) -> StoreResult<Vec<molt_core::alerts::DueDelivery>>;
    /// False when it was not pending (already delivered, or no such delivery).
    fn mark_delivered(&self, delivery_id: i64, now: chrono::DateTime<chrono::Utc>) -> StoreResult<bool>;
    /// One more failed attempt: the error (redacted by the channel) is kept and
    /// the notice stays pending until `next_attempt_at`.
    fn mark_delivery_failed(
        &self,
        delivery_id: i64,
        error: &str,
        next_attempt_at: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<bool>;
    /// Notices not delivered yet.
    fn pending_deliveries(&self) -> StoreResult<u64>;
}

/// Scheduled work (molt-ops `scheduler`). Blocking calls, like
/// [`PipelineStore`]'s; every write is one transaction, and every time is the
/// caller's clock. A scheduler runs a schedule only while it holds its lease.
pub trait ScheduleStore: Send + Sync {
    /// Inserts a schedule the code defines, first due at `first_due`; when the
    /// code changed its text or policy, updates them (its runs are kept) and,
    /// for a new text, makes it next due at `first_due`.
    fn ensure_schedule(
        &self,
        name: &str,
        spec: &str,
        catch_up: molt_core::schedule::CatchUp,
        first_due: chrono::DateTime<chrono::Utc>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<molt_core::schedule::Ensured>;
    /// Every stored schedule, by name, with its last run.
    fn schedules(&self) -> StoreResult<Vec<molt_core::schedule::Schedule>>;
    fn schedule(&self, name: &str) -> StoreResult<Option<molt_core::schedule::Schedule>>;
    /// The newest `limit` runs (and skips) of a schedule, newest first.
    fn schedule_runs(&self, name: &str, limit: usize) -> StoreResult<Vec<molt_core::schedule::ScheduleRun>>;
    /// Takes the leases `claim` asks for, never one another holder has not let
    /// expire. An expired lease whose run never finished is taken over: that
    /// run is closed as failed (interrupted) and its due time stays due.
    fn claim_schedules(
        &self,
        claim: &molt_core::schedule::ScheduleClaim,
    ) -> StoreResult<Vec<molt_core::schedule::ClaimedSchedule>>;
    /// Opens a run for the due time; `None` when `owner` does not hold the lease.
    fn start_schedule_run(
        &self,
        name: &str,
        owner: &str,
        due_at: chrono::DateTime<chrono::Utc>,
        missed: u64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<Option<i64>>;
    /// Closes the run, records it as the schedule's last (failures counted,
    /// reset by a success), moves the next due time (`None`: kept, for a run by
    /// hand) and releases the lease. `None` when `owner` lost the lease: then
    /// nothing is written.
    fn finish_schedule_run(
        &self,
        run_id: i64,
        owner: &str,
        end: molt_core::schedule::RunEnd,
        now: chrono::DateTime<chrono::Utc>,
        next_due: Option<chrono::DateTime<chrono::Utc>>,
    ) -> StoreResult<Option<molt_core::schedule::Schedule>>;
    /// Records missed due times passed over (a `skipped` run with their count);
    /// see [`molt_core::schedule::ScheduleSkip`]. `None` when `owner` does not hold the lease.
    fn skip_schedule_due(
        &self,
        name: &str,
        owner: &str,
        skip: molt_core::schedule::ScheduleSkip,
        now: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<Option<molt_core::schedule::Schedule>>;
}

/// The reads behind KPIs and the daily and weekly reports, and the stored
/// reports (issue 8). Windows are `[from, to)`, as stamps from the caller's clock.
pub trait ReportStore: Send + Sync {
    /// The KPI figures of a window, in one read transaction; status reports
    /// are read from `status_since` (before `from`: the report covering `from`).
    fn kpi_figures(
        &self,
        from: &str,
        to: &str,
        status_since: &str,
    ) -> StoreResult<crate::reports::KpiFigures>;
    fn cost_figures(&self, from: &str, to: &str) -> StoreResult<crate::reports::CostFigures>;
    /// Published songs created before `created_before` with no views on or
    /// after day `no_views_since` (`YYYY-MM-DD`): the count and audio bytes
    /// of all of them, and the first `limit`.
    fn archive_candidates(
        &self,
        created_before: &str,
        no_views_since: &str,
        limit: usize,
    ) -> StoreResult<crate::reports::ArchiveCandidates>;
    fn day_figures(&self, from: &str, to: &str) -> StoreResult<crate::reports::DayFigures>;
    /// Stores a report, replacing the one of the same kind and period start (one transaction).
    fn save_report(&self, report: &crate::reports::NewReport) -> StoreResult<crate::reports::StoredReport>;
    fn report(&self, id: i64) -> StoreResult<Option<crate::reports::StoredReport>>;
    /// Newest period first.
    fn reports(&self, kind: Option<&str>, limit: usize) -> StoreResult<Vec<crate::reports::ReportBrief>>;
}
