//! `molt song add` accepts good songs and refuses bad input precisely, leaving
//! no row and no file behind.

mod common;

use common::{stderr, stdout, Studio};
use std::ffi::OsString;

fn add(studio: &Studio, extra: &[&str], audio: &std::path::Path) -> std::process::Output {
    let mut args: Vec<OsString> = ["song", "add"].iter().map(OsString::from).collect();
    args.extend(extra.iter().map(OsString::from));
    args.push("--audio".into());
    args.push(audio.into());
    studio.run(args)
}

/// A refused add exits 1 with `expected` in its message and leaves nothing behind.
fn assert_refused(studio: &Studio, output: &std::process::Output, expected: &str) {
    assert_eq!(output.status.code(), Some(1), "stdout: {} stderr: {}", stdout(output), stderr(output));
    assert!(stderr(output).contains(expected), "expected {expected:?} in: {}", stderr(output));
    assert_eq!(studio.song_count(), 0, "no row may be written");
    assert!(studio.stored_files().is_empty(), "no file may be left: {:?}", studio.stored_files());
}

#[test]
fn a_good_song_is_stored_content_addressed_and_listed() {
    let studio = Studio::new();
    let wav = studio.wav(1);
    let out = add(
        &studio,
        &["--title", "ចម្ប៉ាបាត់ដំបង", "--artist", "Sinn Sisamouth", "--year", "១៩៦៤", "--json"],
        &wav,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let song: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(song["status"], "pending");
    assert_eq!(song["year"], 1964);
    let sha = song["audio_sha256"].as_str().unwrap();
    let stored = studio.data().join(format!("assets/audio_in/{sha}.wav"));
    assert_eq!(std::fs::read(stored).unwrap(), std::fs::read(&wav).unwrap());

    let list = studio.run(["song", "list", "--json"]);
    let songs: serde_json::Value = serde_json::from_str(&stdout(&list)).unwrap();
    assert_eq!(songs[0]["title"], "ចម្ប៉ាបាត់ដំបង");
    let show = studio.run(["song", "show", "1"]);
    assert!(stdout(&show).contains("song.created"), "{}", stdout(&show));
}

#[test]
fn the_same_audio_twice_is_reported_not_duplicated() {
    let studio = Studio::new();
    let wav = studio.wav(2);
    assert!(add(&studio, &["--title", "a", "--artist", "b"], &wav).status.success());
    let again = add(&studio, &["--title", "other title", "--artist", "b"], &wav);
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("already added as song 1"), "{}", stderr(&again));
    assert_eq!(studio.song_count(), 1);
    assert_eq!(studio.stored_files().len(), 1);
}

#[test]
fn sql_metacharacters_in_titles_are_stored_verbatim() {
    let studio = Studio::new();
    let title = "Robert'); DROP TABLE songs;-- \" OR 1=1 <script>";
    let out = add(&studio, &["--title", title, "--artist", "x'y", "--json"], &studio.wav(3));
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = studio.run(["song", "show", "1", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&shown)).unwrap();
    assert_eq!(v["song"]["title"], title);
    assert_eq!(v["song"]["artist"]["name_latin"], "x'y");
    assert_eq!(studio.song_count(), 1);
}

#[test]
fn a_missing_title_is_refused() {
    let studio = Studio::new();
    let out = add(&studio, &["--artist", "Pan Ron"], &studio.wav(4));
    assert_refused(&studio, &out, "title is required");
}

#[test]
fn a_text_file_claiming_to_be_mp3_is_refused() {
    let studio = Studio::new();
    let fake = studio
        .file("song.mp3", b"ID3 this is really just text pretending to be an mp3\n".repeat(50).as_slice());
    let out = add(&studio, &["--title", "t", "--artist", "a"], &fake);
    assert_refused(&studio, &out, "not a supported audio format");
}

#[test]
fn a_zero_length_file_is_refused() {
    let studio = Studio::new();
    let empty = studio.file("empty.wav", b"");
    let out = add(&studio, &["--title", "t", "--artist", "a"], &empty);
    assert_refused(&studio, &out, "empty");
}

#[test]
fn a_file_over_the_size_limit_is_refused() {
    let studio = Studio::new().with_env("MOLT_AUDIO__MAX_BYTES", "10000");
    let out = add(&studio, &["--title", "t", "--artist", "a"], &studio.wav(5));
    assert_refused(&studio, &out, "the maximum allowed is 10000 bytes");
}

#[test]
fn invalid_utf8_in_metadata_is_refused() {
    use std::os::unix::ffi::OsStringExt;
    let studio = Studio::new();
    let wav = studio.wav(6);
    let bad = OsString::from_vec(vec![b'T', 0xff, 0xfe, b'x']);
    let args: Vec<OsString> = vec![
        "song".into(),
        "add".into(),
        "--title".into(),
        bad,
        "--artist".into(),
        "a".into(),
        "--audio".into(),
        wav.into(),
    ];
    let out = studio.run(args);
    assert_refused(&studio, &out, "--title is not valid UTF-8");
}

#[test]
fn a_path_traversal_audio_name_stores_nothing_outside_the_data_dir() {
    let studio = Studio::new();
    let out = add(
        &studio,
        &["--title", "t", "--artist", "a"],
        std::path::Path::new("../../../../../../etc/passwd"),
    );
    assert_refused(&studio, &out, "not a supported audio format");
    let missing =
        add(&studio, &["--title", "t", "--artist", "a"], std::path::Path::new("../../nope/../x.mp3"));
    assert_refused(&studio, &missing, "cannot read the audio file");
}

#[test]
fn an_implausible_year_and_a_bad_isrc_are_refused() {
    let studio = Studio::new();
    let out = add(&studio, &["--title", "t", "--artist", "a", "--year", "1492"], &studio.wav(7));
    assert_refused(&studio, &out, "year 1492 is not plausible");
    let out = add(&studio, &["--title", "t", "--artist", "a", "--isrc", "nope"], &studio.wav(7));
    assert_refused(&studio, &out, "ISRC `nope` is malformed");
}

#[test]
fn a_database_locked_by_another_process_is_retried_then_reported() {
    let studio = Studio::new()
        .with_env("MOLT_STORE__BUSY_TIMEOUT_MS", "100")
        .with_env("MOLT_STORE__LOCK_RETRIES", "2");
    // Create the schema first, then hold the write lock from "another process".
    assert!(studio.run(["db", "migrate"]).status.success());
    let other = rusqlite::Connection::open(studio.data().join("molt.db")).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let out = add(&studio, &["--title", "t", "--artist", "a"], &studio.wav(8));
    other.execute_batch("ROLLBACK").unwrap();
    assert_refused(&studio, &out, "locked by another process");
    assert!(stderr(&out).contains("3 attempts"), "{}", stderr(&out));
}

#[test]
fn usage_errors_exit_2() {
    let studio = Studio::new();
    let out = studio.run(["song", "add", "--title", "t"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn a_wav_named_mp3_is_refused_as_contradicting_its_name() {
    let studio = Studio::new();
    let bytes = std::fs::read(studio.wav(9)).unwrap();
    let disguised = studio.file("disguised.mp3", &bytes);
    std::fs::remove_file(studio.dir.path().join("song9.wav")).unwrap();
    let out = add(&studio, &["--title", "t", "--artist", "a"], &disguised);
    assert_refused(&studio, &out, "named as MP3 but contains WAV audio");
}

#[test]
fn legacy_limon_encoded_khmer_is_refused_with_its_unicode_reading() {
    let studio = Studio::new();
    let out = add(&studio, &["--title", "éf¶ExqñaMkMeNIt", "--artist", "a"], &studio.wav(10));
    assert_refused(&studio, &out, "title looks like Khmer typed with a legacy Limon font");
    assert!(stderr(&out).contains("ថ្ងៃខែឆ្នាំកំណើត"), "{}", stderr(&out));
}
