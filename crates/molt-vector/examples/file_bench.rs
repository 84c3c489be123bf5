//! Molt's vector index on vectors from files: what `bench/chroma_side_by_side.py`
//! runs for the Molt side, on the very vectors and queries it gives ChromaDB.
//!
//! ```text
//! cargo run --release -p molt-vector --example file_bench -- \
//!     --vectors-file V.f32 --queries-file Q.f32 [--dim 384] [--k 10,200] \
//!     [--warmup 20] [--ids-out DIR] [--json]
//! ```
//!
//! Files: raw little-endian `f32`, `dim` values a row, no header (the bytes of
//! a `search_lines.embedding` BLOB, row after row); a vector's id is its row.
//! The vectors go into `molt_vector::default_index` (what song search uses)
//! and into a `FlatIndex` (exact: the ground truth); for each `k`, every query
//! is timed on both, one at a time on one thread, after `--warmup` unmeasured
//! ones. Prints p50/p99 latency, recall@k against the exact scan and the build
//! time (inserting the decoded vectors), as text or, with `--json`, as one
//! JSON object. With `--ids-out DIR`, writes what each engine found to
//! `DIR/molt_k{k}.i64` and `DIR/exact_k{k}.i64` (little-endian `i64`, `k` a
//! query, −1 where fewer were found), so that the caller can score them
//! against its own exact answer.

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::time::Instant;

use support::files;

struct Args {
    vectors: PathBuf,
    queries: PathBuf,
    dim: usize,
    ks: Vec<usize>,
    warmup: usize,
    ids_out: Option<PathBuf>,
    json: bool,
}

const USAGE: &str = "--vectors-file PATH --queries-file PATH [--dim 384] [--k 10,200] [--warmup 20] \
                     [--ids-out DIR] [--json]";

fn args() -> Result<Args, String> {
    let (mut vectors, mut queries) = (None, None);
    let mut args = Args {
        vectors: PathBuf::new(),
        queries: PathBuf::new(),
        dim: 384,
        ks: vec![10],
        warmup: 20,
        ids_out: None,
        json: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--json" {
            args.json = true;
            continue;
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value; usage: {USAGE}"))?;
        let number = |v: &str| v.parse::<usize>().map_err(|e| format!("{flag} {v}: {e}"));
        match flag.as_str() {
            "--vectors-file" => vectors = Some(PathBuf::from(value)),
            "--queries-file" => queries = Some(PathBuf::from(value)),
            "--dim" => args.dim = number(&value)?,
            "--k" => args.ks = value.split(',').map(number).collect::<Result<_, _>>()?,
            "--warmup" => args.warmup = number(&value)?,
            "--ids-out" => args.ids_out = Some(PathBuf::from(value)),
            _ => return Err(format!("unknown flag {flag}; usage: {USAGE}")),
        }
    }
    args.vectors = vectors.ok_or_else(|| format!("--vectors-file is required; usage: {USAGE}"))?;
    args.queries = queries.ok_or_else(|| format!("--queries-file is required; usage: {USAGE}"))?;
    Ok(args)
}

fn main() {
    if let Err(e) = run() {
        eprintln!("file_bench: {e}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let args = args()?;
    let started = Instant::now();
    let vectors = files::read_rows(&args.vectors, args.dim)?;
    let queries = files::read_rows(&args.queries, args.dim)?;
    let read = started.elapsed();
    let report = files::run(&vectors, &queries, &args.ks, args.warmup)?;
    if let Some(dir) = &args.ids_out {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for at in &report.at {
            for (name, timed) in [("molt", &at.molt), ("exact", &at.exact)] {
                let path = dir.join(format!("{name}_k{}.i64", at.k));
                files::write_ids(&path, &timed.found, at.k)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
            }
        }
    }
    if args.json {
        println!("{}", report.to_json());
        return Ok(());
    }
    println!(
        "{} vectors × {}, {} queries: files read and decoded in {read:.2?}; default_index built in {:.2?}, \
         FlatIndex in {:.2?}; {:.0} bytes/vector",
        report.n, report.dim, report.queries, report.build, report.exact_build, report.bytes_per_vector
    );
    for at in &report.at {
        println!(
            "k={:<4} default_index p50 {:.3} ms  p99 {:.3} ms  recall@k {:.4}   FlatIndex p50 {:.3} ms  p99 {:.3} ms",
            at.k,
            at.molt.p50.as_secs_f64() * 1e3,
            at.molt.p99.as_secs_f64() * 1e3,
            at.recall,
            at.exact.p50.as_secs_f64() * 1e3,
            at.exact.p99.as_secs_f64() * 1e3
        );
    }
    Ok(())
}
