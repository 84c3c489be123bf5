//! `molt intent`: a request's intent from the command line, rules only (no model
//! needed) and, when the embedding model is installed, with it.

mod common;

use common::{stderr, stdout, Studio};
use std::path::PathBuf;

fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", stderr(out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", stdout(out)))
}

#[test]
fn rules_only_from_the_cli() {
    let studio = Studio::new();
    let v = json(&studio.run(["--json", "intent", "--rules-only", "ស្ថានភាពបទចម្រៀងលេខ១២"]));
    assert_eq!(v["intent"], "processing_status");
    assert_eq!(v["decided_by"], "rule");
    assert_eq!(v["song_id"], 12);
    assert_eq!(v["model"], false);
    assert!(v.get("scores").is_none());

    let text = stdout(&studio.run(["intent", "--rules-only", "the lyrics page is broken"]));
    assert!(text.contains("intent: bug_report"), "{text}");
    assert!(text.contains("confidence: 0.75"), "{text}");
    assert!(text.contains("rule: broken"), "{text}");
}

#[test]
fn with_the_embedding_model() {
    let models = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../molt-data/models");
    if !models.join("e5-small-q4/e5-small-q4.bin").is_file() {
        println!("SKIPPED: no embedding model under {}; run scripts/setup.sh", models.display());
        return;
    }
    let studio = Studio::new().with_env("MOLT_WHISPER__MODEL_DIR", &models.display().to_string());
    let v = json(&studio.run(["--json", "intent", "the volume slider jumps back to zero"]));
    assert_eq!(v["model"], true);
    assert_eq!(v["decided_by"], "similarity");
    assert_eq!(v["intent"], "bug_report");
    assert_eq!(v["scores"].as_array().unwrap().len(), 5);
}
