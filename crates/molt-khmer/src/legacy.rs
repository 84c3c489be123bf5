//! Legacy ASCII-range Khmer (Limon / ABC fonts): detection and Limon conversion.
//!
//! Before Unicode, Khmer was typed with fonts that draw Khmer glyphs on ASCII and Latin-1
//! code points, so the stored text is Latin mojibake such as `éf¶ExqñaMkMeNIt`
//! (ថ្ងៃខែឆ្នាំកំណើត). Such text must be converted or rejected, never stored.
//!
//! # Detection heuristic
//! Text with any Khmer Unicode letter is not legacy. Otherwise each word (whitespace
//! separated, 3+ characters) is checked for signs that are implausible in English or other
//! Latin text: Latin-1 letters that Limon uses for subscripts (`¶ ñ ß Ø ©…`), an upper-case
//! letter after a lower-case one inside the word (`ExqñaMk`), or `; : ' , <` between two
//! letters. When at least half of the words show a sign, the text is a Limon/ABC guess;
//! the share of such words is the confidence. Limon and ABC layouts are not told apart.
//!
//! # Conversion
//! The character table below was learnt from the Limon table of the PyPI package `kfc`
//! ("convert khmer unicode text to limon format and vice versa", as mirrored in a public
//! Python transformer) and the `kfc` README example; `M` (nikahit) and `é` (vowel ai) come
//! from that example. Left vowels (`e E é`) and COENG RO (`R ®`) are typed before the
//! consonant they belong to, so they are moved after it; [`crate::normalize`] then puts
//! the syllable in canonical order. A character outside the table makes the conversion
//! unsure, and it is rejected.

use thiserror::Error;

/// Which legacy encoding the text appears to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LegacyEncoding {
    /// Limon (or ABC, whose layouts are not told apart) font encoding.
    Limon,
}

/// A guess that text is legacy-encoded Khmer.
#[derive(Clone, Debug, PartialEq)]
pub struct LegacyGuess {
    pub encoding: LegacyEncoding,
    /// Share of words (0–1) that look like legacy Khmer.
    pub confidence: f32,
}

/// Why legacy text was not converted.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum LegacyError {
    #[error("text does not look like Limon-encoded Khmer: {0}")]
    NotLegacy(String),
    #[error("text looks like Limon-encoded Khmer, but conversion is unsure: {0}")]
    Unsure(String),
}

/// Limon character → Unicode Khmer (see the module docs for the source).
fn limon_char(c: char) -> Option<&'static str> {
    Some(match c {
        'k' => "ក",
        'x' => "ខ",
        'K' => "គ",
        'X' => "ឃ",
        'g' => "ង",
        'c' => "ច",
        'q' => "ឆ",
        'C' => "ជ",
        'Q' => "ឈ",
        'j' => "ញ",
        'd' => "ដ",
        'z' => "ឋ",
        'D' => "ឌ",
        'Z' => "ឍ",
        'N' => "ណ",
        't' => "ត",
        'f' => "ថ",
        'T' => "ទ",
        'F' => "ធ",
        'n' => "ន",
        'b' | ')' => "ប",
        'p' => "ផ",
        'B' => "ព",
        'P' => "ភ",
        'm' => "ម",
        'y' => "យ",
        'r' => "រ",
        'l' => "ល",
        'v' => "វ",
        's' => "ស",
        'h' => "ហ",
        'L' => "ឡ",
        'G' => "អ",
        'a' => "ា",
        'i' => "ិ",
        'I' => "ី",
        'u' | 'ú' => "ុ",
        'U' | 'Ú' => "ូ",
        'w' => "ួ",
        'W' => "ៀ",
        'e' => "េ",
        'E' => "ែ",
        'é' => "ៃ",
        'o' => "ោ",
        'O' => "ៅ",
        'M' | 'ª' => "ំ",
        ';' => "ះ",
        '\'' => "៍",
        ':' => "៉",
        '°' => "%",
        '´' => "ខ្ញុំ",
        '¬' => "(",
        '¦' => ")",
        '>' => ".",
        'á' => "្ក",
        'ç' => "្ខ",
        'Á' => "្គ",
        'Ç' => "្ឃ",
        '¶' => "្ង",
        '©' => "្ច",
        'ä' => "្ឆ",
        '¢' => "្ជ",
        'Ä' => "្ឈ",
        'Ø' => "្ញ",
        'þ' => "្ដ",
        'æ' => "្ឋ",
        'Ð' => "្ឌ",
        'Æ' => "្ឍ",
        'Ñ' => "្ណ",
        'ß' => "្ថ",
        'Þ' => "្ទ",
        '§' => "្ធ",
        'ñ' => "្ន",
        ',' => "្ប",
        'ö' => "្ផ",
        '<' => "្ព",
        'Ö' => "្ភ",
        'µ' => "្ម",
        'ü' => "្យ",
        'R' | '®' => "្រ",
        'ø' => "្ល",
        'V' => "្វ",
        'S' => "្ស",
        'ð' => "្ហ",
        '¥' => "្អ",
        '0'..='9' => ["០", "១", "២", "៣", "៤", "៥", "៦", "៧", "៨", "៩"][c as usize - '0' as usize],
        _ => return None,
    })
}

/// Whether a word shows a sign of Limon typing (see the module docs).
fn looks_limon(word: &str) -> bool {
    let chars: Vec<char> = word.chars().collect();
    let latin1 = chars.iter().any(|&c| !c.is_ascii() && limon_char(c).is_some_and(|m| m.starts_with('្')));
    let camel = chars.windows(2).any(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase());
    let inner_punct = chars.windows(3).any(|w| {
        w[0].is_alphabetic() && matches!(w[1], ';' | ':' | '\'' | ',' | '<') && w[2].is_alphabetic()
    });
    latin1 || camel || inner_punct
}

/// Guesses whether `text` is legacy ASCII-range Khmer; `None` for Unicode Khmer or text
/// that reads as ordinary Latin.
pub fn detect_legacy(text: &str) -> Option<LegacyGuess> {
    if text.chars().any(|c| ('\u{1780}'..='\u{17FF}').contains(&c)) {
        return None;
    }
    let words: Vec<&str> = text.split_whitespace().filter(|w| w.chars().count() >= 3).collect();
    if words.is_empty() {
        return None;
    }
    let hits = words.iter().filter(|w| looks_limon(w)).count();
    let confidence = hits as f32 / words.len() as f32;
    (confidence >= 0.5).then_some(LegacyGuess { encoding: LegacyEncoding::Limon, confidence })
}

/// A stricter guess for short fields (titles, names), where one `O'Brien` or
/// `McCartney` must not trip it: the text needs a Latin-1 sign that only Limon
/// typing produces (its subscript symbols), or at least two flagged words that
/// make up every word of three letters or more.
pub fn detect_legacy_strict(text: &str) -> Option<LegacyGuess> {
    let guess = detect_legacy(text)?;
    let latin1 = text.chars().any(|c| !c.is_ascii() && limon_char(c).is_some_and(|m| m.starts_with('្')));
    let words: Vec<&str> = text.split_whitespace().filter(|w| w.chars().count() >= 3).collect();
    let all_flagged = words.len() >= 2 && words.iter().all(|w| looks_limon(w));
    (latin1 || all_flagged).then_some(guess)
}

/// Converts Limon-encoded text to normalised Unicode Khmer, or says why it will not.
pub fn convert_limon(text: &str) -> Result<String, LegacyError> {
    if detect_legacy(text).is_none() {
        return Err(LegacyError::NotLegacy(
            "it has Khmer Unicode letters or reads as ordinary Latin text".into(),
        ));
    }
    let mut out = String::new();
    for word in text.split(' ') {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&convert_word(word)?);
    }
    let converted = crate::normalize(&out);
    if let Some(bad) = converted.split_whitespace().find(|w| w.chars().next().is_some_and(is_dependent)) {
        return Err(LegacyError::Unsure(format!("a converted word starts with a vowel sign: {bad}")));
    }
    Ok(converted)
}

/// Whether a Khmer character cannot start a word (dependent vowel, sign or COENG).
fn is_dependent(c: char) -> bool {
    ('\u{17B6}'..='\u{17D3}').contains(&c) || c == '\u{17DD}'
}

/// Converts one word: prefix marks are moved after their consonant, then mapped.
fn convert_word(word: &str) -> Result<String, LegacyError> {
    let mut chars: Vec<char> = word.chars().collect();
    let is_consonant = |c: char| limon_char(c).is_some_and(|m| ('\u{1780}'..='\u{17A2}').contains(&first(m)));
    let mut k = 0;
    while k < chars.len() {
        let prefix = matches!(chars[k], 'e' | 'E' | 'é' | 'R' | '®');
        if prefix {
            // move the run of prefix marks after the next consonant
            let mut end = k;
            while end < chars.len() && matches!(chars[end], 'e' | 'E' | 'é' | 'R' | '®') {
                end += 1;
            }
            if end < chars.len() && is_consonant(chars[end]) {
                chars[k..=end].rotate_right(1);
                k = end + 1;
                continue;
            }
        }
        k += 1;
    }
    let mut out = String::new();
    for c in chars {
        match limon_char(c) {
            Some(m) => out.push_str(m),
            None if c.is_ascii_punctuation() || c.is_whitespace() => out.push(c),
            None => {
                return Err(LegacyError::Unsure(format!(
                    "the character {c:?} in {word:?} has no known Limon mapping"
                )))
            }
        }
    }
    Ok(out)
}

/// First character of a non-empty mapping.
fn first(s: &str) -> char {
    s.chars().next().unwrap_or(' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_limon_not_english() {
        assert!(detect_legacy("éf¶ExqñaMkMeNIt").is_some());
        assert!(detect_legacy_strict("éf¶ExqñaMkMeNIt").is_some());
        for name in ["x'y", "O'Brien", "McCartney", "Rock'n'Roll Band", "Sinn Sisamouth"] {
            assert_eq!(detect_legacy_strict(name), None, "{name}");
        }
        assert_eq!(detect_legacy("Sinn Sisamouth sang in the 1960s"), None);
        assert_eq!(detect_legacy("ស៊ីន ស៊ីសាមុត"), None);
    }

    #[test]
    fn converts_kfc_example() {
        assert_eq!(convert_limon("éf¶ExqñaMkMeNIt").unwrap(), crate::normalize("ថ្ងៃខែឆ្នាំកំណើត"));
    }

    #[test]
    fn rejects_with_message() {
        assert!(matches!(convert_limon("hello world"), Err(LegacyError::NotLegacy(_))));
        let err = convert_limon("éf¶ExqñaMk€").unwrap_err();
        assert!(err.to_string().contains("looks like Limon"), "{err}");
    }
}
