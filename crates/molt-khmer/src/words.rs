//! Text as search compares it: Khmer normalised (SIL order, no zero-width
//! marks), words segmented, Latin in lower case. Shared by the knowledge base
//! (`molt-kb`) and song search (`molt-search`), so both see the same words.

use crate::Segmenter;

/// Index text: the words of `text`, normalised and lower case, joined by spaces.
pub fn index_text(segmenter: &Segmenter, text: &str) -> String {
    words(segmenter, text).join(" ")
}

/// The normalised, lower-case words of `text`.
pub fn words(segmenter: &Segmenter, text: &str) -> Vec<String> {
    let normal = crate::normalize_for_index(text).to_lowercase();
    segmenter.segment(&normal)
}

/// A name as a lookup key: normalised, lower case, letters and digits only,
/// so `Sinn Sisamouth`, `sinn-sisamouth` and `ស៊ីន ស៊ីសាមុត` compare by content.
pub fn name_key(name: &str) -> String {
    crate::normalize_for_index(name)
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || is_khmer_mark(*c))
        .collect()
}

/// Khmer signs (U+17B4–U+17D3, U+17DD) that are not alphanumeric in Unicode's
/// sense but are part of words: a tokenizer must keep them inside tokens.
pub fn is_khmer_mark(c: char) -> bool {
    ('\u{17B4}'..='\u{17D3}').contains(&c) || c == '\u{17DD}'
}

/// Whether `s` has a character of the Khmer block (U+1780–U+17FF).
pub fn has_khmer(s: &str) -> bool {
    s.chars().any(|c| ('\u{1780}'..='\u{17FF}').contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_by_content() {
        assert_eq!(name_key("Sinn  Sisamouth"), name_key("sinn-sisamouth"));
        assert_eq!(name_key("ស៊ីន ស៊ីសាមុត"), name_key("ស៊ីនស៊ីសាមុត"));
        // Two code-point orders of one visible word (the SIL normaliser's example).
        assert_eq!(name_key("ស្រ្តី"), name_key("ស្ត្រី"));
        assert_ne!(name_key("ចម្ប៉ា"), name_key("ចម្ប៉ាបាត់ដំបង"));
    }

    #[test]
    fn index_text_segments_khmer_and_lowercases_latin() {
        let seg = Segmenter::with_names(None);
        let text = index_text(&seg, "ចម្ប៉ាបាត់ដំបង Champa Battambang");
        assert!(text.contains("បាត់ដំបង"), "{text}");
        assert!(text.ends_with("champa battambang"), "{text}");
        assert!(has_khmer(&text) && !has_khmer("champa"));
        assert!(is_khmer_mark('\u{17B6}') && !is_khmer_mark('ក'));
    }
}
