//! Content sniffing: decide the container from signature bytes at the start of the file.
//!
//! Symphonia's own probe scans up to 1 MiB for *any* registered marker, so random or
//! foreign data that happens to contain e.g. an MPEG sync word somewhere would be
//! "recognised". Anchoring the signature at the start of the file (after ID3v2 tags, which
//! MP3s legitimately carry) gives a trustworthy identity and keeps junk out; symphonia then
//! validates the container with only the matching reader registered.

use std::io::{self, Read, Seek, SeekFrom};

use crate::{AudioError, AudioFormat};

/// How much of the file start is examined; plenty for every signature we know.
const HEAD_LEN: usize = 512;

/// Stacked ID3v2 tags are legal but rare; a bound keeps hostile files from looping us.
const MAX_ID3_TAGS: usize = 4;

/// Length of an ID3v2 header (and footer).
const ID3_HEADER_LEN: u64 = 10;

/// The identified container and where its own data starts (after any ID3v2 tags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sniffed {
    pub format: AudioFormat,
    pub offset: u64,
}

/// Identifies the container of a `len`-byte source from its leading bytes.
pub(crate) fn sniff<R: Read + Seek>(src: &mut R, len: u64) -> Result<Sniffed, AudioError> {
    let offset = skip_id3v2_tags(src, len)?;
    let head = read_at(src, offset, HEAD_LEN)?;
    if let Some(format) = identify(&head) {
        return Ok(Sniffed { format, offset });
    }
    let detail = if offset > 0 {
        "an ID3 tag is followed by something other than MP3 audio".to_owned()
    } else {
        describe_unknown(&head)
    };
    Err(AudioError::unrecognised(detail))
}

/// Reads up to `max` bytes starting at `offset` (fewer at end of file).
fn read_at<R: Read + Seek>(src: &mut R, offset: u64, max: usize) -> io::Result<Vec<u8>> {
    src.seek(SeekFrom::Start(offset))?;
    let mut buf = Vec::with_capacity(max);
    src.by_ref().take(max as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

/// Returns the offset of the first byte after any leading ID3v2 tags.
fn skip_id3v2_tags<R: Read + Seek>(src: &mut R, len: u64) -> Result<u64, AudioError> {
    let mut offset = 0;
    for _ in 0..MAX_ID3_TAGS {
        let header = read_at(src, offset, ID3_HEADER_LEN as usize)?;
        let Some(tag_len) = id3v2_tag_len(&header) else {
            break;
        };
        offset += tag_len;
        if offset >= len {
            return Err(AudioError::unrecognised("the file holds an ID3 tag but no audio after it"));
        }
    }
    Ok(offset)
}

/// Total length (header + body + optional footer) of the ID3v2 tag whose header is `h`.
fn id3v2_tag_len(h: &[u8]) -> Option<u64> {
    if h.len() < ID3_HEADER_LEN as usize || &h[..3] != b"ID3" || h[3] == 0xFF || h[4] == 0xFF {
        return None;
    }
    // The size is "syncsafe": four 7-bit groups, so a set high bit means it is not a tag.
    let body = h[6..10].iter().try_fold(0u64, |acc, &b| (b < 0x80).then_some((acc << 7) | u64::from(b)))?;
    let footer = if h[5] & 0x10 != 0 { ID3_HEADER_LEN } else { 0 };
    Some(ID3_HEADER_LEN + body + footer)
}

/// Maps a signature at the start of `head` to an accepted format.
pub(crate) fn identify(head: &[u8]) -> Option<AudioFormat> {
    let at = |offset: usize, magic: &[u8]| head.get(offset..offset + magic.len()) == Some(magic);
    if at(0, b"RIFF") && at(8, b"WAVE") {
        Some(AudioFormat::Wav)
    } else if at(0, b"fLaC") {
        Some(AudioFormat::Flac)
    } else if at(0, b"OggS") {
        Some(AudioFormat::Ogg)
    } else if at(4, b"ftyp") {
        Some(AudioFormat::M4a)
    } else if is_mp3_frame_header(head) {
        Some(AudioFormat::Mp3)
    } else {
        None
    }
}

/// True if `h` starts with a plausible MPEG-1/2/2.5 Layer III frame header.
///
/// Exactly the sync patterns symphonia's MP3 reader registers (0xFFFA/B, 0xFFF2/3,
/// 0xFFE2/3), plus rejection of the reserved bitrate and sample-rate values.
fn is_mp3_frame_header(h: &[u8]) -> bool {
    let [b0, b1, b2, ..] = *h else {
        return false;
    };
    let synced = b0 == 0xFF && b1 & 0xE0 == 0xE0;
    let version_ok = (b1 >> 3) & 0b11 != 0b01;
    let layer_3 = (b1 >> 1) & 0b11 == 0b01;
    let bitrate_ok = matches!(b2 >> 4, 1..=14);
    let sample_rate_ok = (b2 >> 2) & 0b11 != 0b11;
    synced && version_ok && layer_3 && bitrate_ok && sample_rate_ok
}

/// Says what unrecognised content looks like, so the user knows why it was refused.
fn describe_unknown(head: &[u8]) -> String {
    if head.is_empty() {
        "the file holds no data".to_owned()
    } else if let Some(name) = known_unsupported(head) {
        format!("it looks like {name}, which is not accepted")
    } else if looks_like_text(head) {
        "it appears to be plain text".to_owned()
    } else {
        "no audio signature was found at the start of the file".to_owned()
    }
}

/// Names common media formats that are recognisable but not accepted.
fn known_unsupported(head: &[u8]) -> Option<&'static str> {
    let at = |offset: usize, magic: &[u8]| head.get(offset..offset + magic.len()) == Some(magic);
    let mpeg_sync = head.len() >= 2 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0;
    if at(0, b"FORM") && (at(8, b"AIFF") || at(8, b"AIFC")) {
        Some("AIFF audio")
    } else if at(0, &[0x1A, 0x45, 0xDF, 0xA3]) {
        Some("a Matroska/WebM file")
    } else if at(0, b"caff") {
        Some("CAF audio")
    } else if at(0, b"RIFF") {
        Some("a RIFF file that is not WAVE (e.g. AVI)")
    } else if at(0, b"MThd") {
        Some("a MIDI file")
    } else if mpeg_sync && head[1] & 0x06 == 0 {
        Some("a raw AAC (ADTS) stream")
    } else if mpeg_sync && head[1] & 0x06 != 0x02 {
        Some("MPEG Layer I/II audio")
    } else {
        None
    }
}

/// True if `head` is UTF-8 without control characters other than ordinary whitespace.
fn looks_like_text(head: &[u8]) -> bool {
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        // A multi-byte character cut off by the end of the sample is still text.
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return false,
    };
    !text.is_empty() && text.chars().all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r' | '\x0C'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn sniff_bytes(bytes: &[u8]) -> Result<Sniffed, AudioError> {
        sniff(&mut Cursor::new(bytes), bytes.len() as u64)
    }

    fn detail(err: AudioError) -> String {
        match err {
            AudioError::UnrecognisedFormat { detail } => detail,
            other => panic!("expected UnrecognisedFormat, got {other:?}"),
        }
    }

    #[test]
    fn identifies_container_signatures() {
        let mut wav = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
        wav.resize(64, 0);
        assert_eq!(identify(&wav), Some(AudioFormat::Wav));
        assert_eq!(identify(b"fLaC\0\0\0\x22"), Some(AudioFormat::Flac));
        assert_eq!(identify(b"OggS\0\x02"), Some(AudioFormat::Ogg));
        assert_eq!(identify(b"\0\0\0\x20ftypM4A "), Some(AudioFormat::M4a));
        assert_eq!(identify(&[0xFF, 0xFB, 0x90, 0x64]), Some(AudioFormat::Mp3));
        assert_eq!(identify(&[0xFF, 0xF3, 0x38, 0xC4]), Some(AudioFormat::Mp3));
    }

    #[test]
    fn rejects_implausible_mp3_headers() {
        // Reserved version, layer II, bad bitrate index, reserved sample rate.
        for h in [[0xFF, 0xEB, 0x90, 0], [0xFF, 0xFD, 0x90, 0], [0xFF, 0xFB, 0xF0, 0]] {
            assert_eq!(identify(&h), None, "{h:x?}");
        }
        assert_eq!(identify(&[0xFF, 0xFB, 0x9C, 0]), None);
        // ADTS AAC is not MP3.
        assert_eq!(identify(&[0xFF, 0xF1, 0x50, 0x80]), None);
    }

    #[test]
    fn skips_id3v2_tags_before_mp3() {
        let mut bytes = b"ID3\x04\0\0\0\0\0\x05hello".to_vec();
        bytes.extend_from_slice(&[0xFF, 0xFB, 0x90, 0x64, 0, 0, 0, 0]);
        let sniffed = sniff_bytes(&bytes).unwrap();
        assert_eq!(sniffed.format, AudioFormat::Mp3);
        assert_eq!(sniffed.offset, 15);
    }

    #[test]
    fn id3_tag_without_audio_is_unrecognised() {
        let only_tag = b"ID3\x04\0\0\0\0\0\x05hello";
        assert!(detail(sniff_bytes(only_tag).unwrap_err()).contains("no audio"));
        let tag_then_text = b"ID3\x04\0\0\0\0\0\x05helloand then some text";
        assert!(detail(sniff_bytes(tag_then_text).unwrap_err()).contains("ID3"));
    }

    #[test]
    fn describes_text_and_foreign_formats() {
        assert_eq!(detail(sniff_bytes(b"this is not audio\n").unwrap_err()), "it appears to be plain text");
        let aiff = b"FORM\0\0\0\0AIFFCOMM";
        assert!(detail(sniff_bytes(aiff).unwrap_err()).contains("AIFF"));
        let adts = [0xFF, 0xF1, 0x50, 0x80, 0x02, 0x1F, 0xFC];
        assert!(detail(sniff_bytes(&adts).unwrap_err()).contains("ADTS"));
        let binary = [0u8, 1, 2, 3, 200, 201];
        assert!(detail(sniff_bytes(&binary).unwrap_err()).contains("no audio signature"));
    }

    #[test]
    fn text_with_cut_multibyte_char_is_text() {
        // Byte 9 is the middle of the two-byte "ö".
        assert!(looks_like_text(&"héllo wörld".as_bytes()[..9]));
        assert!(!looks_like_text(b"abc\0def"));
    }
}
