//! The Historian's knowledge base: documents about artists, eras, genres,
//! places and works, cut into chunks that are embedded and searched.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What a document is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntityKind {
    Artist,
    Era,
    Genre,
    Place,
    Work,
}

impl EntityKind {
    pub const ALL: [EntityKind; 5] =
        [EntityKind::Artist, EntityKind::Era, EntityKind::Genre, EntityKind::Place, EntityKind::Work];

    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Artist => "artist",
            EntityKind::Era => "era",
            EntityKind::Genre => "genre",
            EntityKind::Place => "place",
            EntityKind::Work => "work",
        }
    }
}

impl FromStr for EntityKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        EntityKind::ALL.into_iter().find(|k| k.as_str() == s.trim()).ok_or_else(|| {
            format!("`{}` is not an entity kind (artist, era, genre, place or work)", s.trim())
        })
    }
}

/// An entity: `artist:Sinn Sisamouth`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EntityRef {
    pub kind: EntityKind,
    pub name: String,
}

impl fmt::Display for EntityRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind.as_str(), self.name)
    }
}

impl FromStr for EntityRef {
    type Err = String;
    /// `kind:name`, e.g. `era:Sangkum Reastr Niyum`.
    fn from_str(s: &str) -> Result<Self, String> {
        let (kind, name) = s.split_once(':').ok_or_else(|| format!("`{s}` is not `kind:name`"))?;
        let name = name.trim();
        if name.is_empty() {
            return Err(format!("`{s}` has no name after the `:`"));
        }
        Ok(EntityRef { kind: kind.parse()?, name: name.to_string() })
    }
}

/// A document to store. `key` identifies it (the file name without its
/// extension): adding a document with the same key replaces it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewKbDocument {
    pub key: String,
    pub title: String,
    /// The title as indexed (normalised, segmented, lower case).
    pub title_norm: String,
    pub entity: Option<EntityRef>,
    pub aliases: Vec<String>,
    pub related: Vec<EntityRef>,
    pub sources: Vec<String>,
    /// The years it covers (an era's span), inclusive.
    pub years: Option<(i32, i32)>,
    /// Where it was loaded from, as given.
    pub origin: String,
    pub sha256: String,
    pub body: String,
    /// The embedding model of its chunks.
    pub model: String,
}

/// A chunk to store with its document.
#[derive(Debug, Clone, PartialEq)]
pub struct NewKbChunk {
    pub heading: Option<String>,
    /// The text as written.
    pub text: String,
    /// The text as indexed (normalised, segmented, lower case).
    pub text_norm: String,
    pub embedding: Vec<f32>,
}

/// A stored document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KbDocument {
    pub id: i64,
    pub key: String,
    pub title: String,
    pub title_norm: String,
    pub entity: Option<EntityRef>,
    pub aliases: Vec<String>,
    pub related: Vec<EntityRef>,
    pub sources: Vec<String>,
    pub years: Option<(i32, i32)>,
    pub origin: String,
    pub sha256: String,
    pub bytes: i64,
    pub chunks: i64,
    pub model: String,
    pub created_at: String,
    pub updated_at: String,
}

/// A stored chunk, with its vector.
#[derive(Debug, Clone, PartialEq)]
pub struct KbChunk {
    pub id: i64,
    pub document_id: i64,
    pub ord: i64,
    pub heading: Option<String>,
    pub text: String,
    pub text_norm: String,
    pub embedding: Vec<f32>,
}

/// What adding a document did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KbPutOutcome {
    Added,
    Replaced,
    /// Same key, same content and model: nothing written.
    Unchanged,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_refs_parse_and_print() {
        let e: EntityRef = "era: Sangkum Reastr Niyum".parse().unwrap();
        assert_eq!(e, EntityRef { kind: EntityKind::Era, name: "Sangkum Reastr Niyum".into() });
        assert_eq!(e.to_string(), "era:Sangkum Reastr Niyum");
        assert!("band:Drakkar".parse::<EntityRef>().unwrap_err().contains("not an entity kind"));
        assert!("artist:".parse::<EntityRef>().unwrap_err().contains("no name"));
        assert!("Drakkar".parse::<EntityRef>().unwrap_err().contains("kind:name"));
    }
}
