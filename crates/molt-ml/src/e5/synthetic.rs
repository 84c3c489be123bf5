//! A tiny, valid model file built in memory, for tests that need no real model: the whole
//! pipeline (parse, dequantise, tokenize, encode, pool) runs on it in microseconds.

use super::file::{MAGIC, Q4_BLOCK, VERSION};

pub(crate) const HIDDEN: usize = 64;
pub(crate) const HEADS: usize = 2;
pub(crate) const LAYERS: usize = 2;
pub(crate) const FFN: usize = 96;
pub(crate) const MAX_POSITIONS: usize = 16;
pub(crate) const TYPE_VOCAB: usize = 2;
pub(crate) const PIECES: &[(&str, f32)] = &[
    ("<s>", 0.0),
    ("<pad>", 0.0),
    ("</s>", 0.0),
    ("<unk>", 0.0),
    ("▁", -2.0),
    ("▁a", -1.5),
    ("b", -2.5),
    ("▁ab", -2.0),
    (":", -1.0),
    ("▁passage", -1.0),
    ("▁query", -1.0),
];
/// Rows of the word table: more than the pieces, as in the real file (250,037 vs 250,002).
pub(crate) const VOCAB: usize = 12;

/// Deterministic pseudo-random values in [−scale, scale].
fn values(seed: u64, n: usize, scale: f32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
        })
        .collect()
}

/// 4-bit blocks whose nibbles cycle through 0..16 with a per-block scale.
fn q4(seed: u64, n: usize) -> Vec<u8> {
    let scales = values(seed, n / Q4_BLOCK, 0.05);
    let mut out = Vec::new();
    for (b, d) in scales.iter().enumerate() {
        out.extend(half::f16::from_f32(*d).to_le_bytes());
        out.extend((0..16).map(|j| ((b + j) % 16) as u8 | ((((b * 7 + j * 3) % 16) as u8) << 4)));
    }
    out
}

struct Tensor {
    name: String,
    dtype: u8,
    elements: usize,
    data: Vec<u8>,
}

fn f32_tensor(name: &str, seed: u64, n: usize, scale: f32, offset: f32) -> Tensor {
    let data = values(seed, n, scale).iter().flat_map(|v| (v + offset).to_le_bytes()).collect();
    Tensor { name: name.into(), dtype: 0, elements: n, data }
}

fn q4_tensor(name: &str, seed: u64, n: usize) -> Tensor {
    Tensor { name: name.into(), dtype: 1, elements: n, data: q4(seed, n) }
}

fn tensors() -> Vec<Tensor> {
    let h = HIDDEN;
    let mut t = vec![
        q4_tensor("emb.word", 1, VOCAB * h),
        f32_tensor("emb.pos", 2, MAX_POSITIONS * h, 0.1, 0.0),
        f32_tensor("emb.type", 3, TYPE_VOCAB * h, 0.1, 0.0),
        f32_tensor("emb.ln.w", 4, h, 0.1, 1.0),
        f32_tensor("emb.ln.b", 5, h, 0.1, 0.0),
    ];
    for l in 0..LAYERS {
        let seed = 100 * (l as u64 + 1);
        for (i, name) in ["q", "k", "v", "ao"].iter().enumerate() {
            t.push(q4_tensor(&format!("l{l}.{name}.w"), seed + i as u64, h * h));
            t.push(f32_tensor(&format!("l{l}.{name}.b"), seed + 10 + i as u64, h, 0.05, 0.0));
        }
        t.push(f32_tensor(&format!("l{l}.aln.w"), seed + 20, h, 0.1, 1.0));
        t.push(f32_tensor(&format!("l{l}.aln.b"), seed + 21, h, 0.1, 0.0));
        t.push(q4_tensor(&format!("l{l}.fi.w"), seed + 22, FFN * h));
        t.push(f32_tensor(&format!("l{l}.fi.b"), seed + 23, FFN, 0.05, 0.0));
        t.push(q4_tensor(&format!("l{l}.fo.w"), seed + 24, h * FFN));
        t.push(f32_tensor(&format!("l{l}.fo.b"), seed + 25, h, 0.05, 0.0));
        t.push(f32_tensor(&format!("l{l}.oln.w"), seed + 26, h, 0.1, 1.0));
        t.push(f32_tensor(&format!("l{l}.oln.b"), seed + 27, h, 0.1, 0.0));
    }
    t
}

fn i32s(out: &mut Vec<u8>, vs: &[usize]) {
    for &v in vs {
        out.extend((v as i32).to_le_bytes());
    }
}

fn vocabulary(out: &mut Vec<u8>) {
    i32s(out, &[PIECES.len(), 0, 2, 1, 3]);
    let blob: String = PIECES.iter().map(|p| p.0).collect();
    out.extend((blob.len() as u64).to_le_bytes());
    let mut offset = 0u32;
    out.extend(offset.to_le_bytes());
    for (piece, _) in PIECES {
        offset += piece.len() as u32;
        out.extend(offset.to_le_bytes());
    }
    for (_, score) in PIECES {
        out.extend(score.to_le_bytes());
    }
    out.extend(blob.as_bytes());
}

fn normalisation(out: &mut Vec<u8>) {
    // '\n' → ' ', U+200B → ' ', U+0001 → nothing.
    let entries: &[(u32, &[u32])] = &[(0x0A, &[0x20]), (0x200B, &[0x20]), (0x01, &[])];
    let mut bytes = Vec::new();
    for (from, to) in entries {
        bytes.extend(from.to_le_bytes());
        bytes.push(to.len() as u8);
        to.iter().for_each(|c| bytes.extend(c.to_le_bytes()));
    }
    i32s(out, &[entries.len()]);
    out.extend((bytes.len() as u32).to_le_bytes());
    out.extend(bytes);
}

/// The whole file: header, vocabulary, map, directory, then the tensors back to back.
pub(crate) fn model_file() -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend(VERSION.to_le_bytes());
    i32s(&mut out, &[HIDDEN, LAYERS, HEADS, FFN, VOCAB, MAX_POSITIONS, TYPE_VOCAB]);
    out.extend(1e-12f32.to_le_bytes());
    i32s(&mut out, &[Q4_BLOCK]);
    vocabulary(&mut out);
    normalisation(&mut out);
    let tensors = tensors();
    i32s(&mut out, &[tensors.len()]);
    let directory_len: usize = tensors.iter().map(|t| 2 + t.name.len() + 1 + 4 + 8 + 8).sum();
    let mut offset = (out.len() + directory_len) as u64;
    for t in &tensors {
        out.extend((t.name.len() as u16).to_le_bytes());
        out.extend(t.name.as_bytes());
        out.push(t.dtype);
        out.extend((t.elements as u32).to_le_bytes());
        out.extend(offset.to_le_bytes());
        out.extend((t.data.len() as u64).to_le_bytes());
        offset += t.data.len() as u64;
    }
    tensors.iter().for_each(|t| out.extend(&t.data));
    out
}

/// Where the directory starts (its i32 count), for tests that corrupt it.
pub(crate) fn directory_offset(file: &[u8]) -> usize {
    let needle = [&8u16.to_le_bytes()[..], b"emb.word"].concat();
    file.windows(needle.len()).position(|w| w == needle).expect("directory") - 4
}

/// Where the tensor data starts: the offset of the first tensor, `emb.word`.
pub(crate) fn data_offset(file: &[u8]) -> usize {
    let at = directory_offset(file) + 4 + 2 + "emb.word".len() + 1 + 4;
    u64::from_le_bytes(file[at..at + 8].try_into().unwrap()) as usize
}
