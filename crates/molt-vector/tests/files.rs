//! The file path of the benchmark against ChromaDB (`examples/file_bench.rs`):
//! vectors written to raw `f32` files come back bit for bit, load into the
//! indexes, and are scored against the exact answer. No timing is asserted.

mod support;

use molt_vector::Hit;
use support::files;

const DIM: usize = 384;

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("molt-vector-files-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn vectors_round_trip_through_files_and_are_searched() {
    let dir = temp_dir("run");
    let mut generator = support::EmbeddingLike::new(DIM, 7);
    let vectors = generator.take(2_000);
    let queries = generator.take(25);
    let (vpath, qpath) = (dir.join("vectors.f32"), dir.join("queries.f32"));
    files::write_rows(&vpath, &vectors).unwrap();
    files::write_rows(&qpath, &queries).unwrap();
    assert_eq!(std::fs::metadata(&vpath).unwrap().len(), 2_000 * DIM as u64 * 4);

    let read = files::read_rows(&vpath, DIM).unwrap();
    let bits = |rows: &[Vec<f32>]| rows.iter().flatten().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&read), bits(&vectors));
    let read_queries = files::read_rows(&qpath, DIM).unwrap();
    assert_eq!(read_queries.len(), 25);

    let report = files::run(&read, &read_queries, &[10, 200], 3).unwrap();
    assert_eq!((report.n, report.dim, report.queries), (2_000, DIM, 25));
    assert_eq!(report.at.iter().map(|a| a.k).collect::<Vec<_>>(), vec![10, 200]);
    for at in &report.at {
        assert_eq!(at.molt.found.len(), 25);
        assert!(at.molt.found.iter().all(|hits| hits.len() == at.k));
        // The exact scan is the truth: it matches an f64 brute force.
        for (q, found) in read_queries.iter().zip(&at.exact.found).take(5) {
            assert!(support::recall(found, &support::brute_force(&read, q, at.k)) >= 0.99);
        }
        // k = 200 on 2,000 vectors: the pool (max(k, 10) × 20) holds every
        // vector, so the answer is exact. k = 10: measured 0.876 on this set;
        // small sets are where sign bits rank worst (a plateau of near-equal
        // cosines), so the bound is loose; it is deterministic (fixed seed).
        let floor = if at.k == 200 { 1.0 } else { 0.8 };
        assert!(at.recall >= floor, "recall@{} {}", at.k, at.recall);
        assert_eq!(at.recall, files::mean_recall(&at.molt.found, &at.exact.found));
        assert!(at.molt.p50 <= at.molt.p99 && at.exact.p50 <= at.exact.p99);
    }
    let json = report.to_json();
    for key in ["\"n\":2000", "\"dim\":384", "\"k\":10,", "\"k\":200,", "\"recall\":", "\"build_s\":"] {
        assert!(json.contains(key), "{key} missing from {json}");
    }

    let ids = dir.join("ids.i64");
    let found = vec![vec![Hit { id: 3, score: 0.9 }], vec![]];
    files::write_ids(&ids, &found, 2).unwrap();
    let bytes = std::fs::read(&ids).unwrap();
    let back: Vec<i64> = bytes.chunks_exact(8).map(|b| i64::from_le_bytes(b.try_into().unwrap())).collect();
    assert_eq!(back, vec![3, -1, -1, -1]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_file_that_is_not_whole_rows_is_rejected() {
    let dir = temp_dir("bad");
    let path = dir.join("short.f32");
    std::fs::write(&path, vec![0u8; 4 * DIM + 4]).unwrap();
    assert!(files::read_rows(&path, DIM).unwrap_err().contains("not a whole number"));
    std::fs::write(&path, molt_vector::encode(&[f32::NAN, 0.0])).unwrap();
    assert!(files::read_rows(&path, 2).unwrap_err().contains("row 0"));
    assert!(files::read_rows(&dir.join("missing.f32"), DIM).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}
