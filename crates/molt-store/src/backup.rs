//! Online backup, restore and verification of SQLite databases.

use crate::error::{StoreError, StoreResult};
use crate::migrations;
use rusqlite::{Connection, OpenFlags, OptionalExtension, MAIN_DB};
use serde::Serialize;
use std::path::Path;

/// Copy the live database to `dest` with SQLite's online backup API. The copy
/// is written next to `dest` and renamed into place, so `dest` is never half-written.
pub fn backup_to(conn: &Connection, dest: &Path) -> StoreResult<()> {
    if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = dest.with_extension(format!("tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let result = conn.backup(MAIN_DB, &tmp, None).map_err(StoreError::from).and_then(|()| {
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, dest)?;
        Ok(())
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// What `molt db verify` found.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub integrity: String,
    pub foreign_key_violations: usize,
    pub migrations: Vec<migrations::MigrationStatus>,
    pub pending: usize,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.integrity == "ok"
            && self.foreign_key_violations == 0
            && self.migrations.iter().all(|m| !m.modified && !m.unknown)
    }
}

/// Check integrity, foreign keys and migrations of an open database.
pub fn verify(conn: &Connection) -> StoreResult<VerifyReport> {
    require_molt_schema(conn)?;
    let integrity: String = conn.query_row("PRAGMA integrity_check(1)", [], |r| r.get(0))?;
    let foreign_key_violations = {
        let mut stmt = conn.prepare("PRAGMA foreign_key_check")?;
        let rows = stmt.query_map([], |_| Ok(()))?;
        rows.count()
    };
    let migrations = migrations::status(conn)?;
    let pending = migrations.iter().filter(|m| m.applied_at.is_none()).count();
    Ok(VerifyReport { integrity, foreign_key_violations, migrations, pending })
}

/// A Molt database has the migrations table; anything else is refused.
fn require_molt_schema(conn: &Connection) -> StoreResult<()> {
    let found: Option<String> = conn
        .query_row(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [migrations::TABLE],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| StoreError::NotMoltDatabase(format!("not a SQLite database: {e}")))?;
    found.map(|_| ()).ok_or_else(|| {
        StoreError::NotMoltDatabase("a SQLite database, but not a Molt one (no migrations table)".into())
    })
}

/// Check that `path` is a sound Molt database this binary understands.
pub fn verify_file(path: &Path) -> StoreResult<VerifyReport> {
    if !path.is_file() {
        return Err(StoreError::NotMoltDatabase(format!("{} is not a file", path.display())));
    }
    let conn =
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(|e| StoreError::NotMoltDatabase(format!("cannot open as SQLite: {e}")))?;
    let report = verify(&conn)?;
    if !report.ok() {
        return Err(StoreError::NotMoltDatabase(format!(
            "the file fails verification (integrity: {}, foreign key violations: {}, foreign or edited migrations present: {})",
            report.integrity,
            report.foreign_key_violations,
            report.migrations.iter().any(|m| m.modified || m.unknown)
        )));
    }
    Ok(report)
}

/// Replace the live database's content with `src`, after verifying it. SQLite's
/// backup API does this atomically from the point of view of other connections.
pub fn restore_from(conn: &mut Connection, src: &Path) -> StoreResult<VerifyReport> {
    let report = verify_file(src)?;
    conn.restore(MAIN_DB, src, None::<fn(rusqlite::backup::Progress)>)?;
    Ok(report)
}
