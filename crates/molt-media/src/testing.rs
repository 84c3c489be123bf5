//! Test signals, generated in memory so tests across the workspace need no
//! audio tools or fixture files. Each frequency gives different bytes, which
//! is how tests make distinct songs.

use std::f64::consts::TAU;

/// A canonical 44-byte header for 16-bit PCM WAV whose data chunk claims `data_len` bytes.
pub fn wav_header(sample_rate: u32, channels: u16, data_len: u32) -> Vec<u8> {
    let block_align = channels * 2;
    let mut h = Vec::with_capacity(44);
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&(36 + data_len).to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&16u32.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes()); // PCM
    h.extend_from_slice(&channels.to_le_bytes());
    h.extend_from_slice(&sample_rate.to_le_bytes());
    h.extend_from_slice(&(sample_rate * u32::from(block_align)).to_le_bytes());
    h.extend_from_slice(&block_align.to_le_bytes());
    h.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    h.extend_from_slice(b"data");
    h.extend_from_slice(&data_len.to_le_bytes());
    h
}

/// A valid 16-bit PCM WAV holding a sine of `freq_hz` for `secs` seconds on every channel.
pub fn sine_wav(secs: f64, sample_rate: u32, channels: u16, freq_hz: f64) -> Vec<u8> {
    let frames = (secs * f64::from(sample_rate)).round() as u32;
    let data_len = frames * u32::from(channels) * 2;
    let mut wav = wav_header(sample_rate, channels, data_len);
    for n in 0..frames {
        let t = f64::from(n) / f64::from(sample_rate);
        let sample = ((TAU * freq_hz * t).sin() * 0.5 * f64::from(i16::MAX)) as i16;
        for _ in 0..channels {
            wav.extend_from_slice(&sample.to_le_bytes());
        }
    }
    wav
}
