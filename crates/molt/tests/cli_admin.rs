//! `molt db …`, `molt token …` and `molt config show`.

mod common;

use common::{stderr, stdout, Studio};

#[test]
fn db_status_migrate_backup_verify_restore() {
    let studio = Studio::new();
    let status = studio.run(["db", "status"]);
    assert!(stdout(&status).contains("pending"), "{}", stdout(&status));
    let migrate = studio.run(["db", "migrate"]);
    assert!(migrate.status.success(), "{}", stderr(&migrate));
    assert!(
        stdout(&migrate).contains(
            "applied: 20261121000001, 20261121000002, 20261121000003, 20261121000004, 20261121000005, 20261121000006, \
             20261121000007, 20261121000008, 20261121000009, 20261121000010, 20261121000011, 20261121000012"
        ),
        "{}",
        stdout(&migrate)
    );
    let wav = studio.wav(1);
    assert!(studio
        .command()
        .args(["song", "add", "--title", "kept", "--artist", "a", "--audio"])
        .arg(&wav)
        .status()
        .unwrap()
        .success());

    let backup = studio.dir.path().join("b.db");
    let out = studio.command().args(["db", "backup"]).arg(&backup).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let verify = studio.run(["db", "verify"]);
    assert!(verify.status.success() && stdout(&verify).contains("integrity: ok"), "{}", stdout(&verify));

    let wav2 = studio.wav(2);
    assert!(studio
        .command()
        .args(["song", "add", "--title", "later", "--artist", "a", "--audio"])
        .arg(&wav2)
        .status()
        .unwrap()
        .success());
    assert_eq!(studio.song_count(), 2);

    let junk = studio.file("junk.db", b"SQLite format 3\0 but not really");
    let refused = studio.command().args(["db", "restore"]).arg(&junk).output().unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("SQLite"), "{}", stderr(&refused));
    assert_eq!(studio.song_count(), 2, "a refused restore changes nothing");

    let restored = studio.command().args(["db", "restore"]).arg(&backup).output().unwrap();
    assert!(restored.status.success(), "{}", stderr(&restored));
    assert_eq!(studio.song_count(), 1);

    let rollback = studio.run(["db", "rollback"]);
    assert!(stdout(&rollback).contains("rolled back: 20261121000012"), "{}", stdout(&rollback));
    assert!(stdout(&rollback).contains("backup taken first"), "{}", stdout(&rollback));
    assert_eq!(studio.song_count(), 1);
}

#[test]
fn db_new_writes_a_pair_and_never_overwrites() {
    let studio = Studio::new();
    let out = studio.run(["db", "new", "Add lyrics index!", "--dir", "m"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let names: Vec<String> = std::fs::read_dir(studio.dir.path().join("m"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names.iter().any(|n| n.ends_with("_add_lyrics_index.up.sql")), "{names:?}");
    let bad = studio.run(["db", "new", "!!!"]);
    assert_eq!(bad.status.code(), Some(1));
}

#[test]
fn tokens_are_shown_once_and_stored_hashed() {
    let studio = Studio::new();
    let out = studio.run(["token", "create", "--role", "operator", "--name", "dara", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let secret = v["token"].as_str().unwrap().to_string();
    assert!(secret.starts_with("molt_"));
    let list = studio.run(["token", "list"]);
    assert!(stdout(&list).contains("dara") && !stdout(&list).contains(&secret), "{}", stdout(&list));
    let raw = std::fs::read(studio.data().join("molt.db")).unwrap();
    let wal = std::fs::read(studio.data().join("molt.db-wal")).unwrap_or_default();
    for bytes in [raw, wal] {
        assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "the secret is never stored");
    }
    let bad = studio.run(["token", "create", "--role", "god", "--name", "x"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("unknown role `god`"), "{}", stderr(&bad));
}

#[test]
fn config_show_redacts_secrets_and_reports_bad_config() {
    let studio = Studio::new().with_env("MOLT_TELEGRAM__BOT_TOKEN", "123456:super-secret-value");
    let out = studio.run(["config", "show"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("listen = \"127.0.0.1:8080\""), "{}", stdout(&out));
    assert!(!stdout(&out).contains("super-secret-value") && stdout(&out).contains("[redacted]"));

    std::fs::write(studio.dir.path().join("molt.toml"), "[server]\nlisten = 8080\n").unwrap();
    let bad = studio.run(["config", "show"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("listen"), "{}", stderr(&bad));
}
