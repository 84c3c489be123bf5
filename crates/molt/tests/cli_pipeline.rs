//! `molt process`, `molt budget` and `molt price` from the command line.

mod common;

use common::{stderr, stdout, Studio};

#[test]
fn processing_without_the_model_file_fails_clearly_and_fakes_nothing() {
    let studio = Studio::new();
    studio.add_song(1);
    let out = studio.run(["process", "--song", "1", "--wait"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains("local_whisper:base: the model file"), "{}", stdout(&out));
    assert!(stdout(&out).contains("run scripts/setup.sh"), "{}", stdout(&out));
    assert!(stderr(&out).contains("1 of 1 song(s) failed"), "{}", stderr(&out));
    let show = studio.run(["song", "show", "1"]);
    assert!(stdout(&show).contains("transcribe failed, 1 attempt(s)"), "{}", stdout(&show));
    assert!(stdout(&show).contains("to engineer"), "{}", stdout(&show));
    assert_eq!(studio.run(["process"]).status.code(), Some(1), "nothing named");
    let again = studio.run(["process", "--song", "99"]);
    assert!(stderr(&again).contains("song 99 not found"), "{}", stderr(&again));
}

#[test]
fn budgets_and_prices_are_editable_and_validated() {
    let studio = Studio::new();
    let set = studio.run(["budget", "set", "--per-song", "0.40", "--per-day", "$12"]);
    assert!(set.status.success(), "{}", stderr(&set));
    let shown = studio.run(["budget", "show", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&shown)).unwrap();
    assert_eq!(v["caps_micro_usd"]["per_song"], 400_000);
    assert_eq!(v["caps_micro_usd"]["per_day"], 12_000_000);
    assert_eq!(studio.run(["budget", "set", "--per-song", "lots"]).status.code(), Some(1));

    let price = studio.run(["price", "set", "studio", "whisper-1", "audio_second", "100", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&price)).unwrap();
    assert_eq!(v[0]["micro_usd_per_unit"], 100.0);
    let bad = studio.run(["price", "set", "studio", "whisper-1", "minutes", "1"]);
    assert!(stderr(&bad).contains("unknown unit `minutes`"), "{}", stderr(&bad));
}

#[test]
fn lyrics_import_and_export_round_trip_from_the_cli() {
    let studio = Studio::new();
    studio.add_song(2);
    let srt = "1\n00:00:01,000 --> 00:00:03,200\nខ្ញុំស្រលាញ់អូន\n\n2\n00:00:03,500 --> 00:00:06,000\nណាស់\n";
    let file = studio.file("song.srt", srt.as_bytes());
    let out = studio.command().args(["lyrics", "import", "1"]).arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("lyrics version 1 added (2 lines)"), "{}", stdout(&out));
    let exported = studio.run(["lyrics", "export", "1", "--format", "srt"]);
    assert_eq!(stdout(&exported), srt, "export → import → export is identical");
    let lrc = studio.run(["lyrics", "export", "1", "--format", "lrc"]);
    assert!(stdout(&lrc).contains("[00:01.00]ខ្ញុំស្រលាញ់អូន"), "{}", stdout(&lrc));
    let versions = studio.run(["lyrics", "versions", "1"]);
    assert!(stdout(&versions).contains("v1") && stdout(&versions).contains("human"), "{}", stdout(&versions));

    let bad = studio.file("bad.lrc", b"[00:01.00]fine\n[xx:01.00]broken\n");
    let out = studio.command().args(["lyrics", "import", "1"]).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("line 2"), "{}", stderr(&out));
    let none = studio.run(["lyrics", "export", "1", "--version", "7"]);
    assert!(stderr(&none).contains("no lyrics version 7"), "{}", stderr(&none));
}
