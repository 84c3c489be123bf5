//! Imports of the real faster-whisper models installed by `scripts/setup.sh`. Each test prints
//! a SKIPPED notice and passes when its model is absent (CI runs setup first, so it runs there).

mod common;

use std::time::Instant;

use common::*;
use molt_models::{import_ct2, read_ggml_header};

#[test]
fn tiny_en_imports_deterministically() {
    let Some(src) = installed_model("whisper-tiny-en-ct2") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a.bin"), tmp.path().join("b.bin"));

    let t = Instant::now();
    let first = import_ct2(&src, &a).unwrap();
    println!("tiny.en: {} bytes in {:?}, sha256 {}", first.bytes, t.elapsed(), first.sha256);
    let h = first.hparams;
    assert_eq!(h.n_vocab, 51864);
    assert_eq!((h.n_audio_ctx, h.n_audio_state, h.n_audio_head, h.n_audio_layer), (1500, 384, 6, 4));
    assert_eq!((h.n_text_ctx, h.n_text_state, h.n_text_head, h.n_text_layer), (448, 384, 6, 4));
    assert_eq!((h.n_mels, h.ftype), (80, 1));
    assert!(!first.multilingual);
    assert_eq!(first.tensors, 5 + 4 * 15 + 2 + 2 + 4 * 24 + 2);
    assert_eq!(read_ggml_header(&a).unwrap(), h);

    let g = parse_ggml(&std::fs::read(&a).unwrap());
    assert_eq!(g.tokens.len(), 50257, "regular tokens plus <|endoftext|>");
    assert_eq!(g.tokens[50256], b"<|endoftext|>");
    assert_eq!(g.tokens[262], b" the");
    assert_eq!(g.tensors.len(), first.tensors);
    let emb = g.tensors.iter().find(|t| t.name == "decoder.token_embedding.weight").unwrap();
    assert_eq!((emb.dims.clone(), emb.ftype), (vec![384, 51864], 1));

    let second = import_ct2(&src, &b).unwrap();
    assert_eq!(second, first, "same input, same bytes");
}

#[test]
fn base_imports_at_the_size_of_upstream_ggml_base() {
    let Some(src) = installed_model("whisper-base-ct2") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("base.bin");
    let t = Instant::now();
    let r = import_ct2(&src, &dest).unwrap();
    println!("base: {} bytes in {:?}, sha256 {}", r.bytes, t.elapsed(), r.sha256);
    let h = r.hparams;
    assert_eq!(h.n_vocab, 51865);
    assert_eq!((h.n_audio_state, h.n_audio_head, h.n_audio_layer), (512, 8, 6));
    assert_eq!((h.n_text_state, h.n_text_head, h.n_text_layer), (512, 8, 6));
    assert_eq!((h.n_audio_ctx, h.n_text_ctx, h.n_mels), (1500, 448, 80));
    assert!(r.multilingual);
    assert_eq!(r.bytes, 147_951_465);
    assert_eq!(std::fs::metadata(&dest).unwrap().len(), 147_951_465);
}

#[test]
fn installed_models_are_listed() {
    let Some(base) = installed_model("whisper-base-ct2") else { return };
    let models_dir = base.parent().unwrap();
    let listed = molt_models::list_models(models_dir);
    for name in ["whisper-base-ct2", "whisper-tiny-en-ct2"] {
        let dir = models_dir.join(name);
        if !dir.join("model.bin").is_file() {
            continue;
        }
        let ggml = molt_models::ggml_path_for(models_dir, &dir);
        // Either imported already (listed as a ggml file) or offered for import.
        let found = listed.iter().any(|m| match &m.format {
            molt_models::ModelFormat::Ggml { .. } => m.path == ggml,
            molt_models::ModelFormat::Ct2NotImported { import_to } => m.path == dir && *import_to == ggml,
            molt_models::ModelFormat::BrokenGgml { .. } => false,
        });
        assert!(found, "{name} not listed: {listed:#?}");
    }
    // The embeddings model and the manifest are neither.
    assert!(listed.iter().all(|m| !m.name.contains("e5") && !m.name.contains("MANIFEST")), "{listed:#?}");
}
