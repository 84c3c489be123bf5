//! The finding kinds, their weights, and the score (the formula is in the crate docs).

use molt_pipeline::stages::{CritiqueOutput, Finding};

/// What the local critic can find. Song kinds judge the whole transcription;
/// line kinds judge single lines and weigh by the share of lines they touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// No words at all.
    EmptyOutput,
    /// Far fewer words per minute of audio than any sung lyric.
    SparseOutput,
    /// The same line (or pair of lines) back to back, again and again.
    Loop,
    /// Whisper's silence rule: text decoded where it heard no speech.
    NoSpeech,
    /// A line mostly in another script than the language's.
    WrongScript,
    /// A segment whose text compresses too well: one phrase over and over.
    RepetitiveSegment,
    /// Whisper was unsure of the line's tokens.
    LowConfidence,
    /// Characters that do not belong in a line of the expected script.
    StrayCharacters,
    /// The Khmer normaliser had to reorder or rewrite much of the line.
    HeavyRepair,
}

impl Kind {
    /// The name in `Finding::kind`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::EmptyOutput => "empty_output",
            Kind::SparseOutput => "sparse_output",
            Kind::Loop => "loop",
            Kind::NoSpeech => "no_speech",
            Kind::WrongScript => "wrong_script",
            Kind::RepetitiveSegment => "repetitive_segment",
            Kind::LowConfidence => "low_confidence",
            Kind::StrayCharacters => "stray_characters",
            Kind::HeavyRepair => "heavy_repair",
        }
    }

    /// Whether the finding judges the whole song (a factor) rather than lines.
    pub fn song_level(self) -> bool {
        matches!(self, Kind::EmptyOutput | Kind::SparseOutput)
    }

    /// A line kind's weight: 2 for a line that is not the song's lyrics at all
    /// (a loop's repeat, text over silence, another script), 1 for a line that
    /// is the lyrics but damaged. Song kinds weigh 1.
    pub fn weight(self) -> f64 {
        match self {
            Kind::Loop | Kind::NoSpeech | Kind::WrongScript => 2.0,
            _ => 1.0,
        }
    }
}

/// A finding before it is written out, with how many lines it stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub kind: Kind,
    pub line: Option<u32>,
    /// In (0, 1].
    pub severity: f64,
    /// Lines it counts for in the line term: 1, or a loop's repeated lines.
    pub lines: u32,
    pub message: String,
}

impl Problem {
    pub fn line(kind: Kind, line: Option<u32>, severity: f64, message: String) -> Problem {
        Problem { kind, line, severity: severity.clamp(0.0, 1.0), lines: 1, message }
    }

    pub fn song(kind: Kind, severity: f64, message: String) -> Problem {
        Problem { kind, line: None, severity: severity.clamp(0.0, 1.0), lines: 0, message }
    }
}

/// `score = Π_song (1 − s) × exp(−Σ_line w·s·n / N)`: see the crate docs.
pub fn score(problems: &[Problem], judged_lines: usize) -> f64 {
    let n = judged_lines.max(1) as f64;
    let mut song = 1.0;
    let mut line_load = 0.0;
    for p in problems {
        if p.kind.song_level() {
            song *= 1.0 - p.severity;
        } else {
            line_load += p.kind.weight() * p.severity * f64::from(p.lines) / n;
        }
    }
    (song * (-line_load).exp()).clamp(0.0, 1.0)
}

/// Findings in a stable order (song first, then by line, then by kind), and
/// the stage output with one readable issue per finding.
pub fn output(mut problems: Vec<Problem>, judged_lines: usize) -> CritiqueOutput {
    problems.retain(|p| p.severity > 0.0);
    problems.sort_by_key(|p| (p.line, p.kind));
    let score = score(&problems, judged_lines);
    let issues = problems
        .iter()
        .map(|p| match p.line {
            Some(line) => format!("line {line}: {}", p.message),
            None => p.message.clone(),
        })
        .collect();
    let findings = problems
        .into_iter()
        .map(|p| Finding {
            line: p.line,
            kind: p.kind.name().to_string(),
            severity: p.severity,
            message: p.message,
            suggestion: None,
        })
        .collect();
    CritiqueOutput { score, issues, findings }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(kind: Kind, severity: f64) -> Problem {
        if kind.song_level() {
            Problem::song(kind, severity, String::new())
        } else {
            Problem::line(kind, Some(1), severity, String::new())
        }
    }

    #[test]
    fn no_finding_scores_one_and_an_empty_output_zero() {
        assert_eq!(score(&[], 10), 1.0);
        assert_eq!(score(&[p(Kind::EmptyOutput, 1.0)], 0), 0.0);
    }

    #[test]
    fn more_and_worse_findings_score_lower() {
        let kinds =
            [Kind::SparseOutput, Kind::Loop, Kind::WrongScript, Kind::LowConfidence, Kind::HeavyRepair];
        for kind in kinds {
            let mut previous = 1.0;
            for severity in [0.1, 0.4, 0.7, 1.0] {
                let s = score(&[p(kind, severity)], 8);
                assert!(s < previous, "{kind:?} {severity}: {s} !< {previous}");
                previous = s;
            }
            let two = score(&[p(kind, 0.5), p(kind, 0.5)], 8);
            assert!(two < score(&[p(kind, 0.5)], 8), "{kind:?}");
        }
    }

    #[test]
    fn a_bad_line_weighs_less_in_a_longer_song() {
        let one = [p(Kind::WrongScript, 1.0)];
        assert!(score(&one, 40) > score(&one, 10));
        assert!((score(&one, 40) - (-2.0f64 / 40.0).exp()).abs() < 1e-12);
    }
}
