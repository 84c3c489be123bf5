//! Learner-readable romanisation, UNGEGN style (1972 UN system) without diacritics.
//!
//! Text is normalised, split into words by the dictionary segmenter, and each word is
//! split into orthographic clusters (consonant + subscripts + shifter + vowel + signs),
//! then into syllables. Non-Khmer pieces (Latin, spaces) pass through unchanged; Khmer
//! digits become ASCII; `។` and `៕` become `.`, `៖` becomes `:`.
//!
//! # Consonants (initial / final)
//! | series 1 ("a", UNGEGN â) | series 2 ("o", UNGEGN ô) |
//! |---|---|
//! | ក k, ខ kh, ច ch, ឆ chh, ដ d, ឋ th, ណ n, ត t, ថ th, ប b (final p), ផ ph, ស s, ហ h, ឡ l, អ (silent) | គ k, ឃ kh, ង ng, ជ ch, ឈ chh, ញ nh, ឌ d, ឍ th, ទ t, ធ th, ន n, ព p, ភ ph, ម m, យ y, រ r, ល l, វ v |
//!
//! `ប៉` is `p`. Muusikatoan `៉` moves a consonant to series 1, triisap `៊` to series 2.
//! A cluster's series is its base's, except that a series-2 stop subscript (គ ឃ ជ ឈ ឌ ឍ ទ ធ
//! ព ភ) makes it series 2 and a series-1 subscript under a series-2 sonorant makes it series 1.
//! Subscripts are read as their initial letters (`ខ្ញុំ` → khnhom).
//!
//! # Vowels (series 1 / series 2)
//! inherent a / o · ា a / ea · ិ e / i · ី ei / i · ឹ oe / eu · ឺ oe / eu · ុ o / u · ូ ou / u ·
//! ួ uo · ើ aeu / eu · ឿ oea · ៀ ie · េ e · ែ ae · ៃ ai / ey · ោ ao / o · ៅ au / ou ·
//! ំ am / um · ុំ om / um · ាំ am / oam · ះ ah / eah · ុះ oh / uh · េះ eh / ih · ោះ aoh / uoh.
//! Independent vowels: ឥ e, ឦ ei, ឧ o, ឩ ou, ឪ au, ឫ rue, ឬ rue, ឭ lue, ឮ lue, ឯ ae, ឰ ai,
//! ឱ/ឲ ao, ឳ au.
//!
//! # Diacritics
//! bantoc `់` only marks a final; robat `៌` adds `r`; toandakhiat `៍` silences its
//! consonant (and vowel); other signs are dropped.
//!
//! # Limits
//! Syllable splitting is heuristic: a vowel-less consonant after an open syllable is read as
//! its final, and a subscript cluster after an open syllable gives its base to that syllable
//! (`ចម្ប៉ា` → cham-pa). Unwritten inherent vowels between consonants (`យុវជន`,
//! yuvochon) are not restored, final `ស` is written `s` (spoken h), and the spellings
//! artists use (French-style `ou`, doubled `nn`) are not produced: keep those as aliases.

use crate::Segmenter;

/// Consonant series, which picks the vowel reading.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Series {
    A,
    O,
}

/// Initial letters of a consonant and its series.
fn consonant(c: char) -> Option<(&'static str, Series)> {
    use Series::{A, O};
    let v = match c {
        'ក' => ("k", A),
        'ខ' => ("kh", A),
        'គ' => ("k", O),
        'ឃ' => ("kh", O),
        'ង' => ("ng", O),
        'ច' => ("ch", A),
        'ឆ' => ("chh", A),
        'ជ' => ("ch", O),
        'ឈ' => ("chh", O),
        'ញ' => ("nh", O),
        'ដ' => ("d", A),
        'ឋ' => ("th", A),
        'ឌ' => ("d", O),
        'ឍ' => ("th", O),
        'ណ' => ("n", A),
        'ត' => ("t", A),
        'ថ' => ("th", A),
        'ទ' => ("t", O),
        'ធ' => ("th", O),
        'ន' => ("n", O),
        'ប' => ("b", A),
        'ផ' => ("ph", A),
        'ព' => ("p", O),
        'ភ' => ("ph", O),
        'ម' => ("m", O),
        'យ' => ("y", O),
        'រ' => ("r", O),
        'ល' => ("l", O),
        'វ' => ("v", O),
        'ឝ' | 'ឞ' | 'ស' => ("s", A),
        'ហ' => ("h", A),
        'ឡ' => ("l", A),
        'អ' => ("", A),
        _ => return None,
    };
    Some(v)
}

/// Letters of a consonant written as a syllable final.
fn final_letters(c: char) -> &'static str {
    match c {
        'ប' => "p",
        'ដ' | 'ឌ' => "t",
        _ => consonant(c).map_or("", |(s, _)| s),
    }
}

/// Series-2 sonorants, which take the series of a series-1 subscript.
fn is_sonorant(c: char) -> bool {
    matches!(c, 'ង' | 'ញ' | 'ន' | 'ម' | 'យ' | 'រ' | 'ល' | 'វ')
}

/// Independent vowels, read as whole syllables.
fn independent_vowel(c: char) -> Option<&'static str> {
    Some(match c {
        'ឣ' => "a",
        'ឤ' => "aa",
        'ឥ' => "e",
        'ឦ' => "ei",
        'ឧ' | 'ឨ' => "o",
        'ឩ' => "ou",
        'ឪ' | 'ឳ' => "au",
        'ឫ' | 'ឬ' => "rue",
        'ឭ' | 'ឮ' => "lue",
        'ឯ' => "ae",
        'ឰ' => "ai",
        'ឱ' | 'ឲ' => "ao",
        _ => return None,
    })
}

/// Reading of a dependent vowel sequence (empty = inherent) with the signs ំ and ះ.
fn vowel(v: &str, series: Series, nikahit: bool, reahmuk: bool) -> String {
    let pick = |a: &str, o: &str| if series == Series::A { a.to_string() } else { o.to_string() };
    if nikahit {
        return match v {
            "" => pick("am", "um"),
            "ុ" => pick("om", "um"),
            "ា" => pick("am", "oam"),
            _ => vowel(v, series, false, false) + "m",
        };
    }
    if reahmuk {
        return match v {
            "" => pick("ah", "eah"),
            "ុ" => pick("oh", "uh"),
            "េ" => pick("eh", "ih"),
            "ោ" => pick("aoh", "uoh"),
            _ => vowel(v, series, false, false) + "h",
        };
    }
    match v {
        "" => pick("a", "o"),
        "ា" => pick("a", "ea"),
        "ិ" => pick("e", "i"),
        "ី" => pick("ei", "i"),
        "ឹ" | "ឺ" => pick("oe", "eu"),
        "ុ" => pick("o", "u"),
        "ូ" => pick("ou", "u"),
        "ួ" => "uo".into(),
        "ើ" => pick("aeu", "eu"),
        "ឿ" => "oea".into(),
        "ៀ" => "ie".into(),
        "េ" => "e".into(),
        "ែ" => "ae".into(),
        "ៃ" => pick("ai", "ey"),
        "ោ" => pick("ao", "o"),
        "ៅ" => pick("au", "ou"),
        other => other.chars().map(|c| vowel(&c.to_string(), series, false, false)).collect(),
    }
}

/// One orthographic cluster: base, subscripts, shifter, vowel signs and other signs.
#[derive(Default)]
struct Cluster {
    base: char,
    subs: Vec<char>,
    vowel: String,
    shifter: Option<char>,
    nikahit: bool,
    reahmuk: bool,
    robat: bool,
    silent: bool,
}

impl Cluster {
    fn has_vowel(&self) -> bool {
        !self.vowel.is_empty() || self.nikahit || self.reahmuk
    }
}

/// Splits a normalised Khmer word into clusters; non-Khmer characters are skipped.
fn clusters(word: &str) -> Vec<Cluster> {
    let chars: Vec<char> = word.chars().collect();
    let mut out: Vec<Cluster> = Vec::new();
    let mut k = 0;
    while k < chars.len() {
        let c = chars[k];
        k += 1;
        if ('\u{1780}'..='\u{17B3}').contains(&c) {
            out.push(Cluster { base: c, ..Cluster::default() });
            continue;
        }
        let Some(cur) = out.last_mut() else { continue };
        match c {
            '\u{17D2}' => {
                if let Some(&s) = chars.get(k).filter(|s| ('\u{1780}'..='\u{17B3}').contains(*s)) {
                    cur.subs.push(s);
                    k += 1;
                }
            }
            '\u{17B6}'..='\u{17C5}' => cur.vowel.push(c),
            '\u{17C6}' => cur.nikahit = true,
            '\u{17C7}' | '\u{17C8}' => cur.reahmuk = true,
            '\u{17C9}' | '\u{17CA}' => cur.shifter = Some(c),
            '\u{17CC}' => cur.robat = true,
            '\u{17CD}' => cur.silent = true,
            _ => {}
        }
    }
    out
}

/// A syllable being built: onset letters, vowel reading and final letters.
struct Syllable {
    text: String,
    has_final: bool,
    /// Closed by ំ/ះ or an independent vowel: takes no final consonant.
    sealed: bool,
}

/// Onset letters and series of a cluster's consonants (base plus subscripts).
fn onset(base: char, subs: &[char], shifter: Option<char>) -> (String, Series) {
    let (mut letters, mut series) =
        consonant(base).map_or((String::new(), Series::A), |(l, s)| (l.into(), s));
    if base == 'ប' && shifter == Some('\u{17C9}') {
        letters = "p".into();
    }
    for &s in subs {
        if let Some((l, sub_series)) = consonant(s) {
            letters.push_str(l);
            let stop2 = matches!(s, 'គ' | 'ឃ' | 'ជ' | 'ឈ' | 'ឌ' | 'ឍ' | 'ទ' | 'ធ' | 'ព' | 'ភ');
            if stop2 || (sub_series == Series::A && is_sonorant(base)) {
                series = sub_series;
            }
        }
    }
    match shifter {
        Some('\u{17C9}') => series = Series::A,
        Some('\u{17CA}') => series = Series::O,
        _ => {}
    }
    (letters, series)
}

/// Romanises one Khmer word (no spaces), lower case; see the module docs for the table.
pub fn romanize_word(word: &str) -> String {
    let word = crate::normalize_for_index(word);
    let cl = clusters(&word);
    let mut syllables: Vec<Syllable> = Vec::new();
    for (i, c) in cl.iter().enumerate() {
        if c.silent {
            continue;
        }
        if let Some(iv) = independent_vowel(c.base) {
            syllables.push(Syllable { text: iv.into(), has_final: false, sealed: true });
            continue;
        }
        let open = syllables.last().is_some_and(|s| !s.has_final && !s.sealed);
        let is_last = i + 1 == cl.len();
        let mut subs: &[char] = &c.subs;
        let mut base = c.base;
        if open && !c.has_vowel() && (subs.is_empty() || is_last) {
            let prev = syllables.last_mut().expect("open implies a syllable");
            prev.text.push_str(final_letters(base));
            subs.iter().for_each(|&s| prev.text.push_str(final_letters(s)));
            prev.has_final = true;
            if c.robat {
                prev.text.push('r');
            }
            continue;
        }
        if open && !subs.is_empty() {
            let prev = syllables.last_mut().expect("open implies a syllable");
            prev.text.push_str(final_letters(base));
            prev.has_final = true;
            base = subs[0];
            subs = &subs[1..];
        }
        let (mut text, series) = onset(base, subs, c.shifter);
        text.push_str(&vowel(&c.vowel, series, c.nikahit, c.reahmuk));
        if c.robat {
            text.push('r');
        }
        syllables.push(Syllable { text, has_final: false, sealed: c.nikahit || c.reahmuk });
    }
    syllables.into_iter().map(|s| s.text).collect()
}

/// Romanises text: Khmer words (found by the dictionary segmenter) become lower-case
/// UNGEGN-style Latin separated by spaces; everything else is kept.
pub fn romanize(text: &str) -> String {
    romanize_with(&Segmenter::default(), text)
}

/// [`romanize`] with a given segmenter, so its extra words (names) stay whole.
pub fn romanize_with(segmenter: &Segmenter, text: &str) -> String {
    let mut out = String::new();
    let mut prev_khmer = false;
    let mut last_word = String::new();
    for piece in join_stray_consonants(segmenter.pieces(&crate::normalize_for_index(text))) {
        let khmer = is_khmer(&piece);
        if khmer {
            if prev_khmer {
                out.push(' ');
            }
            last_word = romanize_word(&piece);
            out.push_str(&last_word);
        } else if piece == "ៗ" {
            // repetition sign: the previous word is said twice
            out.push(' ');
            out.push_str(&last_word);
        } else {
            let mapped = crate::khmer_digits_to_ascii(&piece).replace(['។', '៕'], ".").replace('៖', ":");
            out.push_str(&mapped);
        }
        prev_khmer = khmer || piece == "ៗ";
    }
    out
}

/// Whether a piece contains Khmer letters.
fn is_khmer(piece: &str) -> bool {
    piece.chars().any(|c| ('\u{1780}'..='\u{17D3}').contains(&c))
}

/// Glues a lone vowel-less consonant to the Khmer word before it: the dictionary splits
/// unknown names that way (`រ៉ន` → `រ៉` + `ន`), and the consonant is then that word's final.
fn join_stray_consonants(pieces: Vec<(String, bool)>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (piece, _) in pieces {
        let stray = {
            let cl = clusters(&piece);
            cl.len() == 1 && !cl[0].has_vowel() && cl[0].subs.is_empty() && consonant(cl[0].base).is_some()
        };
        match out.last_mut() {
            Some(prev) if stray && is_khmer(prev) => prev.push_str(&piece),
            _ => out.push(piece),
        }
    }
    out
}

/// [`romanize_with`] with every word capitalised, for artist names and titles.
pub fn romanize_name(segmenter: &Segmenter, text: &str) -> String {
    romanize_with(segmenter, text)
        .split(' ')
        .map(|w| {
            let mut cs = w.chars();
            cs.next().map_or(String::new(), |f| f.to_uppercase().chain(cs).collect())
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        assert_eq!(romanize_word("ខ្ញុំ"), "khnhom");
        assert_eq!(romanize_word("ចម្ប៉ា"), "champa");
        assert_eq!(romanize_word("បាត់ដំបង"), "batdambang");
        assert_eq!(romanize_word("កម្ពុជា"), "kampuchea");
        assert_eq!(romanize_word("ស៊ីន"), "sin");
        assert_eq!(romanize_word("អូន"), "oun");
        assert_eq!(romanize_word("ស្រុក"), "srok");
    }

    #[test]
    fn text_keeps_latin_and_maps_digits() {
        let s = Segmenter::default();
        assert_eq!(romanize_name(&s, "ចម្ប៉ាបាត់ដំបង"), "Champa Batdambang");
        assert_eq!(romanize("Song ១៩៦០។"), "Song 1960.");
    }
}
