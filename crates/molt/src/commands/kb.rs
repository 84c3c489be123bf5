//! `molt kb add|list|show|remove|search|seed|eval`: the Historian's knowledge base.

use super::open_store;
use crate::cli::KbCommand;
use crate::output::{emit, CliError, CliResult};
use crate::studio::{kb_error, knowledge_base};
use molt_core::knowledge::KbDocument;
use molt_core::Config;
use molt_kb::{DocumentHit, KnowledgeBase};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;

const ACTOR: &str = "cli";

pub async fn run(config: &Config, command: KbCommand, json: bool) -> CliResult {
    let store = open_store(config).await?;
    let kb = knowledge_base(config, &store)?;
    let seed = config.knowledge.seed_starter;
    // The model and the store are blocking work: keep it off the async runtime.
    tokio::task::spawn_blocking(move || run_blocking(&kb, command, json, seed))
        .await
        .map_err(|e| CliError::new("runtime", e.to_string()))?
}

fn run_blocking(kb: &Arc<KnowledgeBase>, command: KbCommand, json: bool, seed: bool) -> CliResult {
    match command {
        KbCommand::Add { paths } => add(kb, &paths, json),
        KbCommand::List => {
            ensure_seeded(kb, seed)?;
            let docs = kb.list().map_err(kb_error)?;
            emit(json, &docs, |d| list_text(d));
            Ok(())
        }
        KbCommand::Show { key } => show(kb, &key, json),
        KbCommand::Remove { key } => {
            if !kb.remove(&key, ACTOR).map_err(kb_error)? {
                return Err(CliError::new("not_found", format!("no document `{key}` in the knowledge base")));
            }
            emit(json, &json!({ "removed": key }), |_| format!("removed {key}"));
            Ok(())
        }
        KbCommand::Search { query, limit } => {
            ensure_seeded(kb, seed)?;
            let hits = kb.search(&query, limit).map_err(kb_error)?;
            let shown: Vec<Value> = hits.iter().map(hit_json).collect();
            emit(json, &json!({ "query": query, "results": shown }), |_| search_text(&hits));
            Ok(())
        }
        KbCommand::Seed => {
            let added = molt_kb::starter::seed(kb, ACTOR).map_err(kb_error)?;
            emit(json, &added, |a| added_text(a));
            Ok(())
        }
        KbCommand::Eval { file, top } => eval(kb, &file, top, json, seed),
    }
}

fn ensure_seeded(kb: &KnowledgeBase, seed: bool) -> CliResult {
    if !seed || !molt_kb::starter::needs_seeding(kb).map_err(kb_error)? {
        return Ok(());
    }
    let count = molt_kb::starter::documents().len();
    eprintln!("loading the starter knowledge base ({count} documents; embedding them happens once and takes a while)…");
    if let Some(added) = molt_kb::starter::ensure_seeded(kb, ACTOR).map_err(kb_error)? {
        eprintln!("loaded the starter knowledge base ({} documents)", added.len());
    }
    Ok(())
}

fn add(kb: &KnowledgeBase, paths: &[std::path::PathBuf], json: bool) -> CliResult {
    let mut added = Vec::new();
    for path in paths {
        added.extend(kb.add_path(path, ACTOR).map_err(kb_error)?);
    }
    emit(json, &added, |a| added_text(a));
    Ok(())
}

fn added_text(added: &[molt_kb::Added]) -> String {
    let mut out: Vec<String> = added
        .iter()
        .map(|a| {
            let converted = match a.converted_paragraphs {
                0 => String::new(),
                n => format!(", {n} legacy Limon paragraph(s) converted"),
            };
            format!(
                "{:<10} {:<40} {} chunk(s){converted}",
                format!("{:?}", a.outcome).to_lowercase(),
                a.key,
                a.chunks
            )
        })
        .collect();
    out.push(format!("{} document(s)", added.len()));
    out.join("\n")
}

fn entity(doc: &KbDocument) -> String {
    doc.entity.as_ref().map(ToString::to_string).unwrap_or_else(|| "-".into())
}

fn list_text(docs: &[KbDocument]) -> String {
    if docs.is_empty() {
        return "the knowledge base is empty (molt kb add FILE|DIR, or molt kb seed)".into();
    }
    let mut out: Vec<String> = docs
        .iter()
        .map(|d| format!("{:<36} {:<34} {:>3} chunk(s)  {}", d.key, entity(d), d.chunks, d.title))
        .collect();
    out.push(format!("{} document(s)", docs.len()));
    out.join("\n")
}

fn show(kb: &KnowledgeBase, key: &str, json: bool) -> CliResult {
    let doc =
        kb.store().kb_document(key).map_err(CliError::from)?.ok_or_else(|| {
            CliError::new("not_found", format!("no document `{key}` in the knowledge base"))
        })?;
    emit(json, &doc, |d| {
        let mut out = vec![
            format!("{}  ({})", d.title, d.key),
            format!("entity:  {}", entity(d)),
            format!("aliases: {}", d.aliases.join(", ")),
            format!("related: {}", d.related.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")),
            format!("origin:  {}  ({} bytes, {} chunks, {})", d.origin, d.bytes, d.chunks, d.model),
            "sources:".into(),
        ];
        out.extend(d.sources.iter().map(|s| format!("  - {s}")));
        out.join("\n")
    });
    Ok(())
}

fn hit_json(hit: &DocumentHit) -> Value {
    json!({
        "key": hit.document.key,
        "title": hit.document.title,
        "entity": hit.document.entity.as_ref().map(ToString::to_string),
        "score": hit.score,
        "cosine": hit.cosine,
        "keywords": hit.keywords,
        "name_match": hit.name_match,
        "heading": hit.heading,
        "passage": hit.passage,
        "sources": hit.document.sources,
    })
}

fn search_text(hits: &[DocumentHit]) -> String {
    if hits.is_empty() {
        return "no documents (the knowledge base is empty)".into();
    }
    let blocks: Vec<String> = hits
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let passage: String = h.passage.chars().take(240).collect();
            let more = if h.passage.chars().count() > 240 { "…" } else { "" };
            let source = h.document.sources.first().map(String::as_str).unwrap_or("no source given");
            format!(
                "{}. {}  [{}]\n   {}  (cosine {:.3}, keywords {:.2}{})\n   {}{more}\n   source: {source}",
                i + 1,
                h.document.title,
                h.document.key,
                entity(&h.document),
                h.cosine,
                h.keywords,
                if h.name_match { ", name match" } else { "" },
                passage.replace('\n', " "),
            )
        })
        .collect();
    blocks.join("\n\n")
}

/// Each line `query<TAB>expected`: found when `expected` (a file name or key)
/// is among the top `top` documents.
fn eval(kb: &KnowledgeBase, file: &Path, top: usize, json: bool, seed: bool) -> CliResult {
    ensure_seeded(kb, seed)?;
    let text = std::fs::read_to_string(file)
        .map_err(|e| CliError::new("io_error", format!("cannot read {}: {e}", file.display())))?;
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1).filter(|(_, l)| !l.trim().is_empty()) {
        let (query, expected) = line.split_once('\t').ok_or_else(|| {
            CliError::new("invalid_input", format!("{}:{}: not `query<TAB>expected`", file.display(), i + 1))
        })?;
        let expected = expected.trim().trim_end_matches(".md").to_string();
        let hits = kb.search(query, top).map_err(kb_error)?;
        let rank = hits.iter().position(|h| h.document.key == expected).map(|r| r + 1);
        let got: Vec<&str> = hits.iter().map(|h| h.document.key.as_str()).collect();
        rows.push(json!({ "query": query, "expected": expected, "rank": rank, "top": got }));
    }
    let found = rows.iter().filter(|r| !r["rank"].is_null()).count();
    let summary = json!({
        "queries": rows.len(), "found": found, "top": top,
        "recall": if rows.is_empty() { 0.0 } else { found as f64 / rows.len() as f64 },
        "results": rows,
    });
    emit(json, &summary, eval_text);
    Ok(())
}

fn eval_text(summary: &Value) -> String {
    let mut out: Vec<String> = summary["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["rank"].is_null())
        .map(|r| format!("missed: {}  (expected {}, got {})", r["query"], r["expected"], r["top"]))
        .collect();
    out.push(format!(
        "{} of {} queries have their document in the top {} ({:.1}%)",
        summary["found"],
        summary["queries"],
        summary["top"],
        summary["recall"].as_f64().unwrap_or_default() * 100.0
    ));
    out.join("\n")
}
