//! The starter knowledge base shipped in the binary (`kb/starter/`): eras,
//! genres, artists, places and works, written for Molt with their sources.

use crate::knowledge::{Added, KbError, KnowledgeBase};
use sha2::{Digest, Sha256};

include!(concat!(env!("OUT_DIR"), "/starter.rs"));

/// `kb_meta` key recording which starter set was loaded.
const SEEDED_KEY: &str = "starter_seeded";

/// The starter documents: (file name, bytes).
pub fn documents() -> &'static [(&'static str, &'static [u8])] {
    STARTER
}

/// A hash of the whole starter set, to record which one was loaded.
pub fn version() -> String {
    let mut hash = Sha256::new();
    for (name, bytes) in STARTER {
        hash.update(name.as_bytes());
        hash.update(bytes);
    }
    hex::encode(&hash.finalize()[..8])
}

/// Loads (or updates) every starter document and records it.
pub fn seed(kb: &KnowledgeBase, actor: &str) -> Result<Vec<Added>, KbError> {
    let added = STARTER
        .iter()
        .map(|(name, bytes)| kb.add_bytes(name, &format!("starter:{name}"), bytes, actor))
        .collect::<Result<Vec<_>, _>>()?;
    kb.store().kb_set_meta(SEEDED_KEY, &version())?;
    Ok(added)
}

/// Whether [`ensure_seeded`] would load the starter set (never seeded, and empty).
pub fn needs_seeding(kb: &KnowledgeBase) -> Result<bool, KbError> {
    Ok(kb.store().kb_meta(SEEDED_KEY)?.is_none() && kb.list()?.is_empty())
}

/// Seeds a knowledge base that has never been seeded and is empty; a studio
/// that removed the starter documents on purpose does not get them back.
pub fn ensure_seeded(kb: &KnowledgeBase, actor: &str) -> Result<Option<Vec<Added>>, KbError> {
    if !needs_seeding(kb)? {
        return Ok(None);
    }
    tracing::info!(documents = STARTER.len(), "loading the starter knowledge base");
    seed(kb, actor).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_starter_document_parses_with_an_entity_and_sources() {
        assert!(STARTER.len() >= 30, "{} starter documents", STARTER.len());
        for (name, bytes) in STARTER {
            let doc = crate::document::parse(std::path::Path::new(name), bytes, 1 << 20)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let entity = doc.entity.unwrap_or_else(|| panic!("{name} names no entity"));
            assert!(name.starts_with(entity.kind.as_str()), "{name} is about {entity}");
            assert!(!doc.sources.is_empty(), "{name} cites no source");
            assert_eq!(doc.converted_paragraphs, 0, "{name}");
        }
    }

    #[test]
    fn starter_links_point_at_starter_documents() {
        let docs: Vec<_> = STARTER
            .iter()
            .map(|(name, bytes)| crate::document::parse(std::path::Path::new(name), bytes, 1 << 20).unwrap())
            .collect();
        let names: Vec<String> =
            docs.iter().filter_map(|d| d.entity.as_ref().map(ToString::to_string)).collect();
        for doc in &docs {
            for link in &doc.related {
                assert!(names.contains(&link.to_string()), "{}: `{link}` is not a starter document", doc.key);
            }
        }
    }
}
