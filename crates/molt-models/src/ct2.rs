//! Reader for CTranslate2's `model.bin` (binary format version 6).
//!
//! Layout, little-endian (see `shared/notes/model-formats.md` §1):
//!
//! ```text
//! u32 version (6) · string spec ("WhisperSpec") · u32 revision · u32 n_variables
//! n_variables × { string name · u8 rank · rank × u32 dims · u8 dtype · u32 n_bytes · data }
//! u32 n_aliases · n_aliases × { string alias · string target }
//! ```
//!
//! A string is a `u16` length that counts a trailing NUL, then that many bytes. dtype codes:
//! 0 f32, 1 int8, 2 int16, 3 int32, 4 f16, 5 bf16. Model metadata such as
//! `encoder/num_heads` (int16) or `decoder/activation` (int8) are rank-0 scalars. Aliases name
//! tied weights, e.g. `decoder/projection/weight` → `decoder/embeddings/weight`.
//!
//! [`Ct2Model::open`] reads only the headers: it records where each variable's data lies and
//! keeps the small scalars, so opening a 3 GB model costs a few hundred seeks, not 3 GB of RAM.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::error::ModelError;
use crate::half::{bf16_to_f32, f16_to_f32};

/// The only binary format version this reader accepts.
pub const CT2_FORMAT_VERSION: u32 = 6;
/// The spec name of Whisper models.
pub const WHISPER_SPEC: &str = "WhisperSpec";

/// Element type of a variable, by its CTranslate2 code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    /// code 0
    F32,
    /// code 1
    I8,
    /// code 2
    I16,
    /// code 3
    I32,
    /// code 4
    F16,
    /// code 5
    Bf16,
}

impl Dtype {
    /// The dtype with this CTranslate2 code, if it is one.
    pub fn from_code(code: u8) -> Option<Dtype> {
        Some(match code {
            0 => Dtype::F32,
            1 => Dtype::I8,
            2 => Dtype::I16,
            3 => Dtype::I32,
            4 => Dtype::F16,
            5 => Dtype::Bf16,
            _ => return None,
        })
    }

    /// Bytes per element.
    pub fn size(self) -> u64 {
        match self {
            Dtype::I8 => 1,
            Dtype::I16 | Dtype::F16 | Dtype::Bf16 => 2,
            Dtype::F32 | Dtype::I32 => 4,
        }
    }

    /// CTranslate2's name for it.
    pub fn name(self) -> &'static str {
        match self {
            Dtype::F32 => "float32",
            Dtype::I8 => "int8",
            Dtype::I16 => "int16",
            Dtype::I32 => "int32",
            Dtype::F16 => "float16",
            Dtype::Bf16 => "bfloat16",
        }
    }

    /// Whether this is a floating-point type the importer can convert.
    pub fn is_float(self) -> bool {
        matches!(self, Dtype::F32 | Dtype::F16 | Dtype::Bf16)
    }
}

/// One variable's header, and where its data lies in the file.
#[derive(Debug, Clone)]
pub struct Ct2Variable {
    /// e.g. `encoder/layer_0/self_attention/linear_0/weight`.
    pub name: String,
    /// Dimensions, outermost first (row-major). Empty for a scalar.
    pub shape: Vec<u64>,
    pub dtype: Dtype,
    /// Offset of the first data byte in the file.
    pub offset: u64,
    /// Number of data bytes (`elements × dtype size`, checked when the file is read).
    pub n_bytes: u64,
    /// The value of a rank-0 variable (any dtype), read at open time.
    pub scalar: Option<f64>,
}

impl Ct2Variable {
    /// Number of elements.
    pub fn elements(&self) -> u64 {
        self.shape.iter().product()
    }
}

/// The headers of a CTranslate2 `model.bin`.
#[derive(Debug)]
pub struct Ct2Model {
    path: PathBuf,
    len: u64,
    /// Binary format version (always 6 once opened).
    pub version: u32,
    /// Spec name (always `WhisperSpec` once opened).
    pub spec: String,
    /// Spec revision (3 for current faster-whisper models).
    pub revision: u32,
    variables: Vec<Ct2Variable>,
    index: HashMap<String, usize>,
    aliases: Vec<(String, String)>,
}

/// Position-tracking reader that reports truncation precisely.
struct Reader<R> {
    inner: R,
    pos: u64,
    len: u64,
    path: PathBuf,
}

impl<R: Read + Seek> Reader<R> {
    fn need(&self, n: u64, what: &dyn Fn() -> String) -> Result<(), ModelError> {
        if self.pos.checked_add(n).is_none_or(|end| end > self.len) {
            return Err(ModelError::Truncated {
                path: self.path.clone(),
                what: what(),
                offset: self.pos,
                needed: n,
                len: self.len,
            });
        }
        Ok(())
    }

    fn bytes(&mut self, n: usize, what: &dyn Fn() -> String) -> Result<Vec<u8>, ModelError> {
        self.need(n as u64, what)?;
        let mut buf = vec![0u8; n];
        self.inner.read_exact(&mut buf).map_err(|e| ModelError::io(&self.path, e))?;
        self.pos += n as u64;
        Ok(buf)
    }

    fn array<const N: usize>(&mut self, what: &dyn Fn() -> String) -> Result<[u8; N], ModelError> {
        self.need(N as u64, what)?;
        let mut buf = [0u8; N];
        self.inner.read_exact(&mut buf).map_err(|e| ModelError::io(&self.path, e))?;
        self.pos += N as u64;
        Ok(buf)
    }

    fn u8(&mut self, what: &dyn Fn() -> String) -> Result<u8, ModelError> {
        Ok(self.array::<1>(what)?[0])
    }

    fn u16(&mut self, what: &dyn Fn() -> String) -> Result<u16, ModelError> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    fn u32(&mut self, what: &dyn Fn() -> String) -> Result<u32, ModelError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn string(&mut self, what: &dyn Fn() -> String) -> Result<String, ModelError> {
        let start = self.pos;
        let n = self.u16(what)? as usize;
        let raw = self.bytes(n, what)?;
        let bad = |reason: &str| ModelError::BadString {
            path: self.path.clone(),
            offset: start,
            reason: format!("{} ({})", reason, what()),
        };
        match raw.split_last() {
            Some((0, body)) => String::from_utf8(body.to_vec()).map_err(|_| bad("not UTF-8")),
            Some(_) => Err(bad("no trailing NUL")),
            None => Err(bad("zero length (the length counts the trailing NUL)")),
        }
    }

    fn skip(&mut self, n: u64, what: &dyn Fn() -> String) -> Result<(), ModelError> {
        self.need(n, what)?;
        self.inner.seek(SeekFrom::Current(n as i64)).map_err(|e| ModelError::io(&self.path, e))?;
        self.pos += n;
        Ok(())
    }
}

impl Ct2Model {
    /// Reads the headers of `path` (a CTranslate2 Whisper `model.bin`).
    pub fn open(path: &Path) -> Result<Ct2Model, ModelError> {
        let file = File::open(path).map_err(|e| ModelError::io(path, e))?;
        let len = file.metadata().map_err(|e| ModelError::io(path, e))?.len();
        let mut r = Reader { inner: BufReader::new(file), pos: 0, len, path: path.to_path_buf() };

        let version = r.u32(&|| "the format version".into())?;
        if version != CT2_FORMAT_VERSION {
            return Err(ModelError::UnsupportedVersion { path: path.into(), found: version });
        }
        let spec = r.string(&|| "the spec name".into())?;
        if spec != WHISPER_SPEC {
            return Err(ModelError::WrongSpec { path: path.into(), found: spec });
        }
        let revision = r.u32(&|| "the spec revision".into())?;
        let count = r.u32(&|| "the variable count".into())?;

        let mut variables = Vec::with_capacity(count.min(100_000) as usize);
        let mut index = HashMap::new();
        for i in 0..count {
            let name = r.string(&|| format!("the name of variable #{i}"))?;
            let what = |field: &str| format!("the {field} of variable {name}");
            let rank = r.u8(&|| what("rank"))?;
            let mut shape = Vec::with_capacity(rank as usize);
            for _ in 0..rank {
                shape.push(u64::from(r.u32(&|| what("dims"))?));
            }
            let code = r.u8(&|| what("dtype"))?;
            let dtype = Dtype::from_code(code).ok_or_else(|| ModelError::UnknownDtype {
                path: path.into(),
                variable: name.clone(),
                code,
            })?;
            let n_bytes = u64::from(r.u32(&|| what("byte count"))?);
            let expected = shape.iter().try_fold(dtype.size(), |acc, &d| acc.checked_mul(d));
            if expected != Some(n_bytes) {
                return Err(ModelError::ShapeMismatch {
                    path: path.into(),
                    variable: name,
                    expected: match expected {
                        Some(b) => format!("{b} bytes for {shape:?} × {}", dtype.name()),
                        None => format!("a representable size for {shape:?}"),
                    },
                    found: format!("{n_bytes} bytes"),
                });
            }
            let offset = r.pos;
            let scalar = if shape.is_empty() {
                let raw = r.bytes(n_bytes as usize, &|| what("data"))?;
                Some(scalar_value(dtype, &raw))
            } else {
                r.skip(n_bytes, &|| what("data"))?;
                None
            };
            index.insert(name.clone(), variables.len());
            variables.push(Ct2Variable { name, shape, dtype, offset, n_bytes, scalar });
        }

        let n_aliases = r.u32(&|| "the alias count".into())?;
        let mut aliases = Vec::with_capacity(n_aliases.min(100_000) as usize);
        for i in 0..n_aliases {
            let alias = r.string(&|| format!("alias #{i}"))?;
            let target = r.string(&|| format!("the target of alias {alias}"))?;
            aliases.push((alias, target));
        }

        Ok(Ct2Model { path: path.into(), len, version, spec, revision, variables, index, aliases })
    }

    /// The file this was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Size of the file in bytes.
    pub fn file_len(&self) -> u64 {
        self.len
    }

    /// All variables, in file order.
    pub fn variables(&self) -> &[Ct2Variable] {
        &self.variables
    }

    /// The alias table: (alias, target) pairs in file order.
    pub fn aliases(&self) -> &[(String, String)] {
        &self.aliases
    }

    /// A variable by name, following aliases (a few levels, so a cycle cannot hang).
    pub fn get(&self, name: &str) -> Option<&Ct2Variable> {
        let mut name = name;
        for _ in 0..8 {
            if let Some(&i) = self.index.get(name) {
                return Some(&self.variables[i]);
            }
            name = &self.aliases.iter().find(|(alias, _)| alias == name)?.1;
        }
        None
    }

    /// The value of a scalar variable.
    pub fn scalar(&self, name: &str) -> Option<f64> {
        self.get(name)?.scalar
    }

    /// Reads a floating-point variable, widened to f32. For inspection and tests; the importer
    /// streams tensors instead.
    pub fn read_f32(&self, name: &str) -> Result<Vec<f32>, ModelError> {
        let var = self
            .get(name)
            .ok_or_else(|| ModelError::MissingVariable { path: self.path.clone(), variable: name.into() })?;
        if !var.dtype.is_float() {
            return Err(ModelError::UnsupportedDtype {
                path: self.path.clone(),
                variable: var.name.clone(),
                dtype: var.dtype.name(),
                hint: "not a floating-point tensor",
            });
        }
        let mut file = File::open(&self.path).map_err(|e| ModelError::io(&self.path, e))?;
        file.seek(SeekFrom::Start(var.offset)).map_err(|e| ModelError::io(&self.path, e))?;
        let mut raw = vec![0u8; var.n_bytes as usize];
        file.read_exact(&mut raw).map_err(|e| ModelError::io(&self.path, e))?;
        let mut out = Vec::with_capacity(var.elements() as usize);
        widen_into(var.dtype, &raw, &mut out);
        Ok(out)
    }
}

fn scalar_value(dtype: Dtype, raw: &[u8]) -> f64 {
    match dtype {
        Dtype::I8 => f64::from(raw[0] as i8),
        Dtype::I16 => f64::from(i16::from_le_bytes([raw[0], raw[1]])),
        Dtype::I32 => f64::from(i32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]])),
        Dtype::F16 => f64::from(f16_to_f32(u16::from_le_bytes([raw[0], raw[1]]))),
        Dtype::Bf16 => f64::from(bf16_to_f32(u16::from_le_bytes([raw[0], raw[1]]))),
        Dtype::F32 => f64::from(f32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]])),
    }
}

/// Appends the floating-point elements of `raw` (little-endian `dtype`) to `out` as f32.
/// `dtype` must be a float type.
pub(crate) fn widen_into(dtype: Dtype, raw: &[u8], out: &mut Vec<f32>) {
    match dtype {
        Dtype::F32 => out.extend(raw.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
        Dtype::F16 => out.extend(raw.chunks_exact(2).map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))),
        Dtype::Bf16 => out.extend(raw.chunks_exact(2).map(|b| bf16_to_f32(u16::from_le_bytes([b[0], b[1]])))),
        Dtype::I8 | Dtype::I16 | Dtype::I32 => unreachable!("widen_into called on {}", dtype.name()),
    }
}
