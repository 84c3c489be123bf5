//! The SQLite store: one writer thread, a pool of readers, and the admin
//! operations (migrate, rollback, backup, restore, verify).

mod alerts;
mod archive;
mod catalog;
mod database;
pub mod knowledge;
mod letters;
pub mod lyrics;
pub mod ops;
pub mod pipeline;
mod pool;
mod query_log;
pub mod queue;
mod reports;
mod retention;
mod review;
pub mod schedules;
pub mod search;
mod stages;
mod status;
mod tokens;
mod views;
mod writer;

use crate::backup::{self, VerifyReport};
use crate::error::{StoreError, StoreResult};
use crate::migrations::{self, MigrationStatus};
use molt_core::Config;
use pool::ReadPool;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use writer::{LockPolicy, Writer};

/// Where the database is and how to treat locks.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub path: PathBuf,
    pub backup_dir: PathBuf,
    pub busy_timeout: Duration,
    pub lock_retries: u32,
    pub read_connections: usize,
}

impl StoreOptions {
    /// The database in `data_dir`, everything else as the default configuration has it.
    pub fn in_dir(data_dir: &std::path::Path) -> StoreOptions {
        StoreOptions::from_config(&Config { data_dir: data_dir.to_path_buf(), ..Config::default() })
    }

    /// The database lives at `<data_dir>/molt.db`, its backups in `<data_dir>/backups/`.
    pub fn from_config(config: &Config) -> StoreOptions {
        StoreOptions {
            path: config.data_dir.join("molt.db"),
            backup_dir: config.data_dir.join("backups"),
            busy_timeout: Duration::from_millis(config.store.busy_timeout_ms),
            lock_retries: config.store.lock_retries,
            read_connections: config.store.read_connections,
        }
    }
}

/// What a migrate or rollback did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SchemaChange {
    pub backup: Option<PathBuf>,
    pub versions: Vec<String>,
}

/// Cheap to clone; all clones share the writer thread and the read pool.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    // Field order matters: the writer thread is joined before readers close.
    writer: Writer,
    readers: ReadPool,
    options: StoreOptions,
}

impl SqliteStore {
    /// Open (creating if needed) without touching the schema.
    pub fn open(options: &StoreOptions) -> StoreResult<SqliteStore> {
        if let Some(dir) = options.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let write_conn = open_writer(options)?;
        let readers = (0..options.read_connections.max(1))
            .map(|_| open_reader(options))
            .collect::<StoreResult<Vec<_>>>()?;
        let policy = LockPolicy { busy_timeout: options.busy_timeout, retries: options.lock_retries };
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                writer: Writer::spawn(write_conn, policy),
                readers: ReadPool::new(readers),
                options: options.clone(),
            }),
        })
    }

    /// Open and bring the schema up to date (backing up first if the database has data).
    pub fn open_migrated(options: &StoreOptions) -> StoreResult<SqliteStore> {
        let store = SqliteStore::open(options)?;
        store.migrate()?;
        Ok(store)
    }

    pub fn options(&self) -> &StoreOptions {
        &self.inner.options
    }

    /// Run `f` in a (group-committed) write transaction on the writer thread.
    pub fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        self.inner.writer.write(f)
    }

    /// Run `f` on a pooled read-only connection.
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        self.inner.readers.read(f)
    }

    /// Run blocking store work off the async runtime's threads.
    pub(crate) async fn blocking<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&SqliteStore) -> StoreResult<T> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || f(&store)).await.map_err(|_| StoreError::Closed)?
    }

    pub fn migration_status(&self) -> StoreResult<Vec<MigrationStatus>> {
        self.inner.writer.exclusive(|conn| {
            migrations::ensure_table(conn)?;
            migrations::status(conn)
        })
    }

    /// Apply pending migrations; an online backup is taken first when the
    /// database already holds a schema.
    pub fn migrate(&self) -> StoreResult<SchemaChange> {
        let backup_dir = self.inner.options.backup_dir.clone();
        self.inner.writer.exclusive(move |conn| {
            migrations::ensure_table(conn)?;
            if migrations::pending(conn)?.is_empty() {
                return Ok(SchemaChange { backup: None, versions: Vec::new() });
            }
            let backup = backup_if_populated(conn, &backup_dir, "pre-migrate")?;
            let versions = migrations::migrate(conn)?;
            Ok(SchemaChange { backup, versions })
        })
    }

    /// Undo the newest `steps` migrations, backing up first.
    pub fn rollback(&self, steps: usize) -> StoreResult<SchemaChange> {
        let backup_dir = self.inner.options.backup_dir.clone();
        self.inner.writer.exclusive(move |conn| {
            migrations::ensure_table(conn)?;
            let backup = backup_if_populated(conn, &backup_dir, "pre-rollback")?;
            let versions = migrations::rollback(conn, steps)?;
            Ok(SchemaChange { backup, versions })
        })
    }

    /// An online backup to `dest`, or to a timestamped file in the backup directory.
    pub fn backup(&self, dest: Option<PathBuf>) -> StoreResult<PathBuf> {
        let dest = dest.unwrap_or_else(|| timestamped(&self.inner.options.backup_dir, "manual"));
        self.inner.writer.exclusive(move |conn| backup::backup_to(conn, &dest).map(|()| dest))
    }

    /// Replace the database with a verified Molt database file, keeping a backup of the current one.
    pub fn restore(&self, src: &Path) -> StoreResult<(PathBuf, VerifyReport)> {
        let src = src.to_path_buf();
        let backup_dir = self.inner.options.backup_dir.clone();
        self.inner.writer.exclusive(move |conn| {
            backup::verify_file(&src)?;
            let saved = timestamped(&backup_dir, "pre-restore");
            backup::backup_to(conn, &saved)?;
            let report = backup::restore_from(conn, &src)?;
            Ok((saved, report))
        })
    }

    pub fn verify(&self) -> StoreResult<VerifyReport> {
        self.read(backup::verify)
    }
}

/// A count or limit as SQLite's integer (saturating: no count reaches it).
pub(crate) fn sql_int<N: TryInto<i64>>(n: N) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

/// The error for a text column whose value does not parse as its type.
pub(crate) fn bad_text(column: usize, message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, message.into())
}

fn open_writer(options: &StoreOptions) -> StoreResult<Connection> {
    let conn = Connection::open(&options.path)?;
    conn.busy_timeout(options.busy_timeout)?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Io(format!("could not switch the database to WAL (got {mode})")));
    }
    conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")?;
    letters::register(&conn)?;
    Ok(conn)
}

fn open_reader(options: &StoreOptions) -> StoreResult<Connection> {
    let flags =
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(&options.path, flags)?;
    conn.busy_timeout(options.busy_timeout)?;
    conn.execute_batch(&format!(
        "PRAGMA foreign_keys = ON; PRAGMA query_only = ON;
         PRAGMA mmap_size = {READER_MMAP_BYTES}; PRAGMA cache_size = -{READER_CACHE_KIB};"
    ))?;
    Ok(conn)
}

/// Readers map the database file (up to this size) instead of copying every
/// page through `read()`: a search touches thousands of pages, and in WAL mode
/// every commit elsewhere (one query-log row per search) empties each reader's
/// page cache, so without the map every query re-reads them with syscalls.
const READER_MMAP_BYTES: u64 = 1 << 30;
/// Page cache per reader, KiB (SQLite's default is 2,000).
const READER_CACHE_KIB: u64 = 16 * 1024;

fn timestamped(dir: &Path, why: &str) -> PathBuf {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    dir.join(format!("molt-{stamp}-{why}.db"))
}

/// A fresh, empty database needs no backup.
fn backup_if_populated(conn: &Connection, dir: &Path, why: &str) -> StoreResult<Option<PathBuf>> {
    let applied: i64 =
        conn.query_row(&format!("SELECT count(*) FROM {}", migrations::TABLE), [], |r| r.get(0))?;
    if applied == 0 {
        return Ok(None);
    }
    let dest = timestamped(dir, why);
    backup::backup_to(conn, &dest)?;
    Ok(Some(dest))
}
