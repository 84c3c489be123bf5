//! The cover's texts: cleaning user data, escaping it for SVG, and finding
//! where a line may break.

use molt_khmer::Segmenter;

/// Longest text (in characters) a cover shows of any field; more is cut with `…`.
pub const MAX_FIELD_CHARS: usize = 160;

/// User text made safe to typeset: control characters dropped (XML forbids
/// most of them), runs of blanks made one space, trimmed, clipped.
pub fn clean(text: &str) -> String {
    let mut out = String::new();
    let mut blank = false;
    for c in text.chars() {
        if c.is_whitespace() {
            blank = !out.is_empty();
        } else if !c.is_control() && !matches!(c, '\u{FFFE}' | '\u{FFFF}') {
            if blank {
                out.push(' ');
                blank = false;
            }
            out.push(c);
        }
    }
    clip(&out, MAX_FIELD_CHARS)
}

/// At most `max` characters, cut on a character boundary with `…`.
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// Text escaped for an SVG text node or attribute value: titles are user data,
/// so no markup in them can ever reach the parser.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

/// Whether `text` has Khmer letters.
pub fn has_khmer(text: &str) -> bool {
    text.chars().any(|c| ('\u{1780}'..='\u{17FF}').contains(&c) || ('\u{19E0}'..='\u{19FF}').contains(&c))
}

/// A run of text that stays on one line, and whether a space comes before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub text: String,
    pub space_before: bool,
}

/// Where `text` may break: at spaces, at zero-width spaces (a break hint that
/// is then dropped), and between Khmer words (the dictionary segmenter, with
/// its names list, so an artist's name is never split).
pub fn pieces(segmenter: &Segmenter, text: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    for (i, word) in text.split(' ').filter(|w| !w.is_empty()).enumerate() {
        for (j, chunk) in word.split('\u{200B}').filter(|w| !w.is_empty()).enumerate() {
            for (k, part) in words(segmenter, chunk).into_iter().enumerate() {
                out.push(Piece { text: part, space_before: i > 0 && j == 0 && k == 0 });
            }
        }
    }
    out
}

/// `chunk` cut before each word the segmenter finds in it; what it skips
/// (punctuation) stays with the word before.
fn words(segmenter: &Segmenter, chunk: &str) -> Vec<String> {
    if !has_khmer(chunk) {
        return vec![chunk.to_string()];
    }
    let mut starts = vec![0];
    let mut cursor = 0;
    for word in segmenter.segment(chunk) {
        if let Some(at) = chunk[cursor..].find(&word) {
            starts.push(cursor + at);
            cursor += at + word.len();
        }
    }
    starts.push(chunk.len());
    starts.dedup();
    starts.windows(2).map(|w| chunk[w[0]..w[1]].to_string()).collect()
}

/// `text` cut into clusters that must not be split (a base and its marks; a
/// Khmer consonant with its subscripts), for a word too long for any line.
pub fn clusters(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut previous: Option<char> = None;
    for c in text.chars() {
        let joins = previous.is_some_and(|p| p == '\u{17D2}' || matches!(p, '\u{200C}' | '\u{200D}'))
            || is_mark(c)
            || matches!(c, '\u{200C}' | '\u{200D}');
        match out.last_mut() {
            Some(last) if joins => last.push(c),
            _ => out.push(c.to_string()),
        }
        previous = Some(c);
    }
    out
}

/// Combining marks: Khmer signs and dependent vowels, and the common combining diacritics.
fn is_mark(c: char) -> bool {
    matches!(c, '\u{17B4}'..='\u{17D3}' | '\u{17DD}' | '\u{0300}'..='\u{036F}' | '\u{1AB0}'..='\u{1AFF}'
        | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}')
}

/// The pieces as one line of text.
pub fn join(pieces: &[Piece]) -> String {
    let mut line = String::new();
    for (i, piece) in pieces.iter().enumerate() {
        if i > 0 && piece.space_before {
            line.push(' ');
        }
        line.push_str(&piece.text);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_titles_is_escaped() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &apos;y&apos;"
        );
    }

    #[test]
    fn user_text_is_cleaned_and_clipped() {
        assert_eq!(clean("  a\u{0}b\n\t c  "), "ab c");
        let long = "ក".repeat(500);
        let clipped = clean(&long);
        assert_eq!(clipped.chars().count(), MAX_FIELD_CHARS);
        assert!(clipped.ends_with('…'));
    }

    #[test]
    fn khmer_breaks_between_words_and_keeps_clusters_whole() {
        let segmenter = Segmenter::with_names(None);
        let parts = pieces(&segmenter, "ចម្ប៉ាបាត់ដំបង Champa\u{200B}Battambang");
        let texts: Vec<&str> = parts.iter().map(|p| p.text.as_str()).collect();
        assert!(texts.len() >= 4, "{texts:?}");
        assert_eq!(texts.concat(), "ចម្ប៉ាបាត់ដំបងChampaBattambang");
        assert_eq!(join(&parts), "ចម្ប៉ាបាត់ដំបង ChampaBattambang");
        assert_eq!(clusters("ស្ត្រី"), vec!["ស្ត្រី"]);
        assert_eq!(clusters("ចម្ប៉ា"), vec!["ច", "ម្ប៉ា"]);
        assert_eq!(clusters("abc"), vec!["a", "b", "c"]);
    }
}
