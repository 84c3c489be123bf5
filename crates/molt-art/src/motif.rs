//! The art panel's drawings, one per [`Motif`]: flat shapes in the palette's
//! colours (flat colour keeps the PNG small and prints well), placed with the
//! title's [`Variation`] so two songs of one style differ.
//!
//! Every function draws into `r` (the caller clips to it) and returns SVG.

use crate::style::{Motif, Palette, Variation};
use std::f32::consts::PI;
use std::fmt::Write as _;

/// A rectangle in canvas pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

impl Rect {
    fn at(&self, fx: f32, fy: f32) -> (f32, f32) {
        (self.x + self.w * fx, self.y + self.h * fy)
    }
}

/// The motif drawn into `r`.
pub fn draw(motif: Motif, r: Rect, p: &Palette, v: Variation) -> String {
    match motif {
        Motif::Radio => radio(r, p, v),
        Motif::Sunburst => sunburst(r, p, v),
        Motif::Rings => rings(r, p, v),
        Motif::Waves => waves(r, p, v),
        Motif::Lattice => lattice(r, p, v),
        Motif::Strings => strings(r, p, v),
        Motif::Lotus => lotus(r, p, v),
        Motif::Arcs => arcs(r, p, v),
        Motif::Bands => bands(r, p, v),
        Motif::Blocks => blocks(r, p, v),
        Motif::Halftone => halftone(r, p, v),
        Motif::Twin => twin(r, p, v),
        Motif::Orbit => orbit(r, p, v),
        Motif::Checks => checks(r, p, v),
    }
}

fn circle(cx: f32, cy: f32, radius: f32, fill: &str) -> String {
    format!(r#"<circle cx="{cx:.1}" cy="{cy:.1}" r="{radius:.1}" fill="{fill}"/>"#)
}

fn ring(cx: f32, cy: f32, radius: f32, stroke: &str, width: f32) -> String {
    format!(
        r#"<circle cx="{cx:.1}" cy="{cy:.1}" r="{radius:.1}" fill="none" stroke="{stroke}" stroke-width="{width:.1}"/>"#
    )
}

fn rect(x: f32, y: f32, w: f32, h: f32, fill: &str) -> String {
    format!(r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{fill}"/>"#)
}

fn line(x1: f32, y1: f32, x2: f32, y2: f32, stroke: &str, width: f32) -> String {
    format!(
        r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{stroke}" stroke-width="{width:.1}" stroke-linecap="round"/>"#
    )
}

fn path(d: &str, fill: &str) -> String {
    format!(r#"<path d="{d}" fill="{fill}"/>"#)
}

/// Radio waves spreading from a mast, seen through a framed window (the
/// look of an early record label).
fn radio(r: Rect, p: &Palette, v: Variation) -> String {
    let (cx, cy) = r.at(v.range(1, 0.28, 0.72), 0.72);
    let mut out = String::new();
    for i in 0..14 {
        out += &ring(cx, cy, 70.0 + i as f32 * 46.0, p.accents[i % 2], 8.0);
    }
    let d = format!(
        "M{:.1},{:.1} L{:.1},{:.1} L{:.1},{:.1} Z",
        cx,
        cy,
        cx - 70.0,
        r.y + r.h,
        cx + 70.0,
        r.y + r.h
    );
    out += &path(&d, p.accents[1]);
    out += &circle(cx, cy, 30.0, p.accents[0]);
    out + &frame(r, p)
}

/// A paper mat around the panel with a thin line at its inner edge.
fn frame(r: Rect, p: &Palette) -> String {
    let inset = 36.0;
    let (x0, y0, x1, y1) = (r.x, r.y, r.x + r.w, r.y + r.h);
    let (ix0, iy0, ix1) = (x0 + inset, y0 + inset, x1 - inset);
    let d = format!(
        "M{x0:.1},{y0:.1} H{x1:.1} V{y1:.1} H{x0:.1} Z M{ix0:.1},{iy0:.1} V{y1:.1} H{ix1:.1} V{iy0:.1} Z"
    );
    let mut out = format!(r#"<path d="{d}" fill="{}" fill-rule="evenodd"/>"#, p.paper);
    let _ = write!(
        out,
        r#"<path d="M{ix0:.1},{y1:.1} V{iy0:.1} H{ix1:.1} V{y1:.1}" fill="none" stroke="{}" stroke-width="3"/>"#,
        p.accents[1]
    );
    out
}

/// Rays behind a sun rising over a horizon band.
fn sunburst(r: Rect, p: &Palette, v: Variation) -> String {
    let (cx, cy) = r.at(v.range(2, 0.3, 0.7), 0.86);
    let rays = 16 + 4 * v.pick(3, 3);
    let turn = v.range(4, 0.0, 2.0 * PI / rays as f32);
    let reach = 2.0 * r.w.max(r.h);
    let mut out = String::new();
    for i in (0..rays).step_by(2) {
        let (a0, a1) =
            (turn + i as f32 * 2.0 * PI / rays as f32, turn + (i + 1) as f32 * 2.0 * PI / rays as f32);
        let d = format!(
            "M{cx:.1},{cy:.1} L{:.1},{:.1} L{:.1},{:.1} Z",
            cx + reach * a0.cos(),
            cy + reach * a0.sin(),
            cx + reach * a1.cos(),
            cy + reach * a1.sin()
        );
        out += &path(&d, p.accents[1]);
    }
    out += &circle(cx, cy, r.h * 0.36, p.paper);
    out += &circle(cx, cy, r.h * 0.31, p.accents[2]);
    out += &rect(r.x, cy, r.w, r.y + r.h - cy, p.accents[0]);
    out
}

/// Concentric rings and a circle of dancers around them.
fn rings(r: Rect, p: &Palette, v: Variation) -> String {
    let (cx, cy) = r.at(v.range(5, 0.36, 0.64), 0.5);
    let outer = r.h * 0.31;
    let colours = [p.accents[0], p.paper, p.accents[1], p.paper, p.accents[2], p.paper];
    let mut out = String::new();
    for (k, colour) in colours.iter().enumerate() {
        out += &circle(cx, cy, outer * (1.0 - k as f32 / 6.5), colour);
    }
    let dancers = 12 + 2 * v.pick(7, 3);
    let turn = v.range(8, 0.0, PI);
    for i in 0..dancers {
        let a = turn + i as f32 * 2.0 * PI / dancers as f32;
        let (dx, dy) = (cx + (outer + 46.0) * a.cos(), cy + (outer + 46.0) * a.sin());
        out += &circle(dx, dy, 15.0, p.accents[i % 2]);
    }
    out
}

/// Layered waves filling the panel from the bottom.
fn waves(r: Rect, p: &Palette, v: Variation) -> String {
    let wavelength = r.w / v.range(9, 1.6, 2.6);
    let amplitude = v.range(10, 16.0, 30.0);
    let mut out = String::new();
    for k in 0..7 {
        let base = r.y + r.h * (0.3 + 0.1 * k as f32);
        let phase = v.range(11 + k, 0.0, wavelength);
        let mut d = format!("M{:.1},{:.1}", r.x - phase, base);
        let mut x = r.x - phase;
        let _ = write!(
            d,
            " Q{:.1},{:.1} {:.1},{:.1}",
            x + wavelength / 4.0,
            base - amplitude,
            x + wavelength / 2.0,
            base
        );
        x += wavelength / 2.0;
        while x < r.x + r.w + wavelength {
            x += wavelength / 2.0;
            let _ = write!(d, " T{x:.1},{base:.1}");
        }
        let _ = write!(d, " L{:.1},{:.1} L{:.1},{:.1} Z", x, r.y + r.h, r.x - phase, r.y + r.h);
        out += &path(&d, p.accents[k as usize % 3]);
    }
    out
}

/// A diamond lattice with beads at the crossings and a large diamond.
fn lattice(r: Rect, p: &Palette, v: Variation) -> String {
    let step = 96.0;
    let shift = v.range(20, 0.0, step);
    let mut out = String::new();
    let span = r.w + r.h;
    let mut c = -span + shift;
    while c < span {
        out += &line(r.x + c, r.y, r.x + c + r.h, r.y + r.h, p.accents[0], 3.0);
        out += &line(r.x + c, r.y + r.h, r.x + c + r.h, r.y, p.accents[0], 3.0);
        c += step;
    }
    // Beads where the two families cross: x - y = a + k·step meets x + y = b + m·step.
    let (a, b) = (r.x - r.y - span + shift, r.x + r.y + r.h - span + shift);
    let n = (4.0 * span / step) as i32;
    for k in 0..n {
        for m in 0..n {
            let (u, s) = (a + k as f32 * step, b + m as f32 * step);
            let (x, y) = ((u + s) / 2.0, (s - u) / 2.0);
            if (r.x - 12.0..r.x + r.w + 12.0).contains(&x) && (r.y - 12.0..r.y + r.h + 12.0).contains(&y) {
                out += &diamond(x, y, 11.0, p.accents[2]);
            }
        }
    }
    let (cx, cy) = r.at(v.range(21, 0.35, 0.65), 0.5);
    out += &diamond(cx, cy, r.h * 0.27, p.accents[1]);
    out += &diamond(cx, cy, r.h * 0.1, p.paper);
    out
}

fn diamond(cx: f32, cy: f32, half: f32, fill: &str) -> String {
    let d = format!(
        "M{:.1},{:.1} L{:.1},{:.1} L{:.1},{:.1} L{:.1},{:.1} Z",
        cx,
        cy - half,
        cx + half,
        cy,
        cx,
        cy + half,
        cx - half,
        cy
    );
    path(&d, fill)
}

/// The chapei: a round body, a long leaning neck, two strings.
fn strings(r: Rect, p: &Palette, v: Variation) -> String {
    let mut out = String::new();
    for i in 0..9 {
        let x = r.x + r.w * (0.08 + 0.105 * i as f32);
        out += &line(x, r.y, x, r.y + r.h, p.accents[2], 2.0);
    }
    let (cx, cy) = r.at(v.range(30, 0.4, 0.6), 0.74);
    let lean = v.range(31, -26.0, -14.0);
    let body = r.h * 0.2;
    let neck = r.h * 0.66;
    let _ = write!(out, r#"<g transform="rotate({lean:.1} {cx:.1} {cy:.1})">"#);
    out += &rect(cx - 18.0, cy - neck, 36.0, neck, p.accents[1]);
    for k in 0..3 {
        out += &rect(cx - 34.0, cy - neck + 16.0 + k as f32 * 40.0, 68.0, 12.0, p.accents[0]);
    }
    out += &circle(cx, cy, body, p.accents[0]);
    out += &ring(cx, cy, body * 0.78, p.paper, 4.0);
    out += &circle(cx, cy, body * 0.22, p.accents[1]);
    out += &line(cx - 6.0, cy - neck + 8.0, cx - 6.0, cy + body * 0.6, p.paper, 2.5);
    out += &line(cx + 6.0, cy - neck + 8.0, cx + 6.0, cy + body * 0.6, p.paper, 2.5);
    out += "</g>";
    out
}

/// A lotus opening over still water, a sun behind it.
fn lotus(r: Rect, p: &Palette, v: Variation) -> String {
    let (cx, base) = r.at(v.range(40, 0.4, 0.6), 0.8);
    let mut out = circle(cx, r.y + r.h * 0.42, r.h * 0.3, p.accents[2]);
    let length = r.h * 0.5;
    let petals = [
        (-62.0, 0.62, 1),
        (62.0, 0.62, 1),
        (-40.0, 0.82, 0),
        (40.0, 0.82, 0),
        (-18.0, 0.95, 1),
        (18.0, 0.95, 1),
        (0.0, 1.0, 0),
    ];
    for (angle, scale, colour) in petals {
        let _ = write!(
            out,
            r#"<g transform="translate({cx:.1} {base:.1}) rotate({angle:.1})">{}</g>"#,
            petal(length * scale, length * 0.28, p.accents[colour])
        );
    }
    for k in 0..3 {
        let y = base + 26.0 + k as f32 * 26.0;
        let half = r.w * (0.34 - 0.08 * k as f32);
        out += &line(cx - half, y, cx + half, y, p.accents[0], 6.0);
    }
    out
}

/// A pointed petal from (0, 0) up to (0, -length).
fn petal(length: f32, width: f32, fill: &str) -> String {
    let d = format!(
        "M0,0 C{:.1},{:.1} {:.1},{:.1} 0,{:.1} C{:.1},{:.1} {:.1},{:.1} 0,0 Z",
        -width,
        -length * 0.3,
        -width * 0.6,
        -length * 0.8,
        -length,
        width * 0.6,
        -length * 0.8,
        width,
        -length * 0.3
    );
    format!(r##"<path d="{d}" fill="{fill}" stroke="#00000022" stroke-width="2"/>"##)
}

/// Nested rainbow arcs rising from the bottom edge.
fn arcs(r: Rect, p: &Palette, v: Variation) -> String {
    let (cx, cy) = r.at(v.range(50, 0.25, 0.75), 1.0);
    let colours = [p.accents[0], p.accents[1], p.accents[2], p.paper];
    let bands = 9;
    // Not wider than the panel, so a tall panel keeps sky above the arcs.
    let outer = (r.h * 0.98).min(r.w * 0.62);
    let mut out = String::new();
    for k in 0..bands {
        out += &circle(cx, cy, outer * (1.0 - k as f32 / bands as f32), colours[k % 4]);
    }
    // A small sun in the sky on the far side, where the arcs leave room.
    let (sx, sy) = r.at(if cx > r.x + r.w / 2.0 { 0.15 } else { 0.85 }, 0.24);
    if (sx - cx).hypot(sy - cy) > outer + 60.0 {
        out += &circle(sx, sy, 44.0, p.accents[1]);
    }
    out
}

/// A few quiet lines and a pale moon: the sober years.
fn bands(r: Rect, p: &Palette, v: Variation) -> String {
    let mut out = String::new();
    for k in 0..3 {
        let y = r.y + r.h * (0.5 + 0.13 * k as f32);
        let inset = r.w * v.range(60 + k, 0.08, 0.22);
        out += &line(r.x + inset, y, r.x + r.w - inset, y, p.accents[k as usize % 2], 5.0);
    }
    let (mx, my) = r.at(v.range(63, 0.3, 0.7), 0.27);
    out += &ring(mx, my, 48.0, p.accents[0], 3.0);
    out
}

/// Flat blocks of colour on a grid, a circle in one of them.
fn blocks(r: Rect, p: &Palette, v: Variation) -> String {
    let (cols, rows, gap) = (4, 3, 14.0);
    let (cw, ch) = ((r.w - gap) / cols as f32, (r.h - gap) / rows as f32);
    let mut out = String::new();
    let special = v.pick(70, cols * rows);
    for i in 0..cols * rows {
        let (x, y) = (r.x + gap + (i % cols) as f32 * cw, r.y + gap + (i / cols) as f32 * ch);
        let colour = [p.accents[0], p.accents[1], p.accents[2], p.paper][v.pick(71 + i as u32, 4)];
        out += &rect(x, y, cw - gap, ch - gap, colour);
        if i == special {
            out += &circle(x + (cw - gap) / 2.0, y + (ch - gap) / 2.0, (ch - gap) * 0.36, p.band);
        }
    }
    out
}

/// A halftone dot field, densest around a focus, and a ring.
fn halftone(r: Rect, p: &Palette, v: Variation) -> String {
    let (fx, fy) = r.at(v.range(80, 0.2, 0.8), v.range(81, 0.3, 0.7));
    let step = 34.0;
    let reach = r.w * 0.75;
    let mut out = String::new();
    let mut y = r.y + step / 2.0;
    while y < r.y + r.h {
        let mut x = r.x + step / 2.0;
        while x < r.x + r.w {
            let d = ((x - fx).powi(2) + (y - fy).powi(2)).sqrt();
            let radius = 14.0 * (1.0 - d / reach);
            if radius > 1.5 {
                out += &circle(x, y, radius, p.accents[0]);
            }
            x += step;
        }
        y += step;
    }
    let (cx, cy) = r.at(1.0 - v.range(80, 0.2, 0.8) * 0.6, 0.5);
    out += &ring(cx, cy, r.h * 0.3, p.accents[1], 8.0);
    out += &circle(cx, cy, r.h * 0.08, p.accents[2]);
    out
}

/// Two overlapping circles (two voices) and their shared lens.
fn twin(r: Rect, p: &Palette, v: Variation) -> String {
    let (cx, cy) = r.at(v.range(90, 0.42, 0.58), 0.5);
    let radius = r.h * 0.36;
    let gap = radius * 0.62;
    let (ax, bx) = (cx - gap, cx + gap);
    let mut out = circle(ax, cy, radius, p.accents[0]);
    out += &circle(bx, cy, radius, p.accents[1]);
    let _ = write!(
        out,
        r#"<clipPath id="twin-lens"><circle cx="{ax:.1}" cy="{cy:.1}" r="{radius:.1}"/></clipPath><g clip-path="url(#twin-lens)">{}</g>"#,
        circle(bx, cy, radius, p.accents[2])
    );
    out
}

/// A large disc, a small one on a tilted orbit.
fn orbit(r: Rect, p: &Palette, v: Variation) -> String {
    let (cx, cy) = r.at(v.range(100, 0.38, 0.62), 0.52);
    let tilt = v.range(101, -24.0, -8.0);
    let mut out = circle(cx, cy, r.h * 0.33, p.accents[0]);
    let _ = write!(
        out,
        r#"<ellipse cx="{cx:.1}" cy="{cy:.1}" rx="{:.1}" ry="{:.1}" fill="none" stroke="{}" stroke-width="5" transform="rotate({tilt:.1} {cx:.1} {cy:.1})"/>"#,
        r.w * 0.42,
        r.h * 0.13,
        p.accents[2]
    );
    let a = v.range(102, 0.2, 0.8) * PI;
    let (ox, oy) = (cx - r.w * 0.42 * a.cos(), cy + r.h * 0.13 * a.sin());
    let t = tilt.to_radians();
    let (px, py) =
        (cx + (ox - cx) * t.cos() - (oy - cy) * t.sin(), cy + (ox - cx) * t.sin() + (oy - cy) * t.cos());
    out += &circle(px, py, r.h * 0.07, p.accents[1]);
    out
}

/// Checkerboard go-go squares under a spotlight disc.
fn checks(r: Rect, p: &Palette, v: Variation) -> String {
    let size = 72.0;
    let top = r.y + r.h * 0.56;
    let mut out = String::new();
    let shift = v.pick(110, 2);
    let mut row = 0;
    let mut y = top;
    while y < r.y + r.h {
        let mut col = 0;
        let mut x = r.x;
        while x < r.x + r.w {
            if (row + col + shift).is_multiple_of(2) {
                out += &rect(x, y, size, size, p.accents[0]);
            }
            x += size;
            col += 1;
        }
        y += size;
        row += 1;
    }
    let (cx, cy) = r.at(v.range(111, 0.3, 0.7), 0.3);
    out += &circle(cx, cy, r.h * 0.2, p.accents[1]);
    out += &ring(cx, cy, r.h * 0.26, p.accents[2], 6.0);
    out
}
