//! What can stop a cover from being made.

/// Why a cover could not be made. Every message says what to do about it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ArtError {
    /// A font the style needs is not installed.
    #[error(
        "the font `{family}` is not installed (looked in {dirs}): install the Debian package \
         `{package}` (scripts/setup.sh does), or point [art] font_dirs at a directory with it"
    )]
    MissingFont { family: String, package: String, dirs: String },
    /// No font for a piece of text has a glyph for one of its characters: rendering
    /// it would show a blank box ("tofu"), so the cover is refused instead.
    #[error(
        "the {field} contains {ch:?} (U+{code:04X}), which none of its fonts ({families}) can draw; \
         the cover would show a blank box"
    )]
    MissingGlyph { field: &'static str, families: String, ch: char, code: u32 },
    /// The song has nothing to put on a cover.
    #[error("invalid cover input: {0}")]
    Input(String),
    /// The typesetting failed (a bug: the layout never lets text leave the canvas).
    #[error("the cover could not be laid out: {0}")]
    Layout(String),
    /// The SVG could not be parsed or the PNG encoded.
    #[error("the cover could not be rendered: {0}")]
    Render(String),
}

impl ArtError {
    pub(crate) fn missing_glyph(field: &'static str, families: &[&str], ch: char) -> ArtError {
        ArtError::MissingGlyph { field, families: families.join(", "), ch, code: u32::from(ch) }
    }
}
