//! `molt song archive ID | --candidates` and `molt song unarchive ID`
//! (molt-catalog's `archive` service, issue 8 "Archiving").

use crate::output::{emit, CliError, CliResult};
use molt_catalog::archive::{ArchiveError, ArchiveReport, Archiver};
use molt_core::Config;
use molt_store::SqliteStore;

/// Archive candidates listed (the count and total size cover all of them).
const CANDIDATE_LIMIT: usize = 100;

fn archive_error(e: ArchiveError) -> CliError {
    CliError::new(e.code(), e.to_string())
}

/// Archive (`archive` true) or unarchive a song, printing what moved.
pub(super) async fn run(
    config: &Config,
    store: &SqliteStore,
    id: i64,
    archive: bool,
    actor: &'static str,
    json: bool,
) -> CliResult {
    let archiver = Archiver::new(std::sync::Arc::new(store.clone()), config.data_dir.clone());
    let report = tokio::task::spawn_blocking(move || {
        if archive {
            archiver.archive(id, actor)
        } else {
            archiver.unarchive(id, actor)
        }
    })
    .await
    .map_err(|e| CliError::new("runtime", e.to_string()))?
    .map_err(archive_error)?;
    emit(json, &report, render);
    Ok(())
}

fn render(r: &ArchiveReport) -> String {
    let mut out = if r.resumed {
        format!(
            "song {} ({}) was already {}: finished an interrupted run, removed {} leftover file(s)",
            r.song_id,
            r.title,
            r.action,
            r.files.len()
        )
    } else {
        format!("song {} ({}) {}, status {}", r.song_id, r.title, r.action, r.status)
    };
    for f in &r.files {
        let verb = if r.resumed {
            "removed"
        } else if f.kept {
            "copied"
        } else {
            "moved"
        };
        let kept = if f.kept && !r.resumed { " (kept: another song uses it)" } else { "" };
        let what = match f.kind {
            molt_store::archive::FileKind::Audio => "audio",
            molt_store::archive::FileKind::Art => "art",
        };
        if r.resumed {
            out.push_str(&format!("\n  {verb} {what} {}", f.from));
        } else {
            out.push_str(&format!("\n  {verb} {what} {} -> {} ({} bytes){kept}", f.from, f.to, f.bytes));
        }
    }
    out
}

/// Published songs older than 90 days with no views in 90 days (read-only).
pub(super) async fn candidates(store: &SqliteStore, json: bool) -> CliResult {
    let store = store.clone();
    let found = tokio::task::spawn_blocking(move || {
        molt_ops::reports::weekly::archive_candidates(&store, chrono::Utc::now(), CANDIDATE_LIMIT)
    })
    .await
    .map_err(|e| CliError::new("runtime", e.to_string()))??;
    let (total, songs) = (found.total, found.songs);
    let shown = serde_json::json!({ "total": total, "total_bytes": found.total_bytes, "songs": songs });
    emit(json, &shown, |_| {
        if songs.is_empty() {
            return "no archive candidates (published songs older than 90 days with no views in 90 days)"
                .into();
        }
        let mut out =
            format!("{total} archive candidate(s): published over 90 days ago, no views in 90 days");
        for s in &songs {
            out.push_str(&format!(
                "\n  {:>6}  {}  {} ({} bytes of audio)",
                s.song_id,
                &s.created_at[..10.min(s.created_at.len())],
                s.title,
                s.audio_bytes
            ));
        }
        if (songs.len() as i64) < total {
            out.push_str(&format!("\n  … and {} more", total - songs.len() as i64));
        }
        out.push_str("\narchive one with `molt song archive ID`");
        out
    });
    Ok(())
}
