//! What is installed in a models directory.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::ct2::{CT2_FORMAT_VERSION, WHISPER_SPEC};
use crate::ggml::{read_ggml_header, Hparams, GGML_MAGIC};

/// One model found by [`list_models`](crate::list_models).
#[derive(Debug, Clone, PartialEq)]
pub struct InstalledModel {
    /// Display name: the file name without `.ggml.bin` / `.bin`, or the CT2 directory's name.
    pub name: String,
    /// The ggml file, or the CT2 directory.
    pub path: PathBuf,
    /// Size of the ggml file, or of the CT2 directory's `model.bin`.
    pub bytes: u64,
    pub format: ModelFormat,
}

/// The kind of an [`InstalledModel`].
#[derive(Debug, Clone, PartialEq)]
pub enum ModelFormat {
    /// A whisper.cpp ggml file, ready to load.
    Ggml { hparams: Hparams, multilingual: bool },
    /// A ggml file whose header cannot be read (truncated, say).
    BrokenGgml { reason: String },
    /// A CTranslate2 Whisper directory with no ggml file imported from it yet; `import_to` is
    /// where [`import_ct2`](crate::import_ct2) should write it ([`ggml_path_for`]).
    Ct2NotImported { import_to: PathBuf },
}

/// The conventional ggml file for a CTranslate2 directory: `<models_dir>/<name>.ggml.bin`, where
/// `<name>` is the directory's name without a trailing `-ct2` (`whisper-base-ct2` →
/// `whisper-base.ggml.bin`).
pub fn ggml_path_for(models_dir: &Path, ct2_dir: &Path) -> PathBuf {
    let dir_name = ct2_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = dir_name.strip_suffix("-ct2").unwrap_or(&dir_name);
    models_dir.join(format!("{stem}.ggml.bin"))
}

fn has_ggml_magic(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    File::open(path).and_then(|mut f| f.read_exact(&mut magic)).is_ok()
        && u32::from_le_bytes(magic) == GGML_MAGIC
}

fn is_whisper_ct2(dir: &Path) -> bool {
    // Version (u32), then the spec name as a u16-length string with a trailing NUL.
    let mut head = [0u8; 4 + 2 + WHISPER_SPEC.len() + 1];
    let ok = File::open(dir.join("model.bin")).and_then(|mut f| f.read_exact(&mut head)).is_ok();
    ok && u32::from_le_bytes([head[0], head[1], head[2], head[3]]) == CT2_FORMAT_VERSION
        && u16::from_le_bytes([head[4], head[5]]) as usize == WHISPER_SPEC.len() + 1
        && &head[6..6 + WHISPER_SPEC.len()] == WHISPER_SPEC.as_bytes()
}

fn display_name(file_name: &str) -> String {
    file_name
        .strip_suffix(".ggml.bin")
        .or_else(|| file_name.strip_suffix(".bin"))
        .unwrap_or(file_name)
        .to_owned()
}

pub(crate) fn list(models_dir: &Path) -> Vec<InstalledModel> {
    let Ok(entries) = std::fs::read_dir(models_dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();

    let mut found = Vec::new();
    for path in paths {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name.starts_with('.') {
            continue; // hidden, including an import's temporary file
        }
        if path.is_file() && has_ggml_magic(&path) {
            let bytes = path.metadata().map(|m| m.len()).unwrap_or(0);
            let format = match read_ggml_header(&path) {
                Ok(hparams) => ModelFormat::Ggml { hparams, multilingual: hparams.is_multilingual() },
                Err(e) => ModelFormat::BrokenGgml { reason: e.to_string() },
            };
            found.push(InstalledModel { name: display_name(&name), path, bytes, format });
        } else if path.is_dir() && is_whisper_ct2(&path) {
            let import_to = ggml_path_for(models_dir, &path);
            if !import_to.exists() {
                let bytes = path.join("model.bin").metadata().map(|m| m.len()).unwrap_or(0);
                found.push(InstalledModel {
                    name,
                    path,
                    bytes,
                    format: ModelFormat::Ct2NotImported { import_to },
                });
            }
        }
    }
    found
}
