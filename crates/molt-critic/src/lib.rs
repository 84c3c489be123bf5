//! The local critic, `local_critic:rules`: the `critique` stage's default
//! provider. It judges a transcription from Whisper's own signals and from the
//! text itself, with no model and no network, and returns a score in [0, 1]
//! and findings, each with its line. `docs/CRITIC.md` explains the choices.
//!
//! # Lines
//!
//! A finding's `line` is the 1-based line of `CritiqueInput::lyrics` (blank
//! lines count), which the runner writes one line per non-blank segment, as
//! the stored lyrics version shows them. Each line is paired with its segment
//! by text, in order (looking at most 3 lines ahead); a segment that pairs
//! with no line is still judged, with `line: None`. Without lyrics, the
//! non-blank segments are the lines. `N` is the number of non-blank lines.
//!
//! # Findings
//!
//! | kind | scope | weight `w` | when | severity `s` |
//! |---|---|---|---|---|
//! | `empty_output` | song | – | no word in any line | 1 |
//! | `sparse_output` | song | – | audio ≥ 30 s and fewer than 10 words a minute (ICU dictionary words: Khmer has no spaces) | `1 − wpm / 10` |
//! | `loop` | line (counts for `n = (repeats − 1) × period` lines) | 2 | the same line (period 1) or the same two lines (period 2) back to back ≥ 4 times, or ≥ 3 times at ≤ 2.5 s a line | `(repeats − 2) / 4`, doubled when at ≤ 2.5 s a line, at most 1 |
//! | `no_speech` | line | 2 | `no_speech_prob > 0.6` **and** `avg_logprob < −1` (Whisper's silence rule) | 1 |
//! | `wrong_script` | line | 2 | the line's script (`molt_khmer::detect_script`) is not the expected one | `1 − share of the line's letters in the expected script` |
//! | `repetitive_segment` | line | 1 | `compression_ratio > 2.4`; or, without a ratio, the line is one phrase said ≥ 4 times | `1 − (2.4 / ratio)²`; `1 − (3 / repeats)²` |
//! | `low_confidence` | line | 1 | `avg_logprob < −1` (not a `no_speech` line) | `1 − exp(avg_logprob)` |
//! | `stray_characters` | line | 1 | characters outside the expected script in a line of that script | `Σ` over them: 1 for U+FFFD, controls, private use, direction marks; 0.25 for another script's letter or a symbol; at most 1 |
//! | `heavy_repair` | line | 1 | Khmer expected and `molt_khmer::normalize` changed ≥ 2 characters and ≥ 10 % of the line's Khmer letters (edit distance; COENG DA → COENG TA is spelling, not counted) | `share / 0.4`, at most 1 |
//!
//! The expected script comes from `CritiqueInput::language` (`km`, `khm`,
//! `khmer`, absent → Khmer; `th` → Thai; common Latin-script languages →
//! Latin); for any other language the script, stray-character and repair
//! checks are off. The title, artist, facts and the transcriber's overall
//! confidence are not used: the quality gate reads that confidence itself, so
//! counting it here too would punish one weakness twice.
//!
//! # Score
//!
//! ```text
//! score = Π_song (1 − s)  ×  exp( − Σ_line w · s · n / N )
//! ```
//!
//! where `n` is 1 for every line finding except a loop. No finding gives 1;
//! an empty output gives 0. The score is monotone: every factor is at most 1
//! and every term of the sum is non-negative, so a further finding, or a higher
//! severity, never raises it. Dividing by `N` makes one bad line in a 40-line
//! song cost a quarter of what it costs in a 10-line one (one Latin line in
//! 40: `exp(−2/40)` = 0.95; in 10: 0.82); a quarter of the lines in the wrong
//! script gives `exp(−0.5)` = 0.61, below the gate's default 0.70. The
//! exponential keeps every non-empty transcription above 0, so a loop or a
//! wrong-script song still ranks above an empty one.
//!
//! Findings are ordered song-level first, then by line, then by kind (the
//! table's order), and the output is a pure function of the input: the same
//! transcription always gets the same score and findings.

mod checks;
mod lines;
mod score;
mod text;

pub use checks::{COMPRESSION_RATIO_THRESHOLD, LOGPROB_THRESHOLD, MIN_WORDS_PER_MINUTE, NO_SPEECH_THRESHOLD};
pub use score::Kind;

use async_trait::async_trait;
use molt_pipeline::provider::{Provider, ProviderId};
use molt_pipeline::stages::{Critique, CritiqueInput, CritiqueOutput};
use molt_pipeline::{ProviderError, Usage};

/// The one model of the local critic.
pub const MODEL: &str = "rules";

/// Judges a transcription (see the crate docs for the rules and the score).
pub fn critique(input: &CritiqueInput) -> CritiqueOutput {
    let (problems, judged_lines) = checks::judge(input);
    score::output(problems, judged_lines)
}

/// `local_critic:rules` as a `critique` stage provider.
pub struct LocalCritic {
    id: ProviderId,
}

impl LocalCritic {
    /// The critic named `name:model`; `model` must be [`MODEL`].
    pub fn new(name: &str, model: &str) -> Result<LocalCritic, String> {
        if model != MODEL {
            return Err(format!("unknown model `{model}` (the local critic has one: `{MODEL}`)"));
        }
        Ok(LocalCritic { id: ProviderId::new(name, model) })
    }
}

#[async_trait]
impl Provider<Critique> for LocalCritic {
    fn id(&self) -> &ProviderId {
        &self.id
    }

    fn estimate(&self, _: &CritiqueInput) -> Usage {
        Usage { unit_kind: "transcript", units: 1.0 }
    }

    /// Pure computation on one song's text, milliseconds long: it runs inline.
    async fn call(&self, input: &CritiqueInput) -> Result<(CritiqueOutput, Usage), ProviderError> {
        Ok((critique(input), Usage { unit_kind: "transcript", units: 1.0 }))
    }
}
