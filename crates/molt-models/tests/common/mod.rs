//! Test helpers: a CTranslate2 `model.bin` writer for synthetic models and a ggml reader.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// CTranslate2 dtype codes.
pub const F32: u8 = 0;
pub const I8: u8 = 1;
pub const I16: u8 = 2;
pub const F16: u8 = 4;
pub const BF16: u8 = 5;

/// The models installed by `scripts/setup.sh`, or None (with a printed notice) when absent.
pub fn installed_model(dir_name: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../molt-data/models").join(dir_name);
    if dir.join("model.bin").is_file() {
        Some(dir)
    } else {
        println!("SKIPPED: {} is not installed (run scripts/setup.sh to install the models)", dir.display());
        None
    }
}

pub fn f16_bits(x: f32) -> u16 {
    // Test-side reference: exact for the values the tests use (small multiples of 1/8).
    let bits = x.to_bits();
    if x == 0.0 {
        return ((bits >> 16) & 0x8000) as u16;
    }
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exp = ((bits >> 23) & 0xff) as i32 - 127 + 15;
    assert!((1..31).contains(&exp), "test value {x} out of the normal f16 range");
    let man = bits & 0x7f_ffff;
    assert_eq!(man & 0x1fff, 0, "test value {x} not exact in f16");
    sign | ((exp as u16) << 10) | (man >> 13) as u16
}

#[derive(Clone)]
pub struct Var {
    pub name: String,
    pub dims: Vec<u32>,
    pub dtype: u8,
    pub data: Vec<u8>,
}

/// Builds a `model.bin` byte by byte.
#[derive(Clone, Default)]
pub struct Ct2Builder {
    pub version: u32,
    pub spec: String,
    pub revision: u32,
    pub vars: Vec<Var>,
    pub aliases: Vec<(String, String)>,
}

fn put_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&((s.len() + 1) as u16).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
    out.push(0);
}

impl Ct2Builder {
    pub fn new() -> Self {
        Ct2Builder { version: 6, spec: "WhisperSpec".into(), revision: 3, ..Default::default() }
    }

    /// A float tensor with the given values, stored as `dtype` (F32, F16 or BF16).
    pub fn tensor(&mut self, name: &str, dims: &[u32], dtype: u8, values: &[f32]) -> &mut Self {
        assert_eq!(dims.iter().product::<u32>() as usize, values.len(), "{name}");
        let mut data = Vec::new();
        for &v in values {
            match dtype {
                F32 => data.extend_from_slice(&v.to_le_bytes()),
                F16 => data.extend_from_slice(&f16_bits(v).to_le_bytes()),
                BF16 => data.extend_from_slice(&((v.to_bits() >> 16) as u16).to_le_bytes()),
                _ => panic!("not a float dtype"),
            }
        }
        self.vars.push(Var { name: name.into(), dims: dims.to_vec(), dtype, data });
        self
    }

    pub fn raw(&mut self, name: &str, dims: &[u32], dtype: u8, data: Vec<u8>) -> &mut Self {
        self.vars.push(Var { name: name.into(), dims: dims.to_vec(), dtype, data });
        self
    }

    pub fn alias(&mut self, alias: &str, target: &str) -> &mut Self {
        self.aliases.push((alias.into(), target.into()));
        self
    }

    pub fn var_mut(&mut self, name: &str) -> &mut Var {
        self.vars.iter_mut().find(|v| v.name == name).unwrap_or_else(|| panic!("no {name}"))
    }

    pub fn remove(&mut self, name: &str) -> &mut Self {
        self.vars.retain(|v| v.name != name);
        self
    }

    pub fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&self.version.to_le_bytes());
        put_string(&mut out, &self.spec);
        out.extend_from_slice(&self.revision.to_le_bytes());
        out.extend_from_slice(&(self.vars.len() as u32).to_le_bytes());
        for v in &self.vars {
            put_string(&mut out, &v.name);
            out.push(v.dims.len() as u8);
            for d in &v.dims {
                out.extend_from_slice(&d.to_le_bytes());
            }
            out.push(v.dtype);
            out.extend_from_slice(&(v.data.len() as u32).to_le_bytes());
            out.extend_from_slice(&v.data);
        }
        out.extend_from_slice(&(self.aliases.len() as u32).to_le_bytes());
        for (a, t) in &self.aliases {
            put_string(&mut out, a);
            put_string(&mut out, t);
        }
        out
    }

    pub fn write(&self, path: &Path) {
        std::fs::write(path, self.bytes()).unwrap();
    }
}

/// `n` values `base, base + step, …` (exact in f16 for the sizes used).
pub fn ramp(n: usize, base: f32, step: f32) -> Vec<f32> {
    (0..n).map(|i| base + step * i as f32).collect()
}

/// Synthetic Whisper dimensions: tiny enough to check every value.
pub const N: u32 = 4; // state
pub const N_VOCAB: u32 = 8;
pub const N_AUDIO_CTX: u32 = 3;
pub const N_TEXT_CTX: u32 = 2;
pub const N_MELS: u32 = 2;

/// A complete synthetic Whisper model: 1 encoder and 1 decoder layer, state 4, all f16 except
/// where a test changes it. Each tensor's values are a ramp starting at a distinct base.
pub fn synthetic_whisper() -> Ct2Builder {
    let mut b = Ct2Builder::new();
    let mut base = 0.0f32;
    let mut t = |b: &mut Ct2Builder, name: &str, dims: &[u32]| {
        let n = dims.iter().product::<u32>() as usize;
        b.tensor(name, dims, F16, &ramp(n, base, 0.125));
        base += 1.0;
    };
    b.raw("decoder/activation", &[], I8, vec![3]);
    b.raw("decoder/alibi", &[], I8, vec![0]);
    b.raw("decoder/alignment_heads", &[], I16, 1i16.to_le_bytes().to_vec());
    t(&mut b, "decoder/embeddings/weight", &[N_VOCAB, N]);
    for side in ["encoder", "decoder"] {
        let p = format!("{side}/layer_0");
        for ln in ["self_attention/layer_norm", "ffn/layer_norm"] {
            t(&mut b, &format!("{p}/{ln}/gamma"), &[N]);
            t(&mut b, &format!("{p}/{ln}/beta"), &[N]);
        }
        t(&mut b, &format!("{p}/self_attention/linear_0/weight"), &[3 * N, N]);
        t(&mut b, &format!("{p}/self_attention/linear_0/bias"), &[3 * N]);
        t(&mut b, &format!("{p}/self_attention/linear_1/weight"), &[N, N]);
        t(&mut b, &format!("{p}/self_attention/linear_1/bias"), &[N]);
        t(&mut b, &format!("{p}/ffn/linear_0/weight"), &[4 * N, N]);
        t(&mut b, &format!("{p}/ffn/linear_0/bias"), &[4 * N]);
        t(&mut b, &format!("{p}/ffn/linear_1/weight"), &[N, 4 * N]);
        t(&mut b, &format!("{p}/ffn/linear_1/bias"), &[N]);
        t(&mut b, &format!("{side}/layer_norm/gamma"), &[N]);
        t(&mut b, &format!("{side}/layer_norm/beta"), &[N]);
        b.raw(&format!("{side}/num_heads"), &[], I16, 2i16.to_le_bytes().to_vec());
    }
    let p = "decoder/layer_0/attention";
    t(&mut b, &format!("{p}/layer_norm/gamma"), &[N]);
    t(&mut b, &format!("{p}/layer_norm/beta"), &[N]);
    t(&mut b, &format!("{p}/linear_0/weight"), &[N, N]);
    t(&mut b, &format!("{p}/linear_0/bias"), &[N]);
    t(&mut b, &format!("{p}/linear_1/weight"), &[2 * N, N]);
    t(&mut b, &format!("{p}/linear_1/bias"), &[2 * N]);
    t(&mut b, &format!("{p}/linear_2/weight"), &[N, N]);
    t(&mut b, &format!("{p}/linear_2/bias"), &[N]);
    t(&mut b, "decoder/position_encodings/encodings", &[N_TEXT_CTX, N]);
    b.raw("decoder/pre_norm", &[], I8, vec![1]);
    t(&mut b, "encoder/conv1/weight", &[N, N_MELS, 3]);
    t(&mut b, "encoder/conv1/bias", &[N]);
    t(&mut b, "encoder/conv2/weight", &[N, N, 3]);
    t(&mut b, "encoder/conv2/bias", &[N]);
    t(&mut b, "encoder/position_encodings/encodings", &[N_AUDIO_CTX, N]);
    b.alias("decoder/projection/weight", "decoder/embeddings/weight");
    b
}

/// A byte-level BPE tokenizer.json: ids 0..5 regular, `<|endoftext|>` at 6 (an English-only
/// layout for this tiny vocabulary), one more special after it.
pub fn synthetic_tokenizer() -> String {
    r#"{"version":"1.0","added_tokens":[
        {"id":6,"content":"<|endoftext|>","special":true},
        {"id":7,"content":"<|startoftranscript|>","special":true}],
      "model":{"type":"BPE","vocab":{"a":0,"b":1,"Ġthe":2,"Ċ":3,"áŀĢ":4,"!":5,"<|endoftext|>":6}}}"#
        .into()
}

/// Writes a synthetic model directory (model.bin + tokenizer.json) and returns it.
pub fn write_model_dir(dir: &Path, model: &Ct2Builder) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    model.write(&dir.join("model.bin"));
    std::fs::write(dir.join("tokenizer.json"), synthetic_tokenizer()).unwrap();
    dir.to_path_buf()
}

/// A parsed ggml file.
pub struct Ggml {
    pub hparams: [i32; 11],
    pub n_mels: i32,
    pub n_fft: i32,
    pub filters: Vec<f32>,
    pub tokens: Vec<Vec<u8>>,
    pub tensors: Vec<Tensor>,
}

pub struct Tensor {
    pub name: String,
    /// As stored (innermost first).
    pub dims: Vec<i32>,
    pub ftype: i32,
    pub data: Vec<u8>,
}

impl Tensor {
    pub fn values(&self) -> Vec<f32> {
        match self.ftype {
            0 => self.data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
            1 => self.data.chunks_exact(2).map(|b| f16_value(u16::from_le_bytes([b[0], b[1]]))).collect(),
            t => panic!("ftype {t}"),
        }
    }
}

/// Test-side f16 → f32 (normals and zero only, enough for the synthetic values).
pub fn f16_value(h: u16) -> f32 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = ((h >> 10) & 0x1f) as i32;
    let man = (h & 0x3ff) as f32;
    if exp == 0 {
        return sign * man * 2f32.powi(-24);
    }
    sign * (1.0 + man / 1024.0) * 2f32.powi(exp - 15)
}

pub fn parse_ggml(bytes: &[u8]) -> Ggml {
    let mut pos = 0usize;
    let i32_at = |pos: &mut usize| {
        let v = i32::from_le_bytes(bytes[*pos..*pos + 4].try_into().unwrap());
        *pos += 4;
        v
    };
    assert_eq!(i32_at(&mut pos) as u32, 0x6767_6d6c, "magic");
    let mut hparams = [0; 11];
    for h in hparams.iter_mut() {
        *h = i32_at(&mut pos);
    }
    let n_mels = i32_at(&mut pos);
    let n_fft = i32_at(&mut pos);
    let mut filters = Vec::new();
    for _ in 0..n_mels * n_fft {
        filters.push(f32::from_bits(i32_at(&mut pos) as u32));
    }
    let n_tokens = i32_at(&mut pos);
    let mut tokens = Vec::new();
    for _ in 0..n_tokens {
        let len = i32_at(&mut pos) as usize;
        tokens.push(bytes[pos..pos + len].to_vec());
        pos += len;
    }
    let mut tensors = Vec::new();
    while pos < bytes.len() {
        let n_dims = i32_at(&mut pos);
        let name_len = i32_at(&mut pos) as usize;
        let ftype = i32_at(&mut pos);
        let dims: Vec<i32> = (0..n_dims).map(|_| i32_at(&mut pos)).collect();
        let name = String::from_utf8(bytes[pos..pos + name_len].to_vec()).unwrap();
        pos += name_len;
        let n: usize = dims.iter().map(|&d| d as usize).product();
        let size = if ftype == 0 { 4 } else { 2 };
        let data = bytes[pos..pos + n * size].to_vec();
        pos += n * size;
        tensors.push(Tensor { name, dims, ftype, data });
    }
    Ggml { hparams, n_mels, n_fft, filters, tokens, tensors }
}
