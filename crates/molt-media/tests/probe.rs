//! End-to-end checks of `probe_file` on audio generated in memory and on tiny fixtures.
//!
//! Fixtures under `tests/fixtures/` are 1.5 s, 440 Hz mono sines: the mp3/flac/ogg were
//! made with sox, the m4a (AAC) and the Ogg Opus with ffmpeg. Nothing here needs those
//! tools at test time.

use std::path::{Path, PathBuf};

use molt_media::testing::{self, wav_header};
use molt_media::{probe_file, AudioError, AudioFormat, AudioInfo, AudioLimits};
use tempfile::TempDir;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// A 440 Hz, 16-bit PCM WAV of `secs` seconds (see `molt_media::testing`).
fn sine_wav(secs: f64, sample_rate: u32, channels: u16) -> Vec<u8> {
    testing::sine_wav(secs, sample_rate, channels, 440.0)
}

/// Deterministic pseudo-random bytes (xorshift64), so failures are reproducible.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

/// Writes `bytes` to `name` inside `dir`.
fn write(dir: &TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap()
}

/// Probes `bytes` stored as `name` with `limits`.
fn probe_bytes(name: &str, bytes: &[u8], limits: &AudioLimits) -> Result<AudioInfo, AudioError> {
    let dir = TempDir::new().unwrap();
    let path = write(&dir, name, bytes);
    let result = probe_file(&path, limits);
    if let Err(err) = &result {
        assert_path_free(err, &path);
    }
    result
}

/// Every message is shown to API users, so it must not leak where the upload lives.
fn assert_path_free(err: &AudioError, path: &Path) {
    let msg = err.to_string();
    let dir = path.parent().unwrap().to_str().unwrap();
    let name = path.file_name().unwrap().to_str().unwrap();
    assert!(!msg.contains(dir), "message leaks directory: {msg}");
    assert!(!msg.contains(name), "message leaks file name: {msg}");
}

fn assert_close(actual: f64, expected: f64, tolerance: f64) {
    assert!((actual - expected).abs() <= tolerance, "expected {expected} ± {tolerance}, got {actual}");
}

fn defaults() -> AudioLimits {
    AudioLimits::default()
}

// ---------------------------------------------------------------------------------------
// Generated WAV
// ---------------------------------------------------------------------------------------

#[test]
fn valid_wav_is_accepted_and_described() {
    let wav = sine_wav(2.0, 16_000, 1);
    let info = probe_bytes("tone.wav", &wav, &defaults()).unwrap();
    assert_eq!(info.format, AudioFormat::Wav);
    assert_eq!(info.format.extension(), "wav");
    assert_eq!(info.format.mime(), "audio/wav");
    assert_eq!(info.codec, "pcm_s16le");
    assert_eq!(info.sample_rate, 16_000);
    assert_eq!(info.channels, 1);
    assert_close(info.duration_secs, 2.0, 0.01);
    assert_eq!(info.bytes, wav.len() as u64);
}

#[test]
fn stereo_wav_reports_two_channels() {
    let info = probe_bytes("stereo.wav", &sine_wav(1.5, 44_100, 2), &defaults()).unwrap();
    assert_eq!((info.sample_rate, info.channels), (44_100, 2));
    assert_close(info.duration_secs, 1.5, 0.01);
}

#[test]
fn extension_is_ignored() {
    let info = probe_bytes("song.mp3", &sine_wav(2.0, 16_000, 1), &defaults()).unwrap();
    assert_eq!(info.format, AudioFormat::Wav);
    let info = probe_bytes("noext", &fixture_bytes("sine_440hz_1500ms.flac"), &defaults()).unwrap();
    assert_eq!(info.format, AudioFormat::Flac);
}

#[test]
fn zero_length_file_is_empty() {
    let err = probe_bytes("empty.wav", &[], &defaults()).unwrap_err();
    assert!(matches!(err, AudioError::Empty), "{err:?}");
    assert_eq!(err.code(), "audio_empty");
}

#[test]
fn oversized_file_is_too_large() {
    let wav = sine_wav(2.0, 16_000, 1);
    let limits = AudioLimits { max_bytes: 1000, ..defaults() };
    let err = probe_bytes("big.wav", &wav, &limits).unwrap_err();
    match err {
        AudioError::TooLarge { bytes, max } => {
            assert_eq!(bytes, wav.len() as u64);
            assert_eq!(max, 1000);
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

#[test]
fn size_limit_is_inclusive() {
    let wav = sine_wav(2.0, 16_000, 1);
    let limits = AudioLimits { max_bytes: wav.len() as u64, ..defaults() };
    assert!(probe_bytes("exact.wav", &wav, &limits).is_ok());
}

#[test]
fn text_named_mp3_is_unrecognised() {
    let err = probe_bytes("song.mp3", b"this is not audio", &defaults()).unwrap_err();
    assert!(matches!(err, AudioError::UnrecognisedFormat { .. }), "{err:?}");
    assert_eq!(err.code(), "audio_unrecognised_format");
    let msg = err.to_string();
    assert!(msg.contains("not a supported audio format"), "{msg}");
    assert!(msg.contains("plain text"), "{msg}");
    assert!(msg.contains("WAV, MP3, FLAC, Ogg Vorbis and M4A/AAC"), "{msg}");
}

#[test]
fn random_bytes_are_unrecognised() {
    for seed in 1..=8 {
        let err = probe_bytes("upload.wav", &noise(64 * 1024, seed), &defaults()).unwrap_err();
        assert!(matches!(err, AudioError::UnrecognisedFormat { .. }), "seed {seed}: {err:?}");
    }
}

#[test]
fn wav_truncated_to_header_is_undecodable() {
    // The header promises 2 s of audio but nothing follows it: the header lies, so the
    // file is broken (undecodable) rather than merely short.
    let header_only = sine_wav(2.0, 16_000, 1)[..44].to_vec();
    let err = probe_bytes("cut.wav", &header_only, &defaults()).unwrap_err();
    match &err {
        AudioError::Undecodable { format, detail } => {
            assert_eq!(*format, AudioFormat::Wav);
            assert!(detail.contains("no audio data"), "{detail}");
        }
        other => panic!("expected Undecodable, got {other:?}"),
    }
    assert_eq!(err.code(), "audio_undecodable");
}

#[test]
fn wav_with_empty_data_chunk_is_undecodable() {
    let err = probe_bytes("silent.wav", &wav_header(16_000, 1, 0), &defaults()).unwrap_err();
    assert!(matches!(err, AudioError::Undecodable { format: AudioFormat::Wav, .. }), "{err:?}");
}

#[test]
fn wav_cut_inside_header_is_undecodable() {
    let err = probe_bytes("cut.wav", &sine_wav(2.0, 16_000, 1)[..20], &defaults()).unwrap_err();
    assert!(matches!(err, AudioError::Undecodable { .. }), "{err:?}");
    assert!(err.to_string().contains("truncated"), "{err}");
}

#[test]
fn wav_truncated_mid_data_is_measured_by_what_is_present() {
    // Header claims 2 s, only 1.25 s of samples arrived: report what is really there.
    let wav = sine_wav(2.0, 16_000, 1);
    let cut = &wav[..44 + 40_000];
    let info = probe_bytes("cut.wav", cut, &defaults()).unwrap();
    assert_close(info.duration_secs, 1.25, 0.001);
}

#[test]
fn wav_with_streaming_placeholder_size_is_measured() {
    // Streaming writers (e.g. to a pipe) leave the data size as 0xFFFFFFFF.
    let mut wav = sine_wav(2.0, 16_000, 1);
    wav[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    wav[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
    let info = probe_bytes("stream.wav", &wav, &defaults()).unwrap();
    assert_close(info.duration_secs, 2.0, 0.001);
}

#[test]
fn short_wav_is_too_short() {
    let err = probe_bytes("blip.wav", &sine_wav(0.2, 16_000, 1), &defaults()).unwrap_err();
    match err {
        AudioError::TooShort { secs, min } => {
            assert_close(secs, 0.2, 0.01);
            assert_eq!(min, 1.0);
        }
        other => panic!("expected TooShort, got {other:?}"),
    }
}

#[test]
fn long_wav_is_too_long() {
    let limits = AudioLimits { max_duration_secs: 1.5, ..defaults() };
    let err = probe_bytes("long.wav", &sine_wav(2.0, 16_000, 1), &limits).unwrap_err();
    assert_eq!(err.code(), "audio_too_long");
    match err {
        AudioError::TooLong { secs, max } => {
            assert_close(secs, 2.0, 0.01);
            assert_eq!(max, 1.5);
        }
        other => panic!("expected TooLong, got {other:?}"),
    }
}

#[test]
fn missing_file_and_directory_are_io_errors() {
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("missing.wav");
    let err = probe_file(&missing, &defaults()).unwrap_err();
    assert!(matches!(err, AudioError::Io(_)), "{err:?}");
    assert_eq!(err.code(), "io");
    assert_path_free(&err, &missing);

    let err = probe_file(dir.path(), &defaults()).unwrap_err();
    assert!(matches!(err, AudioError::Io(_)), "{err:?}");
}

#[test]
fn info_serialises_with_lowercase_format() {
    let info = probe_bytes("tone.wav", &sine_wav(2.0, 16_000, 1), &defaults()).unwrap();
    let json = serde_json::to_value(&info).unwrap();
    assert_eq!(json["format"], "wav");
    assert_eq!(json["codec"], "pcm_s16le");
    assert_eq!(json["sample_rate"], 16_000);
    assert_eq!(json["channels"], 1);
}

// ---------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------

/// Probes a fixture under a misleading name, proving identity comes from content.
fn probe_fixture(name: &str) -> AudioInfo {
    probe_bytes("upload.bin", &fixture_bytes(name), &defaults()).unwrap()
}

#[test]
fn mp3_fixture_is_accepted() {
    let info = probe_fixture("sine_440hz_1500ms.mp3");
    assert_eq!(info.format, AudioFormat::Mp3);
    assert_eq!(info.format.extension(), "mp3");
    assert_eq!(info.codec, "mp3");
    assert_eq!((info.sample_rate, info.channels), (16_000, 1));
    // No LAME/Xing tag, so encoder padding is counted (sox itself reports 1.584 s).
    assert_close(info.duration_secs, 1.5, 0.1);
}

#[test]
fn flac_fixture_is_accepted() {
    let info = probe_fixture("sine_440hz_1500ms.flac");
    assert_eq!(info.format, AudioFormat::Flac);
    assert_eq!(info.codec, "flac");
    assert_eq!((info.sample_rate, info.channels), (8_000, 1));
    assert_close(info.duration_secs, 1.5, 0.01);
}

#[test]
fn ogg_vorbis_fixture_is_accepted() {
    let info = probe_fixture("sine_440hz_1500ms.ogg");
    assert_eq!(info.format, AudioFormat::Ogg);
    assert_eq!(info.codec, "vorbis");
    assert_eq!((info.sample_rate, info.channels), (16_000, 1));
    assert_close(info.duration_secs, 1.5, 0.01);
}

#[test]
fn m4a_aac_fixture_is_accepted() {
    let info = probe_fixture("sine_440hz_1500ms.m4a");
    assert_eq!(info.format, AudioFormat::M4a);
    assert_eq!(info.codec, "aac");
    assert_eq!((info.sample_rate, info.channels), (16_000, 1));
    // AAC priming (1024 frames) is included: symphonia 0.5 ignores MP4 edit lists.
    assert_close(info.duration_secs, 1.5, 0.1);
}

#[test]
fn flac_without_total_samples_is_measured_from_packets() {
    // STREAMINFO's 36-bit total-samples field (0 = unknown) ends the 26th byte of the
    // file; clearing it forces the fallback that sums packet durations.
    let mut bytes = fixture_bytes("sine_440hz_1500ms.flac");
    bytes[21] &= 0xF0;
    bytes[22..26].fill(0);
    let info = probe_bytes("unknown-length.flac", &bytes, &defaults()).unwrap();
    assert_eq!(info.format, AudioFormat::Flac);
    assert_close(info.duration_secs, 1.5, 0.01);

    // The fallback still enforces the limits.
    let limits = AudioLimits { max_duration_secs: 1.0, ..defaults() };
    let err = probe_bytes("unknown-length.flac", &bytes, &limits).unwrap_err();
    assert!(matches!(err, AudioError::TooLong { .. }), "{err:?}");
}

/// Overwrites the big-endian u32 `offset` bytes after the type field of the first `kind` box.
fn patch_box_u32(bytes: &mut [u8], kind: &[u8; 4], offset: usize, value: u32) {
    let at = bytes.windows(4).position(|w| w == kind).expect("box present") + offset;
    bytes[at..at + 4].copy_from_slice(&value.to_be_bytes());
}

#[test]
fn m4a_with_absurd_table_count_is_refused_before_symphonia() {
    // symphonia 0.5.5 would try to allocate 32 GiB for this table and abort the process.
    let mut bytes = fixture_bytes("sine_440hz_1500ms.m4a");
    patch_box_u32(&mut bytes, b"stts", 8, u32::MAX);
    let err = probe_bytes("evil.m4a", &bytes, &defaults()).unwrap_err();
    match err {
        AudioError::Undecodable { format: AudioFormat::M4a, detail } => {
            assert!(detail.contains("'stts' table declares more entries"), "{detail}")
        }
        other => panic!("expected Undecodable, got {other:?}"),
    }
}

#[test]
fn truncated_m4a_is_undecodable() {
    let bytes = fixture_bytes("sine_440hz_1500ms.m4a");
    let err = probe_bytes("cut.m4a", &bytes[..bytes.len() - 100], &defaults()).unwrap_err();
    assert!(matches!(err, AudioError::Undecodable { format: AudioFormat::M4a, .. }), "{err:?}");
    assert!(err.to_string().contains("truncated"), "{err}");
}

#[test]
fn m4a_that_trips_a_symphonia_bug_is_undecodable() {
    // A zero `first_chunk` in stsc underflows inside symphonia (a panic with overflow
    // checks, garbage without); either way the upload is rejected, not propagated.
    let mut bytes = fixture_bytes("sine_440hz_1500ms.m4a");
    patch_box_u32(&mut bytes, b"stsc", 12, 0);
    let err = probe_bytes("evil.m4a", &bytes, &defaults()).unwrap_err();
    assert!(matches!(err, AudioError::Undecodable { format: AudioFormat::M4a, .. }), "{err:?}");
}

#[test]
fn mp3_behind_id3v2_tag_is_accepted() {
    let mut bytes = b"ID3\x04\x00\x00\x00\x00\x00\x11".to_vec();
    bytes.extend_from_slice(b"TIT2\x00\x00\x00\x07\x00\x00\x03a tone"); // 17-byte frame
    bytes.extend_from_slice(&fixture_bytes("sine_440hz_1500ms.mp3"));
    let info = probe_bytes("tagged", &bytes, &defaults()).unwrap();
    assert_eq!(info.format, AudioFormat::Mp3);
    assert_close(info.duration_secs, 1.5, 0.1);
}

#[test]
fn ogg_opus_is_an_unsupported_codec() {
    let err = probe_bytes("voice.ogg", &fixture_bytes("opus_1500ms.ogg"), &defaults()).unwrap_err();
    assert!(matches!(err, AudioError::UnrecognisedFormat { .. }), "{err:?}");
    assert!(err.to_string().contains("Opus"), "{err}");
}

/// Keeps the first `keep` bytes of a fixture and replaces the rest with noise.
fn garble_fixture(name: &str, keep: usize) -> Vec<u8> {
    let mut bytes = fixture_bytes(name);
    let tail = noise(bytes.len() - keep, 42);
    bytes.truncate(keep);
    bytes.extend_from_slice(&tail);
    bytes
}

#[test]
fn flac_with_garbage_frames_is_undecodable() {
    // fLaC marker + STREAMINFO block intact, audio frames replaced with noise.
    let bytes = garble_fixture("sine_440hz_1500ms.flac", 42);
    let err = probe_bytes("broken.flac", &bytes, &defaults()).unwrap_err();
    assert!(matches!(err, AudioError::Undecodable { format: AudioFormat::Flac, .. }), "{err:?}");
}

#[test]
fn mp3_with_garbage_frames_is_undecodable() {
    // Only the first frame header survives.
    let bytes = garble_fixture("sine_440hz_1500ms.mp3", 4);
    let err = probe_bytes("broken.mp3", &bytes, &defaults()).unwrap_err();
    assert!(matches!(err, AudioError::Undecodable { format: AudioFormat::Mp3, .. }), "{err:?}");
}

#[test]
fn ogg_with_garbage_pages_is_undecodable() {
    // Keep the identification and comment/setup pages, garble the audio pages.
    let ogg = fixture_bytes("sine_440hz_1500ms.ogg");
    let third_page = nth_ogg_page(&ogg, 2);
    let bytes = garble_fixture("sine_440hz_1500ms.ogg", third_page + 100);
    let err = probe_bytes("broken.ogg", &bytes, &defaults()).unwrap_err();
    assert!(matches!(err, AudioError::Undecodable { format: AudioFormat::Ogg, .. }), "{err:?}");
}

/// Byte offset of the `n`th (0-based) "OggS" capture pattern.
fn nth_ogg_page(bytes: &[u8], n: usize) -> usize {
    bytes
        .windows(4)
        .enumerate()
        .filter(|(_, w)| w == b"OggS")
        .nth(n)
        .map(|(i, _)| i)
        .expect("fixture has enough pages")
}

#[test]
fn error_codes_are_stable() {
    let io = std::io::Error::other("x");
    let cases = [
        (AudioError::Empty, "audio_empty"),
        (AudioError::TooLarge { bytes: 2, max: 1 }, "audio_too_large"),
        (AudioError::UnrecognisedFormat { detail: "x".into() }, "audio_unrecognised_format"),
        (AudioError::Undecodable { format: AudioFormat::Wav, detail: "x".into() }, "audio_undecodable"),
        (AudioError::NoAudioTrack, "audio_no_audio_track"),
        (AudioError::TooShort { secs: 0.2, min: 1.0 }, "audio_too_short"),
        (AudioError::TooLong { secs: 9.0, max: 1.0 }, "audio_too_long"),
        (AudioError::Io(io), "io"),
    ];
    for (err, code) in cases {
        assert_eq!(err.code(), code, "{err:?}");
    }
}

#[test]
fn duration_messages_are_readable() {
    let err = AudioError::TooShort { secs: 0.2, min: 1.0 };
    assert_eq!(err.to_string(), "the audio is 0.20 s long but the minimum is 1 s");
    let err = AudioError::TooLong { secs: 4000.0, max: 3600.0 };
    assert_eq!(err.to_string(), "the audio is 4000.00 s long but the maximum is 3600 s");
}
