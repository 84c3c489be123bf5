//! Idempotence and no-panic checks of normalisation on generated strings.

use molt_khmer::{normalize, normalize_for_index};

/// Tiny deterministic xorshift PRNG, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick(&mut self, chars: &[char]) -> char {
        chars[self.below(chars.len())]
    }
}

fn range(a: u32, b: u32) -> Vec<char> {
    (a..=b).filter_map(char::from_u32).collect()
}

/// One random piece: a consonant, a COENG+consonant subscript, a vowel, a sign, an
/// invisible, a Latin letter, a digit or a space.
fn piece(rng: &mut Rng, out: &mut String) {
    let consonants = range(0x1780, 0x17A2);
    let vowels = range(0x17B6, 0x17C5);
    let signs = range(0x17C6, 0x17DD);
    let misc =
        ['\u{200B}', '\u{200C}', '\u{200D}', ' ', 'a', 'Z', 'é', '7', '\u{17E2}', '\u{0301}', '\u{25CC}'];
    match rng.below(8) {
        0 | 1 => out.push(rng.pick(&consonants)),
        2 => {
            out.push('\u{17D2}');
            out.push(rng.pick(&consonants));
        }
        3 | 4 => out.push(rng.pick(&vowels)),
        5 => out.push(rng.pick(&signs)),
        6 => out.push(rng.pick(&misc)),
        _ => out.push(char::from_u32(0x1780 + rng.below(0x80) as u32).unwrap_or('x')),
    }
}

#[test]
fn normalize_is_idempotent_on_generated_strings() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for case in 0..20_000 {
        let mut s = String::new();
        for _ in 0..rng.below(16) {
            piece(&mut rng, &mut s);
        }
        let once = normalize(&s);
        assert_eq!(normalize(&once), once, "case {case}: {:?}", s.escape_unicode().to_string());
        let idx = normalize_for_index(&s);
        assert_eq!(normalize_for_index(&idx), idx, "index case {case}: {:?}", s);
        assert!(!idx.contains('\u{200B}') && !idx.contains('\u{200C}'));
    }
}

#[test]
fn other_functions_never_panic_on_generated_strings() {
    let seg = molt_khmer::Segmenter::new(["ស៊ីសាមុត".to_string()]);
    let mut rng = Rng(0x0123_4567_89AB_CDEF);
    for _ in 0..3_000 {
        let mut s = String::new();
        for _ in 0..rng.below(24) {
            piece(&mut rng, &mut s);
        }
        let _ = seg.segment(&s);
        let _ = molt_khmer::romanize_with(&seg, &s);
        let _ = molt_khmer::detect_script(&s);
        let _ = molt_khmer::detect_legacy(&s);
        let _ = molt_khmer::convert_limon(&s);
        assert_eq!(molt_khmer::khmer_digits_to_ascii(&s).chars().count(), s.chars().count());
    }
}
