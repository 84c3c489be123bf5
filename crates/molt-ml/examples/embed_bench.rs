//! Load time, throughput at batch sizes 1, 8 and 32, and peak memory of the e5 embedder, on
//! Khmer and English lyric lines.
//!
//! ```text
//! cargo run --release -p molt-ml --example embed_bench -- [MODEL.bin] [--runs 3] [--sentences 96]
//! ```
//!
//! The model defaults to the one `scripts/setup.sh` installs. Each figure is the median of
//! `--runs` passes over the same `--sentences` lines (half Khmer, half English), after one
//! warm-up call; the lines are passages (`"passage: "` prefix).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use molt_ml::{E5Embedder, E5_MODEL_PATH};
use molt_vector::{Embedder, Role};

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

struct Args {
    model: PathBuf,
    runs: usize,
    sentences: usize,
}

fn parse() -> Option<Args> {
    let default_model =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../molt-data/models").join(E5_MODEL_PATH);
    let mut args = Args { model: default_model, runs: 3, sentences: 96 };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => args.runs = it.next()?.parse().ok().filter(|&n| n > 0)?,
            "--sentences" => args.sentences = it.next()?.parse().ok().filter(|&n| n > 0)?,
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

/// Sentences per second embedding `lines` in calls of `batch` texts, median of `runs`.
fn throughput(model: &E5Embedder, lines: &[&str], batch: usize, runs: usize) -> (f64, Vec<f64>) {
    model.embed(&lines[..batch.min(lines.len())], Role::Passage).expect("warm-up");
    let rates: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            for chunk in lines.chunks(batch) {
                model.embed(chunk, Role::Passage).expect("embed");
            }
            lines.len() as f64 / start.elapsed().as_secs_f64()
        })
        .collect();
    (median(rates.clone()), rates)
}

fn main() -> ExitCode {
    let Some(args) = parse() else {
        eprintln!("usage: embed_bench [MODEL.bin] [--runs N] [--sentences N]");
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
    for batch in [1, 8, 32] {
        let (rate, all) = throughput(&model, &lines, batch, args.runs);
        let all: Vec<String> = all.iter().map(|r| format!("{r:.1}")).collect();
        println!("batch {batch:>2}: {rate:7.1} sentences/s (runs: {})", all.join(", "));
    }
    if let Some((peak, _)) = memory_mib() {
        println!("peak RSS: {peak:.0} MiB");
    }
    ExitCode::SUCCESS
}
