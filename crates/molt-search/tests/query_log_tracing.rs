//! `log_query`'s log lines carry ids and counts, never the query text. Alone in
//! its test binary: tracing caches per-callsite interest, so a test calling the same
//! callsites on another thread without a subscriber could make lines go missing.

use molt_search::intent::Intent;
use molt_search::redact::log_query;
use molt_search::Tier;
use molt_store::{SqliteStore, StoreOptions};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Collects formatted tracing output.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn log_lines_carry_no_query_text() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_migrated(&StoreOptions {
        path: dir.path().join("molt.db"),
        backup_dir: dir.path().join("backups"),
        busy_timeout: Duration::from_millis(100),
        lock_retries: 1,
        read_connections: 2,
    })
    .unwrap();
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let raw = "the page is broken, mail sokha@example.com or call 012 345 678";
    let logged = tracing::subscriber::with_default(subscriber, || {
        log_query(&store, raw, Intent::BugReport, 0, 7, Tier::Free).unwrap()
    });
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("query logged"), "{text}");
    assert!(text.contains("bug report recorded for engineering"), "{text}");
    assert!(text.contains(&format!("query_log_id={}", logged.id)), "{text}");
    for leak in ["sokha", "012 345 678", "page is broken", "[email]"] {
        assert!(!text.contains(leak), "{leak:?} in the log: {text}");
    }
}
