//! whisper.cpp's ggml model file: writing one from a CTranslate2 model, reading its header.
//!
//! Layout, little-endian (see `shared/notes/model-formats.md` §1):
//!
//! ```text
//! i32 magic 0x67676d6c · 11 × i32 hparams
//! i32 n_mels · i32 201 · n_mels × 201 f32 mel filters
//! i32 n_tokens · n_tokens × { i32 len · bytes }
//! tensors: { i32 n_dims · i32 name_len · i32 ftype (0 f32, 1 f16) · dims reversed · name · data }
//! ```

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::ct2::{widen_into, Ct2Model, Ct2Variable};
use crate::error::ModelError;
use crate::half::f32_to_f16;
use crate::mel::{mel_filters, N_FFT_BINS};
use crate::vocab;

/// `ggml` in ASCII, read as a little-endian i32.
pub const GGML_MAGIC: u32 = 0x6767_6d6c;

/// n_vocab from which whisper.cpp treats a model as multilingual.
const MULTILINGUAL_N_VOCAB: i32 = 51865;

/// The eleven hyper-parameters at the start of a whisper.cpp ggml file, in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hparams {
    pub n_vocab: i32,
    pub n_audio_ctx: i32,
    pub n_audio_state: i32,
    pub n_audio_head: i32,
    pub n_audio_layer: i32,
    pub n_text_ctx: i32,
    pub n_text_state: i32,
    pub n_text_head: i32,
    pub n_text_layer: i32,
    pub n_mels: i32,
    /// 1 = f16 weights (what the importer writes), 0 = f32; higher values are quantised.
    pub ftype: i32,
}

impl Hparams {
    /// The values in file order.
    pub fn to_array(&self) -> [i32; 11] {
        [
            self.n_vocab,
            self.n_audio_ctx,
            self.n_audio_state,
            self.n_audio_head,
            self.n_audio_layer,
            self.n_text_ctx,
            self.n_text_state,
            self.n_text_head,
            self.n_text_layer,
            self.n_mels,
            self.ftype,
        ]
    }

    fn from_array(a: [i32; 11]) -> Hparams {
        Hparams {
            n_vocab: a[0],
            n_audio_ctx: a[1],
            n_audio_state: a[2],
            n_audio_head: a[3],
            n_audio_layer: a[4],
            n_text_ctx: a[5],
            n_text_state: a[6],
            n_text_head: a[7],
            n_text_layer: a[8],
            n_mels: a[9],
            ftype: a[10],
        }
    }

    /// Whether whisper.cpp treats the model as multilingual (`n_vocab >= 51865`).
    pub fn is_multilingual(&self) -> bool {
        self.n_vocab >= MULTILINGUAL_N_VOCAB
    }
}

/// Reads the magic and the hyper-parameters of a whisper.cpp ggml file.
pub fn read_ggml_header(path: &Path) -> Result<Hparams, ModelError> {
    let mut file = File::open(path).map_err(|e| ModelError::io(path, e))?;
    let mut buf = [0u8; 48];
    let mut got = 0;
    while got < buf.len() {
        match file.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ModelError::io(path, e)),
        }
    }
    if got < 4 {
        return Err(ModelError::BadGgml { path: path.into(), reason: format!("only {got} bytes") });
    }
    let magic = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]);
    if magic != GGML_MAGIC {
        return Err(ModelError::BadGgml {
            path: path.into(),
            reason: format!("magic is {magic:#010x}, expected {GGML_MAGIC:#010x}"),
        });
    }
    if got < buf.len() {
        return Err(ModelError::Truncated {
            path: path.into(),
            what: "the hyper-parameters".into(),
            offset: 4,
            needed: 44,
            len: got as u64,
        });
    }
    let mut a = [0i32; 11];
    for (i, v) in a.iter_mut().enumerate() {
        let o = 4 + 4 * i;
        *v = i32::from_le_bytes([buf[o], buf[o + 1], buf[o + 2], buf[o + 3]]);
    }
    Ok(Hparams::from_array(a))
}

/// Element type of an output tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OutType {
    F32,
    F16,
}

/// One tensor to write: a contiguous run of rows of a source variable.
#[derive(Debug)]
struct TensorPlan {
    name: String,
    source: Ct2Variable,
    /// First element of the run in the source.
    first: u64,
    /// Output dims, outermost first (written reversed).
    dims: Vec<u64>,
    out: OutType,
}

impl TensorPlan {
    fn elements(&self) -> u64 {
        self.dims.iter().product()
    }
}

/// Works out the hyper-parameters from the variables and checks every variable the output
/// needs: present, floating-point, and of the right shape.
struct Planner<'a> {
    model: &'a Ct2Model,
    tensors: Vec<TensorPlan>,
}

impl<'a> Planner<'a> {
    fn var(&self, name: &str) -> Result<&'a Ct2Variable, ModelError> {
        let model = self.model;
        let var = model.get(name).ok_or_else(|| ModelError::MissingVariable {
            path: model.path().into(),
            variable: name.into(),
        })?;
        if !var.dtype.is_float() {
            let hint = if var.dtype == crate::ct2::Dtype::I8 {
                "int8-quantised CTranslate2 models cannot be imported; use a float16 or float32 one"
            } else {
                "a tensor must be float32, float16 or bfloat16"
            };
            return Err(ModelError::UnsupportedDtype {
                path: model.path().into(),
                variable: var.name.clone(),
                dtype: var.dtype.name(),
                hint,
            });
        }
        Ok(var)
    }

    fn shaped(&self, name: &str, expected: &[u64]) -> Result<&'a Ct2Variable, ModelError> {
        let var = self.var(name)?;
        if var.shape != expected {
            return Err(ModelError::ShapeMismatch {
                path: self.model.path().into(),
                variable: var.name.clone(),
                expected: format!("{expected:?}"),
                found: format!("{:?}", var.shape),
            });
        }
        Ok(var)
    }

    fn matrix(&self, name: &str) -> Result<(u64, u64), ModelError> {
        let var = self.var(name)?;
        match var.shape[..] {
            [rows, cols] => Ok((rows, cols)),
            _ => Err(ModelError::ShapeMismatch {
                path: self.model.path().into(),
                variable: var.name.clone(),
                expected: "a matrix [rows, cols]".into(),
                found: format!("{:?}", var.shape),
            }),
        }
    }

    /// Adds `name` ← rows `[row0, row0 + dims[0])` of `source`, which must have `shape`.
    fn add_rows(
        &mut self,
        name: String,
        source: &str,
        shape: &[u64],
        row0: u64,
        dims: Vec<u64>,
        out: OutType,
    ) -> Result<(), ModelError> {
        let var = self.shaped(source, shape)?.clone();
        let row_len: u64 = shape[1..].iter().product();
        self.tensors.push(TensorPlan { name, source: var, first: row0 * row_len, dims, out });
        Ok(())
    }

    fn add(&mut self, name: String, source: &str, shape: &[u64], out: OutType) -> Result<(), ModelError> {
        self.add_rows(name, source, shape, 0, shape.to_vec(), out)
    }

    fn add_norm(&mut self, name: &str, source: &str, n: u64) -> Result<(), ModelError> {
        self.add(format!("{name}.weight"), &format!("{source}/gamma"), &[n], OutType::F32)?;
        self.add(format!("{name}.bias"), &format!("{source}/beta"), &[n], OutType::F32)
    }

    fn add_linear(&mut self, name: &str, source: &str, rows: u64, cols: u64) -> Result<(), ModelError> {
        self.add(format!("{name}.weight"), &format!("{source}/weight"), &[rows, cols], OutType::F16)?;
        self.add(format!("{name}.bias"), &format!("{source}/bias"), &[rows], OutType::F32)
    }

    /// Fused self-attention Q/K/V (`linear_0`, 3n rows) and output (`linear_1`).
    fn add_self_attention(&mut self, block: &str, src: &str, n: u64) -> Result<(), ModelError> {
        self.add_norm(&format!("{block}.attn_ln"), &format!("{src}/self_attention/layer_norm"), n)?;
        let (w, b) =
            (format!("{src}/self_attention/linear_0/weight"), format!("{src}/self_attention/linear_0/bias"));
        let a = format!("{block}.attn");
        self.add_rows(format!("{a}.query.weight"), &w, &[3 * n, n], 0, vec![n, n], OutType::F16)?;
        self.add_rows(format!("{a}.query.bias"), &b, &[3 * n], 0, vec![n], OutType::F32)?;
        self.add_rows(format!("{a}.key.weight"), &w, &[3 * n, n], n, vec![n, n], OutType::F16)?;
        self.add_rows(format!("{a}.value.weight"), &w, &[3 * n, n], 2 * n, vec![n, n], OutType::F16)?;
        self.add_rows(format!("{a}.value.bias"), &b, &[3 * n], 2 * n, vec![n], OutType::F32)?;
        self.add_linear(&format!("{a}.out"), &format!("{src}/self_attention/linear_1"), n, n)
    }

    /// Cross-attention: Q (`linear_0`), fused K/V (`linear_1`, 2n rows), output (`linear_2`).
    fn add_cross_attention(&mut self, block: &str, src: &str, n: u64) -> Result<(), ModelError> {
        self.add_norm(&format!("{block}.cross_attn_ln"), &format!("{src}/attention/layer_norm"), n)?;
        let a = format!("{block}.cross_attn");
        self.add_linear(&format!("{a}.query"), &format!("{src}/attention/linear_0"), n, n)?;
        let (w, b) = (format!("{src}/attention/linear_1/weight"), format!("{src}/attention/linear_1/bias"));
        self.add_rows(format!("{a}.key.weight"), &w, &[2 * n, n], 0, vec![n, n], OutType::F16)?;
        self.add_rows(format!("{a}.value.weight"), &w, &[2 * n, n], n, vec![n, n], OutType::F16)?;
        self.add_rows(format!("{a}.value.bias"), &b, &[2 * n], n, vec![n], OutType::F32)?;
        self.add_linear(&format!("{a}.out"), &format!("{src}/attention/linear_2"), n, n)
    }

    fn add_mlp(&mut self, block: &str, src: &str, n: u64) -> Result<(), ModelError> {
        self.add_norm(&format!("{block}.mlp_ln"), &format!("{src}/ffn/layer_norm"), n)?;
        self.add_linear(&format!("{block}.mlp.0"), &format!("{src}/ffn/linear_0"), 4 * n, n)?;
        self.add_linear(&format!("{block}.mlp.2"), &format!("{src}/ffn/linear_1"), n, 4 * n)
    }

    /// Number of `{side}/layer_i` blocks, counted by their `ffn/linear_0/weight`; they must run
    /// 0..n without a gap.
    fn layers(&self, side: &str) -> Result<u64, ModelError> {
        let prefix = format!("{side}/layer_");
        let mut ids: Vec<u64> = self
            .model
            .variables()
            .iter()
            .filter_map(|v| v.name.strip_prefix(&prefix)?.strip_suffix("/ffn/linear_0/weight")?.parse().ok())
            .collect();
        ids.sort_unstable();
        for (expected, &id) in ids.iter().enumerate() {
            if id != expected as u64 {
                return Err(ModelError::MissingVariable {
                    path: self.model.path().into(),
                    variable: format!("{prefix}{expected}/ffn/linear_0/weight"),
                });
            }
        }
        if ids.is_empty() {
            return Err(ModelError::MissingVariable {
                path: self.model.path().into(),
                variable: format!("{prefix}0/ffn/linear_0/weight"),
            });
        }
        Ok(ids.len() as u64)
    }

    /// Heads from the `{side}/num_heads` scalar; models without it use Whisper's 64 dims per head.
    fn heads(&self, side: &str, n_state: u64) -> Result<u64, ModelError> {
        let name = format!("{side}/num_heads");
        let heads = match self.model.scalar(&name) {
            Some(h) => h as u64,
            None => n_state / 64,
        };
        if n_state.checked_rem(heads) != Some(0) {
            return Err(ModelError::ShapeMismatch {
                path: self.model.path().into(),
                variable: name,
                expected: format!("a divisor of the state size {n_state}"),
                found: heads.to_string(),
            });
        }
        Ok(heads)
    }

    fn plan(model: &'a Ct2Model) -> Result<(Hparams, Vec<TensorPlan>), ModelError> {
        let mut p = Planner { model, tensors: Vec::new() };
        let (n_vocab, n_text_state) = p.matrix("decoder/embeddings/weight")?;
        let (n_audio_ctx, n_audio_state) = p.matrix("encoder/position_encodings/encodings")?;
        let (n_text_ctx, _) = p.matrix("decoder/position_encodings/encodings")?;
        let conv1 = p.var("encoder/conv1/weight")?;
        let n_mels = match conv1.shape[..] {
            [_, mels, 3] => mels,
            _ => {
                return Err(ModelError::ShapeMismatch {
                    path: model.path().into(),
                    variable: conv1.name.clone(),
                    expected: format!("[{n_audio_state}, n_mels, 3]"),
                    found: format!("{:?}", conv1.shape),
                })
            }
        };
        let n_audio_layer = p.layers("encoder")?;
        let n_text_layer = p.layers("decoder")?;
        let n_audio_head = p.heads("encoder", n_audio_state)?;
        let n_text_head = p.heads("decoder", n_text_state)?;

        let to_i32 = |name: &str, v: u64| {
            i32::try_from(v).map_err(|_| ModelError::ShapeMismatch {
                path: model.path().into(),
                variable: name.into(),
                expected: "a dimension below 2^31".into(),
                found: v.to_string(),
            })
        };
        let hparams = Hparams {
            n_vocab: to_i32("decoder/embeddings/weight", n_vocab)?,
            n_audio_ctx: to_i32("encoder/position_encodings/encodings", n_audio_ctx)?,
            n_audio_state: to_i32("encoder/position_encodings/encodings", n_audio_state)?,
            n_audio_head: to_i32("encoder/num_heads", n_audio_head)?,
            n_audio_layer: to_i32("encoder/layer_*", n_audio_layer)?,
            n_text_ctx: to_i32("decoder/position_encodings/encodings", n_text_ctx)?,
            n_text_state: to_i32("decoder/embeddings/weight", n_text_state)?,
            n_text_head: to_i32("decoder/num_heads", n_text_head)?,
            n_text_layer: to_i32("decoder/layer_*", n_text_layer)?,
            n_mels: to_i32("encoder/conv1/weight", n_mels)?,
            ftype: 1,
        };

        let n = n_audio_state;
        p.add(
            "encoder.positional_embedding".into(),
            "encoder/position_encodings/encodings",
            &[n_audio_ctx, n],
            OutType::F32,
        )?;
        p.add("encoder.conv1.weight".into(), "encoder/conv1/weight", &[n, n_mels, 3], OutType::F16)?;
        p.add_rows("encoder.conv1.bias".into(), "encoder/conv1/bias", &[n], 0, vec![n, 1], OutType::F32)?;
        p.add("encoder.conv2.weight".into(), "encoder/conv2/weight", &[n, n, 3], OutType::F16)?;
        p.add_rows("encoder.conv2.bias".into(), "encoder/conv2/bias", &[n], 0, vec![n, 1], OutType::F32)?;
        for i in 0..n_audio_layer {
            let (block, src) = (format!("encoder.blocks.{i}"), format!("encoder/layer_{i}"));
            p.add_self_attention(&block, &src, n)?;
            p.add_mlp(&block, &src, n)?;
        }
        p.add_norm("encoder.ln_post", "encoder/layer_norm", n)?;

        let n = n_text_state;
        p.add(
            "decoder.positional_embedding".into(),
            "decoder/position_encodings/encodings",
            &[n_text_ctx, n],
            OutType::F32,
        )?;
        p.add(
            "decoder.token_embedding.weight".into(),
            "decoder/embeddings/weight",
            &[n_vocab, n],
            OutType::F16,
        )?;
        for i in 0..n_text_layer {
            let (block, src) = (format!("decoder.blocks.{i}"), format!("decoder/layer_{i}"));
            p.add_self_attention(&block, &src, n)?;
            p.add_cross_attention(&block, &src, n)?;
            p.add_mlp(&block, &src, n)?;
        }
        p.add_norm("decoder.ln", "decoder/layer_norm", n)?;
        Ok((hparams, p.tensors))
    }
}

/// A writer that hashes and counts what passes through it.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The temporary output file; removed on drop unless it was renamed into place.
struct TempFile {
    path: PathBuf,
    keep: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// What [`import_ct2`](crate::import_ct2) wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// Size of the ggml file.
    pub bytes: u64,
    /// Lower-case hex sha256 of the ggml file.
    pub sha256: String,
    pub hparams: Hparams,
    /// Number of tensors written.
    pub tensors: usize,
    /// Whether whisper.cpp will treat the model as multilingual.
    pub multilingual: bool,
}

fn write_i32<W: Write>(w: &mut W, v: i32) -> io::Result<()> {
    w.write_all(&v.to_le_bytes())
}

/// Elements converted per read: bounds the memory used whatever the tensor size.
const CHUNK_ELEMENTS: u64 = 1 << 18;

/// Reused buffers for converting one chunk.
#[derive(Default)]
struct Buffers {
    raw: Vec<u8>,
    wide: Vec<f32>,
    out: Vec<u8>,
}

/// Writes one tensor. Errors: `Err(Ok(e))` reading the source, `Err(Err(e))` writing.
fn write_tensor<W: Write>(
    w: &mut W,
    src: &mut File,
    plan: &TensorPlan,
    bufs: &mut Buffers,
) -> Result<(), Result<io::Error, io::Error>> {
    let mut header = Vec::with_capacity(12 + 4 * plan.dims.len() + plan.name.len());
    for v in [plan.dims.len() as i32, plan.name.len() as i32, i32::from(plan.out == OutType::F16)] {
        header.extend_from_slice(&v.to_le_bytes());
    }
    for &d in plan.dims.iter().rev() {
        header.extend_from_slice(&(d as i32).to_le_bytes());
    }
    header.extend_from_slice(plan.name.as_bytes());
    w.write_all(&header).map_err(Err)?;

    let Buffers { raw, wide, out } = bufs;
    let size = plan.source.dtype.size();
    src.seek(SeekFrom::Start(plan.source.offset + plan.first * size)).map_err(Ok)?;
    let mut left = plan.elements();
    while left > 0 {
        let n = left.min(CHUNK_ELEMENTS);
        raw.resize((n * size) as usize, 0);
        src.read_exact(raw).map_err(Ok)?;
        // Same type in and out (f16 weights, f32 norms of an f32 model): copy the bits.
        let same = matches!(
            (plan.source.dtype, plan.out),
            (crate::ct2::Dtype::F16, OutType::F16) | (crate::ct2::Dtype::F32, OutType::F32)
        );
        if same {
            w.write_all(raw).map_err(Err)?;
            left -= n;
            continue;
        }
        wide.clear();
        widen_into(plan.source.dtype, raw, wide);
        out.clear();
        match plan.out {
            OutType::F32 => wide.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
            OutType::F16 => wide.iter().for_each(|&v| out.extend_from_slice(&f32_to_f16(v).to_le_bytes())),
        }
        w.write_all(out).map_err(Err)?;
        left -= n;
    }
    Ok(())
}

/// See [`crate::import_ct2`].
pub(crate) fn import(src_dir: &Path, dest: &Path) -> Result<ImportReport, ModelError> {
    let model_path = src_dir.join("model.bin");
    if !model_path.is_file() {
        return Err(ModelError::MissingFile { path: model_path });
    }
    let model = Ct2Model::open(&model_path)?;
    let (hparams, tensors) = Planner::plan(&model)?;
    let multilingual = hparams.is_multilingual();
    let tokenizer = vocab::tokenizer_path(src_dir)?;
    let tokens = vocab::regular_tokens(&tokenizer, multilingual, hparams.n_vocab as usize)?;

    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = dest
        .file_name()
        .ok_or_else(|| ModelError::io(dest, io::Error::new(io::ErrorKind::InvalidInput, "no file name")))?;
    let mut temp = TempFile {
        path: dir.join(format!(".{}.{}.tmp", file_name.to_string_lossy(), std::process::id())),
        keep: false,
    };
    let tmp_file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&temp.path)
        .map_err(|e| ModelError::io(&temp.path, e))?;
    let mut src = File::open(&model_path).map_err(|e| ModelError::io(&model_path, e))?;

    let mut w =
        HashingWriter { inner: BufWriter::with_capacity(1 << 20, tmp_file), hasher: Sha256::new(), bytes: 0 };
    let out_err = |e: io::Error| ModelError::io(&temp.path, e);
    write_i32(&mut w, GGML_MAGIC as i32).map_err(out_err)?;
    for v in hparams.to_array() {
        write_i32(&mut w, v).map_err(out_err)?;
    }
    let mut preamble = Vec::new();
    preamble.extend_from_slice(&hparams.n_mels.to_le_bytes());
    preamble.extend_from_slice(&(N_FFT_BINS as i32).to_le_bytes());
    for v in mel_filters(hparams.n_mels as usize) {
        preamble.extend_from_slice(&v.to_le_bytes());
    }
    preamble.extend_from_slice(&(tokens.len() as i32).to_le_bytes());
    for t in &tokens {
        preamble.extend_from_slice(&(t.len() as i32).to_le_bytes());
        preamble.extend_from_slice(t);
    }
    w.write_all(&preamble).map_err(out_err)?;
    let mut bufs = Buffers::default();
    for plan in &tensors {
        write_tensor(&mut w, &mut src, plan, &mut bufs).map_err(|e| match e {
            Ok(read) => ModelError::io(&model_path, read),
            Err(write) => ModelError::io(&temp.path, write),
        })?;
    }
    w.flush().map_err(out_err)?;

    let HashingWriter { inner, hasher, bytes } = w;
    let file = inner.into_inner().map_err(|e| ModelError::io(&temp.path, e.into_error()))?;
    file.sync_all().map_err(|e| ModelError::io(&temp.path, e))?;
    drop(file);
    fs::rename(&temp.path, dest).map_err(|e| ModelError::io(dest, e))?;
    temp.keep = true;
    // Make the rename itself durable (not possible, nor needed, on every platform).
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }

    Ok(ImportReport {
        bytes,
        sha256: hex::encode(hasher.finalize()),
        hparams,
        tensors: tensors.len(),
        multilingual,
    })
}
