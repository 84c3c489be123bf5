//! Roles and what each may do (DESIGN §11). The matrix lives here, in one
//! place, so the CLI, the HTTP API and (later) MCP all check the same rules.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Who is calling. `Anonymous` is the caller with no token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Anonymous,
    Operator,
    Engineer,
    Security,
    Infrastructure,
    Reviewer,
    Admin,
    /// A learner with a free account: published songs, lyrics snippets in search.
    Free,
    /// A learner with a premium account: also full and synced lyrics.
    Premium,
}

/// One thing a caller may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Read published songs (everyone, including anonymous callers).
    SongReadPublished,
    /// Read songs in every status, with processing details.
    SongReadAll,
    /// Ingest new songs.
    SongCreate,
    /// Publish or archive songs.
    SongPublish,
    /// Review transcriptions and edit lyrics.
    LyricsReview,
    /// Run, roll back or create schema migrations.
    SchemaMigrate,
    /// Create and revoke API tokens.
    TokenManage,
    /// Read the audit/event log.
    AuditRead,
    /// Read the full (and synced) lyrics of songs one may read; without it, search
    /// shows snippets only (DESIGN §9 tiers).
    LyricsFull,
    /// Read health, queue and cost figures.
    OpsRead,
}

impl Role {
    pub const ALL: [Role; 9] = [
        Role::Anonymous,
        Role::Operator,
        Role::Engineer,
        Role::Security,
        Role::Infrastructure,
        Role::Reviewer,
        Role::Admin,
        Role::Free,
        Role::Premium,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Anonymous => "anonymous",
            Role::Operator => "operator",
            Role::Engineer => "engineer",
            Role::Security => "security",
            Role::Infrastructure => "infrastructure",
            Role::Reviewer => "reviewer",
            Role::Admin => "admin",
            Role::Free => "free",
            Role::Premium => "premium",
        }
    }

    /// The permission matrix. The operator owns content but not the schema;
    /// the engineer owns the schema but does not publish songs.
    pub fn allows(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Anonymous => matches!(permission, SongReadPublished),
            Role::Free => matches!(permission, SongReadPublished),
            Role::Premium => matches!(permission, SongReadPublished | LyricsFull),
            Role::Operator => matches!(
                permission,
                SongReadPublished
                    | SongReadAll
                    | LyricsFull
                    | SongCreate
                    | SongPublish
                    | LyricsReview
                    | OpsRead
            ),
            Role::Engineer => matches!(
                permission,
                SongReadPublished | SongReadAll | LyricsFull | SchemaMigrate | OpsRead | AuditRead
            ),
            Role::Security => matches!(
                permission,
                SongReadPublished | SongReadAll | LyricsFull | AuditRead | TokenManage | OpsRead
            ),
            Role::Infrastructure => {
                matches!(permission, SongReadPublished | SongReadAll | LyricsFull | OpsRead)
            }
            Role::Reviewer => {
                matches!(permission, SongReadPublished | SongReadAll | LyricsFull | LyricsReview)
            }
            Role::Admin => true,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|role| role.as_str() == s).ok_or_else(|| {
            let names: Vec<_> = Role::ALL[1..].iter().map(|r| r.as_str()).collect();
            format!("unknown role `{s}`; expected one of: {}", names.join(", "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_cannot_migrate_and_engineer_cannot_publish() {
        assert!(!Role::Operator.allows(Permission::SchemaMigrate));
        assert!(!Role::Engineer.allows(Permission::SongPublish));
        assert!(Role::Engineer.allows(Permission::SchemaMigrate));
        assert!(Role::Operator.allows(Permission::SongCreate));
    }

    #[test]
    fn anonymous_is_read_only_and_limited() {
        for p in
            [Permission::SongReadAll, Permission::SongCreate, Permission::TokenManage, Permission::OpsRead]
        {
            assert!(!Role::Anonymous.allows(p), "{p:?}");
        }
        assert!(Role::Anonymous.allows(Permission::SongReadPublished));
    }

    #[test]
    fn learner_tiers_read_published_songs_only() {
        for role in [Role::Free, Role::Premium] {
            assert!(role.allows(Permission::SongReadPublished));
            for p in [Permission::SongReadAll, Permission::SongCreate, Permission::LyricsReview] {
                assert!(!role.allows(p), "{role} {p:?}");
            }
        }
        assert!(Role::Premium.allows(Permission::LyricsFull));
        assert!(
            !Role::Free.allows(Permission::LyricsFull) && !Role::Anonymous.allows(Permission::LyricsFull)
        );
        assert!(Role::ALL
            .iter()
            .filter(|r| r.allows(Permission::SongReadAll))
            .all(|r| r.allows(Permission::LyricsFull)));
        assert_eq!("premium".parse::<Role>(), Ok(Role::Premium));
    }

    #[test]
    fn unknown_role_lists_the_valid_ones() {
        let err = "god".parse::<Role>().unwrap_err();
        assert!(err.contains("operator") && !err.contains("anonymous"), "{err}");
    }
}
