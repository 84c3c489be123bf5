//! The knowledge base: documents replaced whole (document and chunks in one
//! transaction), chunks read back with their vectors to build an index.

use super::catalog::record_event;
use crate::error::{StoreError, StoreResult};
use molt_core::knowledge::{
    EntityKind, EntityRef, KbChunk, KbDocument, KbPutOutcome, NewKbChunk, NewKbDocument,
};
use rusqlite::{params, Connection, OptionalExtension, Row};

const COLUMNS: &str =
    "d.id, d.key, d.title, d.title_norm, d.entity_kind, d.entity_name, d.aliases, d.related,
     d.sources, d.origin, d.sha256, length(CAST(d.body AS BLOB)), d.model, d.created_at, d.updated_at,
     (SELECT count(*) FROM kb_chunks c WHERE c.document_id = d.id), d.year_from, d.year_to";

fn json_list<T: serde::de::DeserializeOwned>(r: &Row<'_>, i: usize) -> rusqlite::Result<Vec<T>> {
    let text: String = r.get(i)?;
    serde_json::from_str(&text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into()))
}

fn entity(kind: Option<String>, name: Option<String>) -> rusqlite::Result<Option<EntityRef>> {
    let (Some(kind), Some(name)) = (kind, name) else { return Ok(None) };
    let kind: EntityKind = kind.parse().map_err(|e: String| {
        rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, e.into())
    })?;
    Ok(Some(EntityRef { kind, name }))
}

fn related(r: &Row<'_>) -> rusqlite::Result<Vec<EntityRef>> {
    let names: Vec<String> = json_list(r, 7)?;
    names
        .iter()
        .map(|n| n.parse())
        .collect::<Result<_, String>>()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(7, rusqlite::types::Type::Text, e.into()))
}

fn document(r: &Row<'_>) -> rusqlite::Result<KbDocument> {
    Ok(KbDocument {
        id: r.get(0)?,
        key: r.get(1)?,
        title: r.get(2)?,
        title_norm: r.get(3)?,
        entity: entity(r.get(4)?, r.get(5)?)?,
        aliases: json_list(r, 6)?,
        related: related(r)?,
        sources: json_list(r, 8)?,
        origin: r.get(9)?,
        sha256: r.get(10)?,
        bytes: r.get(11)?,
        model: r.get(12)?,
        created_at: r.get(13)?,
        updated_at: r.get(14)?,
        chunks: r.get(15)?,
        years: match (r.get(16)?, r.get(17)?) {
            (Some(from), Some(to)) => Some((from, to)),
            _ => None,
        },
    })
}

pub fn get(conn: &Connection, key: &str) -> StoreResult<Option<KbDocument>> {
    let sql = format!("SELECT {COLUMNS} FROM kb_documents d WHERE d.key = ?1");
    Ok(conn.prepare_cached(&sql)?.query_row([key], document).optional()?)
}

pub fn list(conn: &Connection) -> StoreResult<Vec<KbDocument>> {
    let sql = format!("SELECT {COLUMNS} FROM kb_documents d ORDER BY d.entity_kind, d.key");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([], document)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Adds or replaces the document `doc.key` with its chunks; unchanged content
/// under the same model writes nothing.
pub fn put(
    conn: &Connection,
    doc: &NewKbDocument,
    chunks: &[NewKbChunk],
    actor: &str,
) -> StoreResult<(KbPutOutcome, KbDocument)> {
    if chunks.is_empty() {
        return Err(StoreError::InvalidState(format!("document `{}` has no chunks", doc.key)));
    }
    let old = get(conn, &doc.key)?;
    if let Some(old) = old.as_ref().filter(|o| o.sha256 == doc.sha256 && o.model == doc.model) {
        return Ok((KbPutOutcome::Unchanged, old.clone()));
    }
    if let Some(old) = &old {
        conn.prepare_cached("DELETE FROM kb_documents WHERE id = ?1")?.execute([old.id])?;
    }
    let id = insert_document(conn, doc, old.as_ref().map(|o| o.created_at.as_str()))?;
    for (ord, chunk) in chunks.iter().enumerate() {
        insert_chunk(conn, id, ord, chunk)?;
    }
    let outcome = if old.is_some() { KbPutOutcome::Replaced } else { KbPutOutcome::Added };
    let details = serde_json::json!({ "key": doc.key, "chunks": chunks.len(), "sha256": doc.sha256 });
    let kind = if old.is_some() { "kb.document_replaced" } else { "kb.document_added" };
    record_event(conn, actor, kind, None, &details)?;
    let stored = get(conn, &doc.key)?.ok_or(StoreError::NotFound { what: "kb document", id })?;
    Ok((outcome, stored))
}

fn insert_document(conn: &Connection, doc: &NewKbDocument, created_at: Option<&str>) -> StoreResult<i64> {
    let related: Vec<String> = doc.related.iter().map(ToString::to_string).collect();
    let id = conn
        .prepare_cached(
            "INSERT INTO kb_documents (key, title, title_norm, entity_kind, entity_name, aliases, related,
                                       sources, origin, sha256, body, model, created_at, year_from, year_to)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,
                     coalesce(?13, strftime('%Y-%m-%dT%H:%M:%fZ','now')), ?14, ?15)
             RETURNING id",
        )?
        .query_row(
            params![
                doc.key,
                doc.title,
                doc.title_norm,
                doc.entity.as_ref().map(|e| e.kind.as_str()),
                doc.entity.as_ref().map(|e| e.name.as_str()),
                json(&doc.aliases),
                json(&related),
                json(&doc.sources),
                doc.origin,
                doc.sha256,
                doc.body,
                doc.model,
                created_at,
                doc.years.map(|y| y.0),
                doc.years.map(|y| y.1),
            ],
            |r| r.get(0),
        )?;
    Ok(id)
}

/// A JSON array of strings (this cannot fail, unlike `serde_json::to_string`).
fn json(list: &[String]) -> String {
    serde_json::Value::from(list.to_vec()).to_string()
}

fn insert_chunk(conn: &Connection, document_id: i64, ord: usize, chunk: &NewKbChunk) -> StoreResult<()> {
    let blob = molt_vector::encode(&chunk.embedding);
    conn.prepare_cached(
        "INSERT INTO kb_chunks (document_id, ord, heading, text, text_norm, embedding)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![document_id, ord as i64, chunk.heading, chunk.text, chunk.text_norm, blob])?;
    Ok(())
}

/// Removes a document and its chunks; false when there was none.
pub fn remove(conn: &Connection, key: &str, actor: &str) -> StoreResult<bool> {
    let removed = conn.prepare_cached("DELETE FROM kb_documents WHERE key = ?1")?.execute([key])? > 0;
    if removed {
        record_event(conn, actor, "kb.document_removed", None, &serde_json::json!({ "key": key }))?;
    }
    Ok(removed)
}

/// Every chunk embedded with `model`, in id order.
pub fn chunks(conn: &Connection, model: &str) -> StoreResult<Vec<KbChunk>> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.id, c.document_id, c.ord, c.heading, c.text, c.text_norm, c.embedding
         FROM kb_chunks c JOIN kb_documents d ON d.id = c.document_id
         WHERE d.model = ?1 ORDER BY c.id",
    )?;
    let rows = stmt.query_map([model], |r| {
        let blob: Vec<u8> = r.get(6)?;
        let embedding = molt_vector::decode(&blob, blob.len() / 4).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(6, rusqlite::types::Type::Blob, e.into())
        })?;
        Ok(KbChunk {
            id: r.get(0)?,
            document_id: r.get(1)?,
            ord: r.get(2)?,
            heading: r.get(3)?,
            text: r.get(4)?,
            text_norm: r.get(5)?,
            embedding,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Changes whenever a chunk is added or removed: (count, highest id ever used).
pub fn fingerprint(conn: &Connection) -> StoreResult<(i64, i64)> {
    let count: i64 = conn.prepare_cached("SELECT count(*) FROM kb_chunks")?.query_row([], |r| r.get(0))?;
    let max: Option<i64> = conn
        .prepare_cached("SELECT seq FROM sqlite_sequence WHERE name = 'kb_chunks'")?
        .query_row([], |r| r.get(0))
        .optional()?;
    Ok((count, max.unwrap_or(0)))
}

pub fn meta(conn: &Connection, key: &str) -> StoreResult<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT value FROM kb_meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

pub fn set_meta(conn: &Connection, key: &str, value: &str) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO kb_meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value,
                                         updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')",
    )?
    .execute(params![key, value])?;
    Ok(())
}

impl crate::repo::KnowledgeStore for super::SqliteStore {
    fn kb_put(
        &self,
        doc: NewKbDocument,
        chunks: Vec<NewKbChunk>,
        actor: &str,
    ) -> StoreResult<(KbPutOutcome, KbDocument)> {
        let actor = actor.to_string();
        self.write(move |c| put(c, &doc, &chunks, &actor))
    }
    fn kb_document(&self, key: &str) -> StoreResult<Option<KbDocument>> {
        self.read(|c| get(c, key))
    }
    fn kb_documents(&self) -> StoreResult<Vec<KbDocument>> {
        self.read(list)
    }
    fn kb_remove(&self, key: &str, actor: &str) -> StoreResult<bool> {
        let (key, actor) = (key.to_string(), actor.to_string());
        self.write(move |c| remove(c, &key, &actor))
    }
    fn kb_chunks(&self, model: &str) -> StoreResult<Vec<KbChunk>> {
        self.read(|c| chunks(c, model))
    }
    fn kb_fingerprint(&self) -> StoreResult<(i64, i64)> {
        self.read(fingerprint)
    }
    fn kb_meta(&self, key: &str) -> StoreResult<Option<String>> {
        self.read(|c| meta(c, key))
    }
    fn kb_set_meta(&self, key: &str, value: &str) -> StoreResult<()> {
        let (key, value) = (key.to_string(), value.to_string());
        self.write(move |c| set_meta(c, &key, &value))
    }
}
