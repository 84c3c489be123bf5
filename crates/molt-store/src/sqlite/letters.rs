//! The letter index: which songs contain a given letter or pair of letters.
//!
//! A trigram index cannot answer a query of 1–2 characters, so those use
//! `LIKE`. Alone, a `LIKE` scan reads every song's lyrics (≈ 22 MB at 20,000
//! songs) whenever few songs contain the letters. `search_letters` (migration
//! `…000011`) lists, per song, every character and every pair of adjacent
//! characters of its title, artist and lyrics as index-only tokens, so the scan
//! reads the lyrics of candidate songs only. It is a superset by construction:
//! every text a 1–2 character `LIKE` pattern can match holds that character or
//! pair, and `LIKE` still decides.

use rusqlite::functions::FunctionFlags;
use rusqlite::Connection;
use std::collections::BTreeSet;

/// The SQL function migration `…000011` fills the index with, for the rows
/// indexed before it: `molt_letter_units(title, artist, lyrics)`.
pub const UNITS_FUNCTION: &str = "molt_letter_units";

/// The index's tokens for one song's substring texts: each character, and
/// each pair of adjacent characters, as fixed-width hex code points (6 digits
/// a character, so a pair is 12 and never reads as another unit), ASCII
/// letters in lower case because `LIKE` ignores their case.
pub fn units(texts: &[&str]) -> String {
    let mut found: BTreeSet<String> = BTreeSet::new();
    for text in texts {
        let chars: Vec<char> = text.chars().map(|c| c.to_ascii_lowercase()).collect();
        for (i, c) in chars.iter().enumerate() {
            found.insert(unit(&[*c]));
            if let Some(next) = chars.get(i + 1) {
                found.insert(unit(&[*c, *next]));
            }
        }
    }
    found.into_iter().collect::<Vec<_>>().join(" ")
}

/// The token of a fragment of 1–2 characters (as [`units`] writes it), as an
/// FTS5 string.
pub fn query_unit(fragment: &str) -> Option<String> {
    let chars: Vec<char> = fragment.chars().map(|c| c.to_ascii_lowercase()).collect();
    (1..=2).contains(&chars.len()).then(|| format!("\"{}\"", unit(&chars)))
}

fn unit(chars: &[char]) -> String {
    chars.iter().map(|c| format!("{:06x}", u32::from(*c))).collect()
}

/// Makes [`UNITS_FUNCTION`] callable on `conn` (NULL arguments count as empty text).
pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function(UNITS_FUNCTION, 3, flags, |ctx| {
        let texts: Vec<String> = (0..3)
            .map(|i| ctx.get::<Option<String>>(i).map(Option::unwrap_or_default))
            .collect::<Result<_, _>>()?;
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        Ok(units(&refs))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_every_letter_and_adjacent_pair_in_lower_case() {
        assert_eq!(units(&["Ab", ""]), "000061 000061000062 000062");
        let khmer = units(&["កា"]);
        assert_eq!(khmer, "001780 0017800017b6 0017b6");
        assert_eq!(query_unit("A"), Some("\"000061\"".into()));
        assert_eq!(query_unit("កា"), Some("\"0017800017b6\"".into()));
        assert_eq!(query_unit("abc"), None);
        assert_eq!(query_unit(""), None);
    }

    #[test]
    fn pairs_do_not_cross_texts() {
        assert!(!units(&["a", "b"]).contains("000061000062"));
    }
}
