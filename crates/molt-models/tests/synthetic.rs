//! The CTranslate2 parser and the ggml writer on small synthetic models built byte by byte.

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::*;
use molt_models::ct2::{Ct2Model, Dtype};
use molt_models::{ggml_path_for, import_ct2, list_models, read_ggml_header, ModelError, ModelFormat};
use sha2::{Digest, Sha256};

fn import_ok(dir: &Path, model: &Ct2Builder) -> (molt_models::ImportReport, Ggml, Vec<u8>) {
    let src = write_model_dir(&dir.join("m-ct2"), model);
    let dest = dir.join("m.ggml.bin");
    let report = import_ct2(&src, &dest).unwrap();
    let bytes = std::fs::read(&dest).unwrap();
    (report, parse_ggml(&bytes), bytes)
}

fn import_err(model: &Ct2Builder) -> ModelError {
    let tmp = tempfile::tempdir().unwrap();
    let src = write_model_dir(&tmp.path().join("m-ct2"), model);
    let dest = tmp.path().join("out.bin");
    let err = import_ct2(&src, &dest).unwrap_err();
    // Nothing is left behind: no output, no temporary file.
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, vec![std::ffi::OsString::from("m-ct2")], "after {err}");
    err
}

fn tensor<'a>(g: &'a Ggml, name: &str) -> &'a Tensor {
    g.tensors.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("no tensor {name}"))
}

#[test]
fn parser_reads_headers_scalars_and_the_alias_table() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("model.bin");
    synthetic_whisper().write(&path);
    let m = Ct2Model::open(&path).unwrap();
    assert_eq!((m.version, m.spec.as_str(), m.revision), (6, "WhisperSpec", 3));
    assert_eq!(m.variables().len(), synthetic_whisper().vars.len());

    // int8 and int16 scalars.
    assert_eq!(m.scalar("decoder/activation"), Some(3.0));
    assert_eq!(m.get("decoder/activation").unwrap().dtype, Dtype::I8);
    assert_eq!(m.scalar("decoder/pre_norm"), Some(1.0));
    assert_eq!(m.scalar("encoder/num_heads"), Some(2.0));
    assert_eq!(m.get("encoder/num_heads").unwrap().dtype, Dtype::I16);

    // The alias table is read, and lookups follow it.
    assert_eq!(
        m.aliases(),
        &[("decoder/projection/weight".to_string(), "decoder/embeddings/weight".to_string())]
    );
    let via_alias = m.get("decoder/projection/weight").unwrap();
    assert_eq!(via_alias.name, "decoder/embeddings/weight");
    assert_eq!(via_alias.shape, vec![u64::from(N_VOCAB), u64::from(N)]);
    assert_eq!(m.read_f32("decoder/projection/weight").unwrap(), ramp(32, 0.0, 0.125));
    assert!(m.get("no/such/variable").is_none());
}

#[test]
fn alias_cycles_do_not_hang() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("model.bin");
    let mut b = synthetic_whisper();
    b.alias("x", "y").alias("y", "x");
    b.write(&path);
    assert!(Ct2Model::open(&path).unwrap().get("x").is_none());
}

#[test]
fn dtypes_are_widened_and_narrowed() {
    let mut b = synthetic_whisper();
    // A bias stored as f32, one as bf16, and a weight stored as f32 (narrowed to f16 on output).
    let q = "encoder/layer_0/self_attention/linear_1/bias";
    b.remove(q).tensor(q, &[N], F32, &[0.1, -2.5, 3.0, 1e-3]);
    let bf = "decoder/layer_0/ffn/linear_1/bias";
    b.remove(bf).tensor(bf, &[N], BF16, &[1.5, -0.25, 256.0, 3.0]);
    let w = "decoder/layer_0/attention/linear_2/weight";
    let wv: Vec<f32> = (0..16).map(|i| i as f32 / 3.0).collect();
    b.remove(w).tensor(w, &[N, N], F32, &wv);

    let tmp = tempfile::tempdir().unwrap();
    let (_, g, _) = import_ok(tmp.path(), &b);

    // f16 source → f32 output: exact widening.
    let ln = tensor(&g, "encoder.blocks.0.attn_ln.weight");
    assert_eq!(ln.ftype, 0);
    let src = b.vars.iter().find(|v| v.name == "encoder/layer_0/self_attention/layer_norm/gamma").unwrap();
    let expect: Vec<f32> = src.data.chunks(2).map(|c| f16_value(u16::from_le_bytes([c[0], c[1]]))).collect();
    assert_eq!(ln.values(), expect);
    // f32 source → f32 output: bit-exact.
    assert_eq!(tensor(&g, "encoder.blocks.0.attn.out.bias").values(), vec![0.1, -2.5, 3.0, 1e-3]);
    // bf16 source → f32 output.
    assert_eq!(tensor(&g, "decoder.blocks.0.mlp.2.bias").values(), vec![1.5, -0.25, 256.0, 3.0]);
    // f32 source → f16 output: rounded to nearest.
    let out = tensor(&g, "decoder.blocks.0.cross_attn.out.weight");
    assert_eq!(out.ftype, 1);
    for (got, want) in out.values().iter().zip(&wv) {
        assert!((got - want).abs() <= want.abs() / 1024.0, "{got} vs {want}");
    }
}

#[test]
fn import_writes_the_whisper_cpp_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let b = synthetic_whisper();
    let (report, g, bytes) = import_ok(tmp.path(), &b);

    // hparams: n_vocab, audio ctx/state/head/layer, text ctx/state/head/layer, n_mels, ftype.
    assert_eq!(g.hparams, [8, 3, 4, 2, 1, 2, 4, 2, 1, 2, 1]);
    assert_eq!(report.hparams.to_array(), g.hparams);
    assert!(!report.multilingual);
    assert_eq!(report.bytes, bytes.len() as u64);
    assert_eq!(report.sha256, hex::encode(Sha256::digest(&bytes)));
    assert_eq!(read_ggml_header(&tmp.path().join("m.ggml.bin")).unwrap(), report.hparams);

    // Mel filters for n_mels = 2 over 201 bins.
    assert_eq!((g.n_mels, g.n_fft, g.filters.len()), (2, 201, 402));

    // English-only layout: the regular tokens and <|endoftext|> itself, as raw bytes.
    let tokens: Vec<&[u8]> = g.tokens.iter().map(|t| t.as_slice()).collect();
    assert_eq!(tokens, vec![&b"a"[..], b"b", b" the", b"\n", "ក".as_bytes(), b"!", b"<|endoftext|>"]);

    // 5 encoder stem tensors + 15 per encoder block + 2 (ln_post), 2 decoder stem + 24 per block + 2.
    assert_eq!(report.tensors, 5 + 15 + 2 + 2 + 24 + 2);
    assert_eq!(g.tensors.len(), report.tensors);
    let names: HashMap<&str, &Tensor> = g.tensors.iter().map(|t| (t.name.as_str(), t)).collect();
    assert_eq!(names.len(), g.tensors.len(), "duplicate tensor names");
    assert!(!names.contains_key("encoder.blocks.0.attn.key.bias"));
    assert!(!names.contains_key("decoder.blocks.0.cross_attn.key.bias"));

    let src = |name: &str| -> Vec<f32> {
        let v = b.vars.iter().find(|v| v.name == name).unwrap();
        v.data.chunks(2).map(|c| f16_value(u16::from_le_bytes([c[0], c[1]]))).collect()
    };
    // Fused self-attention: rows [0,n) query, [n,2n) key, [2n,3n) value; the key bias dropped.
    let fused = src("encoder/layer_0/self_attention/linear_0/weight");
    let fused_b = src("encoder/layer_0/self_attention/linear_0/bias");
    let n = N as usize;
    for (i, part) in ["query", "key", "value"].iter().enumerate() {
        let t = names[format!("encoder.blocks.0.attn.{part}.weight").as_str()];
        assert_eq!((t.ftype, t.dims.clone()), (1, vec![4, 4]), "{part}");
        assert_eq!(t.values(), fused[i * n * n..(i + 1) * n * n], "{part}");
    }
    assert_eq!(names["encoder.blocks.0.attn.query.bias"].values(), fused_b[..n]);
    assert_eq!(names["encoder.blocks.0.attn.value.bias"].values(), fused_b[2 * n..]);
    // Cross-attention: linear_1 fuses key (rows [0,n)) and value (rows [n,2n)).
    let kv = src("decoder/layer_0/attention/linear_1/weight");
    let kv_b = src("decoder/layer_0/attention/linear_1/bias");
    assert_eq!(names["decoder.blocks.0.cross_attn.key.weight"].values(), kv[..n * n]);
    assert_eq!(names["decoder.blocks.0.cross_attn.value.weight"].values(), kv[n * n..]);
    assert_eq!(names["decoder.blocks.0.cross_attn.value.bias"].values(), kv_b[n..]);
    assert_eq!(
        names["decoder.blocks.0.cross_attn.query.weight"].values(),
        src("decoder/layer_0/attention/linear_0/weight")
    );

    // Dims are written innermost first; conv biases become [n_state, 1].
    assert_eq!(names["encoder.conv1.weight"].dims, vec![3, 2, 4]);
    assert_eq!(names["encoder.conv1.weight"].ftype, 1);
    assert_eq!(names["encoder.conv1.bias"].dims, vec![1, 4]);
    assert_eq!(names["encoder.conv1.bias"].ftype, 0);
    assert_eq!(names["encoder.positional_embedding"].dims, vec![4, 3]);
    assert_eq!(names["encoder.positional_embedding"].ftype, 0);
    assert_eq!(names["decoder.positional_embedding"].ftype, 0);
    assert_eq!(names["decoder.token_embedding.weight"].dims, vec![4, 8]);
    assert_eq!(names["decoder.token_embedding.weight"].ftype, 1);
    assert_eq!(names["decoder.blocks.0.mlp.0.weight"].dims, vec![4, 16]);
    assert_eq!(names["decoder.blocks.0.mlp.2.weight"].dims, vec![16, 4]);
    assert_eq!(names["decoder.ln.bias"].values(), src("decoder/layer_norm/beta"));
    assert_eq!(names["encoder.ln_post.weight"].values(), src("encoder/layer_norm/gamma"));

    // Deterministic: a second import gives the same bytes.
    let again = import_ct2(&tmp.path().join("m-ct2"), &tmp.path().join("again.bin")).unwrap();
    assert_eq!(again.sha256, report.sha256);
}

#[test]
fn multilingual_models_omit_endoftext_from_the_token_table() {
    let mut b = synthetic_whisper();
    let rows = 51865;
    b.remove("decoder/embeddings/weight").tensor(
        "decoder/embeddings/weight",
        &[rows, N],
        F16,
        &vec![0.5; (rows * N) as usize],
    );
    let tmp = tempfile::tempdir().unwrap();
    let (report, g, _) = import_ok(tmp.path(), &b);
    assert!(report.multilingual);
    assert_eq!(g.hparams[0], 51865);
    assert_eq!(g.tokens.len(), 6, "ids below <|endoftext|> only");
}

#[test]
fn num_heads_default_to_64_dims_per_head() {
    let mut b = synthetic_whisper();
    b.remove("encoder/num_heads");
    // State 4 / 64 = 0 heads: rejected, naming the scalar.
    match import_err(&b) {
        ModelError::ShapeMismatch { variable, .. } => assert_eq!(variable, "encoder/num_heads"),
        e => panic!("{e}"),
    }
}

#[test]
fn vocabulary_txt_is_the_fallback_tokenizer() {
    let tmp = tempfile::tempdir().unwrap();
    let src = write_model_dir(&tmp.path().join("m-ct2"), &synthetic_whisper());
    std::fs::remove_file(src.join("tokenizer.json")).unwrap();
    std::fs::write(
        src.join("vocabulary.txt"),
        "a\nb\nĠthe\nĊ\náŀĢ\n!\n<|endoftext|>\n<|startoftranscript|>\n",
    )
    .unwrap();
    let dest = tmp.path().join("m.bin");
    import_ct2(&src, &dest).unwrap();
    let g = parse_ggml(&std::fs::read(&dest).unwrap());
    assert_eq!(g.tokens[2], b" the");
    assert_eq!(g.tokens.len(), 7);
}

#[test]
fn missing_files_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    match import_ct2(tmp.path(), &tmp.path().join("x.bin")).unwrap_err() {
        ModelError::MissingFile { path } => assert!(path.ends_with("model.bin"), "{path:?}"),
        e => panic!("{e}"),
    }
    let src = write_model_dir(&tmp.path().join("m-ct2"), &synthetic_whisper());
    std::fs::remove_file(src.join("tokenizer.json")).unwrap();
    match import_ct2(&src, &tmp.path().join("x.bin")).unwrap_err() {
        ModelError::MissingFile { path } => assert!(path.ends_with("tokenizer.json"), "{path:?}"),
        e => panic!("{e}"),
    }
    assert!(!tmp.path().join("x.bin").exists());
}

#[test]
fn wrong_version_and_spec() {
    let mut b = synthetic_whisper();
    b.version = 5;
    assert!(matches!(import_err(&b), ModelError::UnsupportedVersion { found: 5, .. }));
    let mut b = synthetic_whisper();
    b.spec = "TransformerSpec".into();
    match import_err(&b) {
        ModelError::WrongSpec { found, .. } => assert_eq!(found, "TransformerSpec"),
        e => panic!("{e}"),
    }
}

#[test]
fn truncation_is_reported_where_it_happens() {
    let full = synthetic_whisper().bytes();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("model.bin");
    let what_at = |len: usize| -> String {
        std::fs::write(&path, &full[..len]).unwrap();
        match Ct2Model::open(&path).unwrap_err() {
            ModelError::Truncated { what, len: l, .. } => {
                assert_eq!(l, len as u64);
                what
            }
            e => panic!("at {len}: {e}"),
        }
    };
    assert_eq!(what_at(2), "the format version");
    assert_eq!(what_at(10), "the spec name");
    // Cut inside the embedding's data.
    let emb = full.windows(25).position(|w| w == b"decoder/embeddings/weight").unwrap();
    assert_eq!(what_at(emb + 40), "the data of variable decoder/embeddings/weight");
    // Cut inside the alias table (the last 58 bytes: count + two strings).
    assert_eq!(what_at(full.len() - 58), "the alias count");
    assert_eq!(what_at(full.len() - 10), "the target of alias decoder/projection/weight");
    // And through import_ct2, with nothing left behind.
    let mut b = synthetic_whisper();
    b.aliases.clear();
    let cut = b.bytes();
    let tmp2 = tempfile::tempdir().unwrap();
    let src = write_model_dir(&tmp2.path().join("m-ct2"), &b);
    std::fs::write(src.join("model.bin"), &cut[..cut.len() - 4]).unwrap();
    assert!(matches!(import_ct2(&src, &tmp2.path().join("o.bin")), Err(ModelError::Truncated { .. })));
    assert!(!tmp2.path().join("o.bin").exists());
}

#[test]
fn unknown_and_unsupported_dtypes_name_the_variable() {
    let mut b = synthetic_whisper();
    b.var_mut("encoder/conv2/bias").dtype = 9;
    match import_err(&b) {
        ModelError::UnknownDtype { variable, code, .. } => {
            assert_eq!((variable.as_str(), code), ("encoder/conv2/bias", 9))
        }
        e => panic!("{e}"),
    }
    // An int8-quantised weight (same byte count as 4×4 int8 → use 16 elements).
    let mut b = synthetic_whisper();
    let name = "encoder/layer_0/self_attention/linear_1/weight";
    b.remove(name).raw(name, &[N, N], I8, vec![1; 16]);
    match import_err(&b) {
        ModelError::UnsupportedDtype { variable, dtype, .. } => {
            assert_eq!((variable.as_str(), dtype), (name, "int8"))
        }
        e => panic!("{e}"),
    }
}

#[test]
fn shape_mismatches_name_the_variable() {
    // Wrong dims, consistent byte count.
    let mut b = synthetic_whisper();
    let name = "decoder/layer_0/self_attention/linear_0/weight";
    b.remove(name).tensor(name, &[2 * N, N], F16, &ramp(32, 0.0, 0.125));
    match import_err(&b) {
        ModelError::ShapeMismatch { variable, expected, found, .. } => {
            assert_eq!(variable, name);
            assert_eq!((expected.as_str(), found.as_str()), ("[12, 4]", "[8, 4]"));
        }
        e => panic!("{e}"),
    }
    // Byte count that does not match the dims.
    let mut b = synthetic_whisper();
    b.var_mut("encoder/conv1/bias").dims = vec![5];
    match import_err(&b) {
        ModelError::ShapeMismatch { variable, found, .. } => {
            assert_eq!(variable, "encoder/conv1/bias");
            assert_eq!(found, "8 bytes");
        }
        e => panic!("{e}"),
    }
    // A rank-2 variable given as rank 1.
    let mut b = synthetic_whisper();
    b.var_mut("decoder/embeddings/weight").dims = vec![N_VOCAB * N];
    match import_err(&b) {
        ModelError::ShapeMismatch { variable, .. } => assert_eq!(variable, "decoder/embeddings/weight"),
        e => panic!("{e}"),
    }
}

#[test]
fn missing_variables_are_named() {
    let mut b = synthetic_whisper();
    b.remove("encoder/conv2/bias");
    match import_err(&b) {
        ModelError::MissingVariable { variable, .. } => assert_eq!(variable, "encoder/conv2/bias"),
        e => panic!("{e}"),
    }
    let mut b = synthetic_whisper();
    b.remove("decoder/layer_0/ffn/linear_0/weight");
    match import_err(&b) {
        ModelError::MissingVariable { variable, .. } => {
            assert_eq!(variable, "decoder/layer_0/ffn/linear_0/weight")
        }
        e => panic!("{e}"),
    }
}

#[test]
fn malformed_strings_are_rejected() {
    let mut bytes = synthetic_whisper().bytes();
    // The spec name's trailing NUL (offset 4 + 2 + 11).
    bytes[17] = b'!';
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("model.bin");
    std::fs::write(&path, bytes).unwrap();
    match Ct2Model::open(&path).unwrap_err() {
        ModelError::BadString { offset, .. } => assert_eq!(offset, 4),
        e => panic!("{e}"),
    }
}

#[test]
fn a_failed_import_leaves_an_existing_destination_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let mut b = synthetic_whisper();
    b.remove("decoder/layer_norm/beta");
    let src = write_model_dir(&tmp.path().join("m-ct2"), &b);
    let dest = tmp.path().join("m.bin");
    std::fs::write(&dest, b"previous model").unwrap();
    assert!(import_ct2(&src, &dest).is_err());
    assert_eq!(std::fs::read(&dest).unwrap(), b"previous model");
}

#[test]
fn ggml_header_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("x.bin");
    std::fs::write(&p, b"GGUF and more bytes than four").unwrap();
    assert!(matches!(read_ggml_header(&p), Err(ModelError::BadGgml { .. })));
    let mut short = 0x6767_6d6cu32.to_le_bytes().to_vec();
    short.extend_from_slice(&[0; 10]);
    std::fs::write(&p, &short).unwrap();
    assert!(matches!(read_ggml_header(&p), Err(ModelError::Truncated { len: 14, .. })));
    assert!(matches!(read_ggml_header(&tmp.path().join("none")), Err(ModelError::MissingFile { .. })));
}

#[test]
fn list_models_reports_ggml_files_and_unimported_ct2_dirs() {
    let tmp = tempfile::tempdir().unwrap();
    let models = tmp.path();
    assert!(list_models(&models.join("absent")).is_empty());

    let ct2 = write_model_dir(&models.join("whisper-synth-ct2"), &synthetic_whisper());
    std::fs::create_dir(models.join("other")).unwrap();
    std::fs::write(models.join("other/model.bin"), b"not whisper").unwrap();
    std::fs::write(models.join("notes.txt"), b"hello").unwrap();
    let mut broken = 0x6767_6d6cu32.to_le_bytes().to_vec();
    broken.extend_from_slice(&[1, 2, 3]);
    std::fs::write(models.join("broken.bin"), &broken).unwrap();

    let listed = list_models(models);
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(listed[0].name, "broken");
    assert!(matches!(listed[0].format, ModelFormat::BrokenGgml { .. }));
    let dest = ggml_path_for(models, &ct2);
    assert_eq!(dest, models.join("whisper-synth.ggml.bin"));
    assert_eq!(listed[1].name, "whisper-synth-ct2");
    assert_eq!(listed[1].format, ModelFormat::Ct2NotImported { import_to: dest.clone() });

    let report = import_ct2(&ct2, &dest).unwrap();
    let listed = list_models(models);
    assert_eq!(listed.len(), 2, "{listed:?}");
    let ggml = listed.iter().find(|m| m.name == "whisper-synth").unwrap();
    assert_eq!(ggml.path, dest);
    assert_eq!(ggml.bytes, report.bytes);
    assert_eq!(ggml.format, ModelFormat::Ggml { hparams: report.hparams, multilingual: false });
}
