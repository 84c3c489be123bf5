//! The fonts covers use, found by file name in the configured font directories.
//!
//! Only the files of the [`CATALOG`] are read (a few MB), not every font on the
//! system: a full fontdb scan of a desktop's fonts takes seconds and would make
//! the output depend on whatever else is installed. Faces are loaded in sorted
//! path order, so the same files always give the same database (and the same PNG).

use crate::ArtError;
use resvg::usvg::fontdb;
use skrifa::MetadataProvider as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A font family covers may use, the file-name stems that hold it, and its Debian package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FontFamily {
    pub family: &'static str,
    /// A file belongs to the family when its stem is this, or this followed by
    /// `-` (a style: `NotoSans-Bold`) or `[` (a variable font: `NotoSans[wght]`).
    pub stem: &'static str,
    pub package: &'static str,
}

pub const MUOL_LIGHT: &str = "Khmer OS Muol Light";
pub const BATTAMBANG: &str = "Khmer OS Battambang";
pub const NOTO_SERIF_KHMER: &str = "Noto Serif Khmer";
pub const NOTO_SANS_KHMER: &str = "Noto Sans Khmer";
pub const NOTO_SERIF: &str = "Noto Serif";
pub const NOTO_SANS: &str = "Noto Sans";

/// Every family a cover may use.
pub const CATALOG: [FontFamily; 6] = [
    FontFamily { family: MUOL_LIGHT, stem: "KhmerOSmuollight", package: "fonts-khmeros" },
    FontFamily { family: BATTAMBANG, stem: "KhmerOSbattambang", package: "fonts-khmeros" },
    FontFamily { family: NOTO_SERIF_KHMER, stem: "NotoSerifKhmer", package: "fonts-noto-core" },
    FontFamily { family: NOTO_SANS_KHMER, stem: "NotoSansKhmer", package: "fonts-noto-core" },
    FontFamily { family: NOTO_SERIF, stem: "NotoSerif", package: "fonts-noto-core" },
    FontFamily { family: NOTO_SANS, stem: "NotoSans", package: "fonts-noto-core" },
];

/// The default font directory (Debian's).
pub const DEFAULT_FONT_DIR: &str = "/usr/share/fonts";

/// Directories deeper than this under a font directory are not searched.
const MAX_DEPTH: usize = 6;

/// The catalog's fonts, loaded from the font directories.
#[derive(Clone)]
pub struct FontLibrary {
    db: Arc<fontdb::Database>,
    dirs: Vec<PathBuf>,
}

impl std::fmt::Debug for FontLibrary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FontLibrary").field("dirs", &self.dirs).field("faces", &self.db.len()).finish()
    }
}

impl FontLibrary {
    /// Loads the catalog's font files found under `dirs`. Missing families are
    /// not an error here: [`FontLibrary::require`] names them when they are needed.
    pub fn load(dirs: &[PathBuf]) -> FontLibrary {
        let mut files = Vec::new();
        for dir in dirs {
            collect_font_files(dir, 0, &mut files);
        }
        files.sort();
        files.dedup();
        let mut db = fontdb::Database::new();
        for path in files {
            match std::fs::read(&path) {
                Ok(bytes) => db.load_font_data(bytes),
                Err(e) => tracing::warn!(path = %path.display(), error = %e, "cannot read a font file"),
            }
        }
        FontLibrary { db: Arc::new(db), dirs: dirs.to_vec() }
    }

    /// The font database (shared with usvg).
    pub fn database(&self) -> Arc<fontdb::Database> {
        self.db.clone()
    }

    /// Whether a face of `family` is loaded.
    pub fn has(&self, family: &str) -> bool {
        self.db.faces().any(|face| face.families.iter().any(|(name, _)| name == family))
    }

    /// An error naming the font and its Debian package when `family` is not loaded.
    pub fn require(&self, family: &str) -> Result<(), ArtError> {
        if self.has(family) {
            return Ok(());
        }
        let package = CATALOG.iter().find(|f| f.family == family).map_or("(unknown)", |f| f.package);
        let dirs = self.dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ");
        Err(ArtError::MissingFont { family: family.into(), package: package.into(), dirs })
    }

    /// Every catalog family must be installed (what a provider checks at start).
    pub fn require_all(&self) -> Result<(), ArtError> {
        CATALOG.iter().try_for_each(|f| self.require(f.family))
    }

    /// Every character of `text` must have a glyph in one of `families`, else the
    /// renderer would draw a blank box. Default-ignorable characters (joiners,
    /// marks the shaper removes) need none. `field` names the text in the error.
    pub fn check_glyphs(&self, field: &'static str, families: &[&str], text: &str) -> Result<(), ArtError> {
        for family in families {
            self.require(family)?;
        }
        let faces: Vec<fontdb::ID> = self
            .db
            .faces()
            .filter(|face| face.families.iter().any(|(name, _)| families.contains(&name.as_str())))
            .map(|face| face.id)
            .collect();
        let missing = text.chars().filter(|c| !is_default_ignorable(*c)).find(|&c| {
            !faces
                .iter()
                .any(|id| self.db.with_face_data(*id, |data, index| maps(data, index, c)) == Some(true))
        });
        match missing {
            Some(ch) => Err(ArtError::missing_glyph(field, families, ch)),
            None => Ok(()),
        }
    }
}

/// Whether the face's character map has a glyph for `c`.
fn maps(data: &[u8], index: u32, c: char) -> bool {
    skrifa::FontRef::from_index(data, index)
        .ok()
        .and_then(|font| font.charmap().map(c))
        .is_some_and(|glyph| glyph.to_u32() != 0)
}

/// Characters the shaper hides (Unicode's Default_Ignorable_Code_Point, the
/// ranges that can occur in titles): they never show, so need no glyph.
pub fn is_default_ignorable(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{17B4}' | '\u{17B5}' | '\u{180B}'..='\u{180F}'
        | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}'
        | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}')
}

/// The catalog's font files under `dir`, recursively.
fn collect_font_files(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if depth < MAX_DEPTH {
                collect_font_files(&path, depth + 1, out);
            }
        } else if is_catalog_file(&path) {
            out.push(path);
        }
    }
}

fn is_catalog_file(path: &Path) -> bool {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    if !matches!(ext.as_deref(), Some("ttf" | "otf")) {
        return false;
    }
    let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else { return false };
    CATALOG.iter().any(|f| {
        let Some(rest) = stem.get(..f.stem.len()).filter(|head| head.eq_ignore_ascii_case(f.stem)) else {
            return false;
        };
        let rest = &stem[rest.len()..];
        rest.is_empty() || rest.starts_with('-') || rest.starts_with('[')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_catalogs_files_are_picked() {
        let yes =
            ["KhmerOSmuollight.ttf", "NotoSans-Bold.ttf", "NotoSerifKhmer-Regular.ttf", "NotoSans[wght].ttf"];
        for name in yes {
            assert!(is_catalog_file(Path::new(name)), "{name}");
        }
        let no =
            ["KhmerOSmuol.ttf", "NotoSansKhmerUI-Regular.ttf", "NotoSansThai-Regular.ttf", "NotoSans.txt"];
        for name in no {
            assert!(!is_catalog_file(Path::new(name)), "{name}");
        }
    }

    #[test]
    fn a_missing_family_names_its_debian_package() {
        let library = FontLibrary::load(&[PathBuf::from("/nonexistent-fonts")]);
        let err = library.require(MUOL_LIGHT).unwrap_err().to_string();
        assert!(err.contains("Khmer OS Muol Light") && err.contains("fonts-khmeros"), "{err}");
        assert!(err.contains("/nonexistent-fonts"), "{err}");
    }
}
