//! The mel filterbank whisper.cpp reads from a ggml file.
//!
//! Whisper uses librosa's `mel(sr=16000, n_fft=400, n_mels=…, htk=False, norm="slaney")`:
//! a Slaney-scale filterbank over the 201 FFT bins from 0 to 8000 Hz, linear below 1 kHz
//! (200/3 Hz per mel) and logarithmic above (a step of ln(6.4)/27 per mel), with `n_mels + 2`
//! edge points and each triangle scaled by `2 / (f[i+2] − f[i])` so that every filter has the
//! same area. Computed in f64, stored as f32.

/// Sample rate Whisper works at.
const SAMPLE_RATE: f64 = 16_000.0;
/// FFT size (25 ms windows at 16 kHz).
const N_FFT: usize = 400;
/// Number of FFT bins written to the file: `N_FFT / 2 + 1`.
pub const N_FFT_BINS: usize = N_FFT / 2 + 1;

const F_SP: f64 = 200.0 / 3.0;
const MIN_LOG_HZ: f64 = 1000.0;
const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP; // 15

fn log_step() -> f64 {
    6.4f64.ln() / 27.0
}

fn hz_to_mel(hz: f64) -> f64 {
    if hz < MIN_LOG_HZ {
        hz / F_SP
    } else {
        MIN_LOG_MEL + (hz / MIN_LOG_HZ).ln() / log_step()
    }
}

fn mel_to_hz(mel: f64) -> f64 {
    if mel < MIN_LOG_MEL {
        F_SP * mel
    } else {
        MIN_LOG_HZ * (log_step() * (mel - MIN_LOG_MEL)).exp()
    }
}

/// The `n_mels × 201` filterbank, row-major (one row per mel band).
pub fn mel_filters(n_mels: usize) -> Vec<f32> {
    let fmax = SAMPLE_RATE / 2.0;
    let bins: Vec<f64> = (0..N_FFT_BINS).map(|k| fmax * k as f64 / (N_FFT_BINS - 1) as f64).collect();
    let (mel_lo, mel_hi) = (hz_to_mel(0.0), hz_to_mel(fmax));
    let n_points = n_mels + 2;
    let edges: Vec<f64> = (0..n_points)
        .map(|i| mel_to_hz(mel_lo + (mel_hi - mel_lo) * i as f64 / (n_points - 1) as f64))
        .collect();

    let mut out = Vec::with_capacity(n_mels * N_FFT_BINS);
    for i in 0..n_mels {
        let (left, centre, right) = (edges[i], edges[i + 1], edges[i + 2]);
        let enorm = 2.0 / (right - left);
        for &f in &bins {
            let lower = (f - left) / (centre - left);
            let upper = (right - f) / (right - centre);
            let w = lower.min(upper).max(0.0);
            out.push((w * enorm) as f32);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_is_continuous_and_invertible() {
        for hz in [0.0, 100.0, 999.0, 1000.0, 1001.0, 4000.0, 8000.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-9, "{hz}");
        }
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
    }

    #[test]
    fn filterbank_shape_and_values() {
        let f = mel_filters(80);
        assert_eq!(f.len(), 80 * 201);
        assert!(f.iter().all(|&w| w >= 0.0 && w.is_finite()));
        // Every band has at least one non-zero weight, and the DC / Nyquist bins are empty
        // (the first edge is 0 Hz and the last is 8000 Hz).
        for row in f.chunks(201) {
            assert!(row.iter().any(|&w| w > 0.0));
        }
        assert_eq!(f[0], 0.0);
        assert_eq!(f[80 * 201 - 1], 0.0);
        // Slaney normalisation: each triangle has area ≈ 1 (in Hz, before sampling). With bins
        // 40 Hz apart, the sampled sum × 40 Hz is close to 1 for the wide upper bands.
        let last: f64 = f[79 * 201..].iter().map(|&w| f64::from(w)).sum::<f64>() * 40.0;
        assert!((last - 1.0).abs() < 0.05, "area of the top band {last}");
        // librosa's value for the first band at bin 1 (40 Hz), worked out independently.
        assert!((f[1] - 0.024_862_594).abs() < 1e-7, "{}", f[1]);
    }
}
