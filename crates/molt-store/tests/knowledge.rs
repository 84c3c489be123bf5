//! The knowledge base tables: whole-document replacement, no-op re-adds,
//! removal with its chunks, and the staleness fingerprint.

use molt_core::knowledge::{EntityKind, EntityRef, KbPutOutcome, NewKbChunk, NewKbDocument};
use molt_store::{KnowledgeStore, SqliteStore, StoreOptions};
use std::time::Duration;

fn store(dir: &std::path::Path) -> SqliteStore {
    SqliteStore::open_migrated(&StoreOptions {
        path: dir.join("molt.db"),
        backup_dir: dir.join("backups"),
        busy_timeout: Duration::from_millis(100),
        lock_retries: 1,
        read_connections: 2,
    })
    .unwrap()
}

fn doc(key: &str, body: &str) -> NewKbDocument {
    NewKbDocument {
        key: key.into(),
        title: format!("Title of {key}"),
        title_norm: format!("title of {key}"),
        entity: Some(EntityRef { kind: EntityKind::Artist, name: "Sinn Sisamouth".into() }),
        aliases: vec!["ស៊ីន ស៊ីសាមុត".into(), "Sin Sisamuth".into()],
        related: vec![EntityRef { kind: EntityKind::Era, name: "Sangkum Reastr Niyum".into() }],
        sources: vec!["Wikipedia, “Sinn Sisamouth”".into()],
        years: Some((1955, 1975)),
        origin: format!("kb/{key}.md"),
        sha256: format!("{:064x}", body.len()),
        body: body.into(),
        model: "m1".into(),
    }
}

fn chunk(text: &str, x: f32) -> NewKbChunk {
    NewKbChunk {
        heading: None,
        text: text.into(),
        text_norm: text.to_lowercase(),
        embedding: vec![x, 1.0 - x],
    }
}

#[test]
fn documents_are_added_replaced_and_removed_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let (outcome, added) =
        store.kb_put(doc("a", "one"), vec![chunk("One", 0.25), chunk("Two", 0.5)], "t").unwrap();
    assert_eq!(outcome, KbPutOutcome::Added);
    assert_eq!((added.chunks, added.bytes), (2, 3));
    assert_eq!(added.related[0].to_string(), "era:Sangkum Reastr Niyum");
    assert_eq!(added.aliases[0], "ស៊ីន ស៊ីសាមុត");
    assert_eq!(added.years, Some((1955, 1975)));
    let before = store.kb_fingerprint().unwrap();

    let (outcome, _) = store.kb_put(doc("a", "one"), vec![chunk("ignored", 0.0)], "t").unwrap();
    assert_eq!(outcome, KbPutOutcome::Unchanged);
    assert_eq!(store.kb_fingerprint().unwrap(), before, "an unchanged document writes nothing");

    let (outcome, replaced) = store.kb_put(doc("a", "three"), vec![chunk("Three", 0.75)], "t").unwrap();
    assert_eq!(outcome, KbPutOutcome::Replaced);
    assert_eq!(replaced.created_at, added.created_at, "replacing keeps when it was first added");
    let chunks = store.kb_chunks("m1").unwrap();
    assert_eq!(chunks.len(), 1);
    assert_eq!((chunks[0].text.as_str(), chunks[0].embedding.as_slice()), ("Three", &[0.75, 0.25][..]));
    assert_ne!(store.kb_fingerprint().unwrap(), before);
    assert!(store.kb_chunks("another-model").unwrap().is_empty());

    assert!(store.kb_remove("a", "t").unwrap());
    assert!(!store.kb_remove("a", "t").unwrap());
    assert!(store.kb_documents().unwrap().is_empty());
    assert!(store.kb_chunks("m1").unwrap().is_empty(), "chunks go with their document");
    let after = store.kb_fingerprint().unwrap();
    assert_eq!(after.0, 0);
    assert!(after.1 >= 3, "chunk ids are never reused: {after:?}");
}

#[test]
fn a_document_without_chunks_is_refused_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    assert!(store.kb_put(doc("empty", "x"), vec![], "t").is_err());
    assert!(store.kb_document("empty").unwrap().is_none());
}

#[test]
fn meta_values_are_upserted() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    assert_eq!(store.kb_meta("starter").unwrap(), None);
    store.kb_set_meta("starter", "v1").unwrap();
    store.kb_set_meta("starter", "v2").unwrap();
    assert_eq!(store.kb_meta("starter").unwrap().as_deref(), Some("v2"));
}
