//! Khmer text handling for Molt (DESIGN §8): canonical normalisation, digits,
//! script detection, word segmentation, UNGEGN-style romanisation and detection or
//! conversion of legacy ASCII-range (Limon) encodings.

mod digits;
mod legacy;
mod normalize;
mod romanize;
mod script;
mod segment;
mod words;

pub use digits::{ascii_digits_to_khmer, khmer_digits_to_ascii};
pub use legacy::{
    convert_limon, detect_legacy, detect_legacy_strict, LegacyEncoding, LegacyError, LegacyGuess,
};
pub use normalize::{normalize, normalize_for_index, Normalized};
pub use romanize::{romanize, romanize_name, romanize_with, romanize_word};
pub use script::{detect_script, Script};
pub use segment::{parse_names, Segmenter, BUILT_IN_NAMES};
pub use words::{has_khmer, index_text, is_khmer_mark, name_key, words};
