//! Local cover art: the `art` stage's default provider, `local_artist:typeset`.
//!
//! A cover is typeset from the song's metadata alone — no model, no network —
//! as an SVG and rendered to PNG with resvg (which shapes Khmer with harfrust),
//! in two sizes: 1080×1080 (`square`) and 1080×1920 (`vertical`, short video).
//!
//! # What a cover shows
//!
//! An art panel (a flat-colour motif) above a rule, and a dark text panel with:
//! the title in Khmer script, large; the romanised title in italics (the song's
//! `title_latin`, else the title romanised by `molt_khmer`); the artist in
//! spaced capitals; a footer with the year, the era and the genre.
//!
//! # Style rules
//!
//! - **Era** (from the year; see [`Era`]) picks one of three palettes, the
//!   default motif and the faces: Muol lettering (Khmer OS Muol Light, the
//!   display style of the period's sleeves) up to 1969, a bold serif (Noto Serif
//!   Khmer) for the Khmer Republic and the revival, a plain reading face (Khmer OS
//!   Battambang) for 1976–1990 (ash greys and a few quiet lines for the Khmer
//!   Rouge years), a bold sans (Noto Sans Khmer) on night colours for the
//!   cassette and VCD years.
//! - **Genre** (optional; see [`Genre`]) replaces the motif with one drawn from
//!   the music — rings of dancers for romvong, waves for ramkbach and lam leav,
//!   a lotus for mohori, pinpeat and smot, the chapei's neck and strings, two
//!   answering circles for ayai, 1970s rainbow arcs for rock — and gives
//!   traditional genres Muol lettering and rock a bold sans.
//! - **Title hash** (FNV-1a, stable) picks the palette among the era's three and
//!   moves the motif (its focus, count and turn), so two songs of one era differ.
//! - Contrast: text is always on the dark panel; every palette meets WCAG AAA for
//!   the title and AA for the smaller lines (tested).
//! - Fit: titles wrap between Khmer words (ICU dictionary plus the names list)
//!   into balanced lines and shrink to fit their box; past their line limit at
//!   the smallest size they end with `…`. Ink extents are measured with the same
//!   shaper, so stacked vowels and subscripts never leave the canvas (checked
//!   again before rendering).
//!
//! # Fonts
//!
//! Only the catalog's files are read from the font directories (default
//! `/usr/share/fonts`): Khmer OS Muol Light and Battambang (Debian
//! `fonts-khmeros`), Noto Serif/Sans Khmer and Noto Serif/Sans (`fonts-noto-core`).
//! A missing font is an error naming its package; text a font cannot draw is an
//! error naming the character — never a blank box.
//!
//! Same input and fonts → byte-identical PNG.

mod cover;
mod error;
pub mod fonts;
mod layout;
mod motif;
mod provider;
pub mod style;
mod text;

pub use cover::{Cover, CoverSpec, Format, Texts, Typesetter};
pub use error::ArtError;
pub use fonts::{FontLibrary, DEFAULT_FONT_DIR};
pub use provider::LocalArtist;
pub use style::{Era, Genre, Motif, Palette, Style};
