//! The song lifecycle (DESIGN §3).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Where a song is in its life. Stored as the snake_case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SongStatus {
    Pending,
    Processing,
    Review,
    NeedsHumanReview,
    Failed,
    Published,
    Archived,
}

impl SongStatus {
    pub const ALL: [SongStatus; 7] = [
        SongStatus::Pending,
        SongStatus::Processing,
        SongStatus::Review,
        SongStatus::NeedsHumanReview,
        SongStatus::Failed,
        SongStatus::Published,
        SongStatus::Archived,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SongStatus::Pending => "pending",
            SongStatus::Processing => "processing",
            SongStatus::Review => "review",
            SongStatus::NeedsHumanReview => "needs_human_review",
            SongStatus::Failed => "failed",
            SongStatus::Published => "published",
            SongStatus::Archived => "archived",
        }
    }

    /// The lifecycle's edges. Anything else is a business error, never a silent change.
    pub fn can_become(self, next: SongStatus) -> bool {
        use SongStatus::*;
        matches!(
            (self, next),
            (Pending, Processing)
                | (Processing, Review | NeedsHumanReview | Failed | Processing)
                | (Review, Published | Processing | Failed | NeedsHumanReview)
                | (NeedsHumanReview, Published | Processing | Failed | Review)
                | (Failed, Pending | Processing)
                | (Published, Archived | Review)
                | (Archived, Published)
        )
    }
}

impl fmt::Display for SongStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SongStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SongStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| format!("unknown song status `{s}`"))
    }
}

/// Processing stages, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Transcribe,
    Context,
    Critique,
    Art,
}

impl Stage {
    pub const ORDER: [Stage; 4] = [Stage::Transcribe, Stage::Context, Stage::Critique, Stage::Art];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Transcribe => "transcribe",
            Stage::Context => "context",
            Stage::Critique => "critique",
            Stage::Art => "art",
        }
    }
}

impl FromStr for Stage {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Stage::ORDER
            .into_iter()
            .find(|stage| stage.as_str() == s)
            .ok_or_else(|| format!("unknown stage `{s}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_their_names() {
        for status in SongStatus::ALL {
            assert_eq!(status.as_str().parse::<SongStatus>().unwrap(), status);
        }
        assert!("done".parse::<SongStatus>().is_err());
    }

    #[test]
    fn lifecycle_rejects_shortcuts() {
        assert!(SongStatus::Pending.can_become(SongStatus::Processing));
        assert!(!SongStatus::Pending.can_become(SongStatus::Published));
        assert!(!SongStatus::Archived.can_become(SongStatus::Pending));
        assert!(SongStatus::Review.can_become(SongStatus::Published));
    }
}
