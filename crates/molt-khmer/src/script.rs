//! Script of a line of text.
//!
//! Rule: count the *letters* of each script (alphabetic characters, plus Khmer/Thai
//! combining vowels and signs); digits, punctuation, symbols and spaces are ignored.
//! A script with more than 80 % of the letters names the line; when no script reaches
//! that, the line is [`Script::Mixed`]; a line without letters is [`Script::Other`].
//! Khmer and Thai are told apart by block, so a Thai lyric is never mistaken for Khmer.

/// The dominant script of a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Script {
    Khmer,
    Latin,
    Thai,
    /// Letters of some other script, or no letters at all.
    Other,
    /// Several scripts, none above 80 % of the letters.
    Mixed,
}

/// Share of letters (in percent) a script needs to name the line.
const MAJORITY_PERCENT: usize = 80;

/// Script of one letter-like character, or `None` for digits, punctuation and spaces.
fn letter_script(c: char) -> Option<Script> {
    match c {
        '\u{1780}'..='\u{17D3}' | '\u{17DC}' | '\u{17DD}' | '\u{19E0}'..='\u{19FF}' => Some(Script::Khmer),
        '\u{0E01}'..='\u{0E3A}' | '\u{0E40}'..='\u{0E4E}' => Some(Script::Thai),
        c if c.is_ascii_alphabetic() => Some(Script::Latin),
        '\u{00C0}'..='\u{024F}' | '\u{1E00}'..='\u{1EFF}' if c.is_alphabetic() => Some(Script::Latin),
        c if c.is_alphabetic() => Some(Script::Other),
        _ => None,
    }
}

/// Dominant script of `line` (see the module docs for the rule), used to route a lyric
/// line to the right segmenter, romaniser or model.
pub fn detect_script(line: &str) -> Script {
    let (mut khmer, mut latin, mut thai, mut other) = (0usize, 0usize, 0usize, 0usize);
    for c in line.chars() {
        match letter_script(c) {
            Some(Script::Khmer) => khmer += 1,
            Some(Script::Latin) => latin += 1,
            Some(Script::Thai) => thai += 1,
            Some(_) => other += 1,
            None => {}
        }
    }
    let total = khmer + latin + thai + other;
    if total == 0 {
        return Script::Other;
    }
    [(Script::Khmer, khmer), (Script::Latin, latin), (Script::Thai, thai), (Script::Other, other)]
        .into_iter()
        .find(|&(_, n)| n * 100 > total * MAJORITY_PERCENT)
        .map_or(Script::Mixed, |(s, _)| s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_lines() {
        assert_eq!(detect_script("ខ្ញុំស្រលាញ់អូនណាស់"), Script::Khmer);
        assert_eq!(detect_script("ខ្ញុំ ២០២៦ ។ 123!"), Script::Khmer);
        assert_eq!(detect_script("I love you so much"), Script::Latin);
        assert_eq!(detect_script("Café déjà vu"), Script::Latin);
        assert_eq!(detect_script("ฉันรักเธอ"), Script::Thai);
        assert_eq!(detect_script("Sinn Sisamouth sang ចម្ប៉ាបាត់ដំបង in 1960s."), Script::Mixed);
        assert_eq!(detect_script("Привет"), Script::Other);
        assert_eq!(detect_script("1960 ... !"), Script::Other);
        assert_eq!(detect_script(""), Script::Other);
    }
}
