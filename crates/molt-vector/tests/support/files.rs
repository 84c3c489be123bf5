//! Vectors from files, for measuring Molt's index on vectors made elsewhere
//! (`examples/file_bench.rs`, which `bench/chroma_side_by_side.py` runs on the
//! very vectors it gives ChromaDB).
//!
//! File format: raw little-endian `f32`, `dim` values a row, rows back to
//! back, no header (what numpy's `astype('<f4').tofile` writes). A row's id is
//! its position, from 0. Result ids are written the same way as `i64`, `k` a
//! query, −1 where an engine returned fewer than `k`.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use molt_vector::{default_index, FlatIndex, Hit, VectorIndex, DEFAULT_OVERSAMPLE};

/// Reads `path` as rows of `dim` little-endian `f32`.
pub fn read_rows(path: &Path, dim: usize) -> Result<Vec<Vec<f32>>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if dim == 0 || bytes.len() % (4 * dim) != 0 {
        return Err(format!(
            "{}: {} bytes is not a whole number of {dim}-value f32 rows",
            path.display(),
            bytes.len()
        ));
    }
    bytes
        .chunks_exact(4 * dim)
        .enumerate()
        .map(|(i, row)| {
            // The store's codec: the same bytes a `search_lines.embedding` BLOB holds.
            molt_vector::decode(row, dim).map_err(|e| format!("{} row {i}: {e}", path.display()))
        })
        .collect()
}

/// Writes `rows` to `path` in the format [`read_rows`] reads.
pub fn write_rows(path: &Path, rows: &[Vec<f32>]) -> std::io::Result<()> {
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    for row in rows {
        out.write_all(&molt_vector::encode(row))?;
    }
    out.flush()
}

/// Writes the ids of `found`, `k` a query (−1 for a missing place).
pub fn write_ids(path: &Path, found: &[Vec<Hit>], k: usize) -> std::io::Result<()> {
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    for hits in found {
        for i in 0..k {
            out.write_all(&hits.get(i).map_or(-1, |h| h.id).to_le_bytes())?;
        }
    }
    out.flush()
}

/// Inserts `vectors` under ids 0, 1, … and times it.
pub fn build<I: VectorIndex + ?Sized>(index: &mut I, vectors: &[Vec<f32>]) -> Result<Duration, String> {
    let started = Instant::now();
    for (id, v) in vectors.iter().enumerate() {
        index.insert(id as i64, v).map_err(|e| format!("vector {id}: {e}"))?;
    }
    Ok(started.elapsed())
}

/// One engine at one `k`.
pub struct Timed {
    pub p50: Duration,
    pub p99: Duration,
    pub mean: Duration,
    pub found: Vec<Vec<Hit>>,
}

impl Timed {
    fn measure(index: &dyn VectorIndex, queries: &[Vec<f32>], k: usize, warmup: usize) -> Timed {
        let (mut latencies, found) = super::time_queries(queries, warmup, &mut |q| index.search(q, k));
        let mean = latencies.iter().sum::<Duration>() / latencies.len().max(1) as u32;
        latencies.sort();
        Timed {
            p50: super::percentile(&latencies, 0.50),
            p99: super::percentile(&latencies, 0.99),
            mean,
            found,
        }
    }
}

/// The figures at one `k`: Molt's engine and the exact scan.
pub struct AtK {
    pub k: usize,
    pub molt: Timed,
    pub exact: Timed,
    /// Molt's recall@k against the exact scan.
    pub recall: f64,
}

/// What [`run`] measured.
pub struct Report {
    pub n: usize,
    pub dim: usize,
    pub queries: usize,
    pub warmup: usize,
    pub build: Duration,
    pub exact_build: Duration,
    pub bytes_per_vector: f64,
    pub at: Vec<AtK>,
}

/// Loads `vectors` into [`default_index`] (what song search uses) and into a
/// [`FlatIndex`] (the exact answer), then for each of `ks` times every query
/// on both, one at a time on this thread, after `warmup` unmeasured ones.
pub fn run(
    vectors: &[Vec<f32>],
    queries: &[Vec<f32>],
    ks: &[usize],
    warmup: usize,
) -> Result<Report, String> {
    let dim = vectors.first().map(Vec::len).ok_or("no vectors")?;
    let mut molt = default_index(dim);
    let build_time = build(molt.as_mut(), vectors)?;
    let mut exact = FlatIndex::new(dim);
    exact.reserve(vectors.len());
    let exact_build = build(&mut exact, vectors)?;
    // default_index is a BinaryIndex; its memory, measured on a twin.
    let mut twin = molt_vector::BinaryIndex::new(dim);
    twin.reserve(vectors.len());
    build(&mut twin, vectors)?;
    let bytes_per_vector = twin.heap_bytes() as f64 / vectors.len() as f64;
    drop(twin);

    let at = ks
        .iter()
        .map(|&k| {
            let exact = Timed::measure(&exact, queries, k, warmup);
            let molt = Timed::measure(molt.as_ref(), queries, k, warmup);
            let recall = mean_recall(&molt.found, &exact.found);
            AtK { k, molt, exact, recall }
        })
        .collect();
    Ok(Report {
        n: vectors.len(),
        dim,
        queries: queries.len(),
        warmup,
        build: build_time,
        exact_build,
        bytes_per_vector,
        at,
    })
}

/// Mean recall of `found` against `truth`, query by query.
pub fn mean_recall(found: &[Vec<Hit>], truth: &[Vec<Hit>]) -> f64 {
    let sum: f64 = found.iter().zip(truth).map(|(f, t)| super::recall(f, t)).sum();
    sum / truth.len().max(1) as f64
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

impl Report {
    /// One JSON object (no dependencies: the fields are numbers and fixed strings).
    pub fn to_json(&self) -> String {
        let at: Vec<String> = self
            .at
            .iter()
            .map(|a| {
                format!(
                    "{{\"k\":{},\"p50_ms\":{:.6},\"p99_ms\":{:.6},\"mean_ms\":{:.6},\"recall\":{:.6},\
                     \"exact_p50_ms\":{:.6},\"exact_p99_ms\":{:.6},\"exact_mean_ms\":{:.6}}}",
                    a.k,
                    ms(a.molt.p50),
                    ms(a.molt.p99),
                    ms(a.molt.mean),
                    a.recall,
                    ms(a.exact.p50),
                    ms(a.exact.p99),
                    ms(a.exact.mean)
                )
            })
            .collect();
        format!(
            "{{\"engine\":\"molt_vector::default_index: BinaryIndex (centred sign bits, Hamming \
             ranking, exact f32 re-scoring of max(k,10)x{DEFAULT_OVERSAMPLE} candidates)\",\
             \"exact_engine\":\"molt_vector::FlatIndex (exact f32 scan)\",\"threads\":1,\
             \"n\":{},\"dim\":{},\"queries\":{},\"warmup\":{},\"build_s\":{:.6},\"exact_build_s\":{:.6},\
             \"bytes_per_vector\":{:.1},\"at\":[{}]}}",
            self.n,
            self.dim,
            self.queries,
            self.warmup,
            self.build.as_secs_f64(),
            self.exact_build.as_secs_f64(),
            self.bytes_per_vector,
            at.join(",")
        )
    }
}
