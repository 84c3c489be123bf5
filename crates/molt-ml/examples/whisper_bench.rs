//! Transcribes a 16-kHz mono WAV N times and prints wall time and real-time factor, for a
//! side-by-side comparison with bare whisper.cpp (`whisper-cli -m MODEL -f WAV -t THREADS`).
//!
//! ```text
//! cargo run --release -p molt-ml --example whisper_bench -- MODEL.ggml.bin AUDIO.wav \
//!     [--runs 5] [--threads 2] [--language en|auto] [--beam-size 5] [--words]
//! ```
//!
//! whisper-cli decodes with beam search of width 5 by default; pass `--beam-size 5` to compare
//! like with like (without it this uses greedy decoding, whisper.cpp's library default).
//! whisper.cpp itself is always built in Release, also by `cargo run` without `--release`
//! (see the workspace Cargo.toml); only the Rust glue differs between the two profiles.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use molt_ml::{LocalWhisper, TranscribeOptions};

struct Args {
    model: PathBuf,
    wav: PathBuf,
    runs: usize,
    threads: usize,
    options: TranscribeOptions,
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: whisper_bench MODEL.ggml.bin AUDIO.wav [--runs N] [--threads T] [--language CODE|auto] \
         [--beam-size B] [--words]"
    );
    ExitCode::from(2)
}

fn parse() -> Option<Args> {
    let mut it = std::env::args().skip(1);
    let mut positional = Vec::new();
    let (mut runs, mut threads) = (5usize, 2usize);
    let mut options = TranscribeOptions::default();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => runs = it.next()?.parse().ok()?,
            "--threads" => threads = it.next()?.parse().ok()?,
            "--language" => options.language = Some(it.next()?),
            "--beam-size" => options.beam_size = Some(it.next()?.parse().ok()?),
            "--words" => options.word_timestamps = true,
            s if s.starts_with("--") => return None,
            _ => positional.push(PathBuf::from(a)),
        }
    }
    let [model, wav] = <[PathBuf; 2]>::try_from(positional).ok()?;
    options.threads = Some(threads);
    Some(Args { model, wav, runs: runs.max(1), threads, options })
}

fn main() -> ExitCode {
    let Some(args) = parse() else { return usage() };

    let mut reader = match hound::WavReader::open(&args.wav) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{}: {e}", args.wav.display());
            return ExitCode::FAILURE;
        }
    };
    let spec = reader.spec();
    if spec.channels != 1 || spec.sample_rate != molt_ml::SAMPLE_RATE {
        eprintln!(
            "{}: {} Hz, {} channel(s); a 16000-Hz mono WAV is required (e.g. sox in.wav -r 16000 -c 1 out.wav)",
            args.wav.display(),
            spec.sample_rate,
            spec.channels
        );
        return ExitCode::FAILURE;
    }
    let samples: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1i64 << (spec.bits_per_sample - 1)) as f32;
            reader.samples::<i32>().map(|s| s.map(|v| v as f32 * scale)).collect::<Result<_, _>>()
        }
        hound::SampleFormat::Float => reader.samples::<f32>().collect::<Result<_, _>>(),
    }
    .expect("readable samples");
    let audio_secs = samples.len() as f64 / f64::from(molt_ml::SAMPLE_RATE);

    let t = Instant::now();
    let model = match LocalWhisper::load(&args.model, args.threads) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    println!("model  {} (multilingual: {})", args.model.display(), model.is_multilingual());
    println!("load   {:.3} s", t.elapsed().as_secs_f64());
    println!(
        "audio  {} ({audio_secs:.2} s), threads {}, {}, runs {}",
        args.wav.display(),
        args.threads,
        match args.options.beam_size {
            Some(b) => format!("beam search {b}"),
            None => "greedy".into(),
        },
        args.runs
    );

    let mut times = Vec::with_capacity(args.runs);
    for run in 1..=args.runs {
        let t = Instant::now();
        let tr = match model.transcribe(&samples, &args.options) {
            Ok(tr) => tr,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        };
        let secs = t.elapsed().as_secs_f64();
        times.push(secs);
        println!("run {run:>3}: {secs:.3} s  RTF {:.4}", secs / audio_secs);
        if run == 1 {
            println!(
                "         language {} {:?}, {} segments, fallbacks {}, confidence {:.3}",
                tr.language,
                tr.language_probability,
                tr.segments.len(),
                tr.temperature_fallbacks,
                tr.confidence
            );
            println!("         text: {}", tr.text);
        }
    }
    times.sort_by(f64::total_cmp);
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    let median = times[times.len() / 2];
    println!(
        "wall   min {:.3} s  median {median:.3} s  mean {mean:.3} s  |  RTF min {:.4}  median {:.4}  mean {:.4}",
        times[0],
        times[0] / audio_secs,
        median / audio_secs,
        mean / audio_secs
    );
    ExitCode::SUCCESS
}
