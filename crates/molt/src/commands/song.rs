//! `molt song add|list|show|status|rights|archive|unarchive`.

use super::open_store;
use crate::cli::{SongAddArgs, SongCommand};
use crate::output::{emit, CliError, CliResult};
use molt_catalog::Catalog;
use molt_core::catalog::{Song, SongQuery};
use molt_core::pipeline::{StageOutput, StageRun};
use molt_core::validate::SongInput;
use molt_core::Role;
use molt_core::{Config, ValidationError};
use molt_core::{MicroUsd, Stage};
use molt_search::status::{SongStatusAnswer, StatusError};
use molt_search::Tier;
use molt_store::{Database, PipelineStore};
use std::ffi::OsString;
use std::sync::Arc;

const ACTOR: &str = "cli";

pub async fn run(config: &Config, command: SongCommand, json: bool) -> CliResult {
    let store = Arc::new(open_store(config).await?);
    match command {
        SongCommand::Add(args) => {
            let audio = args.audio.clone();
            let input = song_input(args)?;
            let song = Catalog::new(store, config).add_song_from_file(input, &audio, ACTOR).await?;
            emit(json, &song, |s| format!("added song {} ({}), status {}", s.id, s.title, s.status));
        }
        SongCommand::List { status, limit, after } => {
            let status = status
                .map(|s| s.parse())
                .transpose()
                .map_err(|e: String| CliError::new("invalid_status", e))?;
            let songs =
                store.list_songs(SongQuery { status, after_id: after, limit: limit.clamp(1, 1000) }).await?;
            emit(json, &songs, |songs| render_list(songs));
        }
        SongCommand::Show { id } => {
            let song = store
                .get_song(id)
                .await?
                .ok_or(CliError::new("not_found", format!("song {id} not found")))?;
            let events = store.song_events(id).await?;
            let runs = PipelineStore::stage_runs(store.as_ref(), id)?;
            let outputs = PipelineStore::stage_outputs(store.as_ref(), id)?;
            let shown =
                serde_json::json!({ "song": song, "stages": runs, "outputs": outputs, "events": events });
            emit(json, &shown, |_| {
                format!("{}\n{}", render_song(&song, &events), render_stages(&runs, &outputs))
            });
        }
        SongCommand::Status { id } => {
            // The CLI runs with the data directory's own authority: staff.
            let answer =
                molt_search::status::song_status(store.as_ref(), Tier::Staff, id).map_err(status_error)?;
            emit(json, &answer, render_status);
        }
        SongCommand::Rights { id, status } => {
            // The CLI runs with the data directory's own authority: admin.
            let song =
                molt_catalog::review::set_rights(store.as_ref(), id, ACTOR, Role::Admin, &status).await?;
            emit(json, &song, |s| format!("song {}: rights {}", s.id, s.rights_status));
        }
        SongCommand::Archive { candidates: true, .. } => {
            super::song_archive::candidates(&store, json).await?;
        }
        SongCommand::Archive { id, .. } => {
            let id = id.ok_or(CliError::new("usage", "molt song archive needs a song id or --candidates"))?;
            super::song_archive::run(config, &store, id, true, ACTOR, json).await?;
        }
        SongCommand::Unarchive { id } => {
            super::song_archive::run(config, &store, id, false, ACTOR, json).await?;
        }
    }
    Ok(())
}

/// A status answer for people: its one-sentence summary, then the last error
/// when the summary does not already say it.
pub(super) fn render_status(answer: &SongStatusAnswer) -> String {
    let error = answer.failure.as_ref().and_then(|f| f.error.as_deref());
    let class = answer.failure.as_ref().and_then(|f| f.error_class.as_deref());
    match error.filter(|e| !answer.summary.contains(e)) {
        Some(e) => format!("{}\n  last error ({}): {e}", answer.summary, class.unwrap_or("unclassified")),
        None => answer.summary.clone(),
    }
}

pub(super) fn status_error(e: StatusError) -> CliError {
    match e {
        StatusError::Store(e) => e.into(),
        other => CliError::new(other.code(), other.to_string()),
    }
}

fn song_input(args: SongAddArgs) -> Result<SongInput, ValidationError> {
    Ok(SongInput {
        title: utf8("title", args.title)?,
        title_latin: utf8("title_latin", args.title_latin)?,
        artist: utf8("artist", args.artist)?,
        year: utf8("year", args.year)?,
        album: utf8("album", args.album)?,
        composer: utf8("composer", args.composer)?,
        lyricist: utf8("lyricist", args.lyricist)?,
        isrc: utf8("isrc", args.isrc)?,
        language: utf8("language", args.language)?,
    })
}

fn utf8(field: &'static str, value: Option<OsString>) -> Result<Option<String>, ValidationError> {
    value
        .map(|v| {
            v.into_string().map_err(|_| {
                ValidationError::new(
                    field,
                    "invalid_utf8",
                    format!("--{} is not valid UTF-8", field.replace('_', "-")),
                )
            })
        })
        .transpose()
}

fn artist_name(song: &Song) -> &str {
    song.artist.name_latin.as_deref().or(song.artist.name_km.as_deref()).unwrap_or("?")
}

fn render_list(songs: &[Song]) -> String {
    if songs.is_empty() {
        return "no songs".into();
    }
    let mut out = format!("{:>5}  {:<18} {:<32} {}", "id", "status", "title", "artist");
    for s in songs {
        out.push_str(&format!("\n{:>5}  {:<18} {:<32} {}", s.id, s.status.as_str(), s.title, artist_name(s)));
    }
    out
}

fn render_song(song: &Song, events: &[molt_core::catalog::Event]) -> String {
    let mut out = format!(
        "song {}: {}\n  artist:   {}\n  status:   {}\n  year:     {}\n  duration: {:.1} s\n  audio:    {} ({}, {} bytes)\n  added:    {}",
        song.id,
        song.title,
        artist_name(song),
        song.status,
        song.year.map(|y| y.to_string()).unwrap_or_else(|| "-".into()),
        song.duration_secs.unwrap_or_default(),
        song.audio_sha256,
        song.audio_mime,
        song.audio_bytes,
        song.created_at
    );
    if let Some(reason) = &song.failure_reason {
        out.push_str(&format!("\n  reason:   {reason}"));
    }
    out.push_str("\n  history:");
    for e in events {
        let what = match e.kind.as_str() {
            "song.status_changed" => format!(
                "{} → {}",
                e.details["from"].as_str().unwrap_or("?"),
                e.details["to"].as_str().unwrap_or("?")
            ),
            "alert.escalated" => format!(
                "to {}: {}",
                e.details["to_role"].as_str().unwrap_or("?"),
                e.details["summary"].as_str().unwrap_or("")
            ),
            _ => String::new(),
        };
        out.push_str(&format!("\n    {}  {:<20} {:<9} {what}", e.at, e.kind, e.actor));
    }
    out
}

/// Each stage: its state, attempts, provider, last error, cost and time.
fn render_stages(runs: &[StageRun], outputs: &[StageOutput]) -> String {
    let mut out = String::from("  stages:");
    for stage in Stage::ORDER {
        let tries: Vec<&StageRun> = runs.iter().filter(|r| r.stage == stage).collect();
        let output = outputs.iter().find(|o| o.stage == stage);
        let state = match (output, tries.last()) {
            (Some(o), _) if o.flagged => "done (flagged)",
            (Some(_), _) => "done",
            (None, Some(r)) if r.state == "running" => "running",
            (None, Some(_)) => "failed",
            (None, None) => "pending",
        };
        let cost: i64 = tries.iter().map(|r| r.cost_micro_usd).sum();
        let ms: i64 = tries.iter().filter_map(|r| r.duration_ms).sum();
        let by = output.map(|o| format!(" by {}:{}", o.provider, o.model)).unwrap_or_default();
        let quality = output.and_then(|o| o.quality).map(|q| format!(", quality {q:.2}")).unwrap_or_default();
        out.push_str(&format!(
            "\n    {:<10} {state}{by}{quality}, {} attempt(s), {}, {:.1} s",
            stage.as_str(),
            tries.len(),
            MicroUsd(cost),
            ms as f64 / 1000.0
        ));
        if let Some(error) = tries.last().filter(|_| output.is_none()).and_then(|r| r.error.as_deref()) {
            out.push_str(&format!("\n               last error: {error}"));
        }
        match output {
            Some(o) if stage == Stage::Context => out.push_str(&render_facts(&o.output)),
            Some(o) if stage == Stage::Critique => out.push_str(&render_findings(&o.output)),
            Some(o) if stage == Stage::Art => out.push_str(&render_art(&o.output)),
            _ => {}
        }
    }
    out
}

/// The critic's findings, one per line.
fn render_findings(critique: &serde_json::Value) -> String {
    let issues = critique["issues"].as_array().map(Vec::as_slice).unwrap_or_default();
    issues.iter().filter_map(|i| i.as_str()).map(|i| format!("\n               finding: {i}")).collect()
}

/// Where the cover images are, under the data directory.
fn render_art(art: &serde_json::Value) -> String {
    let images = art["images"].as_array().map(Vec::as_slice).unwrap_or_default();
    let mut out: String = images
        .iter()
        .filter_map(|i| {
            let sha = i["asset_sha256"].as_str()?;
            let label = i["label"].as_str().unwrap_or("image");
            Some(format!("\n               {label}: assets/art/{sha}.png"))
        })
        .collect();
    if out.is_empty() {
        if let Some(sha) = art["asset_sha256"].as_str() {
            let ext = match art["mime"].as_str() {
                Some("image/jpeg") => "jpg",
                Some("image/webp") => "webp",
                _ => "png",
            };
            out = format!("\n               image: assets/art/{sha}.{ext}");
        }
    }
    out
}

/// The Historian's facts: where each comes from and why it was chosen.
fn render_facts(context: &serde_json::Value) -> String {
    let facts = context["facts"].as_array().map(Vec::as_slice).unwrap_or_default();
    facts
        .iter()
        .map(|f| {
            let from = f["document"].as_str().unwrap_or("remote");
            let why = f["reason"].as_str().map(|r| format!(" — {r}")).unwrap_or_default();
            let relevance = f["relevance"].as_f64().map(|r| format!("{r:.2} ")).unwrap_or_default();
            format!("\n               fact {relevance}[{from}]{why}")
        })
        .collect()
}
