//! `molt query "…"` and `molt search reindex`: song search from the command line
//! (and, for "where is song 12?", that song's status).

use super::{open_store, segmenter};
use crate::cli::{QueryArgs, SearchCommand};
use crate::output::{emit, CliError, CliResult};
use crate::studio::embedder;
use molt_core::Config;
use molt_search::intent::{Intent, IntentClassifier};
use molt_search::redact::log_query;
use molt_search::{Requester, SearchError, SearchResponse, SearchService, SearchSettings, Tier, ViewCounter};
use molt_store::SqliteStore;
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

/// Where to say that search runs without vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// A note on stderr (text output).
    Stderr,
    /// A warning in the log (`molt serve`).
    Log,
    /// Nowhere (`--json`: stderr is for the error object).
    Quiet,
}

/// The search service over `store`, with the configured embedding model when
/// its file is there (loaded on first use), else without vectors.
pub fn service(config: &Config, store: &SqliteStore, notice: Notice) -> CliResult<Arc<SearchService>> {
    let path = config.embedding_model_path();
    let model = if path.is_file() {
        Some(embedder(config))
    } else {
        let why = format!("the embedding model {} is missing (scripts/setup.sh installs it)", path.display());
        match notice {
            Notice::Stderr => eprintln!("note: searching without vectors: {why}"),
            Notice::Log => tracing::warn!("search without vectors: {why}"),
            Notice::Quiet => {}
        }
        None
    };
    let service = SearchService::new(
        Arc::new(store.clone()),
        model,
        Arc::new(segmenter(config)?),
        SearchSettings::from_config(&config.search),
    );
    Ok(Arc::new(service.with_query_log(Arc::new(store.clone())).with_views(Arc::new(store.clone()))))
}

/// How often `molt serve` works through the search outbox (queries also do,
/// before they run).
const INDEX_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Keeps the search index current in the background (`molt serve`): a pass
/// over the outbox now, then every [`INDEX_EVERY`], until the process ends.
pub fn spawn_indexer(search: Arc<SearchService>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(INDEX_EVERY);
        loop {
            every.tick().await;
            let search = search.clone();
            match tokio::task::spawn_blocking(move || search.process_pending()).await {
                Ok(Ok(report)) if report.indexed + report.removed > 0 => {
                    tracing::info!(indexed = report.indexed, removed = report.removed, "search index updated")
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "search indexing failed; retrying later"),
                Err(e) => tracing::warn!(error = %e, "search indexing task failed"),
            }
        }
    });
}

/// How often `molt serve` stores the song views it counted.
const FLUSH_VIEWS_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// Stores counted song views every [`FLUSH_VIEWS_EVERY`] (`molt serve`); the
/// caller aborts it at shutdown and flushes once more.
pub fn spawn_view_flusher(views: Arc<ViewCounter>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(FLUSH_VIEWS_EVERY);
        every.tick().await;
        loop {
            every.tick().await;
            flush_views(views.clone()).await;
        }
    })
}

/// One flush; a failure is logged and the views stay counted for the next.
pub async fn flush_views(views: Arc<ViewCounter>) {
    match tokio::task::spawn_blocking(move || views.flush()).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "song views could not be stored; kept for the next try"),
        Err(e) => tracing::warn!(error = %e, "the song views task failed"),
    }
}

/// A search error as the CLI reports it (exit 1).
pub fn search_error(e: SearchError) -> CliError {
    match e {
        SearchError::Store(e) => e.into(),
        other => CliError::new(other.code(), other.to_string()),
    }
}

pub async fn query(config: &Config, args: QueryArgs, json: bool) -> CliResult {
    let tier: Tier = args.tier.parse().map_err(|e: String| CliError::new("invalid_tier", e))?;
    let bytes = os_bytes(&args.query);
    let store = open_store(config).await?;
    if let Some((text, id)) = status_request(config, &bytes)? {
        return answer_status(&store, &text, id, tier, json);
    }
    let search = service(config, &store, if json { Notice::Quiet } else { Notice::Stderr })?;
    let limit = args.limit;
    let response = tokio::task::spawn_blocking(move || {
        // The CLI runs with the data directory's own authority: never rate-limited.
        search.search_bytes(&Requester::new(tier, None), &bytes, limit)
    })
    .await
    .map_err(|e| CliError::new("runtime", e.to_string()))?
    .map_err(search_error)?;
    emit(json, &response, render);
    Ok(())
}

/// "Where is song 12?": a processing-status question naming a song gets that
/// song's status instead of search results (the rules decide; no model is loaded).
fn status_request(config: &Config, bytes: &[u8]) -> CliResult<Option<(String, i64)>> {
    let Ok(text) = std::str::from_utf8(bytes) else { return Ok(None) };
    let classifier = IntentClassifier::with_segmenter(Arc::new(segmenter(config)?), None)
        .map_err(|e| CliError::new("intent_failed", e.to_string()))?;
    let found = classifier.classify(text);
    Ok(found.song_id.filter(|_| found.intent == Intent::ProcessingStatus).map(|id| (text.to_string(), id)))
}

/// The song's status as `tier` sees it, logged (redacted) like any query.
fn answer_status(store: &SqliteStore, text: &str, id: i64, tier: Tier, json: bool) -> CliResult {
    let started = Instant::now();
    let answer = molt_search::status::song_status(store, tier, id);
    let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let found = usize::from(answer.is_ok());
    if let Err(e) = log_query(store, text, Intent::ProcessingStatus, found, ms, tier) {
        tracing::warn!(error = %e, "the status query could not be logged");
    }
    let answer = answer.map_err(super::song::status_error)?;
    emit(json, &answer, super::song::render_status);
    Ok(())
}

#[cfg(unix)]
fn os_bytes(s: &std::ffi::OsStr) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    s.as_bytes().to_vec()
}

#[cfg(not(unix))]
fn os_bytes(s: &std::ffi::OsStr) -> Vec<u8> {
    s.to_string_lossy().into_owned().into_bytes()
}

fn render(response: &SearchResponse) -> String {
    if response.results.is_empty() {
        let mut out = format!("no songs match `{}` ({} ms)", response.query, response.response_time_ms);
        for s in &response.suggestions {
            let song = s.song_id.map(|id| format!(" [song {id}]")).unwrap_or_default();
            let kind = serde_json::to_value(s.kind).ok().and_then(|v| v.as_str().map(str::to_string));
            out.push_str(&format!("\n  try: {}{song} ({})", s.text, kind.unwrap_or_default()));
        }
        return out;
    }
    let mut out: Vec<String> = response
        .results
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let status = r.status.map(|s| format!(", {s}")).unwrap_or_default();
            format!(
                "{}. {} — {}  [song {}{status}, score {:.2}, {}]\n   {}",
                i + 1,
                r.title,
                r.artist,
                r.song_id,
                r.match_score,
                r.matched.join("+"),
                r.snippet
            )
        })
        .collect();
    out.push(format!("{} song(s) in {} ms", response.results.len(), response.response_time_ms));
    out.join("\n")
}

pub async fn run(config: &Config, command: SearchCommand, json: bool) -> CliResult {
    match command {
        SearchCommand::Reindex => reindex(config, json).await,
    }
}

async fn reindex(config: &Config, json: bool) -> CliResult {
    let store = open_store(config).await?;
    let search = service(config, &store, if json { Notice::Quiet } else { Notice::Stderr })?;
    let started = Instant::now();
    let report = tokio::task::spawn_blocking(move || {
        search.reindex(&|done, total| {
            eprint!("\rindexing songs: {done}/{total}");
            let _ = std::io::stderr().flush();
        })
    })
    .await
    .map_err(|e| CliError::new("runtime", e.to_string()))?
    .map_err(search_error)?;
    if report.indexed + report.removed > 0 {
        eprintln!();
    }
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let shown = serde_json::json!({
        "indexed": report.indexed,
        "removed": report.removed,
        "passages": report.passages,
        "vectors": report.vectors,
        "vectors_unavailable": report.vectors_unavailable,
        "elapsed_ms": elapsed_ms,
    });
    emit(json, &shown, |_| {
        let vectors = match &report.vectors_unavailable {
            Some(why) if report.vectors == 0 => format!("no vectors ({why})"),
            _ => format!("{} with vectors", report.vectors),
        };
        format!(
            "reindexed {} song(s): {} passage(s), {vectors} ({:.1} s)",
            report.indexed,
            report.passages,
            elapsed_ms as f64 / 1000.0
        )
    });
    Ok(())
}
