//! The query log: one row per user query (redacted by the caller), and for a bug
//! report its engineering event, written in the same transaction.

use super::catalog::{event_row, record_event, EVENT_COLUMNS};
use super::sql_int;
use crate::error::StoreResult;
use crate::repo::{LoggedQuery, NewQueryLog, QueryLogEntry};
use molt_core::catalog::Event;
use rusqlite::{params, Connection};

pub(super) fn append(conn: &Connection, entry: &NewQueryLog) -> StoreResult<LoggedQuery> {
    let id: i64 = conn
        .prepare_cached(
            "INSERT INTO query_log (query_redacted, intent, result_count, response_ms, tier)
             VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
        )?
        .query_row(
            params![
                entry.query_redacted,
                entry.intent,
                sql_int(entry.result_count),
                sql_int(entry.response_ms),
                entry.tier
            ],
            |r| r.get(0),
        )?;
    let event_id = match &entry.event {
        None => None,
        Some(event) => {
            let mut details = event.details.clone();
            if let Some(map) = details.as_object_mut() {
                map.insert("query_log_id".into(), id.into());
            }
            record_event(conn, &event.actor, &event.kind, None, &details)?;
            Some(conn.last_insert_rowid())
        }
    };
    Ok(LoggedQuery { id, event_id })
}

pub(super) fn newest(conn: &Connection, limit: usize) -> StoreResult<Vec<QueryLogEntry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, query_redacted, intent, result_count, response_ms, tier, created_at
         FROM query_log ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([sql_int(limit)], |r| {
        Ok(QueryLogEntry {
            id: r.get(0)?,
            query_redacted: r.get(1)?,
            intent: r.get(2)?,
            result_count: r.get::<_, i64>(3)?.max(0) as u64,
            response_ms: r.get::<_, i64>(4)?.max(0) as u64,
            tier: r.get(5)?,
            created_at: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn events_of_kind(conn: &Connection, kind: &str, limit: usize) -> StoreResult<Vec<Event>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE kind = ?1 ORDER BY id DESC LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![kind, sql_int(limit)], event_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

impl crate::repo::QueryLogStore for super::SqliteStore {
    fn log_query(&self, entry: NewQueryLog) -> StoreResult<LoggedQuery> {
        self.write(move |c| append(c, &entry))
    }
    fn query_log(&self, limit: usize) -> StoreResult<Vec<QueryLogEntry>> {
        self.read(|c| newest(c, limit))
    }
    fn events_of_kind(&self, kind: &str, limit: usize) -> StoreResult<Vec<Event>> {
        self.read(|c| events_of_kind(c, kind, limit))
    }
}
