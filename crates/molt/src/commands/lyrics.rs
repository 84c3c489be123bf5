//! `molt lyrics export|import|versions`.

use super::open_store;
use crate::cli::LyricsCommand;
use crate::output::{emit, CliError, CliResult};
use molt_catalog::lyrics::{self, LyricsError};
use molt_core::catalog::LyricsVersion;
use molt_core::Config;
use molt_store::{Database, SqliteStore};
use std::path::Path;

impl From<LyricsError> for CliError {
    fn from(e: LyricsError) -> Self {
        CliError::new(e.code(), e.to_string())
    }
}

/// A lyrics file as a new version by `author`; the format from `format` or the extension.
pub(crate) async fn import_file(
    store: &SqliteStore,
    id: i64,
    file: &Path,
    format: Option<String>,
    author: &str,
) -> CliResult<LyricsVersion> {
    let format = match format {
        Some(f) => f,
        None => file.extension().map(|e| e.to_string_lossy().to_lowercase()).ok_or_else(|| {
            CliError::new("unsupported_format", "the file has no extension: give --format lrc|srt|txt")
        })?,
    };
    let format = lyrics::parse_format(&format)?;
    let bytes = std::fs::read(file)
        .map_err(|e| CliError::new("io_error", format!("cannot read {}: {e}", file.display())))?;
    Ok(lyrics::import(store, id, &bytes, format, author).await?)
}

pub async fn run(config: &Config, command: LyricsCommand, json: bool) -> CliResult {
    let store = open_store(config).await?;
    match command {
        LyricsCommand::Export { id, format, version } => {
            let format = lyrics::parse_format(&format)?;
            print!("{}", lyrics::export(&store, id, version, format).await?);
        }
        LyricsCommand::Import { id, file, format, author } => {
            let version = import_file(&store, id, &file, format, &author).await?;
            emit(json, &version, |v| {
                format!("song {id}: lyrics version {} added ({} lines)", v.version, v.text.lines().count())
            });
        }
        LyricsCommand::Versions { id } => {
            let versions = store.lyrics_versions(id).await?;
            emit(json, &versions, |vs| {
                if vs.is_empty() {
                    return format!("song {id} has no lyrics yet");
                }
                vs.iter()
                    .map(|v| {
                        let timed = if v.timed.is_some() { "timed" } else { "untimed" };
                        let model = v.model.as_deref().map(|m| format!(", {m}")).unwrap_or_default();
                        format!(
                            "v{}  {}  {:<6} by {}{model}, {timed}",
                            v.version,
                            v.created_at,
                            v.source.as_str(),
                            v.author
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
    }
    Ok(())
}
