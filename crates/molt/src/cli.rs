//! The command line, as clap sees it.

use clap::{Args, Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "molt", version, about = "Molt: the Khmer music studio's control plane")]
pub struct Cli {
    /// Configuration file (default: ./molt.toml if present). Also MOLT_CONFIG.
    #[arg(long, global = true, env = "MOLT_CONFIG")]
    pub config: Option<PathBuf>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API (and, later, workers and the scheduler).
    Serve(ServeArgs),
    /// Show the effective configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Database administration: migrations, backups, verification.
    #[command(subcommand)]
    Db(DbCommand),
    /// Songs in the catalogue.
    #[command(subcommand)]
    Song(SongCommand),
    /// API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Queue songs for processing (transcribe → context → critique → art → quality gate).
    Process(ProcessArgs),
    /// Run pipeline workers until SIGTERM (any number of these may share one database).
    Worker {
        /// Worker tasks (default: pipeline.workers).
        #[arg(long)]
        workers: Option<usize>,
    },
    /// Khmer text tools for learners and operators.
    #[command(subcommand)]
    Khmer(KhmerCommand),
    /// What a request is (song search, lyrics request, processing status, general info,
    /// bug report), with the confidence and the rule that fired.
    Intent {
        text: String,
        /// Rules only, without the embedding model.
        #[arg(long)]
        rules_only: bool,
    },
    /// Search songs: Khmer (a lyric fragment, with or without spaces), romanised, or a description.
    Query(QueryArgs),
    /// The song search index.
    #[command(subcommand)]
    Search(SearchCommand),
    /// Human review: the queue, approve, edit lyrics, reject.
    #[command(subcommand)]
    Review(ReviewCommand),
    /// Scheduled jobs: list them with their next due time and last run, or run one now.
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// The Historian's knowledge base: add, list, show, remove, search documents.
    #[command(subcommand)]
    Kb(KbCommand),
    /// Local models: list, import.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Lyrics: export, import, versions.
    #[command(subcommand)]
    Lyrics(LyricsCommand),
    /// Spending caps and spend so far.
    #[command(subcommand)]
    Budget(BudgetCommand),
    /// Provider prices (micro-USD per unit), used to reserve and bill every call.
    #[command(subcommand)]
    Price(PriceCommand),
    /// The studio's health: the monitor's newest status report (or a check made now).
    Status,
    /// Measure hot paths (on a scratch database unless told otherwise).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Alerts: list, show, send a test alert, deliver the notices due.
    #[command(subcommand)]
    Alert(AlertCommand),
    /// KPIs against the SOP's targets (green, amber, red, or no data) over a window ending now.
    Kpi {
        #[arg(long, default_value = "24h", value_parser = ["24h", "7d", "30d"])]
        window: String,
    },
    /// Stored reports: the daily summary and the weekly cost optimisation report.
    #[command(subcommand)]
    Report(ReportCommand),
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Stored reports, newest period first.
    List {
        #[arg(long, value_parser = ["daily", "weekly"])]
        kind: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// One stored report: its Markdown (default) or, with --json, its data.
    Show {
        id: i64,
        /// Print the Markdown (the default without --json).
        #[arg(long)]
        markdown: bool,
    },
    /// Generate a report now and store it (replacing the one of the same period).
    Generate {
        #[arg(value_parser = ["daily", "weekly"])]
        kind: String,
        /// The time it is made for (RFC 3339, default now): the daily summary
        /// covers that day up to it; the weekly report the 7 days ending at the
        /// latest Friday 18:00 UTC at or before it.
        #[arg(long)]
        at: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AlertCommand {
    /// Firing alerts, newest first (--all: resolved ones too).
    List {
        #[arg(long)]
        all: bool,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// One alert and its notices per channel (delivered, or pending with the last error).
    Show { id: i64 },
    /// Raise a test alert (`alert_test`, info) and send it at once through every
    /// configured channel, printing each channel's result.
    Test,
    /// Send the notices that are due now (for cron; `molt serve` does this by itself).
    Deliver,
}

#[derive(Debug, Args)]
pub struct ProcessArgs {
    /// Songs to process (repeatable).
    #[arg(long = "song")]
    pub songs: Vec<i64>,
    /// Every pending song.
    #[arg(long)]
    pub all_pending: bool,
    /// Every failed song, resumed at its first unfinished stage.
    #[arg(long)]
    pub all_failed: bool,
    /// Process here and wait until every song is done, with a progress bar.
    #[arg(long)]
    pub wait: bool,
}

/// The query is taken as a raw OS string, so invalid UTF-8 gets a precise error.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// A query may start with `-` (`-ទន្លេ` is a word, not an option).
    #[arg(allow_hyphen_values = true)]
    pub query: OsString,
    /// Most results (capped by the tier: 10 for anonymous and free, 50 premium, 100 staff).
    #[arg(long, short = 'n')]
    pub limit: Option<usize>,
    /// Search as this tier would (the CLI is staff: it sees unpublished songs).
    #[arg(long, default_value = "staff", value_parser = ["anonymous", "free", "premium", "staff"])]
    pub tier: String,
}

#[derive(Debug, Subcommand)]
pub enum SearchCommand {
    /// Rebuild the whole search index (every song indexed and embedded again).
    Reindex,
}

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Every schedule: its spec, catch-up policy, next due time (UTC), last run
    /// and outcome, and failures in a row.
    List,
    /// Run a schedule now, in this process, whatever its due time (recorded as a
    /// run; exit 1 if it fails).
    Run {
        /// The schedule's name (see `molt schedule list`).
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum BudgetCommand {
    /// Caps, today's spend and reservations.
    Show,
    /// Change caps, in dollars (e.g. 0.50).
    Set {
        #[arg(long)]
        per_song: Option<String>,
        #[arg(long)]
        per_day: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// Songs in NEEDS_HUMAN_REVIEW and REVIEW, with their findings.
    List,
    /// Publish a song. A protected or unknown-rights work needs --override-rights.
    Approve {
        id: i64,
        /// Why it may be published anyway (recorded in the song's history).
        #[arg(long, value_name = "REASON")]
        override_rights: Option<String>,
    },
    /// Correct the lyrics: a new version from a file (lrc, srt, txt or json), author recorded.
    Edit {
        id: i64,
        #[arg(long)]
        file: PathBuf,
        /// Default: from the file's extension.
        #[arg(long)]
        format: Option<String>,
        /// Who corrected them.
        #[arg(long, default_value = "cli")]
        author: String,
    },
    /// Send a song back to a stage (queued again), or to FAILED.
    Reject {
        id: i64,
        #[arg(long)]
        reason: String,
        /// transcribe, context, critique or art; without it the song fails with the reason.
        #[arg(long, value_name = "STAGE")]
        to_stage: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum KbCommand {
    /// Add Markdown/text documents (files, or every .md/.markdown/.txt under a directory).
    /// A document with the same file name replaces the stored one.
    Add {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Every document, with its entity and chunk count.
    List,
    /// One document: metadata, sources and text.
    Show { key: String },
    /// Remove a document by key (its file name without the extension).
    Remove { key: String },
    /// The documents that best match a query (Khmer, romanised or English).
    Search {
        query: String,
        /// How many documents.
        #[arg(short = 'k', long, default_value_t = 5)]
        limit: usize,
    },
    /// Load (or refresh) the starter knowledge base shipped with Molt.
    Seed,
    /// Retrieval quality on a query set: a TSV of `query<TAB>expected document file`.
    Eval {
        file: PathBuf,
        /// A query counts as found when its document is in the top K.
        #[arg(short = 'k', long, default_value_t = 3)]
        top: usize,
    },
}

#[derive(Debug, Subcommand)]
pub enum KhmerCommand {
    /// Canonical character order (SIL), NFC; `--index` also drops zero-width spaces.
    Normalize {
        text: String,
        #[arg(long)]
        index: bool,
    },
    /// Split into words (printed separated by spaces).
    Segment { text: String },
    /// Learner-friendly Latin letters (UNGEGN style).
    Romanize { text: String },
}

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Models in the model directory (whisper.model_dir, default <data_dir>/models).
    List,
    /// Convert a faster-whisper (CTranslate2) model directory to whisper.cpp ggml.
    ImportCt2 {
        dir: PathBuf,
        /// Model name, used as `local_whisper:NAME` (default: from the directory name).
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum LyricsCommand {
    /// Print a song's lyrics as lrc, elrc, srt, vtt, ttml, txt or json.
    Export {
        id: i64,
        #[arg(long, default_value = "lrc")]
        format: String,
        /// A given version (default: the newest).
        #[arg(long)]
        version: Option<u32>,
    },
    /// Add lyrics from an lrc, srt or txt file as a new version (source = human).
    Import {
        id: i64,
        file: PathBuf,
        /// Default: from the file's extension.
        #[arg(long)]
        format: Option<String>,
        /// Who wrote or corrected them.
        #[arg(long, default_value = "cli")]
        author: String,
    },
    /// List a song's lyrics versions.
    Versions { id: i64 },
}

#[derive(Debug, Subcommand)]
pub enum PriceCommand {
    List,
    /// e.g. `molt price set studio whisper-1 audio_second 100` ($0.006 a minute).
    Set {
        provider: String,
        model: String,
        unit: String,
        micro_usd_per_unit: f64,
    },
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// No-op jobs claimed and completed per second, leases and fencing in force.
    Queue {
        #[arg(long, default_value_t = 20_000)]
        jobs: usize,
        #[arg(long, default_value_t = 2)]
        workers: usize,
        /// Jobs claimed per transaction.
        #[arg(long, default_value_t = 64)]
        batch: usize,
    },
    /// Transcription wall time and real-time factor through the local transcriber.
    Transcribe {
        #[arg(long)]
        audio: PathBuf,
        #[arg(long, default_value = "base")]
        model: String,
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Language (default: whisper.language; `auto` detects it).
        #[arg(long)]
        language: Option<String>,
    },
    /// Make a search corpus: N synthetic published songs (real Khmer words from the
    /// e5 vocabulary, some English) plus the reference songs, indexed with the real model.
    Corpus {
        #[arg(long, default_value_t = 20_000)]
        songs: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The corpus's data directory (must have no database yet).
        #[arg(long)]
        data: PathBuf,
        /// Distinct stanzas the songs draw from (default: songs / 5, 50 to 4,000).
        #[arg(long)]
        stanza_pool: Option<usize>,
    },
    /// Recall@k of a query file (`kind<TAB>query<TAB>reference key`) on a corpus.
    Recall {
        #[arg(long)]
        data: PathBuf,
        #[arg(long, default_value = "bench/search/fragments.tsv")]
        file: PathBuf,
        #[arg(long, short = 'k', default_value_t = 5)]
        k: usize,
    },
    /// In-process search latency on a corpus: p50/p90/p99/max, cold and repeated.
    Search {
        #[arg(long)]
        data: PathBuf,
        /// Distinct queries measured.
        #[arg(long, default_value_t = 1000)]
        queries: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Skip the second (repeated) pass.
        #[arg(long)]
        cold_only: bool,
        /// Write the queries as URL paths (`/api/v1/search?q=…`, one a line) to
        /// this file for `bench/search_http.sh`, instead of measuring.
        #[arg(long)]
        write_queries: Option<PathBuf>,
        /// Also write each cold query's answer (`query<TAB>song ids`, one a
        /// line) to this file, to compare two builds' answers.
        #[arg(long, conflicts_with = "write_queries")]
        answers: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (overrides server.listen).
    #[arg(long)]
    pub listen: Option<String>,
    /// Serve the API only; leave processing to `molt worker` processes.
    #[arg(long)]
    pub no_workers: bool,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration, secrets redacted.
    Show,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// List migrations and whether each is applied.
    Status,
    /// Apply pending migrations (after an online backup).
    Migrate,
    /// Undo the newest migrations (after an online backup).
    Rollback {
        #[arg(long, default_value_t = 1)]
        steps: usize,
    },
    /// Create an empty migration pair in the source tree.
    New {
        name: String,
        /// Where migration files live.
        #[arg(long, default_value = "migrations/sqlite")]
        dir: PathBuf,
    },
    /// Take an online backup (default: a timestamped file under <data_dir>/backups).
    Backup { path: Option<PathBuf> },
    /// Replace the database with a backup, after checking it is a sound Molt database.
    Restore { path: PathBuf },
    /// Check integrity, foreign keys and migrations.
    Verify,
}

#[derive(Debug, Subcommand)]
pub enum SongCommand {
    /// Add a song: metadata plus an audio file (WAV, MP3, FLAC, Ogg Vorbis, M4A).
    Add(SongAddArgs),
    /// List songs.
    List {
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Start after this song id.
        #[arg(long)]
        after: Option<i64>,
    },
    /// Show one song and its history.
    Show { id: i64 },
    /// Where a song is: its status, stage, progress and time left ("where is my song?").
    Status {
        /// Song id (ASCII or Khmer digits).
        #[arg(value_parser = song_id)]
        id: i64,
    },
    /// Record a song's rights status: unknown, family_held, protected, public_domain, licensed.
    Rights { id: i64, status: String },
    /// Archive a published song: status ARCHIVED, its audio and art moved under
    /// `<data>/archive/` (undo with `unarchive`).
    Archive {
        /// Song id (ASCII or Khmer digits).
        #[arg(value_parser = song_id, required_unless_present = "candidates", conflicts_with = "candidates")]
        id: Option<i64>,
        /// List the published songs older than 90 days with no views in 90 days instead.
        #[arg(long)]
        candidates: bool,
    },
    /// Bring an archived song back: PUBLISHED again, its files back under `assets/`.
    Unarchive {
        /// Song id (ASCII or Khmer digits).
        #[arg(value_parser = song_id)]
        id: i64,
    },
}

/// A song id as typed (Khmer digits accepted, DESIGN §8); anything else is a usage error.
fn song_id(text: &str) -> Result<i64, String> {
    molt_search::status::parse_song_id(text).ok_or_else(|| format!("`{text}` is not a song id"))
}

/// Text arguments are taken as raw OS strings so invalid UTF-8 gets a precise
/// error naming the argument, instead of a generic usage error.
#[derive(Debug, Args)]
pub struct SongAddArgs {
    #[arg(long)]
    pub title: Option<OsString>,
    #[arg(long)]
    pub artist: Option<OsString>,
    #[arg(long)]
    pub audio: PathBuf,
    /// The title in Latin letters.
    #[arg(long)]
    pub title_latin: Option<OsString>,
    /// Year of recording (Arabic or Khmer digits).
    #[arg(long)]
    pub year: Option<OsString>,
    #[arg(long)]
    pub album: Option<OsString>,
    #[arg(long)]
    pub composer: Option<OsString>,
    #[arg(long)]
    pub lyricist: Option<OsString>,
    /// International Standard Recording Code, CC-XXX-YY-NNNNN.
    #[arg(long)]
    pub isrc: Option<OsString>,
    /// Language tag, e.g. km.
    #[arg(long)]
    pub language: Option<OsString>,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; it is printed once and stored only as a hash.
    Create {
        #[arg(long)]
        role: String,
        #[arg(long)]
        name: String,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by id.
    Revoke { id: i64 },
}
