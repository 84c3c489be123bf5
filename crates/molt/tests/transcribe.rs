//! The `transcribe` stage for real: English speech from espeak-ng, added as a
//! song, processed by local Whisper through the pipeline, exported as synced
//! LRC and VTT. (No Khmer speech can be synthesised here, so this measures
//! the machinery, not Khmer accuracy.)

mod common;

use common::{stderr, stdout, Studio};
use std::path::PathBuf;

/// The models `scripts/setup.sh` installs into the repository's data directory.
fn models_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../molt-data/models");
    if dir.join("whisper-tiny-en-ct2/model.bin").is_file() || dir.join("whisper-tiny-en.ggml.bin").is_file() {
        Some(dir)
    } else {
        eprintln!("SKIPPED: no Whisper models under {}; run scripts/setup.sh", dir.display());
        None
    }
}

/// (width, height) of every PNG in `dir`, sorted, read from the PNG header.
fn cover_sizes(dir: &std::path::Path) -> Vec<(u32, u32)> {
    let mut sizes: Vec<(u32, u32)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .filter(|b| b.starts_with(b"\x89PNG\r\n\x1a\n") && b.len() > 24)
        .map(|b| {
            (
                u32::from_be_bytes(b[16..20].try_into().unwrap()),
                u32::from_be_bytes(b[20..24].try_into().unwrap()),
            )
        })
        .collect();
    sizes.sort();
    sizes
}

fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn a_real_song_is_transcribed_locally_and_exported_as_synced_lyrics() {
    let Some(models) = models_dir() else { return };
    // No starter documents: this test is about transcription (the Historian runs, finds nothing).
    let studio = Studio::new().with_env("MOLT_KNOWLEDGE__SEED_STARTER", "false");
    let sentence = "The quick brown fox jumps over the lazy dog. Then it sleeps in the warm sun.";
    let wav = studio.dir.path().join("speech.wav");
    let spoken = std::process::Command::new("espeak-ng").arg("-w").arg(&wav).arg(sentence).status();
    assert!(spoken.is_ok_and(|s| s.success()), "espeak-ng (installed by scripts/setup.sh) must work");
    let toml = format!(
        "[whisper]\nmodel_dir = \"{}\"\n[pipeline.chains]\ntranscribe = [\"local_whisper:tiny.en\"]\n",
        models.display()
    );
    std::fs::write(studio.dir.path().join("molt.toml"), toml).unwrap();
    let added = studio
        .command()
        .args(["song", "add", "--title", "ចម្ប៉ាបាត់ដំបង", "--artist", "espeak", "--language", "en", "--audio"])
        .arg(&wav)
        .output()
        .unwrap();
    assert!(added.status.success(), "{}", stderr(&added));

    let processed = studio.run(["process", "--song", "1", "--wait"]);
    let show = stdout(&studio.run(["song", "show", "1"]));
    let stage = |name: &str| {
        show.lines().find(|l| l.trim_start().starts_with(&format!("{name} "))).unwrap_or_default().to_string()
    };
    // `transcribe`, `context` and `critique` are local and real.
    assert!(
        stage("critique").contains("done") && stage("critique").contains("by local_critic:rules"),
        "{show}\n{}{}",
        stdout(&processed),
        stderr(&processed)
    );
    assert!(
        stage("transcribe").contains("done") && stage("transcribe").contains("by local_whisper:tiny.en"),
        "{show}"
    );
    // The Historian knows nothing of this song or artist: low relevance, broadened, kept for review.
    assert!(
        stage("context").contains("done") && stage("context").contains("by local_historian:kb"),
        "{show}"
    );
    // Four real local stages, then the gate: the song waits for a person.
    assert!(stage("art").contains("done") && stage("art").contains("by local_artist:typeset"), "{show}");
    assert!(show.contains("status:   needs_human_review") || show.contains("status:   review"), "{show}");
    let covers = cover_sizes(&studio.data().join("assets/art"));
    assert_eq!(covers, [(1080, 1080), (1080, 1920)], "a square and a vertical cover are stored");

    // Review: the rights gate, then publication.
    assert_eq!(
        studio.run(["review", "approve", "1"]).status.code(),
        Some(1),
        "unknown rights need an override"
    );
    assert!(studio.run(["song", "rights", "1", "public_domain"]).status.success());
    let approved = studio.run(["review", "approve", "1"]);
    assert!(stdout(&approved).contains("published"), "{}", stderr(&approved));

    let txt = stdout(&studio.run(["lyrics", "export", "1", "--format", "txt"]));
    let (heard, said) = (words(&txt), words(sentence));
    let missing = said.iter().filter(|w| !heard.contains(w)).count();
    let error_rate = missing as f64 / said.len() as f64;
    assert!(error_rate <= 0.25, "at most a quarter of the words missed, got {error_rate:.2}: {txt}");

    let lrc = stdout(&studio.run(["lyrics", "export", "1", "--format", "lrc"]));
    assert!(lrc.lines().all(|l| l.starts_with('[')) && lrc.contains("[00:0"), "{lrc}");
    let vtt = stdout(&studio.run(["lyrics", "export", "1", "--format", "vtt"]));
    assert!(vtt.starts_with("WEBVTT") && vtt.contains(" --> "), "{vtt}");
    let versions = stdout(&studio.run(["lyrics", "versions", "1"]));
    assert!(
        versions.contains("asr") && versions.contains("ggml-tiny.en") && versions.contains("timed"),
        "{versions}"
    );
}
