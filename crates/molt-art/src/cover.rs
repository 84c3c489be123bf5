//! Composing a cover: the art panel with its motif above, the text panel
//! below, the texts set to fit; then rendering the SVG to PNG.

use crate::fonts::FontLibrary;
use crate::layout::{fit, text_element, Block, Measurer, SetBlock, TextStyle};
use crate::motif::{self, Rect};
use crate::style::Style;
use crate::text::{clean, has_khmer, pieces, Piece};
use crate::ArtError;
use molt_khmer::Segmenter;
use resvg::{tiny_skia, usvg};
use std::fmt::Write as _;
use std::sync::Arc;

/// What a cover shows: the song's metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CoverSpec {
    /// The title as the song has it (usually Khmer script).
    pub title: String,
    /// The romanised title; made from the Khmer title when absent.
    pub title_latin: Option<String>,
    pub artist: String,
    pub year: Option<u32>,
    /// A genre name (e.g. `romvong`, `cambodian rock`); unknown names are ignored.
    pub genre: Option<String>,
}

/// The sizes a cover is made in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// 1080 × 1080, for the catalogue and streaming services.
    Square,
    /// 1080 × 1920 (9:16), for short-video export.
    Vertical,
}

impl Format {
    pub const ALL: [Format; 2] = [Format::Square, Format::Vertical];

    pub fn label(self) -> &'static str {
        match self {
            Format::Square => "square",
            Format::Vertical => "vertical",
        }
    }

    pub fn size(self) -> (u32, u32) {
        match self {
            Format::Square => (1080, 1080),
            Format::Vertical => (1080, 1920),
        }
    }

    /// Where things go. The vertical format keeps its text out of the bottom
    /// sixth, which short-video apps cover with their buttons and captions.
    fn frame(self) -> Frame {
        let (w, h) = self.size();
        let (w, h) = (w as f32, h as f32);
        let (art_h, text_top, text_bottom, footer_y) = match self {
            Format::Square => (500.0, 560.0, 972.0, 1026.0),
            Format::Vertical => (900.0, 980.0, 1600.0, 1680.0),
        };
        Frame {
            width: w,
            height: h,
            art: Rect { x: 0.0, y: 0.0, w, h: art_h },
            text: Rect { x: MARGIN, y: text_top, w: w - 2.0 * MARGIN, h: text_bottom - text_top },
            footer_y,
        }
    }

    /// Size ranges (largest, smallest) and line limits of the blocks.
    fn scale(self) -> Scale {
        match self {
            Format::Square => {
                Scale { title: (118.0, 44.0, 3), latin: (46.0, 26.0, 2), artist: (38.0, 24.0, 2) }
            }
            Format::Vertical => {
                Scale { title: (132.0, 48.0, 4), latin: (52.0, 28.0, 2), artist: (42.0, 26.0, 2) }
            }
        }
    }
}

/// Left and right margin of the text.
const MARGIN: f32 = 84.0;
/// The rule between the art and the text panel.
const RULE: f32 = 10.0;
/// The footer's size range and line limit: one line, shrunk, never wrapped.
const FOOTER: (f32, f32, usize) = (23.0, 16.0, 1);

struct Frame {
    width: f32,
    height: f32,
    art: Rect,
    text: Rect,
    /// The footer's baseline.
    footer_y: f32,
}

struct Scale {
    title: (f32, f32, usize),
    latin: (f32, f32, usize),
    artist: (f32, f32, usize),
}

/// A rendered cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cover {
    pub format: Format,
    pub width: u32,
    pub height: u32,
    pub png: Vec<u8>,
}

/// The cover's texts after cleaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Texts {
    pub title: String,
    pub latin: Option<String>,
    pub artist: Option<String>,
    pub footer: Option<String>,
}

const KHMER_PROBE: &str = "ស្ត្រីញ៉ុំគ្រឿង";
const LATIN_PROBE: &str = "ÉÅgjpqy";

/// Typesets and renders covers with one font library.
#[derive(Clone)]
pub struct Typesetter {
    fonts: FontLibrary,
    segmenter: Arc<Segmenter>,
}

impl std::fmt::Debug for Typesetter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Typesetter").field("fonts", &self.fonts).finish_non_exhaustive()
    }
}

impl Typesetter {
    /// `segmenter` finds the Khmer word breaks and romanises titles; give it the
    /// studio's names list so names stay whole.
    pub fn new(fonts: FontLibrary, segmenter: Arc<Segmenter>) -> Typesetter {
        Typesetter { fonts, segmenter }
    }

    pub fn fonts(&self) -> &FontLibrary {
        &self.fonts
    }

    /// The style a song gets.
    pub fn style(&self, spec: &CoverSpec) -> Style {
        Style::derive(spec.year, spec.genre.as_deref(), &spec.title)
    }

    /// The texts a song's cover shows. The romanised title is the song's
    /// `title_latin`, else the Khmer title romanised (`romanize_with`, each word
    /// capitalised); a title with no Khmer in it needs none.
    pub fn texts(&self, spec: &CoverSpec, style: &Style) -> Result<Texts, ArtError> {
        let title = clean(&spec.title);
        if title.is_empty() {
            return Err(ArtError::Input("the song has no title".into()));
        }
        let latin = spec
            .title_latin
            .as_deref()
            .map(clean)
            .filter(|l| !l.is_empty())
            .or_else(|| has_khmer(&title).then(|| clean(&molt_khmer::romanize_name(&self.segmenter, &title))))
            .filter(|l| !l.is_empty() && *l != title);
        let artist = Some(clean(&spec.artist)).filter(|a| !a.is_empty());
        let year = spec.year.map(|y| y.to_string());
        let parts: Vec<&str> = [year.as_deref(), style.era.label(), style.genre.map(|g| g.label())]
            .into_iter()
            .flatten()
            .collect();
        let footer = Some(parts.join(" · ").to_uppercase()).filter(|f| !f.is_empty());
        Ok(Texts { title, latin, artist, footer })
    }

    /// The cover as SVG.
    pub fn svg(&self, spec: &CoverSpec, format: Format) -> Result<String, ArtError> {
        let style = self.style(spec);
        let texts = self.texts(spec, &style)?;
        let frame = format.frame();
        let styles = TextStyles::new(&style);
        let blocks = self.blocks(&texts, &styles, format.scale());
        let footer = texts.footer.as_ref().map(|f| block(split_spaces(f), styles.footer, FOOTER, 0.0));
        for (field, block) in blocks.iter().map(|(f, b)| (*f, b)).chain(footer.iter().map(|b| ("footer", b)))
        {
            // The probe and the ellipsis are drawn or measured too.
            let text = format!("{}{}…", crate::text::join(&block.pieces), block.style.probe);
            self.fonts.check_glyphs(field, block.style.families, &text)?;
        }
        let measurer = Measurer::new(self.fonts.database());
        let blocks: Vec<Block> = blocks.into_iter().map(|(_, b)| b).collect();
        let set = fit(&measurer, &blocks, frame.text.w, frame.text.h)?;
        let mut svg = open_svg(&frame, &style);
        place_text(&mut svg, &set, &frame);
        if let Some(footer) = footer {
            let set = fit(&measurer, &[footer], frame.text.w, FOOTER.0 * 2.0)?;
            let x = frame.width / 2.0;
            svg.push_str(&text_element(&set[0].style, set[0].size, x, frame.footer_y, &set[0].lines[0]));
        }
        svg.push_str("</svg>\n");
        Ok(svg)
    }

    /// The cover as PNG. The same spec and fonts always give the same bytes.
    pub fn render(&self, spec: &CoverSpec, format: Format) -> Result<Cover, ArtError> {
        let svg = self.svg(spec, format)?;
        let (width, height) = format.size();
        let options = usvg::Options { fontdb: self.fonts.database(), ..usvg::Options::default() };
        let tree = usvg::Tree::from_str(&svg, &options).map_err(|e| ArtError::Render(e.to_string()))?;
        check_inside(tree.root(), width as f32, height as f32)?;
        let mut pixmap = tiny_skia::Pixmap::new(width, height)
            .ok_or_else(|| ArtError::Render("cannot allocate the image".into()))?;
        resvg::render(&tree, tiny_skia::Transform::identity(), &mut pixmap.as_mut());
        let png = pixmap.encode_png().map_err(|e| ArtError::Render(e.to_string()))?;
        Ok(Cover { format, width, height, png })
    }

    /// The blocks of the text panel, each with the name of its field.
    fn blocks(&self, texts: &Texts, styles: &TextStyles, scale: Scale) -> Vec<(&'static str, Block)> {
        let title_style = if has_khmer(&texts.title) { styles.title } else { styles.title_latin };
        let title = Block {
            shrinks_late: false,
            ..block(pieces(&self.segmenter, &texts.title), title_style, scale.title, 0.45)
        };
        let mut blocks = vec![("title", title)];
        if let Some(latin) = &texts.latin {
            blocks.push(("romanised title", block(split_spaces(latin), styles.latin, scale.latin, 0.8)));
        }
        if let Some(artist) = &texts.artist {
            let (style, text) = if has_khmer(artist) {
                (styles.artist_khmer, artist.clone())
            } else {
                (styles.artist, artist.to_uppercase())
            };
            blocks.push(("artist", block(pieces(&self.segmenter, &text), style, scale.artist, 0.0)));
        }
        blocks
    }
}

/// The text looks of one style.
struct TextStyles {
    title: TextStyle,
    /// A title with no Khmer in it, set in the Latin face.
    title_latin: TextStyle,
    latin: TextStyle,
    artist: TextStyle,
    artist_khmer: TextStyle,
    footer: TextStyle,
}

impl TextStyles {
    fn new(style: &Style) -> TextStyles {
        let (p, f) = (&style.palette, &style.faces);
        let base = |families, fill| TextStyle {
            families,
            weight: 400,
            italic: false,
            fill,
            tracking: 0.0,
            probe: LATIN_PROBE,
        };
        TextStyles {
            title: TextStyle { weight: f.title_weight, probe: KHMER_PROBE, ..base(f.title, p.ink) },
            title_latin: TextStyle { weight: 700, ..base(f.latin, p.ink) },
            latin: TextStyle { italic: true, ..base(f.latin, p.highlight) },
            artist: TextStyle { weight: 700, tracking: 0.08, ..base(f.label, p.ink) },
            artist_khmer: TextStyle { weight: 700, probe: KHMER_PROBE, ..base(f.label, p.ink) },
            footer: TextStyle { tracking: 0.18, ..base(f.label, p.soft) },
        }
    }
}

fn block(pieces: Vec<Piece>, style: TextStyle, (max, min, lines): (f32, f32, usize), gap: f32) -> Block {
    Block {
        pieces,
        style,
        max_size: max,
        min_size: min,
        max_lines: lines,
        gap_after: gap,
        shrinks_late: true,
    }
}

/// Latin text breaks only at spaces.
fn split_spaces(text: &str) -> Vec<Piece> {
    text.split(' ')
        .filter(|w| !w.is_empty())
        .enumerate()
        .map(|(i, w)| Piece { text: w.to_string(), space_before: i > 0 })
        .collect()
}

/// The SVG up to the texts: background, art panel with its motif, rule, text panel.
fn open_svg(frame: &Frame, style: &Style) -> String {
    let (w, h) = (frame.width, frame.height);
    let p = &style.palette;
    let art = frame.art;
    let mut svg =
        format!(r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">"#);
    let _ = write!(
        svg,
        r#"<rect width="{w}" height="{h}" fill="{}"/><clipPath id="art"><rect x="{}" y="{}" width="{}" height="{}"/></clipPath>"#,
        p.band, art.x, art.y, art.w, art.h
    );
    let _ = write!(
        svg,
        r#"<g clip-path="url(#art)"><rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>{}</g>"#,
        art.x,
        art.y,
        art.w,
        art.h,
        p.paper,
        motif::draw(style.motif, art, p, style.variation)
    );
    let _ = write!(
        svg,
        r#"<rect x="0" y="{}" width="{w}" height="{RULE}" fill="{}"/>"#,
        art.y + art.h,
        p.highlight
    );
    svg
}

/// The blocks stacked and centred in the text box.
fn place_text(svg: &mut String, set: &[SetBlock], frame: &Frame) {
    let total = crate::layout::stack_height(set);
    let mut top = frame.text.y + (frame.text.h - total) / 2.0;
    let x = frame.text.x + frame.text.w / 2.0;
    for block in set {
        for (line, baseline) in block.lines.iter().zip(&block.baselines) {
            svg.push_str(&text_element(&block.style, block.size, x, top + baseline, line));
        }
        top += block.height + block.gap_after;
    }
}

/// Every text's ink must lie on the canvas: the layout guarantees it, and a
/// cover with clipped text is refused rather than published.
fn check_inside(group: &usvg::Group, width: f32, height: f32) -> Result<(), ArtError> {
    for node in group.children() {
        match node {
            usvg::Node::Group(g) => check_inside(g, width, height)?,
            usvg::Node::Text(text) => {
                let b = text.abs_stroke_bounding_box();
                if b.left() < 0.0 || b.top() < 0.0 || b.right() > width || b.bottom() > height {
                    let content: String = text.chunks().iter().map(|c| c.text()).collect();
                    return Err(ArtError::Layout(format!("{content:?} leaves the canvas ({b:?})")));
                }
            }
            _ => {}
        }
    }
    Ok(())
}
