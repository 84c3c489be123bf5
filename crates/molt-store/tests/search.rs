//! The search index tables: the outbox the triggers fill, whole-song
//! replacement, the three queries with their quoting, and passage vectors.

use molt_core::catalog::{LyricsSource, NewLyrics, NewSong, StoredAudio};
use molt_core::search::{
    LineVectorOf, SearchEntry, SearchLine, SearchTrigrams, SearchWords, SubstringTerm, WordTerm, WordsQuery,
};
use molt_core::validate::SongInput;
use molt_core::{Role, SongStatus};
use molt_store::{Database, NewToken, SearchStore, SongViews, SqliteStore, StoreOptions, ViewStore};
use std::path::Path;
use std::time::Duration;

fn options(dir: &Path) -> StoreOptions {
    StoreOptions {
        path: dir.join("molt.db"),
        backup_dir: dir.join("backups"),
        busy_timeout: Duration::from_millis(100),
        lock_retries: 1,
        read_connections: 2,
    }
}

fn new_song(n: u32, title: &str, artist: &str) -> NewSong {
    let metadata = SongInput { title: Some(title.into()), artist: Some(artist.into()), ..Default::default() }
        .validate(2026)
        .unwrap();
    let sha256 = format!("{n:064x}");
    NewSong {
        metadata,
        audio: StoredAudio {
            relative_path: format!("assets/audio_in/{sha256}.wav"),
            sha256,
            mime: "audio/wav".into(),
            bytes: 1000,
            duration_secs: 2.5,
        },
    }
}

fn lyrics(text: &str) -> NewLyrics {
    NewLyrics {
        text: text.into(),
        timed: None,
        source: LyricsSource::Human,
        author: "test".into(),
        model: None,
        language: Some("km".into()),
        confidence: None,
    }
}

fn entry(song_id: i64, title: &str, lyrics: &str) -> SearchEntry {
    SearchEntry {
        song_id,
        words: SearchWords { title: title.into(), lyrics: lyrics.into(), ..Default::default() },
        trigrams: SearchTrigrams {
            title: title.replace(' ', ""),
            artist: String::new(),
            lyrics: lyrics.replace(' ', ""),
            loose: "campapatampank".into(),
        },
        lines: vec![SearchLine {
            line_no: 1,
            text: lyrics.into(),
            vector: Some(LineVectorOf { model: "m".into(), embedding: vec![0.6, 0.8] }),
        }],
    }
}

async fn publish(store: &SqliteStore, id: i64) {
    for to in [SongStatus::Processing, SongStatus::Review] {
        store.set_song_status(id, to, "t", None).await.unwrap();
    }
    store.publish_song(id, "t", Some("test".into())).await.unwrap();
}

fn words(store: &SqliteStore, terms: &[&str], published_only: bool) -> Vec<i64> {
    let query = WordsQuery {
        groups: terms.iter().map(|t| vec![WordTerm::Word(t.to_string())]).collect(),
        require_all: true,
        published_only,
        limit: 10,
    };
    store.search_words(&query).unwrap().into_iter().map(|r| r.song_id).collect()
}

#[tokio::test]
async fn every_change_is_queued_in_its_own_transaction_and_indexing_clears_only_what_it_read() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_migrated(&options(dir.path())).unwrap();
    let a = store.create_song(new_song(1, "ចម្ប៉ាបាត់ដំបង", "Sinn Sisamouth"), "t").await.unwrap().id;
    let b = store.create_song(new_song(2, "Other", "Ros Serey Sothea"), "t").await.unwrap().id;
    let pending = store.search_pending(10).unwrap();
    assert_eq!(
        pending.iter().map(|p| (p.song_id, p.reason.as_str())).collect::<Vec<_>>(),
        [(a, "song.created"), (b, "song.created")]
    );

    // Indexed at the generation read: cleared.
    assert!(store.search_put(entry(a, "x", "y"), Some(pending[0].generation)).unwrap());
    // A change after the read: the row stays, with a newer generation.
    store.add_lyrics(b, lyrics("ខ្ញុំស្រលាញ់អូន"), "t").await.unwrap();
    assert!(!store.search_put(entry(b, "x", "y"), Some(pending[1].generation)).unwrap());
    let left = store.search_pending(10).unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!((left[0].song_id, left[0].reason.as_str()), (b, "lyrics.version_added"));
    assert!(left[0].generation > pending[1].generation);

    // A new alias of the artist queues the artist's songs.
    store.create_song(new_song(3, "Third", "sinn  sisamouth"), "t").await.unwrap();
    store.write(|c| Ok(c.execute("INSERT INTO artist_aliases (artist_id, alias, alias_key) SELECT artist_id, 'Sin Sisamuth', 'sin sisamuth' FROM songs WHERE id = 1", [])?)).unwrap();
    let queued: Vec<i64> = store.search_pending(10).unwrap().iter().map(|p| p.song_id).collect();
    assert!(queued.contains(&a) && queued.contains(&3), "{queued:?}");

    // A status change needs no reindex: queries read the status as they run.
    store.search_put(entry(b, "x", "y"), None).unwrap();
    let before = store.search_pending_count().unwrap();
    store.set_song_status(b, SongStatus::Processing, "t", None).await.unwrap();
    assert_eq!(store.search_pending_count().unwrap(), before);

    assert_eq!(store.search_queue_all("reindex").unwrap(), 3);
    assert_eq!(store.search_pending_count().unwrap(), 3);
}

#[tokio::test]
async fn queries_match_khmer_words_fragments_and_short_text_and_hide_unpublished_songs() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_migrated(&options(dir.path())).unwrap();
    let a = store.create_song(new_song(1, "a", "a"), "t").await.unwrap().id;
    let b = store.create_song(new_song(2, "b", "b"), "t").await.unwrap().id;
    store.search_put(entry(a, "ចម្ប៉ា បាត់ដំបង", "ខ្ញុំ ស្រលាញ់ អូន"), None).unwrap();
    store.search_put(entry(b, "other title", "ស្រលាញ់ \"quoted\" 50% off_"), None).unwrap();
    publish(&store, a).await;

    // Whole Khmer words, never fragments of them (the marks are token characters).
    assert_eq!(words(&store, &["ស្រលាញ់"], false), [a, b]);
    assert_eq!(words(&store, &["ស្រលាញ់"], true), [a]);
    assert!(words(&store, &["ស្រ"], false).is_empty(), "a piece of a word is not a word");
    assert_eq!(words(&store, &["ស្រលាញ់", "អូន"], false), [a]);
    // Syntax in terms is text, never operators.
    for hostile in ["\"", "*", "NEAR", "(", ")", "OR", "-", "AND", "NOT", "^", ":", "{", "quoted\" OR \"a"] {
        assert!(words(&store, &[hostile], false).is_empty(), "{hostile}");
    }
    assert_eq!(words(&store, &["\"quoted\""], false), [b]);

    // Substrings without spaces, starting and ending inside words.
    let frag = |f: &str, p: bool| -> Vec<i64> {
        let groups = [vec![SubstringTerm::Text(f.to_string())]];
        store.search_trigrams(&groups, p, 10).unwrap().iter().map(|r| r.song_id).collect()
    };
    assert_eq!(frag("ញុំស្រលា", false), [a]);
    assert_eq!(frag("ប៉ាបាត់ដំ", true), [a]);
    assert!(frag("ញុំស្រលា", false).len() == 1 && frag("zzz", false).is_empty());
    assert_eq!(frag("NEAR(\"", false), Vec::<i64>::new());
    // Loose keys only in their own column, and a group needs one of its alternatives.
    let loose = |k: &str| vec![SubstringTerm::Loose(k.into())];
    assert_eq!(store.search_trigrams(&[loose("patampa")], false, 10).unwrap().len(), 2);
    assert!(frag("patampa", false).is_empty(), "loose keys are not text");
    let either = vec![SubstringTerm::Text("zzzz".into()), SubstringTerm::Loose("patamp".into())];
    let both = [either, vec![SubstringTerm::Text("ញុំស្រ".into())]];
    assert_eq!(
        store.search_trigrams(&both, false, 10).unwrap().iter().map(|r| r.song_id).collect::<Vec<_>>(),
        [a]
    );

    // One or two characters: LIKE, wildcards escaped.
    let like = |f: &str, p: bool| -> Vec<i64> {
        store.search_like(f, p, 10).unwrap().iter().map(|r| r.song_id).collect()
    };
    assert_eq!(like("%", false), [b]);
    assert_eq!(like("_", false), [b]);
    assert_eq!(like("ប៉", false), [a]);
    assert!(like("ប៉", false).len() == 1 && like("ញ់", true) == [a]);
    assert_eq!(like("ot", false), [b], "a title match first");

    let statuses = store.song_statuses(&[a, b, 99]).unwrap();
    assert_eq!((statuses[&a], statuses[&b], statuses.len()), (SongStatus::Published, SongStatus::Pending, 2));
}

#[tokio::test]
async fn the_word_index_total_follows_puts_and_removals_as_a_count_would() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_migrated(&options(dir.path())).unwrap();
    assert_eq!(store.search_words_total().unwrap(), 0);
    let count = || {
        store
            .read(|c| Ok(c.query_row("SELECT count(*) FROM search_words", [], |r| r.get::<_, i64>(0))?))
            .unwrap()
    };
    for n in 1..=140 {
        let id = store.create_song(new_song(n, "t", "a"), "t").await.unwrap().id;
        store.search_put(entry(id, "t", "l"), None).unwrap();
    }
    store.search_put(entry(1, "again", "l"), None).unwrap();
    store.search_remove(2, None).unwrap();
    // 139 needs two bytes as a varint: the multi-byte path is read too.
    assert_eq!((store.search_words_total().unwrap(), count()), (139, 139));
}

#[tokio::test]
async fn passages_keep_their_vectors_and_the_fingerprint_moves_on_every_replacement() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_migrated(&options(dir.path())).unwrap();
    let a = store.create_song(new_song(1, "a", "a"), "t").await.unwrap().id;
    let empty = store.search_lines_fingerprint().unwrap();
    store.search_put(entry(a, "t", "l"), None).unwrap();
    let first = store.search_lines_fingerprint().unwrap();
    store.search_put(entry(a, "t", "l"), None).unwrap();
    let second = store.search_lines_fingerprint().unwrap();
    assert!(empty != first && first != second, "{empty:?} {first:?} {second:?}");
    let lines = store.search_line_vectors("m").unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!((lines[0].song_id, lines[0].embedding.clone()), (a, vec![0.6, 0.8]));
    assert!(store.search_line_vectors("other").unwrap().is_empty());

    // Lines without a vector are queued once a model is there.
    let mut bare = entry(a, "t", "l");
    bare.lines[0].vector = None;
    let generation = store.search_pending(1).unwrap()[0].generation;
    assert!(store.search_put(bare, Some(generation)).unwrap());
    assert_eq!(store.search_pending_count().unwrap(), 0);
    assert_eq!(store.search_queue_missing_vectors("m").unwrap(), 1);
    assert_eq!(store.search_queue_missing_vectors("m").unwrap(), 0, "already queued");

    // A song that is gone has its rows removed.
    assert!(!store.search_put(entry(42, "t", "l"), None).unwrap());
    store.search_remove(a, None).unwrap();
    assert_eq!(store.search_lines_fingerprint().unwrap().0, 0);
    store.search_optimize().unwrap();
}

#[tokio::test]
async fn learner_tokens_can_be_stored_and_the_migration_rolls_back_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_migrated(&options(dir.path())).unwrap();
    store.create_song(new_song(1, "a", "a"), "t").await.unwrap();
    let token = |name: &str, role: Role| NewToken {
        name: name.into(),
        role,
        prefix: "p".into(),
        sha256: format!("{name:0>64}"),
    };
    store.create_token(token("op", Role::Operator), "t").await.unwrap();
    let premium = store.create_token(token("pr", Role::Premium), "t").await.unwrap();
    assert_eq!(premium.role, Role::Premium);
    // Later migrations (the query log and after) come first.
    assert_eq!(
        store.rollback(6).unwrap().versions,
        [
            "20261121000012",
            "20261121000011",
            "20261121000010",
            "20261121000009",
            "20261121000008",
            "20261121000007"
        ]
    );
    // A premium token cannot be represented before this migration: rollback refuses.
    assert!(store.rollback(1).is_err());
    store.revoke_token(premium.id, "t").await.unwrap();
    store.write(move |c| Ok(c.execute("DELETE FROM api_tokens WHERE id = ?1", [premium.id])?)).unwrap();
    assert_eq!(store.rollback(1).unwrap().versions, ["20261121000006"]);
    store.migrate().unwrap();
    assert_eq!(store.list_tokens().await.unwrap().len(), 1);
    assert_eq!(store.search_pending_count().unwrap(), 1, "existing songs are queued by the migration");
}

fn views(song_id: i64, day: &str, views: u64) -> SongViews {
    SongViews { song_id, day: day.into(), views }
}

fn popular(store: &SqliteStore, since_day: &str, limit: usize) -> Vec<(i64, String, u64)> {
    let songs = store.popular_songs(since_day, limit).unwrap();
    songs.into_iter().map(|p| (p.song_id, p.title, p.views)).collect()
}

#[tokio::test]
async fn views_add_up_per_day_and_popular_songs_are_published_ones_most_viewed_since_a_day() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_migrated(&options(dir.path())).unwrap();
    let mut ids = Vec::new();
    for n in 1..=4 {
        ids.push(store.create_song(new_song(n, &format!("song {n}"), "a"), "t").await.unwrap().id);
    }
    let [a, b, c, d] = ids[..] else { unreachable!() };
    for id in [a, b, c] {
        publish(&store, id).await;
    }
    let batch = [
        views(a, "2026-11-01", 50), // before the window
        views(a, "2026-11-20", 2),
        views(b, "2026-11-20", 3),
        views(b, "2026-11-21", 1),
        views(c, "2026-11-21", 4),
        views(d, "2026-11-21", 99),  // not published: never popular
        views(999, "2026-11-21", 7), // no such song: dropped, not an error
    ];
    assert_eq!(store.record_views(&batch).unwrap(), 50 + 2 + 3 + 1 + 4 + 99);
    assert_eq!(store.record_views(&[views(a, "2026-11-21", 1)]).unwrap(), 1);
    // b: 4, c: 4 (tie: the newer song first), a: 3 since the 20th.
    assert_eq!(
        popular(&store, "2026-11-20", 10),
        [(c, "song 3".into(), 4), (b, "song 2".into(), 4), (a, "song 1".into(), 3)]
    );
    assert_eq!(popular(&store, "2026-10-01", 1), [(a, "song 1".into(), 53)]);
    assert!(popular(&store, "2026-12-01", 10).is_empty());

    // A bad day refuses the whole batch: nothing of it is stored.
    let refused = store.record_views(&[views(a, "2026-11-21", 5), views(b, "21/11/2026", 1)]);
    assert!(refused.unwrap_err().to_string().contains("YYYY-MM-DD"));
    let ids: Vec<(i64, u64)> =
        popular(&store, "2026-11-21", 10).into_iter().map(|(id, _, n)| (id, n)).collect();
    assert_eq!(ids, [(c, 4), (b, 1), (a, 1)]);
    assert!(store.popular_songs("yesterday", 10).is_err());
}

/// The single LIKE scan 1–2 character fragments were answered with before
/// they got three early-stopping scans (title, artist, lyrics).
fn like_as_one_scan(store: &SqliteStore, fragment: &str, published_only: bool, limit: usize) -> Vec<i64> {
    let mut pattern = String::from("%");
    for c in fragment.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    let status = published_only.then_some("published");
    store
        .read(|c| {
            let mut stmt = c.prepare(
                "SELECT t.rowid,
                    CASE WHEN +t.title LIKE ?1 ESCAPE '\\' THEN 0.0
                         WHEN +t.artist LIKE ?1 ESCAPE '\\' THEN 1.0 ELSE 2.0 END AS score
                 FROM search_trigrams t JOIN songs s ON s.id = t.rowid
                 WHERE (+t.title LIKE ?1 ESCAPE '\\' OR +t.artist LIKE ?1 ESCAPE '\\'
                        OR +t.lyrics LIKE ?1 ESCAPE '\\')
                   AND (?2 IS NULL OR s.status = ?2)
                 ORDER BY score, t.rowid LIMIT ?3",
            )?;
            let ids = stmt.query_map(rusqlite::params![pattern, status, limit as i64], |r| r.get(0))?;
            Ok(ids.collect::<Result<Vec<i64>, _>>()?)
        })
        .unwrap()
}

#[tokio::test]
async fn short_fragments_find_titles_then_artists_then_lyrics_exactly_as_the_single_scan_did() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_migrated(&options(dir.path())).unwrap();
    let titles = ["ចម្ប៉ា", "ទឹកភ្នែក", "រាំវង់", "ភ្លៀង", "off_50%", "", "ស្រលាញ់"];
    let artists = ["ប៉ែនរ៉ន", "ស៊ីនស៊ីសាមុត", "", "រស់សេរីសុទ្ធា", "a\\b"];
    let lyrics = ["ខ្ញុំស្រលាញ់អូន", "ទឹកទន្លេហូរ", "", "ផ្កាចម្ប៉ាក្រអូប", "សប្បាយណាស់", "x_y%z"];
    let mut ids = Vec::new();
    for n in 0..40u32 {
        let i = n as usize;
        let id = store.create_song(new_song(n + 1, "t", "a"), "t").await.unwrap().id;
        let mut e = entry(id, "", "");
        e.trigrams = SearchTrigrams {
            title: titles[i % titles.len()].into(),
            artist: artists[(i / 2) % artists.len()].into(),
            lyrics: lyrics[(i / 3) % lyrics.len()].into(),
            loose: String::new(),
        };
        store.search_put(e, None).unwrap();
        if n % 3 != 0 {
            publish(&store, id).await;
        }
        ids.push(id);
    }
    let like = |f: &str, p: bool, limit: usize| -> Vec<i64> {
        store.search_like(f, p, limit).unwrap().iter().map(|r| r.song_id).collect()
    };
    // A title match, then artist matches, then lyric matches, each by id.
    let found = like("ប៉", false, 100);
    let with_title: Vec<i64> = (0..40).step_by(titles.len()).map(|i| ids[i]).collect();
    assert_eq!(found[..with_title.len()], with_title, "ចម្ប៉ា: every seventh song's title");
    assert_eq!(found[with_title.len()], ids[1], "then ប៉ែនរ៉ន: the second song's artist");
    let fragments =
        ["ប៉", "ទឹ", "ក", "ា", "ស្", "រ", "%", "_", "\\", "x", "X", "_Y", "ញ", "zz", "ទ", "ន្", "ប", "កក"];
    let same_as_one_scan = || {
        for fragment in fragments {
            for published_only in [false, true] {
                for limit in [1, 2, 3, 5, 8, 13, 100] {
                    assert_eq!(
                        like(fragment, published_only, limit),
                        like_as_one_scan(&store, fragment, published_only, limit),
                        "{fragment:?} published_only={published_only} limit={limit}"
                    );
                }
            }
        }
    };
    same_as_one_scan();
    // Songs indexed before the letter index existed are in it once migrated.
    assert_eq!(store.rollback(2).unwrap().versions, ["20261121000012", "20261121000011"]);
    store.migrate().unwrap();
    same_as_one_scan();
}
