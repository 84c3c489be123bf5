//! `molt intent TEXT`: what a learner's or fan's request is, as search sees it
//! (molt_search::intent): intent, confidence and the rule that fired.

use crate::commands::segmenter;
use crate::output::{emit, CliError, CliResult};
use molt_core::Config;
use molt_search::intent::{Classification, Intent, IntentClassifier};
use serde::Serialize;
use std::sync::Arc;

#[derive(Serialize)]
struct Shown {
    #[serde(flatten)]
    classification: Classification,
    /// Whether the embedding model was used (rules only without it).
    model: bool,
    /// Each intent's similarity score (before the nudge to the rules' guess), best
    /// first; with the model only.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    scores: Vec<Score>,
}

#[derive(Serialize)]
struct Score {
    intent: Intent,
    score: f32,
}

pub fn run(config: &Config, text: String, rules_only: bool, json: bool) -> CliResult {
    let segmenter = Arc::new(segmenter(config)?);
    let path = config.embedding_model_path();
    let use_model = !rules_only && path.is_file();
    if !rules_only && !use_model {
        eprintln!(
            "note: no embedding model at {} (scripts/setup.sh installs it): rules only",
            path.display()
        );
    }
    let embedder = use_model.then(|| crate::studio::embedder(config));
    let classifier = IntentClassifier::with_segmenter(segmenter, embedder)
        .map_err(|e| CliError::new("embedding_failed", e.to_string()))?;
    let scores =
        classifier.similarities(&text).into_iter().map(|(intent, score)| Score { intent, score }).collect();
    let shown = Shown { classification: classifier.classify(&text), model: use_model, scores };
    emit(json, &shown, |s| {
        let c = &s.classification;
        let mut out = format!(
            "intent: {}\nconfidence: {:.2}\ndecided by: {}",
            c.intent,
            c.confidence,
            c.decided_by.as_str()
        );
        if let Some(rule) = &c.rule {
            out.push_str(&format!("\nrule: {rule}"));
        }
        if let Some(id) = c.song_id {
            out.push_str(&format!("\nsong id: {id}"));
        }
        if !s.scores.is_empty() {
            let scores: Vec<String> =
                s.scores.iter().map(|s| format!("{} {:.3}", s.intent, s.score)).collect();
            out.push_str(&format!("\nsimilarity (before the nudge): {}", scores.join(", ")));
        }
        out
    });
    Ok(())
}
