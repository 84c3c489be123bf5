//! The query log stores only redacted text: checked by reading the stored log
//! back (rows, the bug-report event, and the database files' bytes). The tracing
//! output is checked in `query_log_tracing.rs`.

use molt_search::intent::Intent;
use molt_search::redact::{log_query, BUG_REPORT_EVENT};
use molt_search::Tier;
use molt_store::{QueryLogStore, SqliteStore, StoreOptions};
use std::path::Path;
use std::time::Duration;

fn options(dir: &Path) -> StoreOptions {
    StoreOptions {
        path: dir.join("molt.db"),
        backup_dir: dir.join("backups"),
        busy_timeout: Duration::from_millis(100),
        lock_retries: 1,
        read_connections: 2,
    }
}

const TOKEN: &str = "molt_9c1f0e7a5b3d2c4e6f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6";

/// (raw query, intent, what must not be stored, what must be).
fn cases() -> Vec<(String, Intent, Vec<&'static str>, Vec<&'static str>)> {
    vec![
        (
            "lyrics of Champa Battambang, send to dara.sok@example.com".into(),
            Intent::LyricsRequest,
            vec!["dara.sok@example.com", "dara.sok"],
            vec!["lyrics of Champa Battambang", "[email]"],
        ),
        (
            "where is my song #12? call me +855 12 345 678".into(),
            Intent::ProcessingStatus,
            vec!["345 678", "+855"],
            vec!["#12", "[phone]"],
        ),
        (
            "បទចម្រៀងរបស់ខ្ញុំនៅឯណា? លេខទូរស័ព្ទ ០១២ ៣៤៥ ៦៧៨ អ៊ីមែល sokha@gmail.com".into(),
            Intent::ProcessingStatus,
            vec!["០១២ ៣៤៥ ៦៧៨", "sokha@gmail.com"],
            vec!["បទចម្រៀងរបស់ខ្ញុំនៅឯណា", "[phone]", "[email]"],
        ),
        (
            format!("the app crashes with my token {TOKEN} and Bearer abc123def456ghi, phone 012-345-678"),
            Intent::BugReport,
            vec![TOKEN, "9c1f0e7a5b3d", "abc123def456ghi", "012-345-678"],
            vec!["the app crashes", "[token]", "Bearer [token]", "[phone]"],
        ),
        (
            "Sinn Sisamouth 1967 see https://dara:hunter2@example.com/x".into(),
            Intent::SongSearch,
            vec!["hunter2", "dara:"],
            vec!["Sinn Sisamouth 1967", "[credentials]@example.com"],
        ),
    ]
}

#[test]
fn the_stored_log_holds_placeholders_never_the_personal_data() {
    let dir = tempfile::tempdir().unwrap();
    let opts = options(dir.path());
    let store = SqliteStore::open_migrated(&opts).unwrap();
    let cases = cases();
    for (i, (raw, intent, _, _)) in cases.iter().enumerate() {
        log_query(&store, raw, *intent, i, 10 * i as u64, Tier::Anonymous).unwrap();
    }

    let mut rows = store.query_log(100).unwrap();
    rows.reverse();
    assert_eq!(rows.len(), cases.len());
    for ((raw, intent, secrets, kept), row) in cases.iter().zip(&rows) {
        assert_eq!(row.intent, intent.as_str());
        assert_eq!(row.tier, "anonymous");
        for secret in secrets {
            assert!(!row.query_redacted.contains(secret), "{secret:?} stored: {:?}", row.query_redacted);
        }
        for text in kept {
            assert!(
                row.query_redacted.contains(text),
                "{text:?} missing: {:?} (from {raw:?})",
                row.query_redacted
            );
        }
    }

    // The bug report became one event for engineering, with the redacted text.
    let events = store.events_of_kind(BUG_REPORT_EVENT, 10).unwrap();
    assert_eq!(events.len(), 1);
    let details = &events[0].details;
    assert_eq!(details["route_to"], "engineer");
    assert_eq!(details["intent"], "bug_report");
    assert_eq!(details["query_log_id"], rows[3].id);
    assert_eq!(details["text"], rows[3].query_redacted.as_str());
    assert_eq!(events[0].actor, "user:anonymous");

    // Nothing of the raw queries is anywhere in the database files.
    drop(store);
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            bytes.extend(std::fs::read(&path).unwrap());
        }
    }
    let haystack = String::from_utf8_lossy(&bytes);
    for (_, _, secrets, _) in &cases {
        for secret in secrets {
            assert!(!haystack.contains(secret), "{secret:?} found in the database files");
        }
    }
    assert!(haystack.contains("[email]"));
}
