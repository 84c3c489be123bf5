//! What a caller may see in search (DESIGN §9), decided here, in the service,
//! so the HTTP API, the CLI and any later interface get the same answer.
//!
//! | tier | who | songs | results at most | lyrics |
//! |---|---|---|---|---|
//! | `anonymous` | no token | published | 10 | a snippet |
//! | `free` | a `free` token | published | 10 | a snippet |
//! | `premium` | a `premium` token | published | 50 | a snippet, the full lyrics and the synced formats |
//! | `staff` | any role with `song_read_all` (operator, engineer, …) | every status | 100 | everything, with each song's status |

use molt_core::{Permission, Role};
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Anonymous,
    Free,
    Premium,
    Staff,
}

impl Tier {
    pub const ALL: [Tier; 4] = [Tier::Anonymous, Tier::Free, Tier::Premium, Tier::Staff];

    /// The tier of a caller with `role`: staff is any role that may read songs
    /// in every status; the learner roles are their own tiers.
    pub fn of_role(role: Role) -> Tier {
        match role {
            Role::Anonymous => Tier::Anonymous,
            Role::Free => Tier::Free,
            Role::Premium => Tier::Premium,
            role if role.allows(Permission::SongReadAll) => Tier::Staff,
            _ => Tier::Free,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Anonymous => "anonymous",
            Tier::Free => "free",
            Tier::Premium => "premium",
            Tier::Staff => "staff",
        }
    }

    /// Songs that are not published (pending, in review, failed, archived).
    pub fn sees_unpublished(self) -> bool {
        self == Tier::Staff
    }

    /// The full lyrics and the synced formats, not only a snippet.
    pub fn sees_full_lyrics(self) -> bool {
        matches!(self, Tier::Premium | Tier::Staff)
    }

    /// The most results one query returns.
    pub fn max_results(self) -> usize {
        match self {
            Tier::Anonymous | Tier::Free => 10,
            Tier::Premium => 50,
            Tier::Staff => 100,
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Tier {
    type Err = String;
    fn from_str(s: &str) -> Result<Tier, String> {
        Tier::ALL
            .into_iter()
            .find(|t| t.as_str() == s.trim())
            .ok_or_else(|| format!("unknown tier `{s}`; expected anonymous, free, premium or staff"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_map_to_tiers() {
        assert_eq!(Tier::of_role(Role::Anonymous), Tier::Anonymous);
        assert_eq!(Tier::of_role(Role::Free), Tier::Free);
        assert_eq!(Tier::of_role(Role::Premium), Tier::Premium);
        for role in [Role::Operator, Role::Engineer, Role::Reviewer, Role::Admin, Role::Security] {
            assert_eq!(Tier::of_role(role), Tier::Staff, "{role}");
        }
        assert!(Tier::ALL.iter().all(|t| t.as_str().parse::<Tier>() == Ok(*t)));
        assert!("gold".parse::<Tier>().unwrap_err().contains("premium"));
        assert!(Tier::Free.max_results() <= 10 && !Tier::Free.sees_full_lyrics());
    }
}
