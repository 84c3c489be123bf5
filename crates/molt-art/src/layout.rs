//! Typesetting: measuring shaped text, wrapping it into balanced lines and
//! shrinking it until every block fits its box.
//!
//! Text is measured by laying it out with usvg itself (the same shaper, fonts
//! and attributes as the final render), once per distinct string at a reference
//! size; shaped widths scale linearly with the font size. Widths and heights are
//! *ink* extents, so stacked Khmer vowels and subscripts are always inside the box.

use crate::text::{clusters, escape, join, Piece};
use crate::ArtError;
use resvg::usvg;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

/// Text is measured at this size and scaled.
const REF_SIZE: f32 = 100.0;
/// How many sizes between a block's largest and smallest are tried.
const FIT_STEPS: u32 = 24;
/// The least space between blocks, in pixels.
const MIN_GAP: f32 = 34.0;
/// Blank space between lines of a block, in ems.
const LINE_GAP_EM: f32 = 0.12;

/// How a run of text looks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextStyle {
    /// Font families, first choice first (what `font-family` lists).
    pub families: &'static [&'static str],
    pub weight: u16,
    pub italic: bool,
    pub fill: &'static str,
    /// Extra space after each character, in ems (only for Latin capitals:
    /// spacing Khmer apart would break its clusters).
    pub tracking: f32,
    /// A string with the tallest and deepest marks the style must leave room for.
    pub probe: &'static str,
}

/// Ink extents of a line centred on x = 0 with its baseline at y = 0 (y grows down).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Ink {
    pub left: f32,
    pub right: f32,
    pub top: f32,
    pub bottom: f32,
}

impl Ink {
    fn scaled(self, size: f32) -> Ink {
        let k = size / REF_SIZE;
        Ink { left: self.left * k, right: self.right * k, top: self.top * k, bottom: self.bottom * k }
    }

    /// The width a centred line needs: twice its wider half.
    fn centred_width(self) -> f32 {
        2.0 * self.right.max(-self.left)
    }
}

/// One SVG `<text>` element, centred on `x`, baseline at `y`. The only place
/// text enters the SVG: it is always escaped.
pub fn text_element(style: &TextStyle, size: f32, x: f32, y: f32, text: &str) -> String {
    let families: Vec<String> = style.families.iter().map(|f| format!("'{f}'")).collect();
    let mut out = format!(
        r#"<text x="{x:.2}" y="{y:.2}" text-anchor="middle" font-family="{}" font-size="{size:.2}" font-weight="{}" fill="{}""#,
        escape(&families.join(", ")),
        style.weight,
        style.fill,
    );
    if style.italic {
        out.push_str(r#" font-style="italic""#);
    }
    if style.tracking != 0.0 {
        let _ = write!(out, r#" letter-spacing="{:.2}""#, style.tracking * size);
    }
    let _ = write!(out, ">{}</text>", escape(text));
    out
}

/// Measures shaped text with usvg, caching each string.
pub struct Measurer {
    fontdb: Arc<usvg::fontdb::Database>,
    cache: RefCell<HashMap<String, Ink>>,
}

impl Measurer {
    pub fn new(fontdb: Arc<usvg::fontdb::Database>) -> Measurer {
        Measurer { fontdb, cache: RefCell::default() }
    }

    /// The ink of `text` at the reference size.
    pub fn ink(&self, style: &TextStyle, text: &str) -> Result<Ink, ArtError> {
        let element = text_element(style, REF_SIZE, 0.0, 0.0, text);
        if let Some(ink) = self.cache.borrow().get(&element) {
            return Ok(*ink);
        }
        let svg =
            format!(r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">{element}</svg>"#);
        let options = usvg::Options { fontdb: self.fontdb.clone(), ..usvg::Options::default() };
        let tree = usvg::Tree::from_str(&svg, &options).map_err(|e| ArtError::Render(e.to_string()))?;
        // The stroke box is the glyph outlines' (`bounding_box` is the font's line box).
        let ink = first_text(tree.root()).map_or(Ink::default(), |text| {
            let b = text.stroke_bounding_box();
            Ink { left: b.left(), right: b.right(), top: b.top(), bottom: b.bottom() }
        });
        self.cache.borrow_mut().insert(element, ink);
        Ok(ink)
    }

    fn width(&self, style: &TextStyle, size: f32, text: &str) -> Result<f32, ArtError> {
        Ok(self.ink(style, text)?.scaled(size).centred_width())
    }
}

/// The first text node under `group`, depth first.
pub fn first_text(group: &usvg::Group) -> Option<&usvg::Text> {
    group.children().iter().find_map(|node| match node {
        usvg::Node::Text(text) => Some(text.as_ref()),
        usvg::Node::Group(group) => first_text(group),
        _ => None,
    })
}

/// A piece of text to set: its break points, look, size range and line limit.
#[derive(Debug, Clone)]
pub struct Block {
    pub pieces: Vec<Piece>,
    pub style: TextStyle,
    pub max_size: f32,
    pub min_size: f32,
    pub max_lines: usize,
    /// Space after the block, in ems of its size (unused after the last).
    pub gap_after: f32,
    /// Keeps its largest size until the others have shrunk halfway (the
    /// secondary lines stay readable while a long title makes room).
    pub shrinks_late: bool,
}

impl Block {
    /// The size at shrink stage `t` (1 = largest, 0 = smallest).
    fn size_at(&self, t: f32) -> f32 {
        let t = if self.shrinks_late { (2.0 * t).min(1.0) } else { t };
        self.min_size + (self.max_size - self.min_size) * t
    }
}

/// A block set at one size: its lines, their ink, and the distance from the
/// block's top to each baseline.
#[derive(Debug, Clone)]
pub struct SetBlock {
    pub style: TextStyle,
    pub size: f32,
    pub lines: Vec<String>,
    pub baselines: Vec<f32>,
    pub height: f32,
    pub gap_after: f32,
}

/// Sets `blocks` into a `width` × `height` box: all blocks shrink together, from
/// their largest towards their smallest size, until the stack fits. Lines past
/// a block's limit are cut with `…`; if even the smallest sizes do not fit, the
/// block with the most lines gives one up, until everything fits.
pub fn fit(m: &Measurer, blocks: &[Block], width: f32, height: f32) -> Result<Vec<SetBlock>, ArtError> {
    let mut blocks = blocks.to_vec();
    loop {
        let set = shrink(m, &blocks, width, height)?;
        if stack_height(&set) <= height {
            return Ok(set);
        }
        let (longest, lines) = set
            .iter()
            .enumerate()
            .map(|(i, b)| (i, b.lines.len()))
            .max_by_key(|(i, n)| (*n, usize::MAX - i))
            .unwrap_or((0, 0));
        if lines <= 1 {
            return Err(ArtError::Layout(format!(
                "the text needs {:.0} px of height at its smallest, the box has {height:.0}",
                stack_height(&set)
            )));
        }
        blocks[longest].max_lines = lines - 1;
    }
}

/// The blocks at the largest sizes that fit, else at their smallest.
fn shrink(m: &Measurer, blocks: &[Block], width: f32, height: f32) -> Result<Vec<SetBlock>, ArtError> {
    let mut set = Vec::new();
    for step in 0..=FIT_STEPS {
        let t = 1.0 - step as f32 / FIT_STEPS as f32;
        set = blocks.iter().map(|b| set_block(m, b, b.size_at(t), width)).collect::<Result<Vec<_>, _>>()?;
        if stack_height(&set) <= height {
            break;
        }
    }
    Ok(set)
}

/// The height of blocks stacked with their gaps.
pub fn stack_height(blocks: &[SetBlock]) -> f32 {
    let gaps: f32 = blocks.iter().rev().skip(1).map(|b| b.gap_after).sum();
    blocks.iter().map(|b| b.height).sum::<f32>() + gaps
}

/// Lines are spaced by the probe's extents (so every line of a block gets the
/// same room, and lines with deeper marks more); the block's outer edges are
/// its actual ink, so the space between blocks looks even.
fn set_block(m: &Measurer, block: &Block, size: f32, width: f32) -> Result<SetBlock, ArtError> {
    let lines = wrap(m, block, size, width)?;
    let probe = m.ink(&block.style, block.style.probe)?.scaled(size);
    let inks = lines
        .iter()
        .map(|l| Ok(m.ink(&block.style, l)?.scaled(size)))
        .collect::<Result<Vec<Ink>, ArtError>>()?;
    let mut baselines = Vec::with_capacity(lines.len());
    let mut y = inks.first().map_or(0.0, |ink| -ink.top);
    for (i, ink) in inks.iter().enumerate() {
        if i > 0 {
            y += inks[i - 1].bottom.max(probe.bottom) - ink.top.min(probe.top) + LINE_GAP_EM * size;
        }
        baselines.push(y);
    }
    let height = inks.last().map_or(0.0, |ink| y + ink.bottom);
    let gap_after = (block.gap_after * size).max(MIN_GAP);
    Ok(SetBlock { style: block.style, size, lines, baselines, height, gap_after })
}

/// The block's text in at most `max_lines` lines no wider than `width`,
/// balanced (the shortest limit that still needs no more lines), the last cut
/// with `…` when the text needs more lines than that.
fn wrap(m: &Measurer, block: &Block, size: f32, width: f32) -> Result<Vec<String>, ArtError> {
    let lines = greedy(m, block, size, width)?;
    if lines.len() > block.max_lines {
        return truncate(m, block, size, width, lines);
    }
    if lines.len() < 2 {
        return Ok(lines.into_iter().map(|l| join(&l)).collect());
    }
    let (mut lo, mut hi, mut best) = (width / lines.len() as f32, width, lines);
    for _ in 0..12 {
        let mid = (lo + hi) / 2.0;
        let candidate = greedy(m, block, size, mid)?;
        if candidate.len() <= best.len() {
            (hi, best) = (mid, candidate);
        } else {
            lo = mid;
        }
    }
    Ok(best.into_iter().map(|l| join(&l)).collect())
}

/// Greedy line filling at `limit`; a piece wider than a line is split between clusters.
fn greedy(m: &Measurer, block: &Block, size: f32, limit: f32) -> Result<Vec<Vec<Piece>>, ArtError> {
    let style = &block.style;
    let mut lines: Vec<Vec<Piece>> = Vec::new();
    let mut current: Vec<Piece> = Vec::new();
    for piece in &block.pieces {
        let parts = if m.width(style, size, &piece.text)? <= limit {
            vec![piece.clone()]
        } else {
            let mut parts: Vec<Piece> =
                clusters(&piece.text).into_iter().map(|text| Piece { text, space_before: false }).collect();
            parts[0].space_before = piece.space_before;
            parts
        };
        for part in parts {
            current.push(part);
            if current.len() > 1 && m.width(style, size, &join(&current))? > limit {
                let next = current.pop().expect("just pushed");
                lines.push(std::mem::replace(&mut current, vec![next]));
            }
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    Ok(lines)
}

/// The first `max_lines - 1` lines, then as much of the rest as fits with `…`.
fn truncate(
    m: &Measurer,
    block: &Block,
    size: f32,
    width: f32,
    lines: Vec<Vec<Piece>>,
) -> Result<Vec<String>, ArtError> {
    let keep = block.max_lines.max(1) - 1;
    let mut out: Vec<String> = lines[..keep].iter().map(|l| join(l)).collect();
    let rest: Vec<Piece> = lines[keep..].iter().flatten().cloned().collect();
    let mut tail = clusters(&join(&rest));
    loop {
        let candidate = format!("{}…", tail.concat().trim_end());
        if tail.is_empty() || m.width(&block.style, size, &candidate)? <= width {
            out.push(candidate);
            return Ok(out);
        }
        tail.pop();
    }
}
