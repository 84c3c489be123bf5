//! `molt kb` from the command line, with the real embedding model: the starter
//! knowledge base is seeded on first use, searched in Khmer and English,
//! evaluated, and edited; bad files are refused with exit 1.

mod common;

use common::{stderr, stdout, Studio};
use std::path::PathBuf;

fn models_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../molt-data/models");
    if dir.join("e5-small-q4/e5-small-q4.bin").is_file() {
        Some(dir)
    } else {
        println!("SKIPPED: no embedding model under {}; run scripts/setup.sh", dir.display());
        None
    }
}

fn first_result_key(out: &std::process::Output) -> String {
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", stderr(out)));
    v["results"][0]["key"].as_str().unwrap_or_default().to_string()
}

#[test]
fn the_knowledge_base_is_seeded_searched_evaluated_and_edited() {
    let Some(models) = models_dir() else { return };
    let studio = Studio::new().with_env("MOLT_WHISPER__MODEL_DIR", &models.display().to_string());

    let champa = studio.run(["--json", "kb", "search", "ចម្ប៉ា"]);
    assert!(champa.status.success(), "{}", stderr(&champa));
    assert!(stderr(&champa).contains("loaded the starter knowledge base"), "{}", stderr(&champa));
    assert_eq!(first_result_key(&champa), "work-champa-battambang");

    let english = studio.run(["kb", "search", "Battambang song", "-k", "3"]);
    assert!(stdout(&english).contains("[work-champa-battambang]"), "{}", stdout(&english));
    assert!(stdout(&english).contains("source: Wikipedia"), "{}", stdout(&english));
    assert!(!stderr(&english).contains("loaded the starter"), "seeded once");

    let queries = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../kb/eval/queries.tsv");
    let eval = studio.command().args(["--json", "kb", "eval"]).arg(&queries).output().unwrap();
    let summary: serde_json::Value = serde_json::from_slice(&eval.stdout).unwrap();
    assert!(summary["recall"].as_f64().unwrap() >= 0.9, "{}", summary["recall"]);

    let list = stdout(&studio.run(["kb", "list"]));
    assert!(list.contains("artist-ros-sereysothea") && list.contains("document(s)"), "{list}");
    let show = stdout(&studio.run(["kb", "show", "genre-kantrum"]));
    assert!(show.contains("entity:  genre:") && show.contains("sources:"), "{show}");

    let note = studio.file("studio-note.md", b"---\ntitle: Our recording of Jeas Cyclo\nentity: work\nname: Jeas Cyclo\n---\nRecorded in the studio in 2026 from a 1970s cassette.\n");
    let added = studio.command().args(["kb", "add"]).arg(&note).output().unwrap();
    assert!(stdout(&added).contains("added") && stdout(&added).contains("studio-note"), "{}", stdout(&added));
    let found = studio.run(["--json", "kb", "search", "our recording of Jeas Cyclo from a cassette"]);
    assert_eq!(first_result_key(&found), "studio-note");

    let binary = studio.file("tape.md", b"\0\x01\x02binary");
    let refused = studio.command().args(["kb", "add"]).arg(&binary).output().unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("binary file"), "{}", stderr(&refused));
    let image = studio.file("cover.png", b"\x89PNG");
    let wrong = studio.command().args(["kb", "add"]).arg(&image).output().unwrap();
    assert!(stderr(&wrong).contains("expected .md, .markdown or .txt"), "{}", stderr(&wrong));

    assert!(studio.run(["kb", "remove", "studio-note"]).status.success());
    let again = studio.run(["kb", "remove", "studio-note"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("no document `studio-note`"), "{}", stderr(&again));
    assert_eq!(studio.run(["kb", "search", "   "]).status.code(), Some(1));
}
