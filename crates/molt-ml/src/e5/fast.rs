//! The same encoder as [`super::bert`], for one short sequence, in plain Rust on the 4-bit
//! weights.
//!
//! Why a second implementation: a search query is 5–30 tokens, and for so few rows the candle
//! path spends its time streaming 85 MB of f32 weights and in per-op overhead, not in
//! arithmetic. Here every linear layer reads its 4-bit weights once ([`super::q4`]; by
//! default with its input quantised to int8, [`super::int8`]) and the rest (layer norms,
//! attention over T ≤ a few dozen tokens, GELU), all f32, are short loops over buffers
//! allocated once per call. Longer texts and batches keep the candle path, whose gemm
//! is faster once there are many rows.

use super::bert::WordTable;
use super::file::{DType, FormatError, Header, ModelFile};
use super::q4::{linear, Kernel, Q4Matrix};

/// A linear layer with 4-bit weights (`out × in`) and an f32 bias.
struct Linear {
    weight: Q4Matrix,
    bias: Vec<f32>,
}

impl Linear {
    fn forward(&self, kernel: Kernel, x: &[f32], y: &mut [f32]) {
        linear(kernel, x, &self.weight, &self.bias, y);
    }
}

struct LayerNorm {
    weight: Vec<f32>,
    bias: Vec<f32>,
    eps: f32,
}

impl LayerNorm {
    /// Normalises each row of `x` in place (two passes: the variance of the centred values
    /// is accurate even when the mean is large).
    fn apply(&self, x: &mut [f32]) {
        let n = self.weight.len() as f32;
        for row in x.chunks_exact_mut(self.weight.len()) {
            let mean = sum_map(row, |v| v) / n;
            let var = sum_map(row, |v| (v - mean) * (v - mean)) / n;
            let inv = 1.0 / (var + self.eps).sqrt();
            for ((v, w), b) in row.iter_mut().zip(&self.weight).zip(&self.bias) {
                *v = (*v - mean) * inv * w + b;
            }
        }
    }
}

struct Layer {
    /// Query, key and value weights stacked: one pass over the tokens instead of three.
    qkv: Linear,
    attention_out: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

/// The encoder for one sequence; the word table is the candle model's (shared, 54 MB).
pub(crate) struct Encoder {
    positions: Vec<f32>,
    token_type: Vec<f32>,
    embedding_norm: LayerNorm,
    layers: Vec<Layer>,
    hidden: usize,
    heads: usize,
    ffn: usize,
}

/// Per-call buffers, sized for `t` tokens.
struct Scratch {
    qkv: Vec<f32>,
    context: Vec<f32>,
    projected: Vec<f32>,
    inner: Vec<f32>,
    scores: Vec<f32>,
}

impl Encoder {
    /// The encoder, or `None` when a linear layer is not 4-bit in the file (then there is no
    /// 4-bit copy to compute from, and quantising here would change the model).
    pub fn load(file: &ModelFile) -> Result<Option<Encoder>, FormatError> {
        let Header { hidden, layers, heads, max_positions, type_vocab, .. } = file.header;
        let loader = Loader { file };
        let layers: Option<Vec<Layer>> = (0..layers).map(|i| loader.layer(i)).collect::<Result<_, _>>()?;
        let Some(layers) = layers else { return Ok(None) };
        Ok(Some(Encoder {
            positions: loader.f32s("emb.pos", &[max_positions, hidden])?,
            // Every token has type 0: e5 encodes one segment.
            token_type: loader.f32s("emb.type", &[type_vocab, hidden])?[..hidden].to_vec(),
            embedding_norm: loader.norm("emb.ln")?,
            layers,
            hidden,
            heads,
            ffn: file.header.ffn,
        }))
    }

    /// The mean-pooled, L2-normalised embedding of one sequence (with its specials, not
    /// empty, no longer than the position table).
    pub fn embed(&self, kernel: Kernel, words: &WordTable, ids: &[u32]) -> Vec<f32> {
        let (t, h) = (ids.len(), self.hidden);
        let mut x = vec![0f32; t * h];
        words.rows(ids, &mut x);
        for (row, position) in x.chunks_exact_mut(h).zip(self.positions.chunks_exact(h)) {
            for ((v, p), ty) in row.iter_mut().zip(position).zip(&self.token_type) {
                *v += p + ty;
            }
        }
        self.embedding_norm.apply(&mut x);
        let mut s = Scratch {
            qkv: vec![0.0; t * 3 * h],
            context: vec![0.0; t * h],
            projected: vec![0.0; t * h],
            inner: vec![0.0; t * self.ffn],
            scores: vec![0.0; t],
        };
        for layer in &self.layers {
            self.layer(kernel, layer, &mut x, &mut s);
        }
        mean_pool_normalised(&x, h)
    }

    fn layer(&self, kernel: Kernel, l: &Layer, x: &mut [f32], s: &mut Scratch) {
        l.qkv.forward(kernel, x, &mut s.qkv);
        self.attention(kernel, s);
        l.attention_out.forward(kernel, &s.context, &mut s.projected);
        add(x, &s.projected);
        l.attention_norm.apply(x);
        l.intermediate.forward(kernel, x, &mut s.inner);
        gelu(kernel, &mut s.inner);
        l.output.forward(kernel, &s.inner, &mut s.projected);
        add(x, &s.projected);
        l.output_norm.apply(x);
    }

    /// Self-attention of every token over all `t` (no padding: one sequence), from `s.qkv`
    /// (`t × 3h`: queries, keys, values) into `s.context` (`t × h`); 8 lanes wide where the
    /// kernel uses AVX2 (the same sums in the same order either way).
    fn attention(&self, kernel: Kernel, s: &mut Scratch) {
        if kernel.has_avx2() {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `has_avx2` is true only where the CPU has AVX2 and FMA.
            return unsafe { self.attention_avx2(s) };
        }
        self.attention_loops(s)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn attention_avx2(&self, s: &mut Scratch) {
        self.attention_loops(s);
    }

    #[inline(always)]
    fn attention_loops(&self, s: &mut Scratch) {
        let h = self.hidden;
        let d = h / self.heads;
        let scale = 1.0 / (d as f32).sqrt();
        let row = |i: usize, part: usize, head: usize| &s.qkv[i * 3 * h + part * h + head * d..][..d];
        for head in 0..self.heads {
            for (i, out) in s.context.chunks_exact_mut(h).enumerate() {
                let q = row(i, 0, head);
                for (j, score) in s.scores.iter_mut().enumerate() {
                    *score = dot(q, row(j, 1, head)) * scale;
                }
                softmax(&mut s.scores);
                let out = &mut out[head * d..][..d];
                out.fill(0.0);
                for (j, &p) in s.scores.iter().enumerate() {
                    for (o, v) in out.iter_mut().zip(row(j, 2, head)) {
                        *o += p * v;
                    }
                }
            }
        }
    }
}

/// Reads tensors for the encoder; `Ok(None)` marks a layer that is not 4-bit.
struct Loader<'f, 'a> {
    file: &'f ModelFile<'a>,
}

impl Loader<'_, '_> {
    fn f32s(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, FormatError> {
        Ok(self.file.tensor(name, shape)?.to_f32())
    }

    fn norm(&self, prefix: &str) -> Result<LayerNorm, FormatError> {
        let h = self.file.header.hidden;
        Ok(LayerNorm {
            weight: self.f32s(&format!("{prefix}.w"), &[h])?,
            bias: self.f32s(&format!("{prefix}.b"), &[h])?,
            eps: self.file.header.eps,
        })
    }

    /// The layers `prefixes` stacked into one (`rows_i × inp` each).
    fn linear(&self, prefixes: &[String], rows: usize, inp: usize) -> Result<Option<Linear>, FormatError> {
        let mut parts = Vec::new();
        let mut bias = Vec::new();
        for p in prefixes {
            let w = self.file.tensor(&format!("{p}.w"), &[rows, inp])?;
            if w.dtype != DType::Q4 {
                return Ok(None);
            }
            parts.push(w.bytes);
            bias.extend(self.f32s(&format!("{p}.b"), &[rows])?);
        }
        Ok(Some(Linear { weight: Q4Matrix::from_parts(inp, &parts), bias }))
    }

    fn layer(&self, i: usize) -> Result<Option<Layer>, FormatError> {
        let Header { hidden: h, ffn, .. } = self.file.header;
        let p = |name: &str| vec![format!("l{i}.{name}")];
        let qkv = [p("q"), p("k"), p("v")].concat();
        let (Some(qkv), Some(attention_out), Some(intermediate), Some(output)) = (
            self.linear(&qkv, h, h)?,
            self.linear(&p("ao"), h, h)?,
            self.linear(&p("fi"), ffn, h)?,
            self.linear(&p("fo"), h, ffn)?,
        ) else {
            return Ok(None);
        };
        Ok(Some(Layer {
            qkv,
            attention_out,
            attention_norm: self.norm(&format!("l{i}.aln"))?,
            intermediate,
            output,
            output_norm: self.norm(&format!("l{i}.oln"))?,
        }))
    }
}

fn add(x: &mut [f32], y: &[f32]) {
    x.iter_mut().zip(y).for_each(|(x, y)| *x += y);
}

#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    sum_pairs(a, b, |a, b| a * b)
}

/// Σ f(x) over `xs`.
#[inline]
fn sum_map(xs: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    sum_pairs(xs, xs, |x, _| f(x))
}

/// Σ f(a_i, b_i) in eight interleaved partial sums, so that the loop vectorises (one running
/// f32 sum must be added in order, one lane at a time).
#[inline(always)]
fn sum_pairs(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f32 {
    let (a, b) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a.remainder().iter().zip(b.remainder()).map(|(a, b)| f(*a, *b)).sum();
    let mut lanes = [0f32; 8];
    for (a, b) in a.zip(b) {
        for (l, lane) in lanes.iter_mut().enumerate() {
            *lane += f(a[l], b[l]);
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// Softmax of attention scores; `exp_neg` (no libm call) lets the loop vectorise.
#[inline(always)]
fn softmax(xs: &mut [f32]) {
    let max = xs.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    xs.iter_mut().for_each(|x| *x = exp_neg(max - *x));
    let sum = sum_map(xs, |x| x);
    xs.iter_mut().for_each(|x| *x /= sum);
}

/// The mean of the rows of `x`, scaled to unit length.
fn mean_pool_normalised(x: &[f32], h: usize) -> Vec<f32> {
    let mut mean = vec![0f32; h];
    for row in x.chunks_exact(h) {
        add(&mut mean, row);
    }
    let norm = dot(&mean, &mean).sqrt().max(1e-12);
    mean.iter_mut().for_each(|v| *v /= norm);
    mean
}

/// GELU (the erf form) in place; vectorised for AVX2 where the kernel is.
fn gelu(kernel: Kernel, xs: &mut [f32]) {
    if kernel.has_avx2() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `has_avx2` is true only where the CPU has AVX2 and FMA.
        return unsafe { gelu_avx2(xs) };
    }
    gelu_slice(xs)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn gelu_avx2(xs: &mut [f32]) {
    gelu_slice(xs);
}

/// Branch-free, so the loop vectorises (a call to `f32::exp` per value would not, and the
/// FFN has 1,536 values per token per layer).
#[inline(always)]
fn gelu_slice(xs: &mut [f32]) {
    for x in xs {
        *x = 0.5 * *x * (1.0 + erf(*x * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// erf to within 5e-7 (Abramowitz & Stegun 7.1.26, 1.5e-7, plus f32 rounding of `1 − …`);
/// in GELU the error is scaled by x / 2, far below the 4-bit weights' own.
#[inline(always)]
fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly =
        t * (0.254_829_6 + t * (-0.284_496_74 + t * (1.421_413_8 + t * (-1.453_152 + t * 1.061_405_4))));
    (1.0 - poly * exp_neg(a * a)).copysign(x)
}

/// e^−y for y ≥ 0 (≈ 1e-7 relative): e^−y = 2^k · e^r, |r| ≤ ln 2 / 2, with e^r by its Taylor
/// series; 2^k built from the exponent bits. y is capped at 87 (e^−87 ≈ 1.6e-38, the
/// smallest normal range), which is below anything the sums it feeds can notice.
#[inline(always)]
fn exp_neg(y: f32) -> f32 {
    let z = (-y).max(-87.0);
    // k = z log2(e) rounded to nearest by the 1.5 × 2²³ trick: `as i32` on a float saturates,
    // which LLVM does one lane at a time, and GELU runs this 18,000 times per token.
    const MAGIC: f32 = 12_582_912.0;
    let shifted = z * std::f32::consts::LOG2_E + MAGIC;
    let k = shifted.to_bits() as i32 - MAGIC.to_bits() as i32;
    let kf = shifted - MAGIC;
    let r = z - kf * 0.693_145_75 - kf * 1.428_606_8e-6;
    let p = 1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0));
    let p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * p))));
    p * f32::from_bits(((k + 127) as u32) << 23)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_and_exp_are_accurate() {
        for i in -1000..=1000 {
            let x = i as f32 / 100.0;
            let e = exp_neg(x.abs()) as f64;
            let exact = (-(x.abs() as f64)).exp();
            assert!((e - exact).abs() <= 3e-7 * exact, "exp(−{}) = {e} vs {exact}", x.abs());
            // erf(x) = 1 − erfc(x); compare against a high-precision series for |x| ≤ 10.
            let reference = erf_reference(x as f64);
            assert!((erf(x) as f64 - reference).abs() < 5e-7, "erf({x}) = {} vs {reference}", erf(x));
        }
        assert!(exp_neg(200.0) < 1e-37);
        assert_eq!(erf(f32::INFINITY), 1.0);
    }

    /// erf by its Maclaurin series (|x| < 3) or continued fraction for erfc (beyond), in f64.
    fn erf_reference(x: f64) -> f64 {
        let a = x.abs();
        let v = if a < 3.0 {
            let (mut term, mut sum, mut n) = (a, a, 0.0);
            while term.abs() > 1e-17 {
                n += 1.0;
                term *= -a * a / n;
                sum += term / (2.0 * n + 1.0);
            }
            sum * 2.0 / std::f64::consts::PI.sqrt()
        } else {
            let mut f = 0.0;
            for k in (1..60).rev() {
                f = k as f64 / 2.0 / (a + f);
            }
            1.0 - (-a * a).exp() / std::f64::consts::PI.sqrt() / (a + f)
        };
        v.copysign(x)
    }

    #[test]
    fn gelu_kernels_agree() {
        let xs: Vec<f32> = (-600..600).map(|i| i as f32 / 73.0).collect();
        let (mut a, mut b) = (xs.clone(), xs.clone());
        gelu(Kernel::Portable, &mut a);
        gelu(Kernel::Avx2, &mut b);
        for ((x, a), b) in xs.iter().zip(&a).zip(&b) {
            assert!((a - b).abs() <= 1e-6 * x.abs().max(1.0), "gelu({x}): {a} vs {b}");
        }
        assert_eq!(a[600], 0.0);
    }
}
