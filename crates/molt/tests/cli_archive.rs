//! `molt song archive` / `molt song unarchive` end to end on the real binary.

mod common;

use common::{stderr, stdout, Studio};
use serde_json::Value;

#[test]
fn a_published_song_is_archived_and_unarchived_and_anything_else_is_refused() {
    let studio = Studio::new();
    studio.add_song(1);
    let audio = studio.stored_files();
    assert_eq!(audio.len(), 1);
    let rel = audio[0].strip_prefix(studio.data()).unwrap().to_string_lossy().into_owned();
    let bytes = std::fs::read(&audio[0]).unwrap();

    // Not published yet: refused, nothing moves.
    let early = studio.run(["song", "archive", "1"]);
    assert_eq!(early.status.code(), Some(1));
    assert!(stderr(&early).contains("song 1 is pending, not published"), "{}", stderr(&early));
    assert!(audio[0].is_file());

    let conn = rusqlite::Connection::open(studio.data().join("molt.db")).unwrap();
    conn.execute("UPDATE songs SET status = 'review' WHERE id = 1", []).unwrap();
    assert!(studio.run(["song", "rights", "1", "public_domain"]).status.success());
    let approved = studio.run(["review", "approve", "1"]);
    assert!(approved.status.success(), "{}", stderr(&approved));

    let archived = studio.run(["song", "archive", "1"]);
    assert!(archived.status.success(), "{}", stderr(&archived));
    let text = stdout(&archived);
    assert!(text.starts_with("song 1 (song 1) archived, status archived"), "{text}");
    assert!(text.contains(&format!("moved audio {rel} -> archive/{rel}")), "{text}");
    assert!(!audio[0].exists());
    assert_eq!(std::fs::read(studio.data().join("archive").join(&rel)).unwrap(), bytes);
    let path: String = conn.query_row("SELECT path FROM assets", [], |r| r.get(0)).unwrap();
    assert_eq!(path, format!("archive/{rel}"));
    let show = stdout(&studio.run(["song", "show", "1"]));
    assert!(show.contains("song.archived"), "{show}");

    let again = studio.run(["song", "archive", "1", "--json"]);
    assert_eq!(again.status.code(), Some(1));
    let error: Value = serde_json::from_str(stderr(&again).trim()).unwrap();
    assert_eq!(error["error"]["code"], "not_published");

    let back = studio.run(["song", "unarchive", "1", "--json"]);
    assert!(back.status.success(), "{}", stderr(&back));
    let report: Value = serde_json::from_str(&stdout(&back)).unwrap();
    assert_eq!(report["status"], "published");
    assert_eq!(report["action"], "unarchived");
    assert_eq!(report["files"][0]["to"], rel.as_str());
    assert_eq!(std::fs::read(&audio[0]).unwrap(), bytes, "restored byte for byte");
    assert!(!studio.data().join("archive").join(&rel).exists());

    let not_archived = studio.run(["song", "unarchive", "1"]);
    assert_eq!(not_archived.status.code(), Some(1));
    assert!(stderr(&not_archived).contains("is published, not archived"), "{}", stderr(&not_archived));
    let missing = studio.run(["song", "unarchive", "7"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("song 7 not found"), "{}", stderr(&missing));

    let candidates = studio.run(["song", "archive", "--candidates"]);
    assert!(candidates.status.success(), "{}", stderr(&candidates));
    assert!(stdout(&candidates).contains("no archive candidates"), "{}", stdout(&candidates));
    let usage = studio.run(["song", "archive"]);
    assert_eq!(usage.status.code(), Some(2));
}
