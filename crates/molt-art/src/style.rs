//! A cover's style: era (from the year) and genre choose the palette, the
//! background motif and the fonts; a hash of the title varies the details.

use crate::fonts::{BATTAMBANG, MUOL_LIGHT, NOTO_SANS, NOTO_SANS_KHMER, NOTO_SERIF, NOTO_SERIF_KHMER};

/// A period of Cambodian popular music, from the song's year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Era {
    /// ≤ 1954: radio and the first recordings, before independence took hold.
    EarlyRadio,
    /// 1955–1969: the Sangkum Reastr Niyum, the golden age of Phnom Penh pop.
    Sangkum,
    /// 1970–1975: the Khmer Republic and Cambodian rock. 1975 counts here: the
    /// Khmer Rouge banned popular music from April 1975, so a song dated 1975 was
    /// almost surely recorded before then.
    KhmerRepublic,
    /// 1976–1978: Democratic Kampuchea; covers stay sober.
    DemocraticKampuchea,
    /// 1979–1990: rebuilding (the People's Republic of Kampuchea and the State of Cambodia).
    Rebuilding,
    /// 1991–2009: the cassette, karaoke and VCD years.
    Karaoke,
    /// ≥ 2010: the revival of the golden-age sound.
    Revival,
    /// No year known.
    Undated,
}

impl Era {
    pub fn from_year(year: Option<u32>) -> Era {
        match year {
            None => Era::Undated,
            Some(..=1954) => Era::EarlyRadio,
            Some(1955..=1969) => Era::Sangkum,
            Some(1970..=1975) => Era::KhmerRepublic,
            Some(1976..=1978) => Era::DemocraticKampuchea,
            Some(1979..=1990) => Era::Rebuilding,
            Some(1991..=2009) => Era::Karaoke,
            Some(_) => Era::Revival,
        }
    }

    /// The name printed on the cover's footer, if any.
    pub fn label(self) -> Option<&'static str> {
        Some(match self {
            Era::EarlyRadio => "Early radio era",
            Era::Sangkum => "Sangkum era",
            Era::KhmerRepublic => "Khmer Republic era",
            Era::DemocraticKampuchea => "Khmer Rouge era",
            Era::Rebuilding => "Rebuilding era",
            Era::Karaoke => "Cassette & VCD era",
            Era::Revival => "Revival",
            Era::Undated => return None,
        })
    }
}

/// A genre of Khmer music, from the context stage's genre name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Genre {
    Romvong,
    Ramkbach,
    Saravan,
    LamLeav,
    Kantrum,
    ChapeiDangVeng,
    Mohori,
    Pinpeat,
    Ayai,
    Smot,
    PhlengKar,
    CambodianRock,
    LatinTwist,
}

impl Genre {
    /// The genre a name means, ignoring case, spaces, `-` and `_`, with the common
    /// spellings (`ramvong`, `rom kbach`, `chapei`, `mahori`, `khmer rock`…).
    pub fn parse(name: &str) -> Option<Genre> {
        let key: String =
            name.chars().filter(|c| !matches!(c, ' ' | '-' | '_')).flat_map(char::to_lowercase).collect();
        Some(match key.as_str() {
            "romvong" | "ramvong" | "roamvong" | "rumvong" | "រាំវង់" => Genre::Romvong,
            "ramkbach" | "romkbach" | "roamkbach" | "រាំក្បាច់" => Genre::Ramkbach,
            "saravan" | "saravann" | "saravane" | "សារ៉ាវ៉ាន់" => Genre::Saravan,
            "lamleav" | "lamlao" | "ឡាំលាវ" => Genre::LamLeav,
            "kantrum" | "kantreum" | "កន្ទ្រឹម" => Genre::Kantrum,
            "chapeidangveng" | "chapei" | "chapey" | "chapeydangveng" | "ចាប៉ីដងវែង" => {
                Genre::ChapeiDangVeng
            }
            "mohori" | "mahori" | "មហោរី" => Genre::Mohori,
            "pinpeat" | "pinpeath" | "ពិណពាទ្យ" => Genre::Pinpeat,
            "ayai" | "ayaiy" | "អាយ៉ៃ" => Genre::Ayai,
            "smot" | "smaut" | "ស្មូត" => Genre::Smot,
            "phlengkar" | "phlengka" | "kar" | "weddingmusic" | "ភ្លេងការ" => {
                Genre::PhlengKar
            }
            "cambodianrock" | "khmerrock" | "rock" | "psychedelicrock" | "garagerock" => Genre::CambodianRock,
            "latinrhythmsandtwist" | "twist" | "chachacha" | "latin" | "madison" => Genre::LatinTwist,
            _ => return None,
        })
    }

    pub fn label(self) -> &'static str {
        match self {
            Genre::Romvong => "Romvong",
            Genre::Ramkbach => "Ramkbach",
            Genre::Saravan => "Saravan",
            Genre::LamLeav => "Lam leav",
            Genre::Kantrum => "Kantrum",
            Genre::ChapeiDangVeng => "Chapei dang veng",
            Genre::Mohori => "Mohori",
            Genre::Pinpeat => "Pinpeat",
            Genre::Ayai => "Ayai",
            Genre::Smot => "Smot",
            Genre::PhlengKar => "Phleng kar",
            Genre::CambodianRock => "Cambodian rock",
            Genre::LatinTwist => "Twist & Latin",
        }
    }

    /// The classical and folk genres get the classical display lettering.
    fn is_traditional(self) -> bool {
        matches!(
            self,
            Genre::Mohori
                | Genre::Pinpeat
                | Genre::Smot
                | Genre::ChapeiDangVeng
                | Genre::Ayai
                | Genre::Kantrum
        )
    }
}

/// The background drawing of a cover's art panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Motif {
    /// Radio waves from a transmitter (early radio).
    Radio,
    /// Rays and a rising sun, mid-century optimism (Sangkum; kantrum's beat).
    Sunburst,
    /// Concentric rings and a circle of dancers (romvong, the circle dance).
    Rings,
    /// Layered waves (ramkbach's hand gestures, lam leav's lilt).
    Waves,
    /// A diamond lattice, like woven silk (saravan, wedding music).
    Lattice,
    /// The long neck and strings of the chapei.
    Strings,
    /// A lotus (classical ensembles, chant).
    Lotus,
    /// Nested 1970s rainbow arcs (the Khmer Republic, rock).
    Arcs,
    /// A few quiet horizontal lines (1975–1979).
    Bands,
    /// Blocks of flat colour, like a hand-printed poster (1980s).
    Blocks,
    /// A halftone dot field (cassettes and VCDs).
    Halftone,
    /// Two voices answering each other: overlapping circles (ayai).
    Twin,
    /// A large disc and an orbit, clean and modern (revival).
    Orbit,
    /// Checkerboard go-go squares (twist and Latin dances).
    Checks,
}

/// A cover's colours (`#rrggbb`). Text is drawn on `band`; the motif on `paper`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Palette {
    pub name: &'static str,
    /// The art panel's background.
    pub paper: &'static str,
    /// The text panel's background.
    pub band: &'static str,
    /// The title and artist.
    pub ink: &'static str,
    /// The romanised title and the rule between the panels.
    pub highlight: &'static str,
    /// The footer (year, era, genre).
    pub soft: &'static str,
    /// The motif's colours.
    pub accents: [&'static str; 3],
}

const fn palette(
    name: &'static str,
    [paper, band, ink, highlight, soft]: [&'static str; 5],
    accents: [&'static str; 3],
) -> Palette {
    Palette { name, paper, band, ink, highlight, soft, accents }
}

/// Three palettes per era; the title's hash picks one.
pub const PALETTES: [(Era, [Palette; 3]); 8] = [
    (
        Era::EarlyRadio,
        [
            palette(
                "sepia-rust",
                ["#efe3c8", "#2b2118", "#f3e7cb", "#e0a965", "#c9b48f"],
                ["#b5562e", "#8a6a3b", "#d9b98a"],
            ),
            palette(
                "sepia-olive",
                ["#ece2c6", "#262619", "#f1e9cf", "#cfc07a", "#bdb58f"],
                ["#6f7a3a", "#a0703c", "#d6c596"],
            ),
            palette(
                "sepia-oxblood",
                ["#f0e4cc", "#2a1a18", "#f4e6cd", "#e39a7e", "#c8ac98"],
                ["#7d2e2e", "#b98c4e", "#dcc3a0"],
            ),
        ],
    ),
    (
        Era::Sangkum,
        [
            palette(
                "sangkum-navy",
                ["#f4ead5", "#1d2b4a", "#f6ecd6", "#f0b83a", "#b9c0cf"],
                ["#1f7a7a", "#e0a526", "#d9583b"],
            ),
            palette(
                "sangkum-teal",
                ["#f3e9d2", "#123f40", "#f6ecd6", "#f2b94b", "#a9c4bf"],
                ["#d9583b", "#1f7a7a", "#e8b547"],
            ),
            palette(
                "sangkum-oxblood",
                ["#f5ecd8", "#5a1a1f", "#f8eedb", "#f3c35a", "#dcb4ae"],
                ["#1d5e7a", "#e0a526", "#b8432f"],
            ),
        ],
    ),
    (
        Era::KhmerRepublic,
        [
            palette(
                "republic-orange",
                ["#f2dfb8", "#2a1410", "#f7e3c0", "#f5a623", "#d8b9a0"],
                ["#e86a1f", "#b8325a", "#f0b429"],
            ),
            palette(
                "republic-plum",
                ["#f1dcc0", "#2b1330", "#f6e2c8", "#f2a35a", "#cdb3c8"],
                ["#5b2a6e", "#e0602a", "#e8b23a"],
            ),
            palette(
                "republic-olive",
                ["#efe0b5", "#23210f", "#f4e8c4", "#e9b949", "#c9c2a0"],
                ["#6b6b1f", "#d4502a", "#e8a93b"],
            ),
        ],
    ),
    (
        Era::DemocraticKampuchea,
        [
            palette(
                "ash",
                ["#d8d4cc", "#1f1f1e", "#e8e4da", "#c9b9a0", "#a9a59c"],
                ["#5b5b57", "#8c8678", "#b3aea2"],
            ),
            palette(
                "ash-earth",
                ["#d6d1c6", "#211f1c", "#e9e3d6", "#c7b08e", "#aaa397"],
                ["#6a5f52", "#8f8676", "#b7afa0"],
            ),
            palette(
                "ash-slate",
                ["#d3d5d4", "#1c1f21", "#e5e8e6", "#b8c0c2", "#a2a8aa"],
                ["#53595c", "#7f8689", "#aab0b2"],
            ),
        ],
    ),
    (
        Era::Rebuilding,
        [
            palette(
                "rebuilding-brick",
                ["#e4dcc8", "#2e2a23", "#efe6d2", "#d9a566", "#bcb29e"],
                ["#7a2b22", "#4e5a3a", "#c8a45a"],
            ),
            palette(
                "rebuilding-green",
                ["#e2dcc6", "#1e2a22", "#ece7d3", "#d6b36a", "#b3b9a6"],
                ["#3f5e3a", "#a0452f", "#cfae62"],
            ),
            palette(
                "rebuilding-blue",
                ["#e3ddca", "#1e2430", "#ede8d6", "#d8ad6c", "#b2b6bf"],
                ["#2f4a6b", "#a34a32", "#c9a45c"],
            ),
        ],
    ),
    (
        Era::Karaoke,
        [
            palette(
                "vcd-magenta",
                ["#1b1f4b", "#0e1030", "#ffffff", "#ff8fc8", "#b8bce6"],
                ["#e4358b", "#27b0c8", "#f5c342"],
            ),
            palette(
                "vcd-cyan",
                ["#0f2f45", "#081a27", "#ffffff", "#6fe0f0", "#a9c6d6"],
                ["#27b0c8", "#f25f5c", "#ffd166"],
            ),
            palette(
                "vcd-violet",
                ["#2a1747", "#140b26", "#ffffff", "#ffc857", "#c8b8e0"],
                ["#8e44ad", "#f15bb5", "#00bbf9"],
            ),
        ],
    ),
    (
        Era::Revival,
        [
            palette(
                "revival-lacquer",
                ["#f6f1e7", "#111111", "#f6f1e7", "#e2b13c", "#b5b0a6"],
                ["#c0392b", "#1e5b4f", "#d4a017"],
            ),
            palette(
                "revival-jade",
                ["#f3f0e8", "#0f2621", "#f3f0e8", "#e7c15a", "#a9bab4"],
                ["#1e5b4f", "#d4a017", "#c0392b"],
            ),
            palette(
                "revival-indigo",
                ["#f4f1ea", "#141a33", "#f4f1ea", "#f0b94d", "#b0b5c8"],
                ["#2d3a8c", "#e07a2f", "#c9a227"],
            ),
        ],
    ),
    (
        Era::Undated,
        [
            palette(
                "archive-umber",
                ["#ece6da", "#2d2a26", "#f1ebdf", "#d9b27c", "#bdb4a6"],
                ["#8c6d46", "#4f6d6a", "#b9876a"],
            ),
            palette(
                "archive-teal",
                ["#e9e6dc", "#1f2b2b", "#eeebe2", "#d6b985", "#adb8b5"],
                ["#4f6d6a", "#9a6b4f", "#c2a574"],
            ),
            palette(
                "archive-wine",
                ["#ede5dc", "#2e1f22", "#f2e9e0", "#dcae8a", "#c1b0aa"],
                ["#7b3b46", "#6b7a5e", "#c49a6c"],
            ),
        ],
    ),
];

/// The text faces of a cover: each a family list, first choice first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Typefaces {
    /// The Khmer title (display).
    pub title: &'static [&'static str],
    pub title_weight: u16,
    /// The romanised title (Latin, italic).
    pub latin: &'static [&'static str],
    /// The artist and the footer (Latin, with a Khmer face for Khmer names).
    pub label: &'static [&'static str],
}

/// Everything the era, genre and title decide.
#[derive(Debug, Clone, PartialEq)]
pub struct Style {
    pub era: Era,
    pub genre: Option<Genre>,
    pub palette: Palette,
    pub motif: Motif,
    pub faces: Typefaces,
    pub variation: Variation,
}

impl Style {
    /// The style for a song: deterministic in (year, genre, title).
    pub fn derive(year: Option<u32>, genre: Option<&str>, title: &str) -> Style {
        let era = Era::from_year(year);
        let genre = genre.and_then(Genre::parse);
        let variation = Variation::from_title(title);
        let palettes = &PALETTES.iter().find(|(e, _)| *e == era).expect("every era has palettes").1;
        Style {
            era,
            genre,
            palette: palettes[variation.pick(0, palettes.len())],
            motif: genre.map_or_else(|| era_motif(era), genre_motif),
            faces: typefaces(era, genre),
            variation,
        }
    }
}

fn era_motif(era: Era) -> Motif {
    match era {
        Era::EarlyRadio => Motif::Radio,
        Era::Sangkum => Motif::Sunburst,
        Era::KhmerRepublic => Motif::Arcs,
        Era::DemocraticKampuchea => Motif::Bands,
        Era::Rebuilding => Motif::Blocks,
        Era::Karaoke => Motif::Halftone,
        Era::Revival => Motif::Orbit,
        Era::Undated => Motif::Lattice,
    }
}

fn genre_motif(genre: Genre) -> Motif {
    match genre {
        Genre::Romvong => Motif::Rings,
        Genre::Ramkbach | Genre::LamLeav => Motif::Waves,
        Genre::Saravan | Genre::PhlengKar => Motif::Lattice,
        Genre::Kantrum => Motif::Sunburst,
        Genre::ChapeiDangVeng => Motif::Strings,
        Genre::Mohori | Genre::Pinpeat | Genre::Smot => Motif::Lotus,
        Genre::Ayai => Motif::Twin,
        Genre::CambodianRock => Motif::Arcs,
        Genre::LatinTwist => Motif::Checks,
    }
}

const SERIF_LATIN: &[&str] = &[NOTO_SERIF, NOTO_SERIF_KHMER];
const SANS_LATIN: &[&str] = &[NOTO_SANS, NOTO_SANS_KHMER];

/// Golden-age and traditional songs get Muol lettering (the display style of
/// the period's posters and sleeves); the sober years a plain reading face;
/// the karaoke years and rock a bold sans; the rest a bold serif.
fn typefaces(era: Era, genre: Option<Genre>) -> Typefaces {
    let muol: &'static [&'static str] = &[MUOL_LIGHT, NOTO_SERIF];
    let battambang: &'static [&'static str] = &[BATTAMBANG, NOTO_SERIF];
    let sans: &'static [&'static str] = &[NOTO_SANS_KHMER, NOTO_SANS];
    let serif: &'static [&'static str] = &[NOTO_SERIF_KHMER, NOTO_SERIF];
    let (title, title_weight) = match (era, genre) {
        (_, Some(g)) if g.is_traditional() => (muol, 400),
        (_, Some(Genre::CambodianRock)) => (sans, 700),
        (Era::EarlyRadio | Era::Sangkum, _) => (muol, 400),
        (Era::DemocraticKampuchea | Era::Rebuilding, _) => (battambang, 400),
        (Era::Karaoke, _) => (sans, 700),
        _ => (serif, 700),
    };
    let modern = matches!(era, Era::Karaoke | Era::Revival) || genre == Some(Genre::CambodianRock);
    let (latin, label) = if modern { (SANS_LATIN, SANS_LATIN) } else { (SERIF_LATIN, SANS_LATIN) };
    Typefaces { title, title_weight, latin, label }
}

/// Small deterministic differences between songs of one style, from a hash of
/// the title (FNV-1a: stable across Rust versions, unlike `DefaultHasher`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variation(pub u64);

impl Variation {
    pub fn from_title(title: &str) -> Variation {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in title.trim().bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        Variation(hash)
    }

    /// An independent choice among `n` for the purpose numbered `slot`.
    pub fn pick(self, slot: u32, n: usize) -> usize {
        (self.mix(slot) % n.max(1) as u64) as usize
    }

    /// A number in `lo..=hi` for the purpose numbered `slot`.
    pub fn range(self, slot: u32, lo: f32, hi: f32) -> f32 {
        let unit = (self.mix(slot) >> 11) as f64 / (1u64 << 53) as f64;
        lo + (hi - lo) * unit as f32
    }

    /// SplitMix64 of the hash and the slot, so each slot varies independently.
    fn mix(self, slot: u32) -> u64 {
        let mut z = self.0 ^ u64::from(slot).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// WCAG 2 contrast ratio of two `#rrggbb` colours (1..=21).
pub fn contrast(a: &str, b: &str) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

fn luminance(hex: &str) -> f64 {
    let channel = |i: usize| {
        let v = f64::from(u8::from_str_radix(&hex[1 + 2 * i..3 + 2 * i], 16).unwrap_or(0)) / 255.0;
        if v <= 0.039_28 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(0) + 0.7152 * channel(1) + 0.0722 * channel(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years_fall_into_their_eras() {
        let cases = [
            (1950, Era::EarlyRadio),
            (1954, Era::EarlyRadio),
            (1955, Era::Sangkum),
            (1964, Era::Sangkum),
            (1970, Era::KhmerRepublic),
            (1975, Era::KhmerRepublic),
            (1977, Era::DemocraticKampuchea),
            (1979, Era::Rebuilding),
            (1990, Era::Rebuilding),
            (1991, Era::Karaoke),
            (2009, Era::Karaoke),
            (2010, Era::Revival),
        ];
        for (year, era) in cases {
            assert_eq!(Era::from_year(Some(year)), era, "{year}");
        }
        assert_eq!(Era::from_year(None), Era::Undated);
    }

    #[test]
    fn genre_names_are_read_in_their_usual_spellings() {
        assert_eq!(Genre::parse("romvong"), Some(Genre::Romvong));
        assert_eq!(Genre::parse("Ram Vong"), Some(Genre::Romvong));
        assert_eq!(Genre::parse("chapei-dang-veng"), Some(Genre::ChapeiDangVeng));
        assert_eq!(Genre::parse("lam-leav"), Some(Genre::LamLeav));
        assert_eq!(Genre::parse("cambodian-rock"), Some(Genre::CambodianRock));
        assert_eq!(Genre::parse("latin-rhythms-and-twist"), Some(Genre::LatinTwist));
        assert_eq!(Genre::parse("Phleng_Kar"), Some(Genre::PhlengKar));
        assert_eq!(Genre::parse("polka"), None);
    }

    #[test]
    fn every_palette_keeps_the_text_readable() {
        for (era, palettes) in PALETTES {
            for p in palettes {
                // WCAG AAA for the title and artist, AA for the smaller lines.
                assert!(contrast(p.ink, p.band) >= 7.0, "{era:?} {}: ink", p.name);
                assert!(contrast(p.highlight, p.band) >= 4.5, "{era:?} {}: highlight", p.name);
                assert!(contrast(p.soft, p.band) >= 4.5, "{era:?} {}: soft", p.name);
            }
        }
    }

    #[test]
    fn era_genre_and_title_all_change_the_style() {
        let sangkum = Style::derive(Some(1964), None, "a");
        let romvong = Style::derive(Some(1964), Some("romvong"), "a");
        let rock = Style::derive(Some(1972), Some("cambodian rock"), "a");
        assert_eq!(sangkum.motif, Motif::Sunburst);
        assert_eq!(romvong.motif, Motif::Rings);
        assert_eq!((rock.era, rock.motif), (Era::KhmerRepublic, Motif::Arcs));
        assert_ne!(sangkum.faces, rock.faces);
        let titles: std::collections::HashSet<u64> =
            ["a", "b", "c"].iter().map(|t| Style::derive(Some(1964), None, t).variation.0).collect();
        assert_eq!(titles.len(), 3);
        assert_eq!(Style::derive(Some(1964), None, "x"), Style::derive(Some(1964), None, "x"));
    }
}
