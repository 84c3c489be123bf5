//! API tokens: only a SHA-256 of each secret is stored.

use super::catalog::record_event;
use crate::error::{StoreError, StoreResult};
use crate::repo::NewToken;
use molt_core::catalog::TokenInfo;
use rusqlite::{params, Connection, OptionalExtension, Row};

const COLUMNS: &str = "id, name, role, token_prefix, created_at, last_used_at, revoked_at";

fn token_from_row(r: &Row<'_>) -> rusqlite::Result<TokenInfo> {
    let role: String = r.get(2)?;
    Ok(TokenInfo {
        id: r.get(0)?,
        name: r.get(1)?,
        role: role.parse().map_err(|e: String| {
            rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, e.into())
        })?,
        prefix: r.get(3)?,
        created_at: r.get(4)?,
        last_used_at: r.get(5)?,
        revoked_at: r.get(6)?,
    })
}

pub(super) fn create(conn: &Connection, token: &NewToken, actor: &str) -> StoreResult<TokenInfo> {
    let sql = format!(
        "INSERT INTO api_tokens (name, role, token_prefix, token_sha256) VALUES (?1, ?2, ?3, ?4) RETURNING {COLUMNS}"
    );
    let info = conn
        .prepare_cached(&sql)?
        .query_row(params![token.name, token.role.as_str(), token.prefix, token.sha256], token_from_row)?;
    let details = serde_json::json!({ "token_id": info.id, "name": info.name, "role": info.role });
    record_event(conn, actor, "token.created", None, &details)?;
    Ok(info)
}

pub(super) fn find_active(conn: &Connection, sha256: &str) -> StoreResult<Option<TokenInfo>> {
    let sql = format!("SELECT {COLUMNS} FROM api_tokens WHERE token_sha256 = ?1 AND revoked_at IS NULL");
    Ok(conn.prepare_cached(&sql)?.query_row([sha256], token_from_row).optional()?)
}

/// `last_used_at` is kept to the minute, so authenticating is a read, not a write, on most requests.
pub(super) fn touch_is_due(token: &TokenInfo) -> bool {
    let threshold =
        (chrono::Utc::now() - chrono::Duration::seconds(60)).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    token.last_used_at.as_deref().is_none_or(|used| used < threshold.as_str())
}

pub(super) fn touch(conn: &Connection, id: i64) -> StoreResult<()> {
    conn.prepare_cached(
        "UPDATE api_tokens SET last_used_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ?1",
    )?
    .execute([id])?;
    Ok(())
}

pub(super) fn list(conn: &Connection) -> StoreResult<Vec<TokenInfo>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM api_tokens ORDER BY id"))?;
    let rows = stmt.query_map([], token_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn revoke(conn: &Connection, id: i64, actor: &str) -> StoreResult<TokenInfo> {
    let sql = format!(
        "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, strftime('%Y-%m-%dT%H:%M:%fZ','now')),
             updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')
         WHERE id = ?1 RETURNING {COLUMNS}"
    );
    let info = conn
        .prepare_cached(&sql)?
        .query_row([id], token_from_row)
        .optional()?
        .ok_or(StoreError::NotFound { what: "token", id })?;
    record_event(conn, actor, "token.revoked", None, &serde_json::json!({ "token_id": id }))?;
    Ok(info)
}
