//! The lines the critic judges, each with the Whisper segment it came from.

use molt_pipeline::stages::{CritiqueInput, Segment};

/// How far ahead (in non-blank lines) a segment's text is looked for among the
/// lyrics lines: far enough to step over a line a caller added or split, near
/// enough that a chorus later in the song is never taken for it.
const PAIR_LOOKAHEAD: usize = 3;

/// A non-blank line of the lyrics.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    /// 1-based, counting blank lines too, so it is the line a reader sees.
    pub number: u32,
    pub text: &'a str,
    /// The segment that produced this line, when the transcript has segments.
    pub segment: Option<&'a Segment>,
}

impl Line<'_> {
    pub fn start(&self) -> Option<f64> {
        self.segment.map(|s| s.start)
    }

    pub fn end(&self) -> Option<f64> {
        self.segment.map(|s| s.end)
    }
}

/// The lines, and the segments no line could be paired with (their signals are
/// still judged, without a line number).
pub struct View<'a> {
    pub lines: Vec<Line<'a>>,
    pub unpaired: Vec<&'a Segment>,
}

/// The lines of `input.lyrics`, each paired with its segment by text, in order
/// (the runner writes one line per non-blank segment, so normally every line
/// pairs). Without lyrics, the segments themselves are the lines.
pub fn view(input: &CritiqueInput) -> View<'_> {
    let spoken: Vec<&Segment> = input.segments.iter().filter(|s| !s.text.trim().is_empty()).collect();
    if input.lyrics.trim().is_empty() {
        let lines = spoken
            .iter()
            .enumerate()
            .map(|(i, s)| Line { number: number(i), text: s.text.trim(), segment: Some(s) })
            .collect();
        return View { lines, unpaired: Vec::new() };
    }
    let mut lines: Vec<Line<'_>> = input
        .lyrics
        .lines()
        .enumerate()
        .filter(|(_, text)| !text.trim().is_empty())
        .map(|(i, text)| Line { number: number(i), text: text.trim(), segment: None })
        .collect();
    let mut unpaired = Vec::new();
    let mut cursor = 0;
    for segment in spoken {
        let text = segment.text.trim();
        match lines[cursor..].iter().take(PAIR_LOOKAHEAD).position(|l| l.text == text) {
            Some(k) => {
                lines[cursor + k].segment = Some(segment);
                cursor += k + 1;
            }
            None => unpaired.push(segment),
        }
    }
    View { lines, unpaired }
}

fn number(index: usize) -> u32 {
    u32::try_from(index + 1).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(start: f64, text: &str) -> Segment {
        Segment { start, end: start + 3.0, text: text.into(), ..Segment::default() }
    }

    #[test]
    fn lines_pair_with_their_segments_and_keep_their_numbers() {
        let input = CritiqueInput {
            lyrics: "a\n\nb\nc".into(),
            segments: vec![seg(0.0, " a"), seg(3.0, "x"), seg(6.0, "b "), seg(9.0, "  ")],
            ..CritiqueInput::default()
        };
        let view = view(&input);
        let shown: Vec<(u32, &str, Option<f64>)> =
            view.lines.iter().map(|l| (l.number, l.text, l.start())).collect();
        assert_eq!(shown, vec![(1, "a", Some(0.0)), (3, "b", Some(6.0)), (4, "c", None)]);
        assert_eq!(view.unpaired.len(), 1);
        assert_eq!(view.unpaired[0].text, "x");
    }

    #[test]
    fn without_lyrics_the_segments_are_the_lines() {
        let input = CritiqueInput {
            segments: vec![seg(0.0, "a"), seg(3.0, ""), seg(6.0, "b")],
            ..Default::default()
        };
        let numbers: Vec<u32> = view(&input).lines.iter().map(|l| l.number).collect();
        assert_eq!(numbers, vec![1, 2]);
    }
}
