//! Load time, throughput at batch sizes 1, 8 and 32, and peak memory of the e5 embedder, on
//! Khmer and English lyric lines; then search-query latency, the 4-bit path's kernels (f32
//! and int8 activations) against candle.
//!
//! ```text
//! cargo run --release -p molt-ml --example embed_bench -- [MODEL.bin] [--runs 3] [--sentences 96]
//!     [--queries 200] [--rounds 3] [--portable] [--queries-only]
//! ```
//!
//! The model defaults to the one `scripts/setup.sh` installs. Each throughput figure is the
//! median of `--runs` passes over the same `--sentences` lines (half Khmer, half English),
//! after one warm-up call; the lines are passages (`"passage: "` prefix). `--queries-only`
//! skips them.
//!
//! Query latency: `--queries` short search queries (English descriptions, romanised titles,
//! Khmer fragments; `"query: "` prefix), one `embed_via` call each, `--rounds` times, on
//! candle and on the 4-bit path with every SIMD kernel the CPU runs (`--portable` adds the
//! portable ones). Each query is timed on every path back to back, the order rotating per
//! query, so that every path sees the same machine load (the machine is shared with builds).
//! Each path's line gives p50/p90/p99/max, its speed-up over candle and over the f32 4-bit
//! path (`Avx2`), and the range of its vectors' cosine with candle's.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use molt_ml::{E5Embedder, E5Kernel, E5Path, E5_MODEL_PATH};
use molt_vector::Role;

const KHMER: &[&str] = &[
    "ព្រះចន្ទរះលើទន្លេមេគង្គ ខ្ញុំនៅតែនឹកអ្នករាល់យប់",
    "ភ្លៀងធ្លាក់លើវាលស្រែ បេះដូងខ្ញុំរង់ចាំអ្នកត្រឡប់មកវិញ",
    "ក្រោមដើមត្នោតខ្ពស់ យើងធ្លាប់សន្យានឹងគ្នាថាមិនបែកឆ្ងាយ",
    "ខ្យល់ត្រជាក់បក់មកពីសមុទ្រ នាំសំឡេងចម្រៀងរបស់អ្នកមកខ្ញុំ",
    "ផ្កាឈូកក្នុងស្រះ ស្អាតដូចស្នាមញញឹមរបស់នាងកាលពីក្មេង",
    "ខ្ញុំដើរតាមផ្លូវដីក្រហម ឆ្ពោះទៅភូមិកំណើតដែលខ្ញុំស្រឡាញ់",
    "រាត្រីនេះវែងណាស់ ពេលគ្មានអ្នកនៅក្បែរខ្ញុំដូចមុន",
    "សំឡេងទ្រខ្សែរ ហៅព្រលឹងខ្ញុំឱ្យត្រឡប់មកផ្ទះវិញ",
    "ទឹកភ្នែកហូរដូចទឹកទន្លេសាបក្នុងរដូវវស្សា",
    "អូនអើយ កុំភ្លេចពាក្យសន្យារបស់យើងនៅមាត់ទន្លេ",
    "ពន្លឺថ្ងៃលិចនៅអង្គរវត្ត ពណ៌មាសដូចក្តីស្រមៃរបស់យើង",
    "ខ្ញុំច្រៀងបទនេះជូនម្ដាយ ដែលនៅឆ្ងាយពីខ្ញុំណាស់",
    "ស្ទឹងសង្កែហូរយឺតៗ កាត់ក្រុងបាត់ដំបងពេលព្រឹកព្រលឹម",
    "បេះដូងខ្ញុំលោតញាប់ ពេលឃើញអ្នកញញឹមដាក់ខ្ញុំ",
    "យប់នេះផ្កាយរះពេញមេឃ ប៉ុន្តែខ្ញុំនៅតែឯកា",
    "ចូររាំរាំវង់ជាមួយគ្នា ក្រោមពន្លឺព្រះចន្ទពេញវង់",
];

const ENGLISH: &[&str] = &[
    "The moon is rising over the Mekong and I still miss you every night",
    "Rain falls on the rice fields while my heart waits for you to come home",
    "Under the tall sugar palms we promised we would never drift apart",
    "A cool wind blows in from the sea and carries your song to me",
    "The lotus in the pond is as lovely as the smile you wore when we were young",
    "I walk along the red dirt road back to the village that I love",
    "Tonight feels so long when you are not beside me like before",
    "The sound of the tro calls my wandering soul back home again",
    "My tears flow like the Tonle Sap when the monsoon rains arrive",
    "Oh my darling, don't forget the promise that we made beside the river",
    "The sunset over Angkor Wat is golden like the dreams we shared",
    "I sing this song for my mother, who lives so far away from me",
    "The Sangke river slowly winds through Battambang at dawn",
    "My heart beats fast whenever I see you smiling back at me",
    "Tonight the sky is full of stars, but I am still alone",
    "Come and dance the romvong together under the full moon light",
];

const DESCRIPTIONS: &[&str] = &[
    "sad song about a river",
    "happy wedding dance",
    "love song for my mother",
    "slow romantic ballad",
    "song about the rain in the village",
    "old khmer rock from the sixties",
    "lullaby for a baby",
    "breakup song with guitar",
    "song about angkor wat at sunset",
    "fast party song for new year",
    "missing home far away",
    "monsoon love story",
];

const TITLES: &[&str] = &[
    "champa battambang",
    "srolanh oun",
    "pka sla krapom",
    "tik phlieng",
    "chnam oun dop pram mouy",
    "bopha angkor",
    "sra em",
    "kom plech oun",
    "phnom penh yup nis",
    "chet bong sralanh",
    "romvong tonle sap",
    "mek srotum",
];

/// Search-like queries: a third English descriptions, a third romanised titles (some with a
/// word added), a third Khmer fragments of 6–20 characters cut from the lyric lines.
fn queries(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| match i % 3 {
            0 => {
                let d = DESCRIPTIONS[(i / 3) % DESCRIPTIONS.len()];
                if (i / 3) / DESCRIPTIONS.len() % 2 == 1 {
                    format!("{d} {}", TITLES[i % TITLES.len()])
                } else {
                    d.into()
                }
            }
            1 => {
                let t = TITLES[(i / 3) % TITLES.len()];
                if (i / 3) / TITLES.len() % 2 == 1 {
                    format!("{t} song")
                } else {
                    t.into()
                }
            }
            _ => {
                let line: Vec<char> = KHMER[(i / 3) % KHMER.len()].chars().collect();
                let len = 6 + (i * 7) % 15;
                let start = (i * 13) % line.len().saturating_sub(len).max(1);
                line[start..(start + len).min(line.len())].iter().collect()
            }
        })
        .collect()
}

struct Args {
    model: PathBuf,
    runs: usize,
    sentences: usize,
    queries: usize,
    rounds: usize,
    portable: bool,
    queries_only: bool,
}

fn parse() -> Option<Args> {
    let default_model =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../molt-data/models").join(E5_MODEL_PATH);
    let mut args = Args {
        model: default_model,
        runs: 3,
        sentences: 96,
        queries: 200,
        rounds: 3,
        portable: false,
        queries_only: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => args.runs = it.next()?.parse().ok().filter(|&n| n > 0)?,
            "--sentences" => args.sentences = it.next()?.parse().ok().filter(|&n| n > 0)?,
            "--queries" => args.queries = it.next()?.parse().ok().filter(|&n| n > 0)?,
            "--rounds" => args.rounds = it.next()?.parse().ok().filter(|&n| n > 0)?,
            "--portable" => args.portable = true,
            "--queries-only" => args.queries_only = true,
            s if s.starts_with("--") => return None,
            _ => args.model = PathBuf::from(a),
        }
    }
    Some(args)
}

/// Peak and current resident memory in MiB, from /proc (Linux only).
fn memory_mib() -> Option<(f64, f64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<f64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// The value below which `q` of `sorted` lie (nearest rank).
fn percentile(sorted: &[f64], q: f64) -> f64 {
    sorted[((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum()
}

/// The paths `query_latency` compares: candle, then the 4-bit path with each kernel this CPU
/// runs (the portable ones only with `--portable`: they are slow, and run where the others
/// cannot).
fn paths(portable: bool) -> Vec<(String, E5Path)> {
    let kernels = E5Kernel::ALL.into_iter().filter(|k| k.is_supported());
    let kernels = kernels.filter(|k| portable || !matches!(k, E5Kernel::Portable | E5Kernel::Int8Portable));
    let fast = kernels.map(|k| (format!("4-bit {k:?}"), E5Path::Fast(k)));
    std::iter::once(("candle f32".to_string(), E5Path::Candle)).chain(fast).collect()
}

/// Per-query latency on each path, interleaved; prints p50/p90/p99/max, the ratios to candle
/// and to the f32 4-bit path (AVX2), and the cosine range of each path's vectors against
/// candle's.
fn query_latency(model: &E5Embedder, queries: &[String], rounds: usize, portable: bool) {
    let paths = paths(portable);
    let mut times = vec![Vec::new(); paths.len()];
    let mut cosines = vec![Vec::new(); paths.len()];
    for q in queries.iter().take(5) {
        paths.iter().for_each(|p| drop(model.embed_via(&[q], Role::Query, p.1).expect("warm-up")));
    }
    for round in 0..rounds {
        for (i, q) in queries.iter().enumerate() {
            let mut vectors = vec![Vec::new(); paths.len()];
            for k in 0..paths.len() {
                let p = (i + round + k) % paths.len();
                let start = Instant::now();
                vectors[p] = model.embed_via(&[q], Role::Query, paths[p].1).expect("embed").remove(0);
                times[p].push(start.elapsed().as_secs_f64() * 1e3);
            }
            if round == 0 {
                for (c, v) in cosines.iter_mut().zip(&vectors) {
                    c.push(dot(&vectors[0], v));
                }
            }
        }
    }
    let tokens: Vec<usize> = queries.iter().map(|q| model.tokenize(q, Role::Query).unwrap().len()).collect();
    let (min_t, max_t) = (tokens.iter().min().unwrap(), tokens.iter().max().unwrap());
    let mean_t = tokens.iter().sum::<usize>() as f64 / tokens.len() as f64;
    println!(
        "{} queries × {rounds} rounds, {min_t}–{max_t} tokens ({mean_t:.1} on average), interleaved:",
        queries.len()
    );
    let f32_path = paths.iter().position(|p| p.1 == E5Path::Fast(E5Kernel::Avx2));
    let mut quantiles = Vec::new();
    for t in &mut times {
        t.sort_by(f64::total_cmp);
        quantiles.push((percentile(t, 0.5), percentile(t, 0.99)));
    }
    for (((name, _), t), c) in paths.iter().zip(&times).zip(&mut cosines) {
        let (p50, p99) = (percentile(t, 0.5), percentile(t, 0.99));
        c.sort_by(f64::total_cmp);
        let ratio = |(a50, a99): (f64, f64)| format!("{:4.1}× {:4.1}×", a50 / p50, a99 / p99);
        println!(
            "  {name:<20} p50 {p50:6.2} ms  p90 {:6.2} ms  p99 {p99:6.2} ms  max {:6.2} ms  \
             candle/this {}  f32/this {}  cosine {:.6}–{:.6}",
            percentile(t, 0.9),
            t[t.len() - 1],
            ratio(quantiles[0]),
            f32_path.map_or("  –".into(), |f| ratio(quantiles[f])),
            c[0],
            c[c.len() - 1],
        );
    }
    println!("  (ratios: p50 then p99; cosine: min–max against candle over the first round)");
}

/// Sentences per second embedding `lines` in calls of `batch` texts on `path`, median of `runs`.
fn throughput(
    model: &E5Embedder,
    lines: &[&str],
    batch: usize,
    runs: usize,
    path: E5Path,
) -> (f64, Vec<f64>) {
    model.embed_via(&lines[..batch.min(lines.len())], Role::Passage, path).expect("warm-up");
    let rates: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            for chunk in lines.chunks(batch) {
                model.embed_via(chunk, Role::Passage, path).expect("embed");
            }
            lines.len() as f64 / start.elapsed().as_secs_f64()
        })
        .collect();
    (median(rates.clone()), rates)
}

fn main() -> ExitCode {
    let Some(args) = parse() else {
        eprintln!(
            "usage: embed_bench [MODEL.bin] [--runs N] [--sentences N] [--queries N] [--rounds N] \
             [--portable] [--queries-only]"
        );
        return ExitCode::from(2);
    };
    let start = Instant::now();
    let model = match E5Embedder::load(&args.model) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let load = start.elapsed();
    let after_load = memory_mib();

    let pool: Vec<&str> = KHMER.iter().zip(ENGLISH).flat_map(|(k, e)| [*k, *e]).collect();
    let lines: Vec<&str> = pool.iter().copied().cycle().take(args.sentences).collect();
    let tokens: usize = lines.iter().map(|l| model.tokenize(l, Role::Passage).unwrap().len()).sum();

    println!("model: {}", args.model.display());
    println!("threads (rayon/gemm): {}", candle_core::utils::get_num_threads());
    println!("load: {:.2} s", load.as_secs_f64());
    if let Some((_, rss)) = after_load {
        println!("RSS after load: {rss:.0} MiB");
    }
    println!(
        "{} sentences per run (half Khmer, half English), {:.1} tokens each on average, {} runs",
        lines.len(),
        tokens as f64 / lines.len() as f64,
        args.runs
    );
    for batch in [1, 8, 32].into_iter().filter(|_| !args.queries_only) {
        for (name, path) in [("embed", E5Path::Auto), ("candle", E5Path::Candle)] {
            let (rate, all) = throughput(&model, &lines, batch, args.runs, path);
            let all: Vec<String> = all.iter().map(|r| format!("{r:.1}")).collect();
            println!("batch {batch:>2}, {name:<6}: {rate:7.1} sentences/s (runs: {})", all.join(", "));
        }
    }
    let queries = queries(args.queries);
    query_latency(&model, &queries, args.rounds, args.portable);
    // Where the 4-bit path stops paying: English lines joined 2 and 4 at a time (≈ 40, 80 ids).
    for n in [2, 4] {
        let joined: Vec<String> = ENGLISH.chunks(n).map(|c| c.join(" ")).cycle().take(24).collect();
        query_latency(&model, &joined, 1, args.portable);
    }
    if let Some((peak, rss)) = memory_mib() {
        println!("RSS at the end: {rss:.0} MiB; peak RSS: {peak:.0} MiB");
    }
    ExitCode::SUCCESS
}
