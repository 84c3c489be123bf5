//! Schema migrations, embedded at build time from `migrations/sqlite/`.
//! Each step runs in its own transaction and is recorded with a checksum, so
//! an edited migration file is detected instead of silently diverging.

use crate::error::{StoreError, StoreResult};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};

include!(concat!(env!("OUT_DIR"), "/embedded_migrations.rs"));

/// The table that marks a Molt database and records its migrations.
pub const TABLE: &str = "_molt_migrations";

#[derive(Debug, Clone)]
pub struct Migration {
    /// `YYYYMMDDHHMMSS`.
    pub version: String,
    pub description: String,
    pub up: &'static str,
    pub down: &'static str,
}

impl Migration {
    pub fn checksum(&self) -> String {
        hex::encode(Sha256::digest(self.up.as_bytes()))
    }
}

/// The migrations this binary knows, oldest first.
pub fn known() -> Vec<Migration> {
    EMBEDDED
        .iter()
        .map(|(stem, up, down)| {
            let (version, description) = stem.split_once('_').unwrap_or((stem, ""));
            Migration { version: version.to_string(), description: description.to_string(), up, down }
        })
        .collect()
}

/// One line of `molt db status`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MigrationStatus {
    pub version: String,
    pub description: String,
    pub applied_at: Option<String>,
    /// The applied checksum differs from this binary's file.
    pub modified: bool,
    /// Applied in the database but unknown to this binary (a newer molt ran here).
    pub unknown: bool,
}

pub(crate) fn ensure_table(conn: &Connection) -> StoreResult<()> {
    conn.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS {TABLE} (
            version TEXT PRIMARY KEY,
            description TEXT NOT NULL,
            checksum TEXT NOT NULL,
            applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))"
    ))?;
    Ok(())
}

fn applied(conn: &Connection) -> StoreResult<Vec<(String, String, String, String)>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT version, description, checksum, applied_at FROM {TABLE} ORDER BY version"
    ))?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Known and applied migrations side by side, oldest first.
pub fn status(conn: &Connection) -> StoreResult<Vec<MigrationStatus>> {
    let applied = applied(conn)?;
    let known = known();
    let mut out: Vec<MigrationStatus> = known
        .iter()
        .map(|m| {
            let row = applied.iter().find(|a| a.0 == m.version);
            MigrationStatus {
                version: m.version.clone(),
                description: m.description.clone(),
                applied_at: row.map(|a| a.3.clone()),
                modified: row.is_some_and(|a| a.2 != m.checksum()),
                unknown: false,
            }
        })
        .collect();
    for (version, description, _, applied_at) in applied {
        if !known.iter().any(|m| m.version == version) {
            out.push(MigrationStatus {
                version,
                description,
                applied_at: Some(applied_at),
                modified: false,
                unknown: true,
            });
        }
    }
    out.sort_by(|a, b| a.version.cmp(&b.version));
    Ok(out)
}

/// Pending migrations, oldest first.
pub fn pending(conn: &Connection) -> StoreResult<Vec<Migration>> {
    let applied = applied(conn)?;
    Ok(known().into_iter().filter(|m| !applied.iter().any(|a| a.0 == m.version)).collect())
}

/// Refuse to run against a database touched by a newer or edited schema.
pub fn check_consistent(conn: &Connection) -> StoreResult<()> {
    for s in status(conn)? {
        if s.unknown {
            return Err(StoreError::Migration {
                version: s.version,
                message: "applied in this database but unknown to this molt; upgrade molt".into(),
            });
        }
        if s.modified {
            return Err(StoreError::Migration {
                version: s.version,
                message: "its file changed after it was applied; write a new migration instead".into(),
            });
        }
    }
    Ok(())
}

/// Apply every pending migration, each in its own transaction. Returns the versions applied.
pub fn migrate(conn: &mut Connection) -> StoreResult<Vec<String>> {
    ensure_table(conn)?;
    check_consistent(conn)?;
    let mut done = Vec::new();
    for m in pending(conn)? {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(m.up).map_err(|e| step_error(&m, e))?;
        tx.execute(
            &format!("INSERT INTO {TABLE} (version, description, checksum) VALUES (?1, ?2, ?3)"),
            params![m.version, m.description, m.checksum()],
        )?;
        foreign_key_check(&tx, &m)?;
        tx.commit()?;
        tracing::info!(version = %m.version, description = %m.description, "migration applied");
        done.push(m.version);
    }
    Ok(done)
}

/// Undo the newest `steps` applied migrations, each in its own transaction.
pub fn rollback(conn: &mut Connection, steps: usize) -> StoreResult<Vec<String>> {
    ensure_table(conn)?;
    check_consistent(conn)?;
    let known = known();
    let mut done = Vec::new();
    for _ in 0..steps {
        let Some(version) = conn
            .query_row(&format!("SELECT version FROM {TABLE} ORDER BY version DESC LIMIT 1"), [], |r| {
                r.get::<_, String>(0)
            })
            .optional()?
        else {
            break;
        };
        let m = known.iter().find(|m| m.version == version).expect("checked consistent");
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(m.down).map_err(|e| step_error(m, e))?;
        tx.execute(&format!("DELETE FROM {TABLE} WHERE version = ?1"), [&m.version])?;
        tx.commit()?;
        tracing::info!(version = %m.version, "migration rolled back");
        done.push(version);
    }
    Ok(done)
}

fn step_error(m: &Migration, e: rusqlite::Error) -> StoreError {
    StoreError::Migration { version: m.version.clone(), message: e.to_string() }
}

/// Foreign keys are not enforced on rows a migration leaves behind; check them.
fn foreign_key_check(conn: &Connection, m: &Migration) -> StoreResult<()> {
    let broken: Option<String> = conn.query_row("PRAGMA foreign_key_check", [], |r| r.get(0)).optional()?;
    match broken {
        Some(table) => Err(StoreError::Migration {
            version: m.version.clone(),
            message: format!("leaves rows in `{table}` that break a foreign key"),
        }),
        None => Ok(()),
    }
}

/// The file names for a new migration pair, stamped with `now` (`YYYYMMDDHHMMSS`).
pub fn new_file_names(stamp: &str, name: &str) -> Result<(String, String), String> {
    let slug: String = name
        .trim()
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let slug = slug.trim_matches('_').to_string();
    if slug.is_empty() {
        return Err(format!("migration name `{name}` has no letters or digits"));
    }
    Ok((format!("{stamp}_{slug}.up.sql"), format!("{stamp}_{slug}.down.sql")))
}
