//! `molt process`, `molt budget` and `molt price` from the command line.

mod common;

use common::{stderr, stdout, Studio};

#[test]
fn processing_with_the_default_chains_fails_clearly_until_local_providers_exist() {
    let studio = Studio::new();
    let wav = studio.wav(1);
    assert!(studio
        .command()
        .args(["song", "add", "--title", "t", "--artist", "a", "--audio"])
        .arg(&wav)
        .status()
        .unwrap()
        .success());
    let out = studio.run(["process", "--song", "1", "--wait"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains("local_whisper:base is not built into this molt yet"), "{}", stdout(&out));
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
