//! Test helpers: models (imported once into the target directory), synthetic speech from
//! espeak-ng, resampling to 16 kHz, and word error rate.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

use molt_ml::LocalWhisper;

pub const THREADS: usize = 2;

/// Held by every test that runs a model, so that the tests of one binary transcribe one at a
/// time: ggml's worker threads spin while they wait, and a few transcriptions sharing two cores
/// run many times slower together than one after the other.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The ggml file for an installed CTranslate2 model, imported with `molt_models::import_ct2`
/// into `target/tmp/molt-ml-models/` and reused while the source is unchanged (same path, size
/// and mtime; delete that directory after changing the importer). None (with a printed notice)
/// when the model is not installed.
pub fn ggml_model(ct2_dir_name: &str) -> Option<PathBuf> {
    static IMPORT: Mutex<()> = Mutex::new(());
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../molt-data/models").join(ct2_dir_name);
    let model_bin = src.join("model.bin");
    let Ok(meta) = model_bin.metadata() else {
        println!("SKIPPED: {} is not installed (scripts/setup.sh installs it)", src.display());
        return None;
    };
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("molt-ml-models");
    std::fs::create_dir_all(&cache).unwrap();
    let dest = cache.join(format!("{ct2_dir_name}.ggml.bin"));
    let stamp_path = cache.join(format!("{ct2_dir_name}.source"));
    let mtime = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
    let stamp = format!("{} {} {:?}\n", model_bin.display(), meta.len(), mtime);

    let _guard = IMPORT.lock().unwrap_or_else(|e| e.into_inner());
    let fresh = dest.is_file() && std::fs::read_to_string(&stamp_path).is_ok_and(|s| s == stamp);
    if !fresh {
        let t = std::time::Instant::now();
        let report = molt_models::import_ct2(&src, &dest).expect("import");
        println!(
            "imported {} → {} ({} bytes) in {:?}",
            src.display(),
            dest.display(),
            report.bytes,
            t.elapsed()
        );
        std::fs::write(&stamp_path, stamp).unwrap();
    }
    Some(dest)
}

/// A loaded model, shared by the tests of one test binary.
pub fn whisper(ct2_dir_name: &'static str) -> Option<Arc<LocalWhisper>> {
    static MODELS: Mutex<Vec<(&'static str, Arc<LocalWhisper>)>> = Mutex::new(Vec::new());
    let path = ggml_model(ct2_dir_name)?;
    let mut models = MODELS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, m)) = models.iter().find(|(n, _)| *n == ct2_dir_name) {
        return Some(m.clone());
    }
    let m = Arc::new(LocalWhisper::load(&path, THREADS).expect("load"));
    models.push((ct2_dir_name, m.clone()));
    Some(m)
}

fn espeak_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE
        .get_or_init(|| Command::new("espeak-ng").arg("--version").output().is_ok_and(|o| o.status.success()))
}

/// `text` spoken by espeak-ng with `voice` ("en", "es", "fr", …), as 16-kHz mono samples.
/// None (with a printed notice) when espeak-ng is not installed.
pub fn speech(text: &str, voice: &str) -> Option<Vec<f32>> {
    if !espeak_available() {
        println!("SKIPPED: espeak-ng is not installed (scripts/setup.sh installs it)");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("speech.wav");
    let status = Command::new("espeak-ng").args(["-v", voice, "-w"]).arg(&wav).arg(text).status().unwrap();
    assert!(status.success(), "espeak-ng failed for voice {voice}");
    let (samples, rate) = read_wav_mono(&wav);
    Some(resample(&samples, rate, 16_000))
}

/// A mono 16-bit (or float) WAV file as f32 samples in [-1, 1], and its sample rate.
pub fn read_wav_mono(path: &Path) -> (Vec<f32>, u32) {
    let mut reader = hound::WavReader::open(path).unwrap();
    let spec = reader.spec();
    assert_eq!(spec.channels, 1, "mono expected");
    let samples = match spec.sample_format {
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1i64 << (spec.bits_per_sample - 1)) as f32;
            reader.samples::<i32>().map(|s| s.unwrap() as f32 * scale).collect()
        }
        hound::SampleFormat::Float => reader.samples::<f32>().map(|s| s.unwrap()).collect(),
    };
    (samples, spec.sample_rate)
}

/// Band-limited resampling by windowed-sinc interpolation: each output sample is the input
/// convolved with a Blackman-windowed sinc low-pass at 0.95 × the lower Nyquist frequency,
/// evaluated at the output instant (32 zero crossings wide at the source rate).
pub fn resample(input: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to {
        return input.to_vec();
    }
    let ratio = f64::from(from) / f64::from(to); // input samples per output sample
    let cutoff = 0.95 * (f64::from(to) / f64::from(from)).min(1.0); // fraction of input Nyquist
    let half_width = (16.0 / cutoff).ceil() as i64; // taps each side
    let n_out = (input.len() as f64 / ratio).floor() as usize;
    let mut out = Vec::with_capacity(n_out);
    for n in 0..n_out {
        let x = n as f64 * ratio;
        let centre = x.floor() as i64;
        let mut acc = 0.0f64;
        for k in (centre - half_width + 1)..=(centre + half_width) {
            if k < 0 || k as usize >= input.len() {
                continue;
            }
            let t = x - k as f64;
            let w = t / half_width as f64; // -1..1 across the window
            if w.abs() >= 1.0 {
                continue;
            }
            let arg = std::f64::consts::PI * cutoff * t;
            let sinc = if arg.abs() < 1e-12 { 1.0 } else { arg.sin() / arg };
            let a = std::f64::consts::PI * (w + 1.0); // Blackman over [-1, 1]
            let blackman = 0.42 - 0.5 * a.cos() + 0.08 * (2.0 * a).cos();
            acc += f64::from(input[k as usize]) * cutoff * sinc * blackman;
        }
        out.push(acc as f32);
    }
    out
}

pub fn silence(secs: f64) -> Vec<f32> {
    vec![0.0; (secs * 16_000.0) as usize]
}

/// Lower-cased words with punctuation removed (apostrophes inside words kept).
pub fn normalise(text: &str) -> Vec<String> {
    text.to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() || c == '\'' { c } else { ' ' })
        .collect::<String>()
        .split_whitespace()
        .map(|w| w.trim_matches('\'').to_string())
        .filter(|w| !w.is_empty())
        .collect()
}

/// Word error rate: word-level Levenshtein distance (substitutions + deletions + insertions)
/// divided by the number of reference words, after [`normalise`].
pub fn wer(reference: &str, hypothesis: &str) -> f64 {
    let (r, h) = (normalise(reference), normalise(hypothesis));
    assert!(!r.is_empty(), "empty reference");
    let mut prev: Vec<usize> = (0..=h.len()).collect();
    for (i, rw) in r.iter().enumerate() {
        let mut cur = vec![i + 1; h.len() + 1];
        for (j, hw) in h.iter().enumerate() {
            let sub = prev[j] + usize::from(rw != hw);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[h.len()] as f64 / r.len() as f64
}
