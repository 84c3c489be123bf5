//! `molt bench recall`: recall@k of queries with a known answer.
//!
//! The file is tab-separated, `kind<TAB>query<TAB>reference key`, `#` starts a
//! comment. Kinds are reported apart (`fragment`: Khmer lyric fragments typed
//! without spaces; `romanised`: Latin titles; `english`: descriptions). A query
//! counts as found when its reference song is among the first k results an
//! anonymous listener gets (the real service, real model, no rate limit).

use super::{blocking, open_corpus, read_manifest, search_service};
use crate::commands::search::search_error;
use crate::output::{emit, CliError, CliResult};
use molt_core::Config;
use molt_search::{Requester, SearchService, Tier};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// How deep a miss is looked for, to say where the song ranked.
const MISS_DEPTH: usize = 100;

#[derive(Debug, Clone)]
pub struct Query {
    pub kind: String,
    pub text: String,
    pub key: String,
}

#[derive(Debug, Serialize)]
pub struct RecallReport {
    pub k: usize,
    pub songs: usize,
    /// Per kind: queries, found, recall.
    pub kinds: BTreeMap<String, KindRecall>,
    pub misses: Vec<Miss>,
}

#[derive(Debug, Default, Serialize)]
pub struct KindRecall {
    pub queries: usize,
    pub found: usize,
    pub recall: f64,
}

#[derive(Debug, Serialize)]
pub struct Miss {
    pub kind: String,
    pub query: String,
    pub expected: String,
    /// 1-based rank within the first 100 (staff view), if there.
    pub rank: Option<usize>,
    /// The titles that came first instead.
    pub got: Vec<String>,
}

pub async fn run(config: &Config, file: &Path, k: usize, json: bool) -> CliResult {
    let text = std::fs::read_to_string(file)
        .map_err(|e| CliError::new("io_error", format!("{}: {e}", file.display())))?;
    let queries =
        parse(&text).map_err(|e| CliError::new("invalid_queries", format!("{}: {e}", file.display())))?;
    let manifest = read_manifest(config)?;
    let store = open_corpus(config).await?;
    let (service, _) = search_service(config, &store)?;
    let report =
        blocking(move || evaluate(&service, &queries, &manifest.reference, k, manifest.songs)).await?;
    emit(json, &report, render);
    Ok(())
}

/// The queries of a TSV file.
pub fn parse(text: &str) -> Result<Vec<Query>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let [kind, text, key] = fields[..] else {
            return Err(format!("line {}: expected kind<TAB>query<TAB>key", n + 1));
        };
        out.push(Query { kind: kind.trim().into(), text: text.trim().into(), key: key.trim().into() });
    }
    Ok(out)
}

/// Runs every query; `reference` maps keys to song ids.
pub fn evaluate(
    service: &SearchService,
    queries: &[Query],
    reference: &BTreeMap<String, i64>,
    k: usize,
    songs: usize,
) -> CliResult<RecallReport> {
    let mut kinds: BTreeMap<String, KindRecall> = BTreeMap::new();
    let mut misses = Vec::new();
    let listener = Requester::new(Tier::Anonymous, None);
    for query in queries {
        let expected = *reference.get(&query.key).ok_or_else(|| {
            CliError::new("invalid_queries", format!("`{}`: no reference song `{}`", query.text, query.key))
        })?;
        let response = service.search(&listener, &query.text, Some(k)).map_err(search_error)?;
        let kind = kinds.entry(query.kind.clone()).or_default();
        kind.queries += 1;
        if response.results.iter().any(|r| r.song_id == expected) {
            kind.found += 1;
        } else {
            misses.push(miss(service, query, expected, response.results.iter().map(|r| r.title.clone()))?);
        }
    }
    for kind in kinds.values_mut() {
        kind.recall = kind.found as f64 / kind.queries.max(1) as f64;
    }
    Ok(RecallReport { k, songs, kinds, misses })
}

fn miss(
    service: &SearchService,
    query: &Query,
    expected: i64,
    got: impl Iterator<Item = String>,
) -> CliResult<Miss> {
    let deep = service
        .search(&Requester::new(Tier::Staff, None), &query.text, Some(MISS_DEPTH))
        .map_err(search_error)?;
    let ranks: HashMap<i64, usize> =
        deep.results.iter().enumerate().map(|(i, r)| (r.song_id, i + 1)).collect();
    Ok(Miss {
        kind: query.kind.clone(),
        query: query.text.clone(),
        expected: query.key.clone(),
        rank: ranks.get(&expected).copied(),
        got: got.collect(),
    })
}

fn render(report: &RecallReport) -> String {
    let mut out = vec![format!("recall@{} over {} songs", report.k, report.songs)];
    for (kind, r) in &report.kinds {
        out.push(format!("  {kind}: {}/{} = {:.1} %", r.found, r.queries, r.recall * 100.0));
    }
    for m in &report.misses {
        let rank = m.rank.map_or_else(|| format!("not in the first {MISS_DEPTH}"), |r| format!("rank {r}"));
        out.push(format!(
            "  miss [{}] `{}` → {} ({rank}); got: {}",
            m.kind,
            m.query,
            m.expected,
            m.got.join(" | ")
        ));
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn the_query_file_is_kind_query_key() {
        let q = parse("# comment\n\nfragment\tទឹកទន្លេ\triver\nenglish\ta sad river song\triver\n").unwrap();
        assert_eq!(q.len(), 2);
        assert_eq!(
            (q[0].kind.as_str(), q[0].text.as_str(), q[0].key.as_str()),
            ("fragment", "ទឹកទន្លេ", "river")
        );
        assert!(parse("fragment\tonly two").unwrap_err().contains("line 1"));
    }
}
