//! Top-10 nearest-neighbour search, engine against engine, on the same vectors
//! and the same queries.
//!
//! ```text
//! cargo run --release -p molt-vector --example vector_bench \
//!     [-- --sizes 20000,100000 --queries 200 --sqlite-cache-mib 1024]
//! ```
//!
//! Vectors: the embedding-like generator of `tests/support` (384 dimensions,
//! fixed seed); the smaller size is the first part of the larger. Queries are
//! further draws from the same generator. Engines:
//!
//! - sqlite-vec: exact KNN over a `vec0` table in a SQLite file (bundled SQLite
//!   through rusqlite, the extension registered with `sqlite3_auto_extension`);
//! - FlatIndex (exact), with the runtime-detected kernels and the portable ones;
//! - BinaryIndex at several oversample factors, centred and not.
//!
//! For each: p50 and p99 latency of one top-10 query (single-threaded), recall@10
//! against the exact answer, memory per vector, and build time. For the
//! in-memory engines "build" is loading from the store: reading the BLOBs out
//! of SQLite, decoding them and inserting them.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use molt_vector::{decode, encode, BinaryIndex, FlatIndex, Hit, VectorIndex, DEFAULT_OVERSAMPLE};
use rusqlite::{ffi, params, Connection};

const DIM: usize = 384;
const K: usize = 10;
const SEED: u64 = 20261121;
const WARMUP: usize = 5;

struct Args {
    sizes: Vec<usize>,
    queries: usize,
    /// SQLite page cache and mmap size; SQLite's defaults (2 MiB cache, no
    /// mmap) when not given.
    sqlite_cache_mib: Option<i64>,
}

fn args() -> Args {
    let mut args = Args { sizes: vec![20_000, 100_000], queries: 200, sqlite_cache_mib: None };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--sizes" => args.sizes = value.split(',').map(|s| s.parse().expect("a size")).collect(),
            "--queries" => args.queries = value.parse().expect("a number of queries"),
            "--sqlite-cache-mib" => args.sqlite_cache_mib = Some(value.parse().expect("MiB")),
            _ => panic!("unknown flag {flag}; known: --sizes N,N --queries N --sqlite-cache-mib N"),
        }
    }
    args
}

/// One engine's results at one size.
struct Row {
    engine: String,
    n: usize,
    p50: Duration,
    p99: Duration,
    recall: f64,
    bytes_per_vector: f64,
    build: Duration,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = args();
    register_sqlite_vec();
    let largest = args.sizes.iter().copied().max().unwrap_or(0);
    let mut generator = support::EmbeddingLike::new(DIM, SEED);
    let started = Instant::now();
    let vectors = generator.take(largest);
    let queries = generator.take(args.queries);
    println!("generated {largest} + {} vectors in {:.1?}", args.queries, started.elapsed());
    describe(&vectors, &queries);

    let mut rows = Vec::new();
    for &n in &args.sizes {
        rows.extend(bench_size(&vectors[..n], &queries, args.sqlite_cache_mib)?);
    }
    print_table(&rows);
    Ok(())
}

fn register_sqlite_vec() {
    type Entry = unsafe extern "C" fn(
        *mut ffi::sqlite3,
        *mut *mut std::os::raw::c_char,
        *const ffi::sqlite3_api_routines,
    ) -> std::os::raw::c_int;
    // SAFETY: sqlite3_vec_init is the extension's C entry point, whose real
    // signature is `Entry`; the crate declares it without arguments.
    unsafe {
        let init = std::mem::transmute::<*const (), Entry>(sqlite_vec::sqlite3_vec_init as *const ());
        ffi::sqlite3_auto_extension(Some(init));
    }
}

/// What the generated data looks like: cosines between random pairs and
/// between each query and its nearest neighbours.
fn describe(vectors: &[Vec<f32>], queries: &[Vec<f32>]) {
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    let pairs: Vec<f32> =
        (0..2000).map(|i| dot(&vectors[i], &vectors[(i * 7919 + 13) % vectors.len()])).collect();
    let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
    let sample = &vectors[..vectors.len().min(20_000)];
    let (mut top1, mut top10) = (Vec::new(), Vec::new());
    for q in queries.iter().take(50) {
        let hits = support::brute_force(sample, q, K);
        top1.push(hits[0].score);
        top10.push(hits[K - 1].score);
    }
    let mut sorted = pairs.clone();
    sorted.sort_by(f32::total_cmp);
    println!(
        "random pairs: mean cosine {:.3} (5–95 %: {:.3}–{:.3}); queries against the first {}: \
         top-1 {:.3}, top-10 {:.3} (means)",
        mean(&pairs),
        sorted[sorted.len() / 20],
        sorted[sorted.len() * 19 / 20],
        sample.len(),
        mean(&top1),
        mean(&top10)
    );
}

fn bench_size(
    vectors: &[Vec<f32>],
    queries: &[Vec<f32>],
    cache_mib: Option<i64>,
) -> Result<Vec<Row>, Box<dyn std::error::Error>> {
    let n = vectors.len();
    println!("\n== {n} vectors ==");
    let path = std::env::temp_dir().join(format!("molt-vector-bench-{}-{n}.sqlite", std::process::id()));
    let result = bench_with_store(&path, vectors, queries, cache_mib);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    result
}

fn bench_with_store(
    path: &std::path::Path,
    vectors: &[Vec<f32>],
    queries: &[Vec<f32>],
    cache_mib: Option<i64>,
) -> Result<Vec<Row>, Box<dyn std::error::Error>> {
    let n = vectors.len();
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    if let Some(mib) = cache_mib {
        conn.pragma_update(None, "cache_size", -mib * 1024)?; // negative: KiB
        conn.pragma_update(None, "mmap_size", mib << 20)?;
    }
    let sqlite_build = fill_store(&conn, vectors)?;

    // The exact answer, checked once against brute force in f64.
    let mut exact = load(&conn, flat)?.0;
    let truth: Vec<Vec<Hit>> = queries.iter().map(|q| exact.search(q, K)).collect();
    let checked = queries.iter().take(20).zip(&truth);
    let agree = checked.map(|(q, t)| support::recall(t, &support::brute_force(vectors, q, K))).sum::<f64>();
    println!("FlatIndex against f64 brute force, 20 queries: recall@10 {:.3}", agree / 20.0);

    let mut rows = vec![bench_sqlite_vec(&conn, n, queries, &truth, sqlite_build.float)?];
    for oversample in [20, 40] {
        rows.push(bench_sqlite_vec_bits(&conn, n, oversample, queries, &truth, sqlite_build.bits)?);
    }
    let (flat, build) = load(&conn, flat)?;
    let bytes = flat.heap_bytes();
    rows.push(bench_index("FlatIndex (exact)", &flat, queries, &truth, bytes, build));
    exact = flat.with_portable_kernels();
    rows.push(bench_index("FlatIndex, portable kernel", &exact, queries, &truth, bytes, build));
    drop(exact);

    for oversample in [2, 5, 10, 20, 40] {
        let (index, build) = load(&conn, |n| binary(n).with_oversample(oversample))?;
        let default = if oversample == DEFAULT_OVERSAMPLE { " (default)" } else { "" };
        let name = format!("BinaryIndex ×{oversample}{default}");
        rows.push(bench_index(&name, &index, queries, &truth, index.heap_bytes(), build));
        if oversample == DEFAULT_OVERSAMPLE {
            let index = index.with_portable_kernels();
            let name = format!("BinaryIndex ×{oversample}, portable kernel");
            rows.push(bench_index(&name, &index, queries, &truth, index.heap_bytes(), build));
        }
    }
    for oversample in [10, 40] {
        let (index, build) = load(&conn, |n| binary(n).with_oversample(oversample).without_centring())?;
        let name = format!("BinaryIndex ×{oversample}, not centred");
        rows.push(bench_index(&name, &index, queries, &truth, index.heap_bytes(), build));
    }
    Ok(rows)
}

fn flat(n: usize) -> FlatIndex {
    let mut index = FlatIndex::new(DIM);
    index.reserve(n);
    index
}

fn binary(n: usize) -> BinaryIndex {
    let mut index = BinaryIndex::new(DIM);
    index.reserve(n);
    index
}

/// The time sqlite-vec took to build its tables.
struct VecBuild {
    float: Duration,
    bits: Duration,
}

/// Writes the vectors three times: as plain BLOBs (what Molt's store keeps and
/// the in-memory indexes load), into a sqlite-vec `float[384]` table and into a
/// sqlite-vec `bit[384]` table (sign bits by `vec_quantize_binary`).
fn fill_store(conn: &Connection, vectors: &[Vec<f32>]) -> rusqlite::Result<VecBuild> {
    conn.execute_batch(&format!(
        "CREATE TABLE vectors (id INTEGER PRIMARY KEY, embedding BLOB NOT NULL);
         CREATE VIRTUAL TABLE vec_items USING vec0(embedding float[{DIM}]);
         CREATE VIRTUAL TABLE vec_bits USING vec0(embedding bit[{DIM}]);"
    ))?;
    let blobs: Vec<Vec<u8>> = vectors.iter().map(|v| encode(v)).collect();
    insert_all(conn, "INSERT INTO vectors (id, embedding) VALUES (?1, ?2)", &blobs)?;
    let started = Instant::now();
    insert_all(conn, "INSERT INTO vec_items (rowid, embedding) VALUES (?1, ?2)", &blobs)?;
    let float = started.elapsed();
    let started = Instant::now();
    insert_all(conn, "INSERT INTO vec_bits (rowid, embedding) VALUES (?1, vec_quantize_binary(?2))", &blobs)?;
    Ok(VecBuild { float, bits: started.elapsed() })
}

/// Runs `sql` with (id, blob) for every blob, ids from 0, in one transaction.
fn insert_all(conn: &Connection, sql: &str, blobs: &[Vec<u8>]) -> rusqlite::Result<()> {
    let tx = conn.unchecked_transaction()?;
    {
        let mut insert = tx.prepare(sql)?;
        for (id, blob) in blobs.iter().enumerate() {
            insert.execute(params![id as i64, blob])?;
        }
    }
    tx.commit()
}

/// Builds an index from the store's BLOBs, timing the count, the read, the
/// decoding and the inserts. `make` gets the number of vectors, to reserve room.
fn load<I: VectorIndex>(
    conn: &Connection,
    make: impl FnOnce(usize) -> I,
) -> Result<(I, Duration), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let count: i64 = conn.query_row("SELECT COUNT(*) FROM vectors", [], |row| row.get(0))?;
    let mut index = make(count as usize);
    let mut select = conn.prepare("SELECT id, embedding FROM vectors")?;
    let mut rows = select.query([])?;
    while let Some(row) = rows.next()? {
        let vector = decode(row.get_ref(1)?.as_blob()?, DIM)?;
        index.insert(row.get(0)?, &vector)?;
    }
    Ok((index, started.elapsed()))
}

/// sqlite-vec's exact KNN: a full scan of the `float[384]` table.
fn bench_sqlite_vec(
    conn: &Connection,
    n: usize,
    queries: &[Vec<f32>],
    truth: &[Vec<Hit>],
    build: Duration,
) -> rusqlite::Result<Row> {
    let mut knn = conn.prepare(
        "SELECT rowid, distance FROM vec_items WHERE embedding MATCH ?1 AND k = ?2 ORDER BY distance",
    )?;
    let mut search = |query: &[f32]| -> Vec<Hit> {
        let hits = knn.query_map(params![encode(query), K as i64], |row| {
            // L2 distance between unit vectors: cosine = 1 − d² / 2.
            let distance: f64 = row.get(1)?;
            Ok(Hit { id: row.get(0)?, score: (1.0 - distance * distance / 2.0) as f32 })
        });
        hits.and_then(|rows| rows.collect()).expect("sqlite-vec KNN query")
    };
    let (latencies, found) = support::time_queries(queries, WARMUP, &mut search);
    explain_misses(&found, truth);
    let bytes = table_bytes(conn, "vec_items")?;
    Ok(row("sqlite-vec float[384] (exact)", n, latencies, &found, truth, bytes, build))
}

/// sqlite-vec's own binary quantisation with re-scoring, all in SQL: the best
/// `K × oversample` by Hamming distance from the `bit[384]` table (sign bits,
/// not centred), then the exact cosine of those from the BLOB table.
fn bench_sqlite_vec_bits(
    conn: &Connection,
    n: usize,
    oversample: usize,
    queries: &[Vec<f32>],
    truth: &[Vec<Hit>],
    build: Duration,
) -> rusqlite::Result<Row> {
    let mut knn = conn.prepare(
        "WITH coarse AS (
             SELECT rowid FROM vec_bits WHERE embedding MATCH vec_quantize_binary(?1) AND k = ?2
         )
         SELECT v.id, vec_distance_cosine(v.embedding, ?1) AS d
         FROM coarse JOIN vectors v ON v.id = coarse.rowid
         ORDER BY d, v.id LIMIT ?3",
    )?;
    let mut search = |query: &[f32]| -> Vec<Hit> {
        let candidates = (K * oversample) as i64;
        let hits = knn.query_map(params![encode(query), candidates, K as i64], |row| {
            let distance: f64 = row.get(1)?;
            Ok(Hit { id: row.get(0)?, score: (1.0 - distance) as f32 })
        });
        hits.and_then(|rows| rows.collect()).expect("sqlite-vec binary KNN query")
    };
    let (latencies, found) = support::time_queries(queries, WARMUP, &mut search);
    let bytes = table_bytes(conn, "vec_bits")?;
    let name = format!("sqlite-vec bit[384] ×{oversample} + re-score");
    Ok(row(&name, n, latencies, &found, truth, bytes, build))
}

/// Bytes on disk of a `vec0` table and its shadow tables.
fn table_bytes(conn: &Connection, table: &str) -> rusqlite::Result<usize> {
    let like = format!("{table}%");
    let bytes: i64 =
        conn.query_row("SELECT SUM(pgsize) FROM dbstat WHERE name LIKE ?1", [like], |row| row.get(0))?;
    Ok(bytes as usize)
}

/// An exact engine that disagrees with the exact answer can only do so at a
/// near-tie: prints the scores at the boundary to show it.
fn explain_misses(found: &[Vec<Hit>], truth: &[Vec<Hit>]) {
    for (i, (f, t)) in found.iter().zip(truth).enumerate() {
        let missed: Vec<&Hit> = t.iter().filter(|h| !f.iter().any(|g| g.id == h.id)).collect();
        let extra: Vec<&Hit> = f.iter().filter(|h| !t.iter().any(|g| g.id == h.id)).collect();
        if !missed.is_empty() {
            println!("  query {i}: sqlite-vec has {extra:?} instead of {missed:?} (FlatIndex's scores)");
        }
    }
}

fn bench_index(
    name: &str,
    index: &dyn VectorIndex,
    queries: &[Vec<f32>],
    truth: &[Vec<Hit>],
    bytes: usize,
    build: Duration,
) -> Row {
    let (latencies, found) = support::time_queries(queries, WARMUP, &mut |q| index.search(q, K));
    row(name, index.len(), latencies, &found, truth, bytes, build)
}

fn row(
    engine: &str,
    n: usize,
    mut latencies: Vec<Duration>,
    found: &[Vec<Hit>],
    truth: &[Vec<Hit>],
    bytes: usize,
    build: Duration,
) -> Row {
    latencies.sort();
    let at = |p: f64| support::percentile(&latencies, p);
    let recall =
        found.iter().zip(truth).map(|(f, t)| support::recall(f, t)).sum::<f64>() / truth.len() as f64;
    let row = Row {
        engine: engine.to_string(),
        n,
        p50: at(0.50),
        p99: at(0.99),
        recall,
        bytes_per_vector: bytes as f64 / n as f64,
        build,
    };
    println!(
        "{:<34} p50 {:>8.3} ms  p99 {:>8.3} ms  recall@10 {:.4}  {:>6.0} B/vector  build {:.2?}",
        row.engine,
        ms(row.p50),
        ms(row.p99),
        row.recall,
        row.bytes_per_vector,
        row.build
    );
    row
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The results as a Markdown table, with ratios against sqlite-vec at the same size.
fn print_table(rows: &[Row]) {
    println!("\n| engine | vectors | p50 ms | p99 ms | recall@10 | bytes/vector | build/load s | p50 speed-up vs sqlite-vec |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let base = rows.iter().find(|b| b.n == r.n && b.engine.starts_with("sqlite-vec")).unwrap_or(r);
        println!(
            "| {} | {} | {:.3} | {:.3} | {:.4} | {:.0} | {:.2} | {:.1}× |",
            r.engine,
            r.n,
            ms(r.p50),
            ms(r.p99),
            r.recall,
            r.bytes_per_vector,
            r.build.as_secs_f64(),
            ms(base.p50) / ms(r.p50)
        );
    }
}
