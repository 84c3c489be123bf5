//! The token table written into a ggml file, read from a Hugging Face `tokenizer.json`
//! (byte-level BPE) or, failing that, CTranslate2's `vocabulary.txt` (one token per line).
//!
//! Both spell tokens in GPT-2's byte-level alphabet, where every byte is shown as a printable
//! character (`Ġ` for a space, `Ċ` for a newline, …); whisper.cpp wants the raw bytes, so each
//! token is mapped back through the byte↔unicode table.
//!
//! whisper.cpp adds the special tokens itself, by id. The file carries the regular tokens only:
//! for multilingual models the ids below `<|endoftext|>`, for English-only models the ids up to
//! and including it (as upstream's converted files do).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::ModelError;

const EOT: &str = "<|endoftext|>";

/// GPT-2's byte-level alphabet, inverted: printable char → byte.
fn unicode_to_byte() -> HashMap<char, u8> {
    let mut printable: Vec<u32> = (u32::from('!')..=u32::from('~')).collect();
    printable.extend(u32::from('¡')..=u32::from('¬'));
    printable.extend(u32::from('®')..=u32::from('ÿ'));
    let mut map = HashMap::with_capacity(256);
    let mut shifted = 0;
    for b in 0u32..256 {
        let c = if printable.contains(&b) {
            b
        } else {
            shifted += 1;
            255 + shifted
        };
        map.insert(char::from_u32(c).expect("valid char"), b as u8);
    }
    map
}

fn token_bytes(
    table: &HashMap<char, u8>,
    id: usize,
    token: &str,
    path: &Path,
) -> Result<Vec<u8>, ModelError> {
    token.chars().map(|c| table.get(&c).copied()).collect::<Option<Vec<u8>>>().ok_or_else(|| {
        ModelError::BadTokenizer {
            path: path.into(),
            reason: format!("token {id} {token:?} is not in GPT-2's byte-level alphabet"),
        }
    })
}

/// Token strings by id from a file, and the id of `<|endoftext|>`.
fn read_table(path: &Path) -> Result<(Vec<Option<String>>, usize), ModelError> {
    let bad = |reason: String| ModelError::BadTokenizer { path: path.into(), reason };
    let text = std::fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
    let mut by_id: Vec<Option<String>> = Vec::new();
    let mut put = |id: usize, token: &str| {
        if id >= by_id.len() {
            by_id.resize(id + 1, None);
        }
        by_id[id] = Some(token.to_owned());
    };

    if path.extension().is_some_and(|e| e == "json") {
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| bad(format!("invalid JSON: {e}")))?;
        let model = &json["model"];
        if let Some(kind) = model["type"].as_str() {
            if kind != "BPE" {
                return Err(bad(format!("model type is {kind}, expected BPE")));
            }
        }
        let vocab = model["vocab"].as_object().ok_or_else(|| bad("no model.vocab object".into()))?;
        for (token, id) in vocab {
            let id = id.as_u64().ok_or_else(|| bad(format!("token {token:?} has a non-integer id")))?;
            put(id as usize, token);
        }
        for added in json["added_tokens"].as_array().into_iter().flatten() {
            if let (Some(id), Some(token)) = (added["id"].as_u64(), added["content"].as_str()) {
                put(id as usize, token);
            }
        }
    } else {
        for (id, line) in text.lines().enumerate() {
            put(id, line);
        }
    }

    let eot =
        by_id.iter().position(|t| t.as_deref() == Some(EOT)).ok_or_else(|| bad(format!("no {EOT} token")))?;
    Ok((by_id, eot))
}

/// The tokenizer file used for `src_dir`: `tokenizer.json`, else `vocabulary.txt`.
pub(crate) fn tokenizer_path(src_dir: &Path) -> Result<PathBuf, ModelError> {
    let json = src_dir.join("tokenizer.json");
    if json.is_file() {
        return Ok(json);
    }
    let txt = src_dir.join("vocabulary.txt");
    if txt.is_file() {
        return Ok(txt);
    }
    Err(ModelError::MissingFile { path: json })
}

/// The regular tokens, as raw bytes, in id order.
pub(crate) fn regular_tokens(
    path: &Path,
    multilingual: bool,
    n_vocab: usize,
) -> Result<Vec<Vec<u8>>, ModelError> {
    let (by_id, eot) = read_table(path)?;
    let count = if multilingual { eot } else { eot + 1 };
    if count > n_vocab {
        return Err(ModelError::BadTokenizer {
            path: path.into(),
            reason: format!("{count} regular tokens but the model's embedding has {n_vocab} rows"),
        });
    }
    let table = unicode_to_byte();
    (0..count)
        .map(|id| match &by_id[id] {
            Some(token) => token_bytes(&table, id, token, path),
            None => {
                Err(ModelError::BadTokenizer { path: path.into(), reason: format!("no token with id {id}") })
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_level_alphabet() {
        let t = unicode_to_byte();
        assert_eq!(t.len(), 256);
        assert_eq!(t[&'Ġ'], b' ');
        assert_eq!(t[&'Ċ'], b'\n');
        assert_eq!(t[&'!'], b'!');
        assert_eq!(t[&'Ā'], 0);
        // Khmer "ក" (U+1780) is E1 9E 80 in UTF-8: "áŀĢ" in the byte-level alphabet.
        let bytes = token_bytes(&t, 0, "áŀĢ", Path::new("x")).unwrap();
        assert_eq!(String::from_utf8(bytes).unwrap(), "ក");
    }
}
