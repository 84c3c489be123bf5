//! `molt review list|approve|edit|reject`: the end of the pipeline.

use super::open_store;
use crate::cli::ReviewCommand;
use crate::output::{emit, CliError, CliResult};
use molt_catalog::review::{self, ReviewItem};
use molt_core::{Config, Role, SongStatus, Stage};
use molt_store::Database;

const ACTOR: &str = "cli";
/// The CLI runs with the data directory's own authority.
const ROLE: Role = Role::Admin;

pub async fn run(config: &Config, command: ReviewCommand, json: bool) -> CliResult {
    let store = open_store(config).await?;
    match command {
        ReviewCommand::List => {
            let items = review::queue(&store, &store).await?;
            emit(json, &items, |items| list_text(items));
        }
        ReviewCommand::Approve { id, override_rights } => {
            let song = review::approve(&store, id, ACTOR, ROLE, override_rights.as_deref()).await?;
            emit(json, &song, |s| format!("song {}: published ({})", s.id, s.title));
        }
        ReviewCommand::Edit { id, file, format, author } => {
            let song = store
                .get_song(id)
                .await?
                .ok_or(CliError::new("not_found", format!("song {id} not found")))?;
            if !matches!(song.status, SongStatus::Review | SongStatus::NeedsHumanReview) {
                return Err(CliError::new(
                    "conflict",
                    format!(
                        "song {id} is {}, not in review (use `molt lyrics import` to add a version anyway)",
                        song.status
                    ),
                ));
            }
            let version = super::lyrics::import_file(&store, id, &file, format, &author).await?;
            emit(json, &version, |v| format!("song {id}: lyrics version {} by {}", v.version, v.author));
        }
        ReviewCommand::Reject { id, reason, to_stage } => {
            let stage = to_stage
                .map(|s| s.parse::<Stage>())
                .transpose()
                .map_err(|e| CliError::new("invalid_stage", e))?;
            let song = review::reject(&store, id, ACTOR, ROLE, &reason, stage).await?;
            emit(json, &song, |s| match stage {
                Some(stage) => format!(
                    "song {}: back to {} (queued; `molt process --song {}` or a worker runs it)",
                    s.id,
                    stage.as_str(),
                    s.id
                ),
                None => format!("song {}: failed ({reason})", s.id),
            });
        }
    }
    Ok(())
}

fn list_text(items: &[ReviewItem]) -> String {
    if items.is_empty() {
        return "nothing to review".into();
    }
    let mut out = Vec::new();
    for item in items {
        let song = &item.song;
        let artist = song.artist.name_latin.as_deref().or(song.artist.name_km.as_deref()).unwrap_or("?");
        out.push(format!(
            "{:>5}  {:<18} {}  —  {artist}  (rights: {})",
            song.id,
            song.status.as_str(),
            song.title,
            song.rights_status
        ));
        let quality: Vec<String> = item
            .quality
            .iter()
            .map(|(stage, q)| format!("{} {}", stage.as_str(), q.map_or("-".into(), |q| format!("{q:.2}"))))
            .collect();
        out.push(format!("       quality: {}", quality.join(", ")));
        if let Some(reason) = &song.failure_reason {
            out.push(format!("       why: {reason}"));
        }
        out.extend(item.findings.iter().map(|f| format!("       finding: {f}")));
        if !item.flagged.is_empty() {
            let flagged: Vec<&str> = item.flagged.iter().map(|s| s.as_str()).collect();
            out.push(format!("       flagged: {}", flagged.join(", ")));
        }
        if item.needs_rights_override {
            out.push(
                "       approving needs --override-rights REASON (or `molt song rights ID STATUS`)".into(),
            );
        }
    }
    out.push(format!("{} song(s) to review", items.len()));
    out.join("\n")
}
