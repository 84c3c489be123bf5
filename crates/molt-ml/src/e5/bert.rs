//! The BERT encoder (XLM-RoBERTa layout, post-norm) on candle's CPU backend.
//!
//! Every hot loop is a candle op (gemm matmuls, fused layer-norm and softmax), which the
//! workspace compiles optimised even in test builds; the only hand-written loop is the
//! embedding lookup, a few hundred values per token.

use candle_core::{DType as CDType, Device, Module, Tensor, D};

use super::file::{dequantise, DType, FormatError, Header, ModelFile, Q4_BLOCK, Q4_BLOCK_BYTES};

type CResult<T> = candle_core::Result<T>;

/// `y = x Wᵀ + b` over (batch, len, in), with `Wᵀ` stored contiguous.
struct Linear {
    weight_t: Tensor,
    bias: Tensor,
}

impl Module for Linear {
    fn forward(&self, x: &Tensor) -> CResult<Tensor> {
        // One (batch × len, in) · (in, out) product: a single large gemm call.
        let (batch, len, inp) = x.dims3()?;
        let y = x.reshape((batch * len, inp))?.matmul(&self.weight_t)?.broadcast_add(&self.bias)?;
        y.reshape((batch, len, ()))
    }
}

struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f32,
}

impl Module for LayerNorm {
    fn forward(&self, x: &Tensor) -> CResult<Tensor> {
        candle_nn::ops::layer_norm(x, &self.weight, &self.bias, self.eps)
    }
}

struct Layer {
    /// Query, key and value in one (hidden, 3 × hidden) product; the query part is
    /// pre-multiplied by 1/√head_dim, the attention's scale.
    qkv: Linear,
    attention_out: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

/// The word-embedding table, kept in its file encoding: dequantised to f32 it would take
/// 384 MB (250,037 × 384), four-bit it takes 54 MB, and a lookup dequantises only the rows
/// a batch uses.
pub(crate) struct WordTable {
    dtype: DType,
    bytes: Vec<u8>,
    row_bytes: usize,
    hidden: usize,
}

impl WordTable {
    /// The rows of `ids`, dequantised into `out` (`ids.len() × hidden`).
    pub fn rows(&self, ids: &[u32], out: &mut [f32]) {
        for (&id, row) in ids.iter().zip(out.chunks_exact_mut(self.hidden)) {
            let start = id as usize * self.row_bytes;
            dequantise(self.dtype, &self.bytes[start..start + self.row_bytes], row);
        }
    }
}

pub(crate) struct Bert {
    words: WordTable,
    positions: Tensor,
    token_type: Tensor,
    embedding_norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
    hidden: usize,
    pad: u32,
}

/// Reads tensors from the file, checking each against the header's dimensions.
struct Loader<'f, 'a> {
    file: &'f ModelFile<'a>,
    device: Device,
}

impl Loader<'_, '_> {
    fn tensor(&self, name: &str, shape: &[usize]) -> Result<Tensor, LoadError> {
        let values = self.file.tensor(name, shape)?.to_f32();
        Ok(Tensor::from_vec(values, shape, &self.device)?)
    }

    fn linear(&self, prefix: &str, out: usize, inp: usize) -> Result<Linear, LoadError> {
        let weight = self.tensor(&format!("{prefix}.w"), &[out, inp])?;
        Ok(Linear { weight_t: weight.t()?.contiguous()?, bias: self.tensor(&format!("{prefix}.b"), &[out])? })
    }

    fn norm(&self, prefix: &str) -> Result<LayerNorm, LoadError> {
        let h = self.file.header.hidden;
        Ok(LayerNorm {
            weight: self.tensor(&format!("{prefix}.w"), &[h])?,
            bias: self.tensor(&format!("{prefix}.b"), &[h])?,
            eps: self.file.header.eps,
        })
    }

    /// One fused projection instead of three: two matmul and two bias-add calls fewer per
    /// layer (each call has a fixed cost that matters for short texts); folding the scale
    /// into the weights saves a multiplication of the queries.
    fn qkv(&self, i: usize) -> Result<Linear, LoadError> {
        let Header { hidden: h, heads, .. } = self.file.header;
        let scale = 1.0 / ((h / heads) as f64).sqrt();
        let q = self.linear(&format!("l{i}.q"), h, h)?;
        let (k, v) = (self.linear(&format!("l{i}.k"), h, h)?, self.linear(&format!("l{i}.v"), h, h)?);
        Ok(Linear {
            weight_t: Tensor::cat(&[(q.weight_t * scale)?, k.weight_t, v.weight_t], 1)?,
            bias: Tensor::cat(&[(q.bias * scale)?, k.bias, v.bias], 0)?,
        })
    }

    fn layer(&self, i: usize) -> Result<Layer, LoadError> {
        let Header { hidden: h, ffn, .. } = self.file.header;
        let p = |name: &str| format!("l{i}.{name}");
        Ok(Layer {
            qkv: self.qkv(i)?,
            attention_out: self.linear(&p("ao"), h, h)?,
            attention_norm: self.norm(&p("aln"))?,
            intermediate: self.linear(&p("fi"), ffn, h)?,
            output: self.linear(&p("fo"), h, ffn)?,
            output_norm: self.norm(&p("oln"))?,
        })
    }

    fn words(&self) -> Result<WordTable, LoadError> {
        let Header { hidden, vocab, .. } = self.file.header;
        let raw = self.file.tensor("emb.word", &[vocab, hidden])?;
        let row_bytes = match raw.dtype {
            DType::F32 => hidden * 4,
            DType::Q4 if hidden.is_multiple_of(Q4_BLOCK) => hidden / Q4_BLOCK * Q4_BLOCK_BYTES,
            DType::Q4 => {
                let reason = format!("rows of {hidden} values are not whole 4-bit blocks of {Q4_BLOCK}");
                return Err(FormatError::Tensor { name: "emb.word".into(), reason }.into());
            }
        };
        Ok(WordTable { dtype: raw.dtype, bytes: raw.bytes.to_vec(), row_bytes, hidden })
    }
}

/// A failure while building the model: the file's fault or candle's.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LoadError {
    #[error(transparent)]
    Format(#[from] FormatError),
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
}

impl Bert {
    pub fn load(file: &ModelFile) -> Result<Bert, LoadError> {
        let loader = Loader { file, device: Device::Cpu };
        let Header { hidden, max_positions, type_vocab, layers, heads, .. } = file.header;
        let token_types = loader.tensor("emb.type", &[type_vocab, hidden])?;
        Ok(Bert {
            words: loader.words()?,
            positions: loader.tensor("emb.pos", &[max_positions, hidden])?,
            // Every token has type 0: e5 encodes one segment.
            token_type: token_types.get(0)?,
            embedding_norm: loader.norm("emb.ln")?,
            layers: (0..layers).map(|i| loader.layer(i)).collect::<Result<_, _>>()?,
            heads,
            hidden,
            pad: file.vocab.pad,
        })
    }

    /// The word-embedding table, which the 4-bit encoder ([`super::fast`]) shares.
    pub fn words(&self) -> &WordTable {
        &self.words
    }

    /// Mean-pooled, L2-normalised embeddings of a batch of token sequences (each with its
    /// specials, none empty, none longer than the position table).
    pub fn embed(&self, batch: &[&[u32]]) -> CResult<Vec<Vec<f32>>> {
        let len = batch.iter().map(|s| s.len()).max().unwrap_or(0);
        let (ids, keep) = pad(batch, len, self.pad);
        let keep = Tensor::from_vec(keep, (batch.len(), len), &Device::Cpu)?;
        let mut x = self.embeddings(&ids, batch.len(), len)?;
        // Padding keys get the most negative bias there is: their softmax weight is exactly zero,
        // so a text's vector does not depend on its batch's padding (up to rounding).
        let mask = ((keep.ones_like()? - &keep)? * f64::from(f32::MIN))?.reshape((batch.len(), 1, 1, len))?;
        for layer in &self.layers {
            x = self.layer(layer, &x, &mask)?;
        }
        mean_pool_normalised(&x, &keep)?.to_vec2()
    }

    fn embeddings(&self, ids: &[u32], batch: usize, len: usize) -> CResult<Tensor> {
        let mut words = vec![0f32; ids.len() * self.hidden];
        self.words.rows(ids, &mut words);
        let words = Tensor::from_vec(words, (batch, len, self.hidden), &Device::Cpu)?;
        let positions = self.positions.narrow(0, 0, len)?;
        let x = words.broadcast_add(&positions)?.broadcast_add(&self.token_type)?;
        self.embedding_norm.forward(&x)
    }

    fn layer(&self, l: &Layer, x: &Tensor, mask: &Tensor) -> CResult<Tensor> {
        let attended = l.attention_out.forward(&self.attention(l, x, mask)?)?;
        let x = l.attention_norm.forward(&(x + attended)?)?;
        let inner = l.intermediate.forward(&x)?.gelu_erf()?;
        l.output_norm.forward(&(&x + l.output.forward(&inner)?)?)
    }

    /// Multi-head self-attention; `x` is (batch, len, hidden), as is the result.
    fn attention(&self, l: &Layer, x: &Tensor, mask: &Tensor) -> CResult<Tensor> {
        let (batch, len, hidden) = x.dims3()?;
        let head_dim = hidden / self.heads;
        let heads = |t: Tensor| t.reshape((batch, len, self.heads, head_dim))?.transpose(1, 2)?.contiguous();
        let qkv = l.qkv.forward(x)?;
        let [q, k, v] = [0, 1, 2].map(|i| heads(qkv.narrow(2, i * hidden, hidden)?));
        let (q, k, v) = (q?, k?, v?);
        let scores = q.matmul(&k.t()?)?.broadcast_add(mask)?;
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        probs.matmul(&v)?.transpose(1, 2)?.reshape((batch, len, hidden))
    }
}

/// Ids padded to `len` with `pad`, and a 1/0 mask of the real tokens.
fn pad(batch: &[&[u32]], len: usize, pad: u32) -> (Vec<u32>, Vec<f32>) {
    let mut ids = Vec::with_capacity(batch.len() * len);
    let mut keep = Vec::with_capacity(batch.len() * len);
    for seq in batch {
        ids.extend(seq.iter().copied().chain(std::iter::repeat_n(pad, len - seq.len())));
        keep.extend((0..len).map(|i| if i < seq.len() { 1f32 } else { 0.0 }));
    }
    (ids, keep)
}

/// The mean of the real tokens' hidden states, scaled to unit length.
fn mean_pool_normalised(x: &Tensor, keep: &Tensor) -> CResult<Tensor> {
    let keep = keep.unsqueeze(D::Minus1)?.to_dtype(CDType::F32)?;
    let sum = x.broadcast_mul(&keep)?.sum(1)?;
    let mean = sum.broadcast_div(&keep.sum(1)?)?;
    let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12f32, f32::MAX)?;
    mean.broadcast_div(&norm)
}
