//! Cutting a document into passages small enough for the embedding model
//! (e5 reads 512 tokens; a Khmer character can cost a token) and focused
//! enough that one passage is one fact.

/// A passage and the heading it sits under.
#[derive(Debug, Clone, PartialEq)]
pub struct Passage {
    pub heading: Option<String>,
    pub text: String,
}

/// Paragraphs are gathered up to this many characters…
pub const TARGET_CHARS: usize = 600;
/// …and a longer paragraph is split at sentence ends below this.
pub const MAX_CHARS: usize = 900;

/// Passages of `body`: a heading starts a new one; paragraphs under it are
/// joined up to [`TARGET_CHARS`]; long paragraphs are split at sentence ends.
pub fn passages(body: &str) -> Vec<Passage> {
    let mut out = Vec::new();
    let mut heading: Option<String> = None;
    let mut current = String::new();
    for block in body.split("\n\n").map(str::trim).filter(|b| !b.is_empty()) {
        let (block_heading, text) = split_heading(block);
        if let Some(h) = block_heading {
            flush(&mut out, &heading, &mut current);
            heading = Some(h);
        }
        for piece in split_long(text) {
            if !current.is_empty() && chars(&current) + chars(&piece) > TARGET_CHARS {
                flush(&mut out, &heading, &mut current);
            }
            if !current.is_empty() {
                current.push_str("\n\n");
            }
            current.push_str(&piece);
        }
    }
    flush(&mut out, &heading, &mut current);
    out
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

fn flush(out: &mut Vec<Passage>, heading: &Option<String>, current: &mut String) {
    if !current.trim().is_empty() {
        out.push(Passage { heading: heading.clone(), text: std::mem::take(current) });
    }
    current.clear();
}

/// A block that starts with a Markdown heading line → (heading, rest).
fn split_heading(block: &str) -> (Option<String>, &str) {
    let first = block.lines().next().unwrap_or_default();
    if !first.starts_with('#') {
        return (None, block);
    }
    let heading = first.trim_start_matches('#').trim().to_string();
    (Some(heading).filter(|h| !h.is_empty()), block[first.len()..].trim())
}

/// Pieces of at most [`MAX_CHARS`], cut after sentence ends (`.`, `!`, `?`,
/// the Khmer khan `។`), or at a space when a sentence is longer still.
fn split_long(text: &str) -> Vec<String> {
    if text.is_empty() {
        return Vec::new();
    }
    if chars(text) <= MAX_CHARS {
        return vec![text.to_string()];
    }
    let mut pieces = Vec::new();
    let mut current = String::new();
    for sentence in sentences(text) {
        if !current.is_empty() && chars(&current) + chars(sentence) > MAX_CHARS {
            pieces.push(std::mem::take(&mut current).trim().to_string());
        }
        if chars(sentence) > MAX_CHARS {
            pieces.extend(hard_split(sentence));
        } else {
            current.push_str(sentence);
        }
    }
    if !current.trim().is_empty() {
        pieces.push(current.trim().to_string());
    }
    pieces
}

fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut iter = text.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        let end = matches!(c, '.' | '!' | '?' | '។' | '៕');
        let next_is_space = iter.peek().is_none_or(|(_, n)| n.is_whitespace());
        if end && next_is_space {
            let stop = i + c.len_utf8();
            out.push(&text[start..stop]);
            start = stop;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// A sentence longer than [`MAX_CHARS`]: cut at the last space before the limit
/// (or at the limit, for unspaced Khmer).
fn hard_split(sentence: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = sentence.trim();
    while chars(rest) > MAX_CHARS {
        let limit = rest.char_indices().nth(MAX_CHARS).map_or(rest.len(), |(i, _)| i);
        let cut = rest[..limit].rfind(char::is_whitespace).filter(|&i| i > limit / 2).unwrap_or(limit);
        out.push(rest[..cut].trim().to_string());
        rest = rest[cut..].trim_start();
    }
    if !rest.is_empty() {
        out.push(rest.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_start_passages_and_short_paragraphs_join() {
        let body = "# Life\n\nBorn in Stung Treng.\n\nSang on the radio.\n\n## Songs\n\nChampa Battambang.";
        let p = passages(body);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].heading.as_deref(), Some("Life"));
        assert_eq!(p[0].text, "Born in Stung Treng.\n\nSang on the radio.");
        assert_eq!((p[1].heading.as_deref(), p[1].text.as_str()), (Some("Songs"), "Champa Battambang."));
    }

    #[test]
    fn long_text_is_cut_at_sentences_then_spaces_and_nothing_is_lost() {
        let sentence = "This sentence has exactly fifty characters in it. ";
        let body = sentence.repeat(40);
        let unspaced = "ក".repeat(2000);
        for text in [body.as_str(), unspaced.as_str()] {
            let p = passages(text);
            assert!(p.len() > 1);
            assert!(p.iter().all(|x| chars(&x.text) <= MAX_CHARS), "{:?}", p.iter().map(|x| chars(&x.text)));
            let joined: String = p.iter().map(|x| x.text.replace(char::is_whitespace, "")).collect();
            assert_eq!(joined, text.replace(char::is_whitespace, ""), "no text lost");
        }
    }

    #[test]
    fn khmer_sentences_end_at_the_khan() {
        let s = sentences("ខ្ញុំទៅផ្សារ។ គាត់នៅផ្ទះ។");
        assert_eq!(s, ["ខ្ញុំទៅផ្សារ។", " គាត់នៅផ្ទះ។"]);
    }
}
