//! "Where is my song?" through the real binary: `molt song status` and
//! `molt query` with a status question naming a song.

mod common;

use common::{stderr, stdout, Studio};
use serde_json::Value;

#[test]
fn song_status_follows_a_song_from_upload_to_the_queue() {
    let studio = Studio::new();
    studio.add_song(1);
    let out = studio.run(["song", "status", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "Song 1 \"song 1\": pending — not queued for processing yet (0 of 4 stages done)"
    );

    let queued = studio.run(["process", "--song", "1"]);
    assert!(queued.status.success(), "{}", stderr(&queued));
    // Khmer digits name the same song.
    let out = studio.run(["--json", "song", "status", "១"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let answer: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!((answer["song_id"].as_i64(), answer["status"].as_str()), (Some(1), Some("pending")));
    assert_eq!((answer["stage"].as_str(), answer["stage_number"].as_u64()), (Some("transcribe"), Some(1)));
    assert_eq!(
        (answer["job"]["state"].as_str(), answer["job"]["attempt"].as_u64()),
        (Some("queued"), Some(1))
    );
    assert_eq!(answer["eta"]["basis"], "defaults");
    assert_eq!(answer["eta"]["stages"].as_array().unwrap().len(), 4);
    let summary = answer["summary"].as_str().unwrap();
    assert!(summary.contains("stage 1 of 4 (transcribe) queued, next in line; about "), "{summary}");
    assert!(summary.ends_with("left (default estimates: no run history yet)"), "{summary}");

    let missing = studio.run(["--json", "song", "status", "9"]);
    assert_eq!(missing.status.code(), Some(1));
    let error: Value = serde_json::from_str(&stderr(&missing)).unwrap();
    assert_eq!(error["error"]["code"], "not_found");
    let bad = studio.run(["song", "status", "nine"]);
    assert_eq!(bad.status.code(), Some(2), "a malformed id is a usage error");
}

#[test]
fn a_status_question_naming_a_song_gets_its_status_not_search_results() {
    let studio = Studio::new();
    studio.add_song(1);
    let out = studio.run(["query", "where is song 1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("Song 1 \"song 1\": pending — not queued"), "{}", stdout(&out));

    let out = studio.run(["--json", "query", "ស្ថានភាពបទចម្រៀងលេខ១"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let answer: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        (answer["song_id"].as_i64(), answer["progress"].as_str()),
        (Some(1), Some("0 of 4 stages done"))
    );
    assert!(answer.get("results").is_none(), "a status object, not search results");

    // Learners see published songs only: this one does not exist for them.
    let hidden = studio.run(["query", "where is song 1", "--tier", "anonymous"]);
    assert_eq!(hidden.status.code(), Some(1));
    assert!(stderr(&hidden).contains("song 1 not found"), "{}", stderr(&hidden));
    // Without a song id it is still a search.
    let out = studio.run(["--json", "query", "where is my song"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let body: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(body["results"].is_array(), "{body}");
}
