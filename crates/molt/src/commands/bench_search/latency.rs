//! `molt bench search`: in-process latency of the real search service on a
//! corpus, over a mixed query set made from the corpus itself (seeded):
//!
//! - 50 % Khmer fragments: 6–16 characters cut from a lyric line at cluster
//!   boundaries, spaces removed (typed the way listeners type them);
//! - 20 % romanised titles (the Latin title, lower case);
//! - 20 % English descriptions (lyric words in short phrases);
//! - 10 % one or two Khmer letters.
//!
//! Every query is distinct. After a warm-up (other queries: the model loads and
//! the vector snapshot is built), each query runs once — **cold**: the query's
//! embedding and answer are not known yet — then the whole set once more —
//! **repeated**: the same queries again, which real traffic also repeats; with
//! nothing changed in between, the service answers them from its remembered
//! answers (the index generation has not moved). Separately, the query
//! embedding alone (`Role::Query`, one text) is timed for each query long enough
//! to get one, to show its share of the total.

use super::rng::Rng;
use super::words::{is_sign, ENGLISH};
use super::{blocking, open_corpus, percentile, read_manifest, search_service, temp_file_for, write_file};
use crate::commands::search::search_error;
use crate::output::{emit, CliResult};
use molt_core::Config;
use molt_search::{Requester, SearchService, Tier};
use molt_store::{SearchStore, SqliteStore};
use molt_vector::{Embedder, Role};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

pub struct Options {
    pub queries: usize,
    pub seed: u64,
    pub cold_only: bool,
    /// Where to write the cold answers (`query<TAB>ids`), if anywhere.
    pub answers: Option<PathBuf>,
}

const WARM_UP: usize = 30;

#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub n: usize,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

#[derive(Debug, Serialize)]
pub struct LatencyReport {
    pub songs: usize,
    pub queries: usize,
    pub cold: Stats,
    pub cold_by_kind: BTreeMap<&'static str, Stats>,
    pub warm: Option<Stats>,
    pub warm_by_kind: BTreeMap<&'static str, Stats>,
    /// The query embedding alone, for the queries that get one.
    pub embed_only: Stats,
    /// Sum of embedding times over sum of cold end-to-end times (same queries).
    pub embed_share_of_cold: f64,
    /// The slowest cold queries, slowest first: where the tail comes from.
    pub slowest_cold: Vec<Slow>,
}

#[derive(Debug, Serialize)]
pub struct Slow {
    pub kind: &'static str,
    pub query: String,
    pub ms: f64,
}

/// How many of the slowest cold queries the report names.
const SLOWEST: usize = 10;

pub async fn run(config: &Config, options: Options, json: bool) -> CliResult {
    let manifest = read_manifest(config)?;
    if let Some(path) = &options.answers {
        temp_file_for(path)?; // fails now, not after the measurement
    }
    let store = open_corpus(config).await?;
    let (service, model) = search_service(config, &store)?;
    let songs = manifest.songs;
    let report = blocking(move || measure(&store, &service, model, songs, &options)).await?;
    emit(json, &report, render);
    Ok(())
}

/// The query set as URL paths for the HTTP benchmark (no warm-up queries).
pub async fn write_paths(config: &Config, options: &Options, path: &Path) -> CliResult {
    let manifest = read_manifest(config)?;
    let store = open_corpus(config).await?;
    let (n, seed) = (options.queries, options.seed);
    let queries = blocking(move || queries(&store, &mut Rng::new(seed), manifest.songs, n)).await?;
    let lines: Vec<String> =
        queries.iter().map(|(_, q)| format!("/api/v1/search?q={}", percent_encode(q))).collect();
    write_file(path, (lines.join("\n") + "\n").as_bytes())?;
    eprintln!("wrote {} distinct queries to {}", lines.len(), path.display());
    Ok(())
}

/// `application/x-www-form-urlencoded`-safe: unreserved ASCII kept, all else `%XX`.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(char::from(b)),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn measure(
    store: &SqliteStore,
    service: &SearchService,
    model: Arc<dyn Embedder>,
    songs: usize,
    options: &Options,
) -> CliResult<LatencyReport> {
    let mut rng = Rng::new(options.seed);
    let all = queries(store, &mut rng, songs, options.queries + WARM_UP)?;
    let (warm_up, measured) = all.split_at(WARM_UP.min(all.len()));
    eprintln!("latency: {} queries after {} warm-up queries, {songs} songs", measured.len(), warm_up.len());
    for (_, q) in warm_up {
        run_one(service, q)?;
    }
    let (cold, answers) = timed(service, measured)?;
    if let Some(path) = &options.answers {
        write_answers(path, measured, &answers)?;
    }
    let warm = if options.cold_only { None } else { Some(timed(service, measured)?.0) };
    let embed = embed_times(&model, measured);
    let cold_total: f64 = cold.iter().zip(measured).filter(|(_, (k, _))| *k != "short").map(|(t, _)| t).sum();
    Ok(LatencyReport {
        songs,
        queries: measured.len(),
        cold: stats(&cold),
        cold_by_kind: by_kind(measured, &cold),
        warm: warm.as_deref().map(stats),
        warm_by_kind: warm.as_deref().map(|w| by_kind(measured, w)).unwrap_or_default(),
        embed_only: stats(&embed),
        embed_share_of_cold: embed.iter().sum::<f64>() / cold_total.max(f64::EPSILON),
        slowest_cold: slowest(measured, &cold),
    })
}

fn slowest(queries: &[(&'static str, String)], ms: &[f64]) -> Vec<Slow> {
    let mut all: Vec<Slow> = queries
        .iter()
        .zip(ms)
        .map(|((kind, query), ms)| Slow { kind, query: query.clone(), ms: *ms })
        .collect();
    all.sort_by(|a, b| b.ms.total_cmp(&a.ms));
    all.truncate(SLOWEST);
    all
}

/// The song ids answered, best first.
fn run_one(service: &SearchService, query: &str) -> CliResult<Vec<i64>> {
    let response =
        service.search(&Requester::new(Tier::Anonymous, None), query, None).map_err(search_error)?;
    Ok(response.results.iter().map(|r| r.song_id).collect())
}

/// Milliseconds per query, end to end, in order, and each query's answer.
fn timed(
    service: &SearchService,
    queries: &[(&'static str, String)],
) -> CliResult<(Vec<f64>, Vec<Vec<i64>>)> {
    let mut ms = Vec::with_capacity(queries.len());
    let mut answers = Vec::with_capacity(queries.len());
    for (_, q) in queries {
        let started = Instant::now();
        answers.push(run_one(service, q)?);
        ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok((ms, answers))
}

/// `query<TAB>id,id,…` a line, in query order: `diff` two builds' files.
fn write_answers(path: &Path, queries: &[(&'static str, String)], answers: &[Vec<i64>]) -> CliResult {
    let lines: String = queries
        .iter()
        .zip(answers)
        .map(|((_, q), ids)| {
            let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
            format!("{q}\t{}\n", ids.join(","))
        })
        .collect();
    write_file(path, lines.as_bytes())
}

/// The query embedding alone, for the queries the vector ranking embeds (3+ characters).
fn embed_times(model: &Arc<dyn Embedder>, queries: &[(&'static str, String)]) -> Vec<f64> {
    queries
        .iter()
        .filter(|(kind, _)| *kind != "short")
        .map(|(_, q)| {
            let started = Instant::now();
            let _ = model.embed(&[q.as_str()], Role::Query);
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect()
}

fn stats(ms: &[f64]) -> Stats {
    let mut sorted = ms.to_vec();
    sorted.sort_by(f64::total_cmp);
    Stats {
        n: sorted.len(),
        p50_ms: percentile(&sorted, 50.0),
        p90_ms: percentile(&sorted, 90.0),
        p99_ms: percentile(&sorted, 99.0),
        max_ms: sorted.last().copied().unwrap_or(0.0),
        mean_ms: sorted.iter().sum::<f64>() / sorted.len().max(1) as f64,
    }
}

fn by_kind(queries: &[(&'static str, String)], ms: &[f64]) -> BTreeMap<&'static str, Stats> {
    let mut groups: BTreeMap<&'static str, Vec<f64>> = BTreeMap::new();
    for ((kind, _), t) in queries.iter().zip(ms) {
        groups.entry(kind).or_default().push(*t);
    }
    groups.into_iter().map(|(k, v)| (k, stats(&v))).collect()
}

/// `n` distinct queries of the four kinds, from random songs of the corpus.
pub fn queries(
    store: &SqliteStore,
    rng: &mut Rng,
    songs: usize,
    n: usize,
) -> CliResult<Vec<(&'static str, String)>> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(n);
    let mut tries = 0;
    while out.len() < n && tries < n * 20 {
        tries += 1;
        let id = i64::try_from(rng.range(1, songs.max(1))).unwrap_or(1);
        let Some(source) = store.search_source(id)? else { continue };
        let lyrics = source.lyrics.map(|l| l.text).unwrap_or_default();
        let roll = rng.unit();
        let query = if roll < 0.5 {
            fragment(rng, &lyrics, 6, 16).map(|q| ("fragment", q))
        } else if roll < 0.7 {
            source.song.title_latin.map(|t| ("romanised", t.to_lowercase()))
        } else if roll < 0.9 {
            Some(("english", description(rng)))
        } else {
            fragment(rng, &lyrics, 1, 2).map(|q| ("short", q))
        };
        if let Some((kind, q)) = query.filter(|(_, q)| seen.insert(q.clone())) {
            out.push((kind, q));
        }
    }
    Ok(out)
}

/// A run of `low..=high` characters of a Khmer lyric line, spaces removed,
/// starting and ending at cluster boundaries (never on a sign or a subscript).
pub fn fragment(rng: &mut Rng, lyrics: &str, low: usize, high: usize) -> Option<String> {
    let lines: Vec<&str> = lyrics.lines().filter(|l| molt_khmer::has_khmer(l)).collect();
    if lines.is_empty() {
        return None;
    }
    let chars: Vec<char> = rng.pick(&lines).chars().filter(|c| !c.is_whitespace()).collect();
    let starts: Vec<usize> = (0..chars.len()).filter(|&i| boundary(&chars, i)).collect();
    let start = *rng.pick(&starts);
    let len = rng.range(low, high);
    let end = (start + len..=chars.len()).find(|&e| boundary(&chars, e))?;
    let text: String = chars[start..end].iter().collect();
    (molt_khmer::has_khmer(&text) && end - start <= high + 3).then_some(text)
}

/// Whether a cluster may start at `i` (or the text end there).
fn boundary(chars: &[char], i: usize) -> bool {
    if i == 0 || i == chars.len() {
        return true;
    }
    !is_sign(chars[i]) && chars[i - 1] != '\u{17D2}' && chars[i] != '\u{17D7}'
}

/// A short English description made of lyric words.
fn description(rng: &mut Rng) -> String {
    let form = rng.range(0, 3);
    let mut w = || *rng.pick(ENGLISH);
    match form {
        0 => format!("a song about {} and {}", w(), w()),
        1 => format!("{} {} {}", w(), w(), w()),
        2 => format!("sad {} song about the {}", w(), w()),
        _ => format!("{} in the {}", w(), w()),
    }
}

fn line(label: &str, s: &Stats) -> String {
    format!(
        "  {label:<18} n={:<5} p50 {:>7.2} ms  p90 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms",
        s.n, s.p50_ms, s.p90_ms, s.p99_ms, s.max_ms
    )
}

fn render(r: &LatencyReport) -> String {
    let mut out =
        vec![format!("search latency, in process: {} songs, {} distinct queries", r.songs, r.queries)];
    out.push(line("cold (all)", &r.cold));
    out.extend(r.cold_by_kind.iter().map(|(k, s)| line(&format!("cold {k}"), s)));
    if let Some(warm) = &r.warm {
        out.push(line("repeated (all)", warm));
        out.extend(r.warm_by_kind.iter().map(|(k, s)| line(&format!("repeated {k}"), s)));
    }
    out.push(line("query embedding", &r.embed_only));
    out.push(format!(
        "  the query embedding is {:.0} % of cold time (3+ character queries)",
        r.embed_share_of_cold * 100.0
    ));
    out.push("  slowest cold queries:".into());
    out.extend(r.slowest_cold.iter().map(|s| format!("    {:>7.2} ms  {:<10} {}", s.ms, s.kind, s.query)));
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_percent_encoded_as_utf8() {
        assert_eq!(percent_encode("a b~ក"), "a%20b~%E1%9E%80");
    }

    #[test]
    fn fragments_start_and_end_at_clusters_without_spaces() {
        let mut rng = Rng::new(3);
        let mut made = 0;
        for _ in 0..200 {
            // None when the cut would run past the line: another draw is taken.
            let Some(f) = fragment(&mut rng, "ទឹកទន្លេហូរយឺតៗ ពេលថ្ងៃលិច\nI will wait", 6, 16)
            else {
                continue;
            };
            made += 1;
            let chars: Vec<char> = f.chars().collect();
            assert!(!f.contains(' '), "{f}");
            assert!(!is_sign(chars[0]) && *chars.last().unwrap() != '\u{17D2}', "{f}");
            assert!(chars.len() >= 6, "{f}");
        }
        assert!(made > 100, "{made}");
    }
}
