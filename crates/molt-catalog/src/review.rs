//! Human review, the end of the pipeline: the queue of songs waiting for a
//! person, and approve / reject with their rules. The CLI and the API call
//! these; the store applies each decision in one transaction.

use molt_core::catalog::{rights_need_override, Song, SongQuery};
use molt_core::pipeline::StageOutput;
use molt_core::{Permission, Role, SongStatus, Stage};
use molt_store::{Database, PipelineStore, StoreError};
use serde::Serialize;

/// The longest reason a reviewer may give.
const MAX_REASON_CHARS: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("song {0} not found")]
    NotFound(i64),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(StoreError),
}

impl ReviewError {
    /// A stable code for the CLI and the API.
    pub fn code(&self) -> &'static str {
        match self {
            ReviewError::NotFound(_) => "not_found",
            ReviewError::Forbidden(_) => "forbidden",
            ReviewError::Conflict(_) => "conflict",
            ReviewError::Invalid(_) => "invalid_input",
            ReviewError::Store(_) => "store_error",
        }
    }
}

impl From<StoreError> for ReviewError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { id, .. } => ReviewError::NotFound(id),
            StoreError::InvalidState(m) => ReviewError::Conflict(m),
            other => ReviewError::Store(other),
        }
    }
}

/// A song waiting for a person, with what the pipeline found.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewItem {
    pub song: Song,
    /// Each stage's quality score (transcribe: confidence; context: relevance; critique: score).
    pub quality: Vec<(Stage, Option<f64>)>,
    /// The critic's findings, as sentences.
    pub findings: Vec<String>,
    /// Stages accepted with a known defect (e.g. placeholder art).
    pub flagged: Vec<Stage>,
    /// Whether approving needs a rights override.
    pub needs_rights_override: bool,
}

/// Songs in REVIEW, then NEEDS_HUMAN_REVIEW, oldest first.
pub async fn queue(db: &dyn Database, pipeline: &dyn PipelineStore) -> Result<Vec<ReviewItem>, ReviewError> {
    let mut items = Vec::new();
    for status in [SongStatus::NeedsHumanReview, SongStatus::Review] {
        let query = SongQuery { status: Some(status), limit: 10_000, ..Default::default() };
        for song in db.list_songs(query).await? {
            let outputs = pipeline.stage_outputs(song.id)?;
            items.push(item(song, &outputs));
        }
    }
    Ok(items)
}

fn item(song: Song, outputs: &[StageOutput]) -> ReviewItem {
    let findings = outputs
        .iter()
        .find(|o| o.stage == Stage::Critique)
        .and_then(|o| o.output["issues"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|i| i.as_str().map(str::to_string))
        .collect();
    ReviewItem {
        quality: outputs.iter().map(|o| (o.stage, o.quality)).collect(),
        flagged: outputs.iter().filter(|o| o.flagged).map(|o| o.stage).collect(),
        needs_rights_override: rights_need_override(&song.rights_status),
        findings,
        song,
    }
}

fn require(role: Role, permission: Permission, what: &str) -> Result<(), ReviewError> {
    if role.allows(permission) {
        Ok(())
    } else {
        Err(ReviewError::Forbidden(format!("the {role} role cannot {what}")))
    }
}

fn reason(text: &str, what: &str) -> Result<String, ReviewError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ReviewError::Invalid(format!("{what} needs a reason")));
    }
    if text.chars().count() > MAX_REASON_CHARS {
        return Err(ReviewError::Invalid(format!("the reason is longer than {MAX_REASON_CHARS} characters")));
    }
    Ok(text.to_string())
}

/// REVIEW | NEEDS_HUMAN_REVIEW → PUBLISHED. Reviewers, operators and admins
/// approve; a protected or unknown-rights work also needs `rights_override`
/// (a reason), which only an operator or an admin may give, and which is recorded.
pub async fn approve(
    db: &dyn Database,
    id: i64,
    actor: &str,
    role: Role,
    rights_override: Option<&str>,
) -> Result<Song, ReviewError> {
    require(role, Permission::LyricsReview, "approve songs")?;
    let song = db.get_song(id).await?.ok_or(ReviewError::NotFound(id))?;
    let override_reason = match rights_override {
        Some(text) => {
            require(role, Permission::SongPublish, "override a work's rights status")?;
            Some(reason(text, "a rights override")?)
        }
        None => None,
    };
    if rights_need_override(&song.rights_status) && override_reason.is_none() {
        return Err(ReviewError::Conflict(format!(
            "song {id}'s rights status is `{}`: it cannot be published without an explicit override \
             (--override-rights \"REASON\", operator or admin); or record its rights first \
             (molt song rights {id} public_domain|family_held|licensed)",
            song.rights_status
        )));
    }
    Ok(db.publish_song(id, actor, override_reason).await?)
}

/// Sends a song in review back to `to_stage` (queued again), or to FAILED.
pub async fn reject(
    db: &dyn Database,
    id: i64,
    actor: &str,
    role: Role,
    why: &str,
    to_stage: Option<Stage>,
) -> Result<Song, ReviewError> {
    require(role, Permission::LyricsReview, "reject songs")?;
    let why = reason(why, "a rejection")?;
    Ok(db.reject_song(id, actor, why, to_stage).await?)
}

/// Records a song's rights status (operators and admins).
pub async fn set_rights(
    db: &dyn Database,
    id: i64,
    actor: &str,
    role: Role,
    rights: &str,
) -> Result<Song, ReviewError> {
    require(role, Permission::SongPublish, "change a song's rights status")?;
    let rights = molt_core::catalog::parse_rights(rights).map_err(ReviewError::Invalid)?;
    Ok(db.set_song_rights(id, rights, actor).await?)
}
