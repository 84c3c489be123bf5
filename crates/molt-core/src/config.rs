//! Configuration: defaults, then `molt.toml`, then `MOLT_*` environment
//! variables (`MOLT_SERVER__LISTEN` sets `server.listen`). The caller reads the
//! file and the environment; this module only merges and checks them.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use toml::Value;

/// Environment variables with this prefix override the file.
pub const ENV_PREFIX: &str = "MOLT_";
/// Names under the prefix that are not configuration keys.
pub const ENV_RESERVED: &[&str] = &["MOLT_CONFIG", "MOLT_LOG"];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the database, assets, backups and models live.
    pub data_dir: PathBuf,
    pub server: ServerConfig,
    pub store: StoreConfig,
    pub audio: AudioConfig,
    pub log: LogConfig,
    pub telegram: TelegramConfig,
    pub pipeline: PipelineConfig,
    pub whisper: WhisperConfig,
    pub knowledge: KnowledgeConfig,
    pub art: ArtConfig,
    pub search: SearchConfig,
    pub alerts: AlertsConfig,
    pub monitor: MonitorConfig,
    pub retention: RetentionConfig,
    /// Remote providers by name, referenced in chains as `NAME:model`.
    pub providers: BTreeMap<String, RemoteProviderConfig>,
}

/// The song pipeline: job leases, workers, quality gate, router and chains.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    /// A stage job with no heartbeat for this long is rescued (DESIGN §5: 15 min).
    pub lease_secs: u64,
    /// Worker tasks in `molt serve` / `molt worker`.
    pub workers: usize,
    /// Jobs a worker claims at once.
    pub batch: usize,
    pub lyrics_confidence: f64,
    pub context_relevance: f64,
    /// The quality gate's threshold for the critic's score: lyrics need it as well
    /// as `lyrics_confidence` (0..=1).
    pub critique_score: f64,
    /// Longest a single provider call may take.
    pub call_timeout_secs: u64,
    pub breaker_threshold: u32,
    pub breaker_cooldown_secs: u64,
    pub chains: Chains,
}

/// The local Whisper transcriber (`local_whisper:MODEL` in a chain).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WhisperConfig {
    /// Where `ggml-MODEL.bin` files live (default `<data_dir>/models`).
    pub model_dir: Option<PathBuf>,
    /// CPU threads per transcription.
    pub threads: usize,
    /// Language when a song has none: a code such as `km`, or `auto` to detect it.
    pub language: String,
    /// Word-level timestamps (for enhanced LRC and TTML).
    pub word_timestamps: bool,
}

/// The Historian's knowledge base and its local embedding model.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KnowledgeConfig {
    /// The embedding model file, relative to the model directory (or absolute).
    pub embedding_model: PathBuf,
    /// Facts the Historian keeps per song.
    pub top_k: usize,
    /// Largest document `molt kb add` accepts, in bytes.
    pub max_document_bytes: u64,
    /// Load the starter knowledge base (shipped in the binary) into an empty store.
    pub seed_starter: bool,
}

impl Default for KnowledgeConfig {
    fn default() -> Self {
        KnowledgeConfig {
            embedding_model: PathBuf::from("e5-small-q4/e5-small-q4.bin"),
            top_k: 5,
            max_document_bytes: 1 << 20,
            seed_starter: true,
        }
    }
}

/// Local cover art (`local_artist:typeset` in a chain).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArtConfig {
    /// Directories searched (recursively) for the cover fonts: Khmer OS
    /// (Debian `fonts-khmeros`) and Noto (`fonts-noto-core`).
    pub font_dirs: Vec<PathBuf>,
}

impl Default for ArtConfig {
    fn default() -> Self {
        ArtConfig { font_dirs: vec![PathBuf::from("/usr/share/fonts")] }
    }
}

/// How long operational records are kept (issue 8 "Archiving"): the daily
/// `retention` schedule deletes older ones. Failed jobs, firing alerts and
/// pending alert notices are never deleted.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Succeeded and cancelled jobs, by when they finished.
    pub jobs_days: u64,
    /// Logged user queries.
    pub query_log_days: u64,
    /// Finished scheduler runs and skips, by when they started (each schedule
    /// keeps its last outcome on its own row).
    pub schedule_runs_days: u64,
    /// Delivered alert notices, and resolved alerts with no notice left pending.
    pub alert_notices_days: u64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig { jobs_days: 7, query_log_days: 90, schedule_runs_days: 90, alert_notices_days: 90 }
    }
}

/// The health monitor (DESIGN §10): how often it checks, and its thresholds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MonitorConfig {
    /// Seconds between checks.
    pub interval_secs: u64,
    /// Alert when more jobs than this wait.
    pub queue_alert_depth: i64,
    /// A running job with no heartbeat for this long is stuck: alert and rescue.
    pub stuck_after_secs: u64,
    /// Alert when 24 h of spend passes this multiple of the daily budget.
    pub cost_alert_ratio: f64,
    /// A worker task silent for this long is restarted (in its process) or alerted.
    pub worker_silent_after_secs: u64,
    /// Alert below this much free space in the data directory (MiB) …
    pub disk_min_free_mib: u64,
    /// … or below this share of it (percent).
    pub disk_min_free_percent: f64,
    /// Alert when the store takes longer than this to answer a trivial read.
    pub store_slow_ms: f64,
    /// Status reports older than this are deleted.
    pub history_days: u64,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        MonitorConfig {
            interval_secs: 60,
            queue_alert_depth: 100,
            stuck_after_secs: 600,
            cost_alert_ratio: 1.5,
            worker_silent_after_secs: 300,
            disk_min_free_mib: 1024,
            disk_min_free_percent: 5.0,
            store_slow_ms: 1000.0,
            history_days: 90,
        }
    }
}

/// Song search (`GET /api/v1/search`, `molt query`): query size and rate limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearchConfig {
    /// Queries a caller may make per minute, per API token (or, without one,
    /// per client address), by tier; 0 turns a tier's limit off.
    pub rate_per_minute_anonymous: u32,
    pub rate_per_minute_free: u32,
    pub rate_per_minute_premium: u32,
    pub rate_per_minute_staff: u32,
    /// Longest query, in bytes of UTF-8.
    pub max_query_bytes: usize,
}

impl Default for SearchConfig {
    fn default() -> Self {
        SearchConfig {
            rate_per_minute_anonymous: 60,
            rate_per_minute_free: 120,
            rate_per_minute_premium: 300,
            rate_per_minute_staff: 1200,
            max_query_bytes: 2048,
        }
    }
}

impl Default for WhisperConfig {
    fn default() -> Self {
        WhisperConfig { model_dir: None, threads: 2, language: "km".into(), word_timestamps: true }
    }
}

impl Config {
    /// The directory holding model files.
    pub fn model_dir(&self) -> PathBuf {
        self.whisper.model_dir.clone().unwrap_or_else(|| self.data_dir.join("models"))
    }

    /// The embedding model file.
    pub fn embedding_model_path(&self) -> PathBuf {
        self.model_dir().join(&self.knowledge.embedding_model)
    }
}

/// Ordered providers per stage, `name:model`; the first that answers well wins.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Chains {
    pub transcribe: Vec<String>,
    pub context: Vec<String>,
    pub critique: Vec<String>,
    pub art: Vec<String>,
}

/// An OpenAI-compatible service (OpenAI, a local Ollama or vLLM server, …).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteProviderConfig {
    /// Only `openai` (an OpenAI-compatible API) for now.
    pub kind: String,
    pub base_url: String,
    #[serde(default)]
    pub api_key: Option<Secret>,
    #[serde(default = "default_remote_timeout")]
    pub timeout_secs: u64,
    /// Calls per minute this studio allows itself against the service.
    #[serde(default)]
    pub rate_per_minute: Option<u32>,
}

fn default_remote_timeout() -> u64 {
    120
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            lease_secs: 15 * 60,
            workers: 2,
            batch: 4,
            lyrics_confidence: 0.85,
            context_relevance: 0.80,
            critique_score: 0.70,
            call_timeout_secs: 15 * 60,
            breaker_threshold: 3,
            breaker_cooldown_secs: 30,
            chains: Chains::default(),
        }
    }
}

impl Default for Chains {
    /// The local providers, which need no key and no network.
    fn default() -> Self {
        Chains {
            transcribe: vec!["local_whisper:base".into()],
            context: vec!["local_historian:kb".into()],
            critique: vec!["local_critic:rules".into()],
            art: vec!["local_artist:typeset".into()],
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: String,
    /// Most songs an anonymous caller gets in one page.
    pub anonymous_page_limit: u32,
    /// Seconds to let in-flight requests finish after SIGTERM.
    pub shutdown_grace_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// SQLite waits this long for a lock held by another process.
    pub busy_timeout_ms: u64,
    /// Further attempts after a busy timeout, before a clear error.
    pub lock_retries: u32,
    pub read_connections: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AudioConfig {
    pub max_bytes: u64,
    pub min_duration_secs: f64,
    pub max_duration_secs: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A tracing filter, e.g. `info` or `molt=debug,tower_http=info`.
    pub level: String,
}

/// Alerts (DESIGN §10): deduplicated by key with a cooldown, delivered to the
/// log always, to Telegram when `[telegram]` has a `bot_token` and a `chat_id`,
/// and to a webhook when `webhook_url` and `webhook_secret` are set.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// A firing alert raised again is delivered again only after this long
    /// (counted from its last notice).
    pub cooldown_secs: u64,
    /// The Telegram Bot API (`POST {base}/bot{token}/sendMessage`).
    pub telegram_api_base: String,
    /// Notices are POSTed here as JSON, signed with `webhook_secret`. Kept
    /// out of `config show` too: many receivers put a credential in the URL.
    pub webhook_url: Option<Secret>,
    /// The HMAC-SHA256 key of the `X-Molt-Signature` header.
    pub webhook_secret: Option<Secret>,
    /// A failed delivery is retried after this long, doubling per failure …
    pub backoff_base_secs: u64,
    /// … up to this long between attempts. It is never given up.
    pub backoff_max_secs: u64,
    /// Longest one delivery request may take.
    pub request_timeout_secs: u64,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            cooldown_secs: 30 * 60,
            telegram_api_base: "https://api.telegram.org".into(),
            webhook_url: None,
            webhook_secret: None,
            backoff_base_secs: 30,
            backoff_max_secs: 60 * 60,
            request_timeout_secs: 10,
        }
    }
}

impl AlertsConfig {
    fn check(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.to_string()));
        let http = |u: &str| {
            let u = u.trim();
            let rest = u.strip_prefix("https://").or_else(|| u.strip_prefix("http://"));
            rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/'))
        };
        if !http(&self.telegram_api_base) {
            return bad("alerts.telegram_api_base must be an http:// or https:// URL");
        }
        match (&self.webhook_url, &self.webhook_secret) {
            (Some(url), _) if !http(url.expose()) => {
                return bad("alerts.webhook_url must be an http:// or https:// URL")
            }
            (Some(_), None) => {
                return bad("alerts.webhook_url needs alerts.webhook_secret (notices are signed)")
            }
            (None, Some(_)) => return bad("alerts.webhook_secret is set but alerts.webhook_url is not"),
            (Some(_), Some(secret)) if secret.expose().is_empty() => {
                return bad("alerts.webhook_secret must not be empty")
            }
            _ => {}
        }
        if self.backoff_base_secs == 0 || self.backoff_max_secs < self.backoff_base_secs {
            return bad("alerts.backoff_base_secs must be at least 1 and at most alerts.backoff_max_secs");
        }
        if self.request_timeout_secs == 0 {
            return bad("alerts.request_timeout_secs must be at least 1");
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelegramConfig {
    pub bot_token: Option<Secret>,
    pub chat_id: Option<String>,
}

/// A secret value. It serialises and debug-prints as `[redacted]`, so no
/// config dump or log line can leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("[redacted]")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./molt-data"),
            server: ServerConfig::default(),
            store: StoreConfig::default(),
            audio: AudioConfig::default(),
            log: LogConfig::default(),
            telegram: TelegramConfig::default(),
            pipeline: PipelineConfig::default(),
            whisper: WhisperConfig::default(),
            knowledge: KnowledgeConfig::default(),
            art: ArtConfig::default(),
            search: SearchConfig::default(),
            alerts: AlertsConfig::default(),
            monitor: MonitorConfig::default(),
            retention: RetentionConfig::default(),
            providers: BTreeMap::new(),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig { listen: "127.0.0.1:8080".into(), anonymous_page_limit: 20, shutdown_grace_secs: 10 }
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig { busy_timeout_ms: 5_000, lock_retries: 3, read_connections: 4 }
    }
}

impl Default for AudioConfig {
    fn default() -> Self {
        AudioConfig { max_bytes: 200 * 1024 * 1024, min_duration_secs: 1.0, max_duration_secs: 3_600.0 }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { format: LogFormat::Human, level: "info".into() }
    }
}

/// Why a configuration could not be built. Messages name the key, never its value.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("molt.toml: {0}")]
    File(String),
    #[error("{var}: {message}")]
    Env { var: String, message: String },
    #[error("configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Merge the defaults, the optional file text and `MOLT_*` pairs.
    pub fn load<I>(file_text: Option<&str>, env: I) -> Result<Config, ConfigError>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        let mut tree = Value::try_from(Config::default()).map_err(|e| ConfigError::Invalid(e.to_string()))?;
        if let Some(text) = file_text {
            let file: Value = toml::from_str(text).map_err(|e| ConfigError::File(e.to_string()))?;
            merge(&mut tree, file);
        }
        let mut vars: Vec<_> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX) && !ENV_RESERVED.contains(&k.as_str()))
            .collect();
        vars.sort();
        for (var, raw) in vars {
            apply_env(&mut tree, &var, &raw)?;
        }
        let config: Config =
            tree.try_into().map_err(|e: toml::de::Error| ConfigError::Invalid(e.to_string()))?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.to_string()));
        if self.store.read_connections == 0 {
            return bad("store.read_connections must be at least 1");
        }
        if self.audio.max_bytes == 0 {
            return bad("audio.max_bytes must be positive");
        }
        if self.whisper.threads == 0 {
            return bad("whisper.threads must be at least 1");
        }
        if self.art.font_dirs.is_empty() || self.art.font_dirs.iter().any(|d| d.as_os_str().is_empty()) {
            return bad("art.font_dirs must list at least one directory, and no empty one");
        }
        if self.knowledge.top_k == 0 || self.knowledge.max_document_bytes == 0 {
            return bad("knowledge.top_k and knowledge.max_document_bytes must be at least 1");
        }
        self.alerts.check()?;
        self.check_operations()?;
        if self.search.max_query_bytes == 0 {
            return bad("search.max_query_bytes must be at least 1");
        }
        if self.pipeline.workers == 0 || self.pipeline.batch == 0 || self.pipeline.lease_secs < 3 {
            return bad(
                "pipeline.workers and pipeline.batch must be at least 1, pipeline.lease_secs at least 3",
            );
        }
        let p = &self.pipeline;
        let unit = |x: f64| (0.0..=1.0).contains(&x);
        if !(unit(p.lyrics_confidence) && unit(p.context_relevance) && unit(p.critique_score)) {
            return bad(
                "pipeline.lyrics_confidence, pipeline.context_relevance and pipeline.critique_score must be between 0 and 1",
            );
        }
        if !(self.audio.min_duration_secs >= 0.0
            && self.audio.min_duration_secs < self.audio.max_duration_secs)
        {
            return bad("audio.min_duration_secs must be below audio.max_duration_secs");
        }
        Ok(())
    }

    /// The monitor's interval and every retention period, in their ranges.
    fn check_operations(&self) -> Result<(), ConfigError> {
        const CENTURY_DAYS: u64 = 36_500;
        let (m, r) = (&self.monitor, &self.retention);
        const WEEK_SECS: u64 = 7 * 24 * 3600;
        let ranges = [
            ("monitor.interval_secs", m.interval_secs, 1, WEEK_SECS),
            ("monitor.stuck_after_secs", m.stuck_after_secs, 1, WEEK_SECS),
            ("monitor.worker_silent_after_secs", m.worker_silent_after_secs, 1, WEEK_SECS),
            ("monitor.history_days", m.history_days, 1, CENTURY_DAYS),
            ("retention.jobs_days", r.jobs_days, 1, CENTURY_DAYS),
            ("retention.query_log_days", r.query_log_days, 1, CENTURY_DAYS),
            ("retention.schedule_runs_days", r.schedule_runs_days, 1, CENTURY_DAYS),
            ("retention.alert_notices_days", r.alert_notices_days, 1, CENTURY_DAYS),
        ];
        for (key, value, low, high) in ranges {
            if !(low..=high).contains(&value) {
                return Err(ConfigError::Invalid(format!("{key} must be from {low} to {high}, not {value}")));
            }
        }
        if !(0.0..=100.0).contains(&m.disk_min_free_percent) {
            return Err(ConfigError::Invalid("monitor.disk_min_free_percent must be from 0 to 100".into()));
        }
        let positive = |x: f64| x.is_finite() && x > 0.0;
        if !(positive(m.cost_alert_ratio) && positive(m.store_slow_ms) && m.queue_alert_depth >= 0) {
            return Err(ConfigError::Invalid(
                "monitor.cost_alert_ratio and monitor.store_slow_ms must be positive numbers, \
                 monitor.queue_alert_depth 0 or more"
                    .into(),
            ));
        }
        // A running job renews its heartbeat every third of its lease: a
        // shorter stuck time would end healthy jobs' leases.
        let beat = self.pipeline.lease_secs / 3;
        if m.stuck_after_secs < 2 * beat {
            return Err(ConfigError::Invalid(format!(
                "monitor.stuck_after_secs must be at least twice the job heartbeat interval \
                 (pipeline.lease_secs / 3 = {beat} s), so at least {}",
                2 * beat
            )));
        }
        Ok(())
    }

    /// The effective configuration as TOML, secrets redacted.
    pub fn to_redacted_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# could not render: {e}"))
    }
}

/// Overlay `over` onto `base`, table by table.
fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Table(base), Value::Table(over)) => {
            for (key, value) in over {
                match base.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (slot, value) => *slot = value,
    }
}

/// `MOLT_SERVER__LISTEN=…` sets `server.listen`. The value takes the type of
/// the default it replaces, so `MOLT_TELEGRAM__CHAT_ID=-100123` stays a string.
fn apply_env(tree: &mut Value, var: &str, raw: &str) -> Result<(), ConfigError> {
    let path: Vec<String> = var[ENV_PREFIX.len()..].split("__").map(|p| p.to_ascii_lowercase()).collect();
    let env_err = |message: String| ConfigError::Env { var: var.to_string(), message };
    let (leaf, parents) = path.split_last().ok_or_else(|| env_err("empty key".into()))?;
    let mut table = tree.as_table_mut().ok_or_else(|| env_err("config is not a table".into()))?;
    for part in parents {
        table = table
            .get_mut(part)
            .and_then(Value::as_table_mut)
            .ok_or_else(|| env_err(format!("unknown configuration section `{part}`")))?;
    }
    let value = match table.get(leaf) {
        Some(Value::Integer(_)) => raw.trim().parse().map(Value::Integer).map_err(|_| "an integer"),
        Some(Value::Float(_)) => raw.trim().parse().map(Value::Float).map_err(|_| "a number"),
        Some(Value::Boolean(_)) => raw.trim().parse().map(Value::Boolean).map_err(|_| "true or false"),
        Some(Value::Table(_)) => Err("a section, not a value"),
        Some(Value::Array(_)) => Ok(Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| Value::String(p.into()))
                .collect(),
        )),
        _ => Ok(Value::String(raw.to_string())),
    }
    .map_err(|expected| env_err(format!("expected {expected}")))?;
    table.insert(leaf.clone(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_need_no_config() {
        let c = Config::load(None, Vec::new()).unwrap();
        assert_eq!(c.server.listen, "127.0.0.1:8080");
        assert_eq!(c.data_dir, PathBuf::from("./molt-data"));
    }

    #[test]
    fn env_overrides_file_overrides_defaults() {
        let file =
            "data_dir = \"/srv/molt\"\n[server]\nlisten = \"0.0.0.0:9000\"\n[store]\nbusy_timeout_ms = 10\n";
        let c = Config::load(
            Some(file),
            env(&[
                ("MOLT_SERVER__LISTEN", "127.0.0.1:1"),
                ("MOLT_AUDIO__MAX_BYTES", "1024"),
                ("PATH", "/bin"),
            ]),
        )
        .unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/srv/molt"));
        assert_eq!(c.server.listen, "127.0.0.1:1");
        assert_eq!(c.store.busy_timeout_ms, 10);
        assert_eq!(c.audio.max_bytes, 1024);
    }

    #[test]
    fn typos_and_wrong_types_are_named() {
        let err = Config::load(Some("[server]\nlisen = \"x\"\n"), Vec::new()).unwrap_err();
        assert!(err.to_string().contains("lisen"), "{err}");
        let err = Config::load(None, env(&[("MOLT_AUDIO__MAX_BYTES", "lots")])).unwrap_err();
        assert_eq!(err.to_string(), "MOLT_AUDIO__MAX_BYTES: expected an integer");
        let err = Config::load(None, env(&[("MOLT_NOPE__X", "1")])).unwrap_err();
        assert!(err.to_string().contains("unknown configuration section `nope`"), "{err}");
    }

    #[test]
    fn secrets_never_render() {
        let c = Config::load(None, env(&[("MOLT_TELEGRAM__BOT_TOKEN", "123:very-secret")])).unwrap();
        assert_eq!(c.telegram.bot_token.as_ref().unwrap().expose(), "123:very-secret");
        let shown = c.to_redacted_toml();
        assert!(!shown.contains("very-secret") && shown.contains("[redacted]"), "{shown}");
        assert!(!format!("{c:?}").contains("very-secret"));
    }

    #[test]
    fn chains_and_remote_providers_are_configurable() {
        let file = "[pipeline.chains]\ntranscribe = [\"studio:whisper-1\"]\n[providers.studio]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:9\"\napi_key = \"sk-secret\"\n";
        let c = Config::load(Some(file), env(&[("MOLT_PIPELINE__CHAINS__ART", "a:1, b:2")])).unwrap();
        assert_eq!(c.pipeline.chains.transcribe, vec!["studio:whisper-1"]);
        assert_eq!(c.pipeline.chains.art, vec!["a:1", "b:2"]);
        assert_eq!(c.pipeline.chains.context, vec!["local_historian:kb"]);
        assert_eq!(c.providers["studio"].timeout_secs, 120);
        assert!(!c.to_redacted_toml().contains("sk-secret"));
    }

    #[test]
    fn a_providers_key_can_come_from_the_environment() {
        let file = "[providers.gemini]\nkind = \"openai\"\nbase_url = \"https://generativelanguage.googleapis.com/v1beta/openai\"\n";
        let c = Config::load(Some(file), env(&[("MOLT_PROVIDERS__GEMINI__API_KEY", "g-secret")])).unwrap();
        assert_eq!(c.providers["gemini"].api_key.as_ref().unwrap().expose(), "g-secret");
        assert!(!c.to_redacted_toml().contains("g-secret"));
    }

    #[test]
    fn quality_gate_thresholds_are_shares() {
        let c = Config::load(None, Vec::new()).unwrap();
        assert_eq!(c.pipeline.critique_score, 0.70);
        let c = Config::load(Some("[pipeline]\ncritique_score = 0.5\n"), Vec::new()).unwrap();
        assert_eq!(c.pipeline.critique_score, 0.5);
        for bad in ["critique_score = 1.5", "critique_score = -0.1", "lyrics_confidence = 2.0"] {
            let err = Config::load(Some(&format!("[pipeline]\n{bad}\n")), Vec::new()).unwrap_err();
            assert!(err.to_string().contains("must be between 0 and 1"), "{bad}: {err}");
        }
    }

    #[test]
    fn cover_font_directories_are_configurable_and_never_empty() {
        let c = Config::load(None, Vec::new()).unwrap();
        assert_eq!(c.art.font_dirs, vec![PathBuf::from("/usr/share/fonts")]);
        let c = Config::load(None, env(&[("MOLT_ART__FONT_DIRS", "/a, /b")])).unwrap();
        assert_eq!(c.art.font_dirs, vec![PathBuf::from("/a"), PathBuf::from("/b")]);
        let err = Config::load(Some("[art]\nfont_dirs = []\n"), Vec::new()).unwrap_err();
        assert!(err.to_string().contains("art.font_dirs"), "{err}");
    }

    #[test]
    fn search_limits_are_configurable() {
        let c = Config::load(None, Vec::new()).unwrap();
        assert_eq!((c.search.rate_per_minute_anonymous, c.search.max_query_bytes), (60, 2048));
        let file = "[search]\nrate_per_minute_staff = 5\n";
        let c = Config::load(Some(file), env(&[("MOLT_SEARCH__MAX_QUERY_BYTES", "100")])).unwrap();
        assert_eq!((c.search.rate_per_minute_staff, c.search.max_query_bytes), (5, 100));
        let err = Config::load(Some("[search]\nmax_query_bytes = 0\n"), Vec::new()).unwrap_err();
        assert!(err.to_string().contains("search.max_query_bytes"), "{err}");
    }

    #[test]
    fn alerts_are_configurable_and_their_secret_never_renders() {
        let c = Config::load(None, Vec::new()).unwrap();
        assert_eq!((c.alerts.cooldown_secs, c.alerts.backoff_base_secs), (1800, 30));
        assert_eq!(c.alerts.telegram_api_base, "https://api.telegram.org");
        assert!(c.alerts.webhook_url.is_none());
        let file = "[alerts]\ncooldown_secs = 60\nwebhook_url = \"http://127.0.0.1:9/hook\"\n";
        let c = Config::load(Some(file), env(&[("MOLT_ALERTS__WEBHOOK_SECRET", "hook-secret")])).unwrap();
        assert_eq!(c.alerts.cooldown_secs, 60);
        assert_eq!(c.alerts.webhook_secret.as_ref().unwrap().expose(), "hook-secret");
        assert!(!c.to_redacted_toml().contains("hook-secret"));
        assert_eq!(c.alerts.webhook_url.as_ref().unwrap().expose(), "http://127.0.0.1:9/hook");
        assert!(!c.to_redacted_toml().contains("127.0.0.1:9/hook"), "the URL may hold a credential");
        let err = Config::load(Some("[alerts]\nwebhook_url = \"http://h/x\"\n"), Vec::new()).unwrap_err();
        assert!(err.to_string().contains("alerts.webhook_secret"), "{err}");
        let err =
            Config::load(None, env(&[("MOLT_ALERTS__TELEGRAM_API_BASE", "api.telegram.org")])).unwrap_err();
        assert!(err.to_string().contains("alerts.telegram_api_base"), "{err}");
        let err = Config::load(Some("[alerts]\nbackoff_max_secs = 5\n"), Vec::new()).unwrap_err();
        assert!(err.to_string().contains("alerts.backoff_base_secs"), "{err}");
    }

    #[test]
    fn the_monitor_interval_and_retention_periods_are_checked_with_their_key() {
        for (var, value, key) in [
            ("MOLT_MONITOR__INTERVAL_SECS", "0", "monitor.interval_secs must be from 1 to 604800, not 0"),
            ("MOLT_MONITOR__INTERVAL_SECS", "604801", "monitor.interval_secs"),
            ("MOLT_RETENTION__JOBS_DAYS", "0", "retention.jobs_days must be from 1 to 36500, not 0"),
            ("MOLT_RETENTION__QUERY_LOG_DAYS", "40000", "retention.query_log_days"),
            ("MOLT_MONITOR__DISK_MIN_FREE_PERCENT", "101", "monitor.disk_min_free_percent"),
            ("MOLT_MONITOR__STUCK_AFTER_SECS", "99999999999999", "monitor.stuck_after_secs"),
            ("MOLT_MONITOR__STUCK_AFTER_SECS", "300", "at least twice the job heartbeat interval"),
            ("MOLT_MONITOR__WORKER_SILENT_AFTER_SECS", "0", "monitor.worker_silent_after_secs"),
            ("MOLT_MONITOR__COST_ALERT_RATIO", "-1.0", "monitor.cost_alert_ratio"),
            ("MOLT_MONITOR__STORE_SLOW_MS", "nan", "monitor.store_slow_ms"),
        ] {
            let err = Config::load(None, env(&[(var, value)])).unwrap_err();
            assert!(err.to_string().contains(key), "{var}={value}: {err}");
        }
        let c = Config::load(None, env(&[("MOLT_MONITOR__INTERVAL_SECS", "604800")])).unwrap();
        assert_eq!(c.monitor.interval_secs, 604_800);
    }

    #[test]
    fn string_keys_keep_numeric_looking_values_as_strings() {
        let c = Config::load(None, env(&[("MOLT_TELEGRAM__CHAT_ID", "-100123")])).unwrap();
        assert_eq!(c.telegram.chat_id.as_deref(), Some("-100123"));
    }
}
