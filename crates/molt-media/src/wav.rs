//! Just enough RIFF/WAVE parsing to know where the samples start.
//!
//! Symphonia takes a WAV's length from its data-chunk header. That header is written
//! before (streaming writers: a 0xFFFFFFFF placeholder) or after the samples, so an
//! interrupted recording or truncated upload claims audio it does not hold. For PCM the
//! real length follows exactly from the bytes present, which needs the data offset.
//! The same walk refuses header chunks that claim more bytes than the file holds.

use std::io::{self, Read, Seek};

use crate::read::{fourcc, read_array};
use crate::{AudioError, AudioFormat};

/// Bound on chunks skipped before `data`, so a hostile header cannot keep us seeking.
const MAX_CHUNKS: usize = 64;

/// Where the sample data starts and how many bytes one frame (all channels) takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WavLayout {
    pub data_offset: u64,
    pub block_align: u64,
}

impl WavLayout {
    /// Whole frames actually present in a file of `file_bytes`.
    pub fn frames_present(&self, file_bytes: u64) -> u64 {
        file_bytes.saturating_sub(self.data_offset) / self.block_align
    }
}

/// Finds the data chunk of the RIFF/WAVE file starting at `base`; `None` if the chunk
/// list is malformed in a way symphonia reports itself.
///
/// A header chunk (before `data`) that runs past the end of the file is refused here:
/// symphonia 0.5 allocates INFO values by their declared length, bounded only by the
/// RIFF header's own (untrusted) size, so this keeps such allocations within the file size.
pub(crate) fn layout<R: Read + Seek>(
    src: &mut R,
    base: u64,
    len: u64,
) -> Result<Option<WavLayout>, AudioError> {
    let mut pos = base + 12; // "RIFF", size, "WAVE"
    let mut block_align = 0;
    for _ in 0..MAX_CHUNKS {
        let Some((id, size)) = chunk_header(src, pos)? else {
            return Ok(None);
        };
        let body = pos + 8;
        match &id {
            b"data" if block_align > 0 => return Ok(Some(WavLayout { data_offset: body, block_align })),
            b"data" => return Ok(None),
            _ if body + size > len => {
                let detail = format!(
                    "the '{}' header chunk runs past the end of the file (it may be truncated)",
                    fourcc(id)
                );
                return Err(AudioError::undecodable(AudioFormat::Wav, detail));
            }
            b"fmt " if size >= 14 => block_align = read_block_align(src, body)?,
            _ => {}
        }
        pos = body + size + (size & 1); // chunks are padded to even length
    }
    Ok(None)
}

/// Reads a chunk's id and declared size at `pos`, or `None` past the end of file.
fn chunk_header<R: Read + Seek>(src: &mut R, pos: u64) -> io::Result<Option<([u8; 4], u64)>> {
    let Some([a, b, c, d, s0, s1, s2, s3]) = read_array::<8, _>(src, pos)? else {
        return Ok(None);
    };
    Ok(Some(([a, b, c, d], u64::from(u32::from_le_bytes([s0, s1, s2, s3])))))
}

/// Reads `nBlockAlign` (bytes per frame) from a fmt chunk body at `body`; 0 if cut off.
fn read_block_align<R: Read + Seek>(src: &mut R, body: u64) -> io::Result<u64> {
    let align = read_array::<2, _>(src, body + 12)?;
    Ok(align.map_or(0, |a| u64::from(u16::from_le_bytes(a))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn chunk(id: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut c = id.to_vec();
        c.extend_from_slice(&(body.len() as u32).to_le_bytes());
        c.extend_from_slice(body);
        if body.len() % 2 == 1 {
            c.push(0);
        }
        c
    }

    fn fmt_body(block_align: u16) -> Vec<u8> {
        let mut b = vec![1, 0, 1, 0, 0x80, 0x3E, 0, 0, 0, 0x7D, 0, 0];
        b.extend_from_slice(&block_align.to_le_bytes());
        b.extend_from_slice(&16u16.to_le_bytes());
        b
    }

    fn riff(chunks: &[Vec<u8>]) -> Vec<u8> {
        let mut f = b"RIFF\0\0\0\0WAVE".to_vec();
        chunks.iter().for_each(|c| f.extend_from_slice(c));
        f
    }

    #[test]
    fn finds_data_after_odd_sized_chunks() {
        let file = riff(&[chunk(b"fmt ", &fmt_body(4)), chunk(b"LIST", b"odd"), chunk(b"data", &[0; 8])]);
        let found = layout(&mut Cursor::new(&file), 0, file.len() as u64).unwrap();
        let expected = WavLayout { data_offset: 12 + 24 + 12 + 8, block_align: 4 };
        assert_eq!(found, Some(expected));
        assert_eq!(expected.frames_present(file.len() as u64), 2);
    }

    #[test]
    fn missing_fmt_or_data_gives_none() {
        let no_fmt = riff(&[chunk(b"data", &[0; 8])]);
        assert_eq!(layout(&mut Cursor::new(&no_fmt), 0, 28).unwrap(), None);
        let no_data = riff(&[chunk(b"fmt ", &fmt_body(2))]);
        assert_eq!(layout(&mut Cursor::new(&no_data), 0, 36).unwrap(), None);
    }

    #[test]
    fn header_chunk_past_end_of_file_is_refused() {
        let mut list = chunk(b"LIST", b"INFO");
        list[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        let file = riff(&[chunk(b"fmt ", &fmt_body(2)), list]);
        let err = layout(&mut Cursor::new(&file), 0, file.len() as u64).unwrap_err();
        assert_eq!(err.code(), "audio_undecodable");
        assert!(err.to_string().contains("'LIST' header chunk runs past"), "{err}");
    }
}
