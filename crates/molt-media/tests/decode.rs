//! Full decoding to 16 kHz mono for transcription.

use molt_media::testing::sine_wav;
use molt_media::{
    check_claim, decode_mono_16k, probe_file, AudioError, AudioFormat, AudioLimits, TARGET_RATE,
};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Upward crossings per second of the loud part, with hysteresis so codec noise
/// around zero does not count: the frequency of a sine.
fn frequency(samples: &[f32]) -> f64 {
    let (mut below, mut ups, mut first, mut last) = (false, 0usize, None, 0usize);
    for (i, s) in samples.iter().enumerate() {
        if *s < -0.1 {
            below = true;
        } else if *s > 0.1 && below {
            below = false;
            ups += 1;
            first.get_or_insert(i);
            last = i;
        }
    }
    let span = (last - first.unwrap_or(last)) as f64 / f64::from(TARGET_RATE);
    (ups.saturating_sub(1)) as f64 / span
}

#[test]
fn a_44k_stereo_wav_becomes_16k_mono_with_its_pitch_and_length_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "a.wav", &sine_wav(3.0, 44_100, 2, 440.0));
    let audio = decode_mono_16k(&path, &AudioLimits::default()).unwrap();
    assert_eq!((audio.info.sample_rate, audio.info.channels), (44_100, 2));
    let expected = 3.0 * f64::from(TARGET_RATE);
    assert!(
        (audio.samples.len() as f64 - expected).abs() < expected * 0.01,
        "{} samples",
        audio.samples.len()
    );
    let f = frequency(&audio.samples);
    assert!((f - 440.0).abs() < 3.0, "pitch kept: {f} Hz");
    let peak = audio.samples.iter().fold(0.0f32, |m, s| m.max(s.abs()));
    assert!((0.45..0.55).contains(&peak), "amplitude kept: {peak}");
}

#[test]
fn a_16k_wav_passes_through_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "a.wav", &sine_wav(1.5, 16_000, 1, 300.0));
    let audio = decode_mono_16k(&path, &AudioLimits::default()).unwrap();
    assert_eq!(audio.samples.len(), 24_000);
}

#[test]
fn every_accepted_codec_decodes_fully() {
    for name in
        ["sine_440hz_1500ms.mp3", "sine_440hz_1500ms.flac", "sine_440hz_1500ms.ogg", "sine_440hz_1500ms.m4a"]
    {
        let audio = decode_mono_16k(&fixture(name), &AudioLimits::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let secs = audio.duration_secs();
        assert!((1.4..1.7).contains(&secs), "{name}: {secs} s");
        let f = frequency(&audio.samples);
        assert!((f - 440.0).abs() < 10.0, "{name}: {f} Hz");
    }
}

#[test]
fn silence_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "quiet.wav", &sine_wav(2.0, 16_000, 1, 0.0));
    let err = decode_mono_16k(&path, &AudioLimits::default()).unwrap_err();
    assert!(matches!(err, AudioError::Silent { .. }), "{err}");
    assert_eq!(err.code(), "audio_silent");
    assert!(err.to_string().contains("silent"));
}

#[test]
fn too_long_audio_is_refused_before_decoding() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "long.wav", &sine_wav(3.0, 8_000, 1, 440.0));
    let limits = AudioLimits { max_duration_secs: 2.0, ..AudioLimits::default() };
    assert!(matches!(decode_mono_16k(&path, &limits).unwrap_err(), AudioError::TooLong { .. }));
}

#[test]
fn a_name_that_contradicts_the_content_is_refused() {
    let info = probe_file(&fixture("sine_440hz_1500ms.flac"), &AudioLimits::default()).unwrap();
    let err = check_claim("song.mp3", &info).unwrap_err();
    assert_eq!(err.to_string(), "the file is named as MP3 but contains FLAC audio");
    assert_eq!(err.code(), "audio_type_mismatch");
    assert!(check_claim("song.FLAC", &info).is_ok());
    assert!(check_claim("song", &info).is_ok(), "no extension, no claim");
    assert!(check_claim("recording.bin", &info).is_ok(), "not an audio extension");
    assert_eq!(AudioFormat::claimed_by_name("a.M4A"), Some(AudioFormat::M4a));
}

#[test]
fn adversarial_files_give_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let mp3 = std::fs::read(fixture("sine_440hz_1500ms.mp3")).unwrap();
    let mut header_only = sine_wav(1.5, 16_000, 1, 440.0);
    header_only.truncate(44);
    let mut absurd_rate = sine_wav(1.5, 16_000, 1, 440.0);
    absurd_rate[24..28].copy_from_slice(&4_000_000_000u32.to_le_bytes());
    let mut ten_hours = molt_media::testing::wav_header(16_000, 1, u32::MAX - 100);
    ten_hours.extend_from_slice(&sine_wav(1.5, 16_000, 1, 440.0)[44..]);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated.mp3", mp3[..mp3.len() / 3].to_vec()),
        ("header-only.wav", header_only),
        ("absurd-rate.wav", absurd_rate),
        ("ten-hours.wav", ten_hours),
    ];
    for (name, bytes) in cases {
        let path = write(&dir, name, &bytes);
        match decode_mono_16k(&path, &AudioLimits::default()) {
            Ok(audio) => assert!(audio.duration_secs() < 2.0, "{name}: measured by what is present"),
            Err(e) => assert!(!e.to_string().is_empty(), "{name}"),
        }
    }
}
