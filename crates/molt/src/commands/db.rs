//! `molt db status|migrate|rollback|new|backup|restore|verify`.

use crate::cli::DbCommand;
use crate::output::{emit, CliError, CliResult};
use molt_core::Config;
use molt_store::{migrations, SqliteStore, StoreError, StoreOptions};
use std::io::Write;
use std::path::Path;

pub async fn run(config: &Config, command: DbCommand, json: bool) -> CliResult {
    if let DbCommand::New { name, dir } = &command {
        return new_migration(name, dir, json);
    }
    let options = StoreOptions::from_config(config);
    tokio::task::spawn_blocking(move || admin(&options, command, json))
        .await
        .map_err(|e| CliError::new("runtime", e.to_string()))?
}

/// The admin commands work on the raw store: they must not migrate implicitly.
fn admin(options: &StoreOptions, command: DbCommand, json: bool) -> CliResult {
    let store = SqliteStore::open(options)?;
    match command {
        DbCommand::Status => {
            let status = store.migration_status()?;
            emit(json, &status, |rows| {
                let mut out = format!("database: {}", options.path.display());
                for m in rows {
                    let state = match (&m.applied_at, m.modified, m.unknown) {
                        (_, _, true) => "APPLIED BY A NEWER MOLT".to_string(),
                        (_, true, _) => "MODIFIED AFTER APPLYING".to_string(),
                        (Some(at), _, _) => format!("applied {at}"),
                        (None, _, _) => "pending".to_string(),
                    };
                    out.push_str(&format!("\n  {} {:<28} {state}", m.version, m.description));
                }
                out
            });
        }
        DbCommand::Migrate => {
            let change = store.migrate()?;
            emit(json, &change, |c| describe_change("applied", c));
        }
        DbCommand::Rollback { steps } => {
            let change = store.rollback(steps)?;
            emit(json, &change, |c| describe_change("rolled back", c));
        }
        DbCommand::Backup { path } => {
            let dest = store.backup(path)?;
            emit(json, &serde_json::json!({ "backup": dest }), |_| {
                format!("backup written to {}", dest.display())
            });
        }
        DbCommand::Restore { path } => {
            let (saved, report) = store.restore(&path)?;
            let shown =
                serde_json::json!({ "restored_from": path, "previous_saved_to": saved, "verify": report });
            emit(json, &shown, |_| {
                format!(
                    "restored from {}; the previous database was saved to {}",
                    path.display(),
                    saved.display()
                )
            });
        }
        DbCommand::Verify => {
            let report = store.verify()?;
            let ok = report.ok();
            emit(json, &report, |r| {
                format!(
                    "integrity: {}\nforeign key violations: {}\nmigrations: {} known, {} pending\n{}",
                    r.integrity,
                    r.foreign_key_violations,
                    r.migrations.len(),
                    r.pending,
                    if ok { "OK" } else { "PROBLEMS FOUND" }
                )
            });
            if !ok {
                return Err(CliError::new("verify_failed", "the database failed verification"));
            }
        }
        DbCommand::New { .. } => unreachable!("handled before opening the store"),
    }
    Ok(())
}

fn describe_change(verb: &str, change: &molt_store::sqlite::SchemaChange) -> String {
    let mut out = if change.versions.is_empty() {
        "nothing to do".to_string()
    } else {
        format!("{verb}: {}", change.versions.join(", "))
    };
    if let Some(backup) = &change.backup {
        out.push_str(&format!("\nbackup taken first: {}", backup.display()));
    }
    out
}

/// Write an empty up/down pair; never overwrites an existing file.
fn new_migration(name: &str, dir: &Path, json: bool) -> CliResult {
    let stamp = chrono::Utc::now().format("%Y%m%d%H%M%S").to_string();
    let (up, down) =
        migrations::new_file_names(&stamp, name).map_err(|e| CliError::new("invalid_name", e))?;
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    for (file, body) in [
        (&up, "-- Write the schema change here.\n"),
        (&down, "-- Undo the change made by the .up.sql file.\n"),
    ] {
        let path = dir.join(file);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| io_error(&path, e))?;
        f.write_all(body.as_bytes()).map_err(|e| io_error(&path, e))?;
    }
    let shown = serde_json::json!({ "up": dir.join(&up), "down": dir.join(&down) });
    emit(json, &shown, |_| {
        format!("created {}\ncreated {}", dir.join(&up).display(), dir.join(&down).display())
    });
    Ok(())
}

fn io_error(path: &Path, e: std::io::Error) -> CliError {
    CliError::new("io_error", StoreError::Io(format!("{}: {e}", path.display())).to_string())
}
