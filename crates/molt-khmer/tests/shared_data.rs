//! Checks against the shared hand-checked samples in `/work/shared/testdata/khmer`
//! (reached as `../../../shared/testdata/khmer` from this crate, or `$MOLT_KHMER_TESTDATA`).

use std::path::PathBuf;

use molt_khmer::{khmer_digits_to_ascii, normalize, normalize_for_index};

fn data_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("MOLT_KHMER_TESTDATA") {
        return PathBuf::from(dir);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/khmer")
}

/// Rows of a TSV file without its header, or `None` when the shared data is absent
/// (a checkout without `/work/shared` skips these tests rather than failing).
pub fn rows(name: &str) -> Option<Vec<Vec<String>>> {
    let text = std::fs::read_to_string(data_dir().join(name)).ok()?;
    Some(
        text.lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.split('\t').map(unescape).collect())
            .collect(),
    )
}

/// Decodes the literal `\uXXXX` escapes the TSV files use.
fn unescape(field: &str) -> String {
    let mut out = String::new();
    let mut rest = field;
    while let Some(pos) = rest.find("\\u") {
        out.push_str(&rest[..pos]);
        let hex = rest.get(pos + 2..pos + 6).unwrap_or("");
        match u32::from_str_radix(hex, 16).ok().and_then(char::from_u32) {
            Some(c) if hex.len() == 4 => {
                out.push(c);
                rest = &rest[pos + 6..];
            }
            _ => {
                out.push_str("\\u");
                rest = &rest[pos + 2..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn normalization_tsv() {
    let Some(rows) = rows("normalization.tsv") else { return };
    assert!(rows.len() >= 5);
    for row in rows {
        let (input, expected) = (&row[0], &row[1]);
        let got = if input.contains('\u{200B}') { normalize_for_index(input) } else { normalize(input) };
        assert_eq!(&got, expected, "{}", row.get(2).map_or("", |s| s));
    }
    assert_eq!(khmer_digits_to_ascii("២០២៦").parse::<u32>().ok(), Some(2026));
}

/// Extension list used by the project for names (the shared set's names).
fn name_words() -> Vec<String> {
    ["ស៊ីសាមុត", "ស៊ីន", "បាត់ដំបង", "ចម្ប៉ា", "សេរីសុទ្ធា", "កម្ពុជា"].map(String::from).to_vec()
}

#[test]
fn segmentation_tsv() {
    let Some(rows) = rows("segmentation.tsv") else { return };
    let seg = molt_khmer::Segmenter::new(name_words());
    let plain = molt_khmer::Segmenter::default();
    let (mut exact, mut as_icu, mut ext_exact) = (0, 0, 0);
    let (mut ok_words, mut total_words) = (0, 0);
    for row in &rows {
        let text = normalize_for_index(&row[0]);
        let split = |s: &str| -> Vec<String> { s.split(" | ").map(normalize_for_index).collect() };
        let expected = split(&row[1]);
        let icu_expected = if row[2] == "same" { expected.clone() } else { split(&row[2]) };
        let got_plain = plain.segment(&text);
        let got = seg.segment(&text);
        as_icu += usize::from(got_plain == icu_expected);
        exact += usize::from(got_plain == expected);
        ext_exact += usize::from(got == expected);
        total_words += expected.len();
        ok_words += expected.iter().filter(|w| got.contains(w)).count();
        if got != expected {
            eprintln!("differs: {got:?}\n expected {expected:?}");
        }
    }
    eprintln!(
        "segmentation: {} lines; plain ICU matches the recorded dictionary output on {as_icu}, \
         the expected words on {exact}; with names {ext_exact}; words found {ok_words}/{total_words}",
        rows.len()
    );
    assert_eq!(as_icu, rows.len(), "ICU output drifted from the recorded dictionary_output");
    assert!(ext_exact >= exact);
}

/// Comparison key: lower case, letters and digits only (spaces and hyphens dropped).
fn key(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// Edit distance between two keys.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (diag + usize::from(ca != cb)).min(row[j] + 1).min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[test]
fn names_tsv_romanisation() {
    let Some(rows) = rows("names.tsv") else { return };
    let seg = molt_khmer::Segmenter::new(name_words());
    let (mut exact, mut close) = (0, 0);
    for row in &rows {
        let got = molt_khmer::romanize_name(&seg, &row[0]);
        let spellings: Vec<&str> = row[1].split(" | ").collect();
        let best = spellings.iter().map(|s| distance(&key(&got), &key(s))).min().unwrap_or(usize::MAX);
        let limit = key(spellings[0]).chars().count().div_ceil(4);
        eprintln!("{} -> {got} (best edit distance {best}, close if <= {limit})", row[0]);
        exact += usize::from(best == 0);
        close += usize::from(best <= limit);
    }
    eprintln!("romanisation: {} names, {exact} exact, {close} close (exact included)", rows.len());
    assert_eq!(close, rows.len(), "every name should romanise close to a spelling in use");
}
