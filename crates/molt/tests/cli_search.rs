//! `molt query` and `molt search reindex` through the real binary (no
//! embedding model in the temporary data directory: full text only).

mod common;

use common::{stderr, stdout, Studio};
use serde_json::Value;

/// Adds a song with a title, artist and lyrics through the CLI; its id.
fn add(studio: &Studio, n: u32, title: &str, artist: &str, lyrics: &str) -> i64 {
    let wav = studio.wav(n);
    let out = studio
        .command()
        .args(["--json", "song", "add", "--title", title, "--artist", artist, "--audio"])
        .arg(&wav)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let id = serde_json::from_str::<Value>(&stdout(&out)).unwrap()["id"].as_i64().unwrap();
    let file = studio.file(&format!("lyrics{n}.txt"), lyrics.as_bytes());
    let out = studio.command().args(["lyrics", "import", &id.to_string()]).arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    id
}

#[test]
fn query_finds_a_fragment_and_answers_in_the_sop_shape() {
    let studio = Studio::new();
    let champa = add(&studio, 1, "ចម្ប៉ាបាត់ដំបង", "ស៊ីន ស៊ីសាមុត", "ផ្កាចម្ប៉ា ក្រអូប នៅស្រុកបាត់ដំបង\n");
    add(&studio, 2, "ទឹកភ្នែកលើទន្លេ", "រស់ សេរីសុទ្ធា", "ទឹកទន្លេហូរទៅឆ្ងាយ\n");

    let out = studio.run(["--json", "query", "ម្ប៉ាក្រអូបនៅស្រុ"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let body: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(body["query"], "ម្ប៉ាក្រអូបនៅស្រុ");
    assert!(body["response_time_ms"].is_u64());
    let top = &body["results"][0];
    assert_eq!(top["song_id"].as_i64(), Some(champa));
    assert_eq!(top["title"], "ចម្ប៉ាបាត់ដំបង");
    assert!(top["match_score"].as_f64().unwrap() > 0.0);
    assert!(top["snippet"].as_str().unwrap().contains('«'), "{top}");
    assert_eq!(top["status"], "pending", "the CLI is staff by default");

    // Text output; romanised input.
    let out = studio.run(["query", "champa battambang"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("1. ចម្ប៉ាបាត់ដំបង"), "{}", stdout(&out));
    assert!(stderr(&out).contains("searching without vectors"), "{}", stderr(&out));

    // As an anonymous learner: the songs are not published yet.
    let out = studio.run(["--json", "query", "ចម្ប៉ា", "--tier", "anonymous"]);
    let body: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(body["results"].as_array().map(Vec::len), Some(0), "{body}");
    assert_eq!(studio.run(["query", "x", "--tier", "gold"]).status.code(), Some(2));

    let out = studio.run(["--json", "search", "reindex"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["indexed"], 2);
    assert!(stderr(&out).contains("indexing songs: 2/2"), "{}", stderr(&out));
}

#[test]
fn bad_queries_exit_1_with_a_precise_message() {
    let studio = Studio::new();
    add(&studio, 1, "t", "a", "x\n");
    for (query, message) in [
        ("", "empty query"),
        ("  ", "empty query"),
        ("a\u{7}b", "the query has a control character (U+0007) at character 2"),
    ] {
        let out = studio.run(["query", query]);
        assert_eq!(out.status.code(), Some(1), "{query:?}");
        assert!(stderr(&out).contains(message), "{query:?}: {}", stderr(&out));
    }
    let long = "ក".repeat(1000);
    let out = studio.run(["--json", "query", &long]);
    assert_eq!(out.status.code(), Some(1));
    let error: Value = serde_json::from_str(stderr(&out).trim()).unwrap();
    assert_eq!(error["error"]["code"], "query_too_long");
    assert_eq!(error["error"]["message"], "the query is 3000 bytes; the most is 2048 bytes");
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let bad = std::ffi::OsStr::from_bytes(b"champa\xff");
        let out = studio.command().arg("query").arg(bad).output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(
            stderr(&out).contains("the query is not valid UTF-8 (bad byte at offset 6)"),
            "{}",
            stderr(&out)
        );
    }
    // FTS5 syntax is plain text.
    for query in ["\"", "NEAR(", "*", "a OR", "-x", "(", ")"] {
        let out = studio.run(["query", query]);
        assert!(out.status.success(), "{query}: {}", stderr(&out));
    }
}
