//! `molt bench corpus`, `recall` and `search` through the real binary, on a
//! small corpus (30 synthetic songs plus the reference songs) with the real e5
//! model. Skipped, with `SKIPPED`, when the model is not installed
//! (scripts/setup.sh installs it). Nothing here depends on timing.

mod common;

use common::{stderr, stdout, Studio};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The installed models directory, or None (with a notice).
fn models() -> Option<PathBuf> {
    let dir = repo().join("molt-data/models");
    if dir.join(molt_ml::E5_MODEL_PATH).is_file() {
        Some(dir)
    } else {
        println!("SKIPPED: the e5 model is not installed under {}", dir.display());
        None
    }
}

fn json(studio: &Studio, args: &[&str]) -> Value {
    let out = studio.run(args.iter().copied().chain(["--json"]));
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

/// Every song as stored, in id order: what "the same corpus" means.
fn songs(data: &Path) -> Vec<String> {
    let db = rusqlite::Connection::open(data.join("molt.db")).unwrap();
    let mut stmt = db
        .prepare(
            "SELECT s.title, s.title_latin, s.year, s.album, s.status, a.name_km, a.name_latin, l.text
             FROM songs s JOIN artists a ON a.id = s.artist_id JOIN lyrics_versions l ON l.song_id = s.id
             ORDER BY s.id",
        )
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            let year: Option<i64> = r.get(2)?;
            let fields: Vec<Option<String>> =
                [0, 1, 3, 4, 5, 6, 7].iter().map(|&i| r.get(i)).collect::<Result<_, _>>()?;
            Ok(format!("{year:?} {fields:?}"))
        })
        .unwrap();
    rows.collect::<Result<_, _>>().unwrap()
}

fn count(data: &Path, sql: &str) -> i64 {
    rusqlite::Connection::open(data.join("molt.db")).unwrap().query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn a_small_corpus_is_deterministic_published_indexed_and_finds_the_reference_songs() {
    let Some(models) = models() else { return };
    let studio = Studio::new().with_env("MOLT_WHISPER__MODEL_DIR", &models.display().to_string());
    let [a, b] = ["a", "b"].map(|d| studio.dir.path().join(d));
    let corpus = |dir: &Path| {
        json(&studio, &["bench", "corpus", "--songs", "30", "--seed", "7", "--data", dir.to_str().unwrap()])
    };
    let made = corpus(&a);
    corpus(&b);
    let references = made["reference"].as_object().unwrap().len();
    assert!(references >= 12, "{made}");
    assert_eq!(made["songs"], 30 + references as u64);
    assert!(made["khmer_words"].as_u64().unwrap() > 300, "{made}");

    // The same seed makes the same songs, all published, every passage with a vector.
    let (songs_a, songs_b) = (songs(&a), songs(&b));
    assert_eq!(songs_a, songs_b);
    assert_eq!(songs_a.len(), 30 + references);
    assert_eq!(count(&a, "SELECT count(*) FROM songs WHERE status <> 'published'"), 0);
    assert_eq!(count(&a, "SELECT count(*) FROM search_lines WHERE embedding IS NULL"), 0);
    assert!(count(&a, "SELECT count(*) FROM search_lines") > 3 * songs_a.len() as i64);
    // A corpus is never written over.
    let again = studio.run(["bench", "corpus", "--songs", "30", "--data", a.to_str().unwrap()]);
    assert!(!again.status.success() && stderr(&again).contains("already has a database"));

    let file = repo().join("bench/search/fragments.tsv");
    let report =
        json(&studio, &["bench", "recall", "--data", a.to_str().unwrap(), "--file", file.to_str().unwrap()]);
    println!("{report:#}");
    let fragments = &report["kinds"]["fragment"];
    assert!(fragments["queries"].as_u64().unwrap() >= 50, "{report}");
    assert!(fragments["recall"].as_f64().unwrap() >= 0.95, "{report:#}");
    assert!(report["kinds"]["romanised"]["recall"].as_f64().unwrap() >= 0.95, "{report:#}");

    // The latency bench: every query answered, and its answers written for a
    // side-by-side diff; the same seed asks the same queries and gets the same answers.
    let answers = |name: &str| {
        let path = studio.dir.path().join(name);
        let args = ["bench", "search", "--data", a.to_str().unwrap(), "--queries", "20", "--cold-only"];
        let report = json(&studio, &[&args[..], &["--answers", path.to_str().unwrap()]].concat());
        assert_eq!(report["cold"]["n"], 20, "{report}");
        std::fs::read_to_string(path).unwrap()
    };
    let first = answers("answers-1.tsv");
    assert_eq!(first, answers("answers-2.tsv"));
    let lines: Vec<&str> = first.lines().collect();
    assert_eq!(lines.len(), 20, "{first}");
    assert!(lines.iter().all(|l| l.split('\t').count() == 2), "{first}");
    let found = lines.iter().filter(|l| !l.ends_with('\t')).count();
    assert!(found >= 15, "most queries come from the corpus and find something: {first}");
    // A bad output path is refused before measuring; answers and query paths are one or the other.
    let data = a.to_str().unwrap();
    let dir = studio.run(["bench", "search", "--data", data, "--queries", "5", "--answers", data]);
    assert!(!dir.status.success() && stderr(&dir).contains("is a directory, not a file"), "{}", stderr(&dir));
    let both =
        studio.run(["bench", "search", "--data", data, "--answers", "x.tsv", "--write-queries", "y.txt"]);
    assert_eq!(both.status.code(), Some(2), "{}", stderr(&both));
    assert!(stderr(&both).contains("cannot be used with"), "{}", stderr(&both));
}
