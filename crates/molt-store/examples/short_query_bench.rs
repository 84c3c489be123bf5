//! Queries of 1–2 characters, side by side on one database in one run: the
//! letter index (`search_like`, what search uses) against the scans it
//! replaced (titles, artists, then every lyric row, each in song order), for
//! every single Khmer letter and a sample of letter pairs found in the
//! corpus, alternating per query. Both must return the same songs (checked).
//!
//! `cargo run --release -p molt-store --example short_query_bench -- DATA_DIR [PAIRS]`
//! (DATA_DIR: a data directory made by `molt bench corpus`, already migrated.)

use molt_store::{SearchStore, SqliteStore, StoreOptions};
use std::time::Instant;

/// Results a search ranking asks for (`RANKING_DEPTH` in molt-search).
const DEPTH: usize = 100;

/// The scans before the letter index, kept here only to compare against.
const SCANS: [&str; 3] = [
    "SELECT c.id FROM search_trigrams_content c JOIN songs s ON s.id = c.id
     WHERE c.c0 LIKE ?1 ESCAPE '\\' AND s.status = 'published' ORDER BY c.id LIMIT ?2",
    "SELECT c.id FROM search_trigrams_content c JOIN songs s ON s.id = c.id
     WHERE c.c1 LIKE ?1 ESCAPE '\\' AND NOT coalesce(c.c0 LIKE ?1 ESCAPE '\\', 0)
       AND s.status = 'published' ORDER BY c.id LIMIT ?2",
    "SELECT t.rowid FROM search_trigrams t JOIN songs s ON s.id = t.rowid
     WHERE +t.lyrics LIKE ?1 ESCAPE '\\' AND NOT coalesce(+t.title LIKE ?1 ESCAPE '\\', 0)
       AND NOT coalesce(+t.artist LIKE ?1 ESCAPE '\\', 0) AND s.status = 'published'
     ORDER BY t.rowid LIMIT ?2",
];

fn scanned(store: &SqliteStore, fragment: &str) -> Vec<i64> {
    let pattern = format!("%{fragment}%");
    store
        .read(|c| {
            let mut out = Vec::new();
            for sql in SCANS {
                let wanted = (DEPTH - out.len()) as i64;
                let mut stmt = c.prepare_cached(sql)?;
                let ids = stmt.query_map(rusqlite::params![pattern, wanted], |r| r.get::<_, i64>(0))?;
                for id in ids {
                    out.push(id?);
                }
                if out.len() == DEPTH {
                    break;
                }
            }
            Ok(out)
        })
        .expect("scan")
}

fn indexed(store: &SqliteStore, fragment: &str) -> Vec<i64> {
    store.search_like(fragment, true, DEPTH).expect("like").into_iter().map(|r| r.song_id).collect()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn report(label: &str, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    println!(
        "  {label:<14} n={:<4} p50 {:>7.2} ms  p90 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms",
        ms.len(),
        percentile(&ms, 0.5),
        percentile(&ms, 0.9),
        percentile(&ms, 0.99),
        ms[ms.len() - 1]
    );
}

fn time<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let started = Instant::now();
    let out = f();
    (out, started.elapsed().as_secs_f64() * 1000.0)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().expect("usage: short_query_bench DATA_DIR [PAIRS]"));
    let pairs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(300);
    let store = SqliteStore::open(&StoreOptions::in_dir(&dir)).expect("open store");
    // Letters: the Khmer block. Pairs: adjacent letters of the first lyric rows.
    let mut queries: Vec<String> = ('\u{1780}'..='\u{17DD}').map(String::from).collect();
    let text: String = store
        .read(|c| {
            Ok(c.query_row(
                "SELECT group_concat(c2, '') FROM (SELECT c2 FROM search_trigrams_content LIMIT 40)",
                [],
                |r| r.get(0),
            )?)
        })
        .expect("sample");
    let chars: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
    let step = (chars.len() / pairs.max(1)).max(1);
    queries.extend(chars.windows(2).step_by(step).take(pairs).map(|w| w.iter().collect::<String>()));
    let (mut old, mut new) = (Vec::new(), Vec::new());
    for (i, q) in queries.iter().enumerate() {
        // Alternate which runs first, so both see the same cache state on average.
        let ((a, ta), (b, tb)) = if i % 2 == 0 {
            let a = time(|| scanned(&store, q));
            (a, time(|| indexed(&store, q)))
        } else {
            let b = time(|| indexed(&store, q));
            (time(|| scanned(&store, q)), b)
        };
        assert_eq!(a, b, "{q:?}: the letter index must find exactly what the scans found");
        old.push(ta);
        new.push(tb);
    }
    println!("queries of 1–2 characters: {} (the Khmer letters, then pairs), depth {DEPTH}", queries.len());
    report("scans (before)", old.clone());
    report("letter index", new.clone());
    let (so, sn): (f64, f64) = (old.iter().sum(), new.iter().sum());
    println!("  total {so:.0} ms vs {sn:.0} ms: {:.1}x", so / sn.max(f64::EPSILON));
}
