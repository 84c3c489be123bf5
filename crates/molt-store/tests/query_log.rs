//! The query log: rows read back newest first, a bug report's event written with
//! its row, and the schema refusing what it must.

use molt_store::{NewQueryLog, QueryEvent, QueryLogStore, SqliteStore, StoreOptions};
use std::path::Path;
use std::time::Duration;

fn store(dir: &Path) -> SqliteStore {
    SqliteStore::open_migrated(&StoreOptions {
        path: dir.join("molt.db"),
        backup_dir: dir.join("backups"),
        busy_timeout: Duration::from_millis(100),
        lock_retries: 1,
        read_connections: 2,
    })
    .unwrap()
}

fn entry(text: &str, intent: &str) -> NewQueryLog {
    NewQueryLog {
        query_redacted: text.into(),
        intent: intent.into(),
        result_count: 3,
        response_ms: 42,
        tier: "anonymous".into(),
        event: None,
    }
}

#[test]
fn rows_come_back_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let first = store.log_query(entry("ចម្ប៉ាបាត់ដំបង", "song_search")).unwrap();
    let second = store.log_query(entry("lyrics please", "lyrics_request")).unwrap();
    assert!(second.id > first.id);
    assert_eq!(first.event_id, None);
    let rows = store.query_log(10).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].query_redacted, "lyrics please");
    assert_eq!((rows[1].query_redacted.as_str(), rows[1].intent.as_str()), ("ចម្ប៉ាបាត់ដំបង", "song_search"));
    assert_eq!((rows[1].result_count, rows[1].response_ms, rows[1].tier.as_str()), (3, 42, "anonymous"));
    assert_eq!(store.query_log(1).unwrap().len(), 1);
}

#[test]
fn an_event_is_written_with_its_row() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let mut bug = entry("the app crashes", "bug_report");
    bug.event = Some(QueryEvent {
        actor: "user:anonymous".into(),
        kind: "user.bug_report".into(),
        details: serde_json::json!({ "text": "the app crashes", "route_to": "engineer" }),
    });
    let logged = store.log_query(bug).unwrap();
    let events = store.events_of_kind("user.bug_report", 10).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(Some(events[0].id), logged.event_id);
    assert_eq!(events[0].details["query_log_id"], logged.id);
    assert_eq!(events[0].details["route_to"], "engineer");
    assert!(store.events_of_kind("song.created", 10).unwrap().is_empty());
}

#[test]
fn an_unknown_intent_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let mut bad = entry("x", "chit_chat");
    bad.event = Some(QueryEvent {
        actor: "user:anonymous".into(),
        kind: "user.bug_report".into(),
        details: serde_json::json!({}),
    });
    assert!(store.log_query(bad).is_err());
    assert!(store.query_log(10).unwrap().is_empty());
    assert!(store.events_of_kind("user.bug_report", 10).unwrap().is_empty());
    // The table has no column a raw query could go into.
    let columns = store
        .read(|c| {
            let mut stmt = c.prepare("SELECT name FROM pragma_table_info('query_log') ORDER BY cid")?;
            let names = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
            Ok(names)
        })
        .unwrap();
    assert_eq!(
        columns,
        ["id", "query_redacted", "intent", "result_count", "response_ms", "tier", "created_at"]
    );
}
