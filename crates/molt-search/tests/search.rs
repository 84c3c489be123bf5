//! Song search over a real store with songs inserted through it: Khmer
//! fragments typed without spaces, romanised and mixed-script queries, an
//! English description (the real embedding model; its assertions are skipped,
//! with `SKIPPED`, when the model is not installed), hostile input, tiers, and
//! the outbox (changes found after processing, nothing lost in a crash).

use molt_core::catalog::{LyricsSource, NewLyrics, NewSong, StoredAudio};
use molt_core::validate::SongInput;
use molt_core::SongStatus;
use molt_khmer::Segmenter;
use molt_search::{Requester, SearchError, SearchResponse, SearchService, SearchSettings, Tier};
use molt_store::{Database, QueryLogStore, SearchStore, SqliteStore, StoreOptions};
use molt_vector::Embedder;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The model, loaded once for the whole test binary; None (with a notice) when not installed.
fn embedder() -> Option<Arc<dyn Embedder>> {
    static MODEL: OnceLock<Option<Arc<dyn Embedder>>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../molt-data/models")
                .join(molt_ml::E5_MODEL_PATH);
            if !path.is_file() {
                println!("SKIPPED: {} is not installed (scripts/setup.sh installs it)", path.display());
                return None;
            }
            Some(Arc::new(molt_ml::E5Embedder::load(&path).expect("the installed model loads"))
                as Arc<dyn Embedder>)
        })
        .clone()
}

fn segmenter() -> Arc<Segmenter> {
    static SEGMENTER: OnceLock<Arc<Segmenter>> = OnceLock::new();
    SEGMENTER.get_or_init(|| Arc::new(Segmenter::with_names(None))).clone()
}

fn options(dir: &Path) -> StoreOptions {
    StoreOptions {
        path: dir.join("molt.db"),
        backup_dir: dir.join("backups"),
        busy_timeout: Duration::from_millis(500),
        lock_retries: 2,
        read_connections: 2,
    }
}

/// A song of the test catalogue (lyrics written for these tests).
struct Song {
    title: &'static str,
    title_latin: Option<&'static str>,
    artist: &'static str,
    lyrics: &'static str,
    published: bool,
}

const CHAMPA: Song = Song {
    title: "ចម្ប៉ាបាត់ដំបង",
    title_latin: None,
    artist: "ស៊ីន ស៊ីសាមុត",
    lyrics: "ផ្កាចម្ប៉ា ក្រអូប នៅស្រុកបាត់ដំបង\nបងនឹកអូនរាល់ថ្ងៃរាល់យប់\n\nខ្យល់បក់ក្លិនផ្កាមកដល់បង\nអូនឯណាហើយ បងនៅតែរង់ចាំ",
    published: true,
};
const RIVER: Song = Song {
    title: "ទឹកភ្នែកលើទន្លេ",
    title_latin: None,
    artist: "រស់ សេរីសុទ្ធា",
    lyrics: "ទឹកទន្លេហូរទៅឆ្ងាយ\nខ្ញុំយំតែម្នាក់ឯងនៅមាត់ទន្លេ\nចិត្តខ្ញុំសោកសៅព្រោះយើងបែកគ្នា\nទូកលិចបាត់ក្នុងទឹកជ្រៅ",
    published: true,
};
const DANCE: Song = Song {
    title: "រាំវង់សប្បាយ",
    title_latin: Some("Happy Romvong"),
    artist: "ប៉ែន រ៉ន",
    lyrics: "មកយើងរាំវង់ជាមួយគ្នា\nសប្បាយណាស់ពេលបុណ្យចូលឆ្នាំ\nស្គរវាយលឺសូរពេញភូមិ",
    published: true,
};
const RAIN: Song = Song {
    title: "ភ្លៀងលើវាលស្រែ",
    title_latin: None,
    artist: "Sinn Sisamouth",
    lyrics: "ភ្លៀងធ្លាក់មកលើវាលស្រែ\nកសិករញញឹមដោយអំណរ\nស្រូវដុះខៀវខ្ចីពេញវាល",
    published: true,
};
const SECRET: Song = Song {
    title: "បទមិនទាន់ផ្សាយ",
    title_latin: Some("Unreleased Draft"),
    artist: "ប៉ែន រ៉ន",
    lyrics: "ពាក្យសម្ងាត់នៅក្នុងបទនេះ\nមិនទាន់ចេញផ្សាយនៅឡើយ",
    published: false,
};

struct Studio {
    store: SqliteStore,
    service: SearchService,
    dir: tempfile::TempDir,
    next: u32,
}

impl Studio {
    async fn new(with_model: bool) -> Studio {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_migrated(&options(dir.path())).unwrap();
        let service = service(&store, with_model);
        Studio { store, service, dir, next: 0 }
    }

    async fn add(&mut self, song: &Song) -> i64 {
        self.next += 1;
        let n = self.next;
        let metadata = SongInput {
            title: Some(song.title.into()),
            title_latin: song.title_latin.map(Into::into),
            artist: Some(song.artist.into()),
            ..Default::default()
        }
        .validate(2026)
        .unwrap();
        let sha256 = format!("{n:064x}");
        let audio = StoredAudio {
            relative_path: format!("assets/audio_in/{sha256}.wav"),
            sha256,
            mime: "audio/wav".into(),
            bytes: 1000,
            duration_secs: 180.0,
        };
        let id = self.store.create_song(NewSong { metadata, audio }, "test").await.unwrap().id;
        self.store.add_lyrics(id, lyrics(song.lyrics), "test").await.unwrap();
        if song.published {
            for to in [SongStatus::Processing, SongStatus::Review] {
                self.store.set_song_status(id, to, "test", None).await.unwrap();
            }
            self.store.publish_song(id, "test", Some("test catalogue".into())).await.unwrap();
        }
        id
    }

    fn search(&self, tier: Tier, query: &str) -> SearchResponse {
        self.service
            .search(&Requester::new(tier, None), query, None)
            .unwrap_or_else(|e| panic!("{query}: {e}"))
    }

    fn ids(&self, tier: Tier, query: &str) -> Vec<i64> {
        self.search(tier, query).results.iter().map(|r| r.song_id).collect()
    }
}

fn service(store: &SqliteStore, with_model: bool) -> SearchService {
    let embedder = if with_model { embedder() } else { None };
    SearchService::new(Arc::new(store.clone()), embedder, segmenter(), SearchSettings::default())
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

async fn catalogue(with_model: bool) -> (Studio, [i64; 5]) {
    let mut studio = Studio::new(with_model).await;
    let mut ids = [0; 5];
    for (i, song) in [CHAMPA, RIVER, DANCE, RAIN, SECRET].iter().enumerate() {
        ids[i] = studio.add(song).await;
    }
    (studio, ids)
}

#[tokio::test]
async fn khmer_fragments_typed_without_spaces_find_their_song() {
    let (studio, [champa, river, dance, rain, _]) = catalogue(false).await;
    for (fragment, song) in [
        // Starts and ends inside words.
        ("ន្លេហូរទៅឆ្ង", river),
        ("ម្នាក់ឯងនៅមាត់ទន្", river),
        // Spans the spaces of the stored line.
        ("ម្ប៉ាក្រអូបនៅស្រុ", champa),
        // Typed with a zero-width space, and across a line break.
        ("ចិត្តខ្ញុំ\u{200B}សោកសៅ", river),
        ("ដោយអំណរស្រូវដុះ", rain),
        // Whole words, typed with spaces.
        ("រាំវង់ ជាមួយគ្នា", dance),
    ] {
        let response = studio.search(Tier::Anonymous, fragment);
        assert_eq!(response.results.first().map(|r| r.song_id), Some(song), "{fragment}: {response:#?}");
        let top = &response.results[0];
        assert!(top.snippet.contains('«') && top.snippet.contains('»'), "{fragment}: {}", top.snippet);
        assert!(top.snippet_html.contains("<mark>"), "{}", top.snippet_html);
        assert!(top.matched.contains(&"substring"), "{fragment}: {:?}", top.matched);
        assert!(top.match_score > 0.0 && top.match_score <= 1.0);
    }
    // The snippet highlights the fragment where it starts inside a word.
    let top = &studio.search(Tier::Anonymous, "ន្លេហូរទៅឆ្ង").results[0];
    assert_eq!(top.snippet, "ទឹកទ«ន្លេហូរទៅឆ្ង»ាយ");
    assert_eq!(top.snippet_html, "ទឹកទ<mark>ន្លេហូរទៅឆ្ង</mark>ាយ");
    // One or two characters: LIKE.
    assert_eq!(studio.ids(Tier::Anonymous, "ភូ"), [dance]);
    assert_eq!(studio.ids(Tier::Anonymous, "ញញ"), [rain]);
    let one = studio.ids(Tier::Anonymous, "ឆ");
    assert!(one.contains(&river) && one.contains(&dance), "{one:?}");
    let top = &studio.search(Tier::Anonymous, "ញញ").results[0];
    assert_eq!((top.snippet.as_str(), top.matched.as_slice()), ("កសិករ«ញញ»ឹមដោយអំណរ", &["substring"][..]));
}

#[tokio::test]
async fn romanised_and_mixed_script_queries_find_the_khmer_title() {
    let (studio, [champa, river, dance, rain, _]) = catalogue(false).await;
    let top = |q: &str| studio.ids(Tier::Anonymous, q).first().copied();
    // The romanisation of the title is `Champa Batdambang`: loose keys meet the usual spelling.
    assert_eq!(top("champa battambang"), Some(champa));
    assert_eq!(top("Champa Batdambang"), Some(champa));
    assert_eq!(top("champa batt"), Some(champa), "the last word may be half typed");
    let response = studio.search(Tier::Anonymous, "champa battambang");
    assert_eq!(response.results[0].title, "ចម្ប៉ាបាត់ដំបង");
    assert!(response.results[0].snippet.contains("«Champa»"), "{}", response.results[0].snippet);
    // Artist spellings: the Khmer name's romanisation, and a Latin alias.
    let sisamouth = studio.ids(Tier::Anonymous, "Sinn Sisamouth");
    assert!(sisamouth.contains(&rain), "{sisamouth:?}");
    assert!(studio.ids(Tier::Anonymous, "sin sisamuth").contains(&rain));
    assert_eq!(top("happy romvong"), Some(dance));
    assert_eq!(top("tuek phnek"), Some(river), "romanised title words (UNGEGN)");
    // Mixed script.
    assert_eq!(top("Sinn Sisamouth ចម្ប៉ា"), Some(champa));
    assert_eq!(top("ទន្លេ river"), Some(river));
}

#[tokio::test]
async fn an_english_description_finds_the_song_that_means_it() {
    let Some(_) = embedder() else { return };
    let (studio, [champa, river, dance, rain, _]) = catalogue(true).await;
    for (description, song) in [
        ("sad song about a river", river),
        ("crying alone by the water after a breakup", river),
        ("a happy dance for the new year festival", dance),
        ("rain falling on the rice fields", rain),
        ("missing my darling and the scent of flowers", champa),
    ] {
        let response = studio.search(Tier::Anonymous, description);
        let ranked: Vec<_> =
            response.results.iter().map(|r| (r.song_id, r.match_score, &r.matched)).collect();
        println!("{description}: {ranked:?}");
        let first = response.results.first().unwrap_or_else(|| panic!("{description}: nothing"));
        assert_eq!(first.song_id, song, "{description}: {response:#?}");
        assert!(first.matched.contains(&"vector"), "{description}");
        assert!(first.snippet.contains('«'), "{}", first.snippet);
    }
}

#[tokio::test]
async fn hostile_queries_are_answered_or_refused_precisely_never_an_error_inside() {
    let (studio, [champa, river, ..]) = catalogue(false).await;
    let anonymous = Requester::new(Tier::Anonymous, None);
    let search = |q: &str| studio.service.search(&anonymous, q, None);
    // FTS5 syntax is text.
    for q in [
        "\"",
        "\"\"",
        "*",
        "ចម្ប៉ា*",
        "NEAR",
        "NEAR(ចម្ប៉ា ទន្លេ)",
        "(",
        ")",
        "((",
        "OR",
        "ចម្ប៉ា OR ទន្លេ",
        "-ទន្លេ",
        "NOT ទន្លេ",
        "AND",
        "title:ចម្ប៉ា",
        "{title} : x",
        "^ចម្ប៉ា",
        "ចម្ប៉ា\" OR \"",
        "'; DROP TABLE songs; --",
        "%",
        "_",
        "\\",
        "%%%",
    ] {
        let response = search(q).unwrap_or_else(|e| panic!("{q:?}: {e}"));
        assert!(response.results.len() <= 10, "{q}");
    }
    assert_eq!(search("\"ចម្ប៉ា").unwrap().results[0].song_id, champa);
    // OR is a word here, not an operator: as an operator it would find both songs.
    assert!(search("ចម្ប៉ា OR ទន្លេ").unwrap().results.is_empty());
    let ids = |q: &str| search(q).unwrap().results.iter().map(|r| r.song_id).collect::<Vec<_>>();
    assert_eq!(ids("ចម្ប៉ា OR បាត់ដំបង"), [champa]);
    assert_eq!(ids("ចម្ប៉ា NEAR បាត់ដំបង"), [champa]);
    assert!(search("-ទន្លេ").unwrap().results.iter().any(|r| r.song_id == river));
    assert!(search("%").unwrap().results.is_empty(), "a wildcard is a character, and none is stored");

    // Empty, 1 MB, control characters, invalid UTF-8: refused with a precise reason.
    assert!(matches!(search(""), Err(SearchError::Empty)));
    assert_eq!(search(" \n\t ").unwrap_err().to_string(), "empty query");
    let huge = "ក".repeat(350_000);
    let started = std::time::Instant::now();
    let err = search(&huge).unwrap_err();
    assert_eq!(err.to_string(), "the query is 1050000 bytes; the most is 2048 bytes");
    assert!(err.is_invalid_query());
    assert!(started.elapsed() < Duration::from_secs(5));
    let err = search("ចម្ប៉ា\u{0}").unwrap_err();
    assert_eq!(err.to_string(), "the query has a control character (U+0000) at character 7");
    assert!(matches!(search("a\u{1b}[31m"), Err(SearchError::ControlCharacter { code: 0x1b, position: 2 })));
    assert_eq!(search("ចម្ប៉ា\tបាត់ដំបង\r\n").unwrap().query, "ចម្ប៉ា បាត់ដំបង");
    let err = studio.service.search_bytes(&anonymous, b"champa \xff\xfe", None).unwrap_err();
    assert_eq!(err.to_string(), "the query is not valid UTF-8 (bad byte at offset 7)");
    let ok = studio.service.search_bytes(&anonymous, "ចម្ប៉ា".as_bytes(), None).unwrap();
    assert_eq!(ok.results[0].song_id, champa);
}

#[tokio::test]
async fn each_tier_sees_what_it_may_and_no_more() {
    let (mut studio, [champa, _, dance, _, secret]) = catalogue(false).await;
    for n in 0..14 {
        let title: &'static str = Box::leak(format!("ស្នេហា {n}").into_boxed_str());
        let song = Song {
            title, title_latin: None, artist: "Test", lyrics: "អូនជាទីស្រលាញ់", published: true
        };
        studio.add(&song).await;
    }
    // Unpublished songs: found by staff only, whatever the query.
    for q in ["ពាក្យសម្ងាត់", "Unreleased Draft", "សម្ងាត់", "ប៉ែន រ៉ន", "ផ្សាយ", "ទា"]
    {
        for tier in [Tier::Anonymous, Tier::Free, Tier::Premium] {
            assert!(!studio.ids(tier, q).contains(&secret), "{tier} found the unpublished song by {q}");
        }
    }
    assert_eq!(studio.ids(Tier::Staff, "ពាក្យសម្ងាត់").first(), Some(&secret));
    let staff = studio.search(Tier::Staff, "ពាក្យសម្ងាត់");
    assert_eq!(staff.results[0].status, Some(SongStatus::Pending));
    assert!(studio.ids(Tier::Staff, "ប៉ែន រ៉ន").contains(&dance));

    // Anonymous and free: at most 10 results, snippets only.
    let limit = Some(50);
    for tier in [Tier::Anonymous, Tier::Free] {
        let response = studio.service.search(&Requester::new(tier, None), "ស្រលាញ់", limit).unwrap();
        assert_eq!(response.results.len(), 10, "{tier}");
        for r in &response.results {
            assert!(r.lyrics.is_none() && r.lyrics_formats.is_none() && r.status.is_none(), "{tier}");
        }
        let json = serde_json::to_value(&response).unwrap();
        assert!(json["results"][0].get("lyrics").is_none());
        let keys: Vec<&str> = ["query", "results", "response_time_ms"].into();
        assert!(keys.iter().all(|k| json.get(k).is_some()), "{json}");
        for k in ["song_id", "title", "artist", "match_score", "snippet"] {
            assert!(json["results"][0].get(k).is_some(), "{k}: {json}");
        }
    }
    // Premium: full lyrics and the formats to fetch them in; still published songs only.
    let premium = studio.service.search(&Requester::new(Tier::Premium, None), "ស្រលាញ់", limit).unwrap();
    assert_eq!(premium.results.len(), 14);
    let champa_hit = &studio.search(Tier::Premium, "ចម្ប៉ាបាត់ដំបង").results[0];
    assert_eq!(champa_hit.song_id, champa);
    assert_eq!(champa_hit.lyrics.as_deref(), Some(CHAMPA.lyrics));
    assert_eq!(champa_hit.lyrics_formats.as_deref(), Some(&["txt", "json"][..]));
    assert!(champa_hit.status.is_none());
    // Staff: everything.
    let staff = studio.service.search(&Requester::new(Tier::Staff, None), "ស្រលាញ់", Some(100)).unwrap();
    assert_eq!(staff.results.len(), 14);

    // The rule holds after a song is unpublished, with no reindex in between.
    studio.store.set_song_status(champa, SongStatus::Archived, "test", None).await.unwrap();
    assert!(!studio.ids(Tier::Anonymous, "ចម្ប៉ាបាត់ដំបង").contains(&champa));
    assert!(studio.ids(Tier::Staff, "ចម្ប៉ាបាត់ដំបង").contains(&champa));
}

#[tokio::test]
async fn a_lyrics_change_is_found_after_processing_and_a_crash_loses_nothing() {
    let (studio, [champa, ..]) = catalogue(false).await;
    studio.service.process_pending().unwrap();
    assert_eq!(studio.store.search_pending_count().unwrap(), 0);
    assert!(!studio.ids(Tier::Anonymous, "ព្រះចន្ទភ្លឺ").contains(&champa));

    // A new lyrics version: queued in its own transaction, findable after processing.
    studio.store.add_lyrics(champa, lyrics("ព្រះចន្ទភ្លឺលើមេឃ\nបងនឹកអូន"), "editor").await.unwrap();
    assert_eq!(studio.store.search_pending(10).unwrap()[0].reason, "lyrics.version_added");
    let report = studio.service.process_pending().unwrap();
    assert_eq!((report.indexed, report.removed), (1, 0));
    assert_eq!(studio.ids(Tier::Anonymous, "ព្រះចន្ទភ្លឺ"), [champa]);
    assert!(!studio.ids(Tier::Anonymous, "ខ្យល់បក់ក្លិន").contains(&champa), "the old version is gone");

    // A crash between the change and its indexing: the outbox row survives.
    studio.store.add_lyrics(champa, lyrics("ផ្កាយរះពេលយប់ជ្រៅ"), "editor").await.unwrap();
    let Studio { store, service, dir, .. } = studio;
    drop(service);
    drop(store);
    let store = SqliteStore::open_migrated(&options(dir.path())).unwrap();
    assert_eq!(store.search_pending_count().unwrap(), 1);
    let service = service_for(&store);
    let found = service.search(&Requester::new(Tier::Anonymous, None), "ផ្កាយរះពេល", None).unwrap();
    assert_eq!(found.results.first().map(|r| r.song_id), Some(champa));
    assert_eq!(store.search_pending_count().unwrap(), 0);
}

fn service_for(store: &SqliteStore) -> SearchService {
    service(store, false)
}

#[tokio::test]
async fn reindex_rebuilds_everything_with_progress_and_adds_vectors_when_the_model_is_there() {
    let (studio, ids) = catalogue(false).await;
    let first = studio.service.reindex(&|_, _| {}).unwrap();
    assert_eq!(first.indexed, ids.len());
    assert_eq!(first.vectors, 0, "no model: passages without vectors");
    let seen = std::sync::Mutex::new(Vec::new());
    let again = studio.service.reindex(&|done, total| seen.lock().unwrap().push((done, total))).unwrap();
    assert_eq!(again.indexed, ids.len());
    assert_eq!(seen.into_inner().unwrap().last(), Some(&(ids.len(), ids.len())));
    assert_eq!(studio.store.search_pending_count().unwrap(), 0);

    let Some(_) = embedder() else { return };
    // A service with the model queues the songs indexed without it, and embeds them.
    let with_model = service(&studio.store, true);
    let report = with_model.process_pending().unwrap();
    assert_eq!(report.indexed, ids.len());
    assert_eq!(report.vectors, report.passages);
    let hits =
        with_model.search(&Requester::new(Tier::Anonymous, None), "sad song about a river", None).unwrap();
    assert!(hits.results.iter().any(|r| r.matched.contains(&"vector")));
}

#[tokio::test]
async fn rate_limits_are_per_key_and_per_tier() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_migrated(&options(dir.path())).unwrap();
    let mut settings = SearchSettings::default();
    settings.limits.anonymous = 2;
    settings.limits.staff = 4;
    let clock = Arc::new(molt_search::ratelimit::ManualClock::default());
    let service = SearchService::new(Arc::new(store), None, segmenter(), settings).with_clock(clock.clone());
    let ask = |tier, key: &str| service.search(&Requester::new(tier, Some(key.into())), "x", None);
    assert!(ask(Tier::Anonymous, "ip:1").is_ok() && ask(Tier::Anonymous, "ip:1").is_ok());
    let err = ask(Tier::Anonymous, "ip:1").unwrap_err();
    assert!(matches!(err, SearchError::RateLimited { retry_after_secs: 30 }), "{err}");
    // Even an invalid query counts; another key does not.
    assert!(matches!(
        service.search(&Requester::new(Tier::Anonymous, Some("ip:1".into())), "", None),
        Err(SearchError::RateLimited { .. })
    ));
    assert!(ask(Tier::Anonymous, "ip:2").is_ok());
    for _ in 0..4 {
        assert!(ask(Tier::Staff, "token:1").is_ok());
    }
    assert!(ask(Tier::Staff, "token:1").is_err());
    clock.advance(Duration::from_secs(30));
    assert!(ask(Tier::Anonymous, "ip:1").is_ok());
    // Without a key (the CLI), never limited.
    for _ in 0..10 {
        assert!(service.search(&Requester::new(Tier::Anonymous, None), "x", None).is_ok());
    }
}

#[tokio::test]
async fn every_served_query_is_logged_redacted_with_its_intent_tier_and_count() {
    let (mut studio, ids) = catalogue(false).await;
    studio.service = service(&studio.store, false).with_query_log(Arc::new(studio.store.clone()));
    let found = studio.ids(Tier::Free, "ចម្ប៉ា");
    assert_eq!(found.first(), Some(&ids[0]));
    studio.search(Tier::Staff, "champa from dara@example.org +855 12 345 678");
    let log = studio.store.query_log(10).unwrap();
    assert_eq!(log.len(), 2, "{log:?}");
    let (newest, first) = (&log[0], &log[1]);
    assert_eq!((first.tier.as_str(), first.result_count as usize), ("free", found.len()));
    assert_eq!(first.query_redacted, "ចម្ប៉ា");
    assert_eq!(newest.tier, "staff");
    assert!(
        newest.query_redacted.contains("[email]")
            && newest.query_redacted.contains("[phone]")
            && !newest.query_redacted.contains("dara@")
            && !newest.query_redacted.contains("345"),
        "{}",
        newest.query_redacted
    );
    assert!(!newest.intent.is_empty());
}

#[tokio::test]
async fn a_search_that_finds_nothing_suggests_variants_near_matches_and_popular_songs() {
    use molt_search::SuggestionKind::*;
    let (mut studio, [champa, _, dance, rain, secret]) = catalogue(false).await;
    let shadow = Song {
        title: "ស្រមោល", title_latin: None, artist: "Test", lyrics: "ពន្លឺថ្ងៃ", published: true
    };
    let shadow = studio.add(&shadow).await;
    let kinds = |r: &SearchResponse, kind| -> Vec<i64> {
        r.suggestions.iter().filter(|s| s.kind == kind).filter_map(|s| s.song_id).collect()
    };
    // A misspelt Latin title (its romanisation is `Champa Batdambang`).
    let r = studio.search(Tier::Anonymous, "chanpa batdabang");
    assert!(r.results.is_empty(), "{r:#?}");
    assert_eq!(r.suggestions[0].song_id, Some(champa), "{r:#?}");
    assert_eq!((r.suggestions[0].kind, r.suggestions[0].text.as_str()), (Romanisation, "Champa Batdambang"));
    // A Latin title of a song spelt wrong.
    let r = studio.search(Tier::Anonymous, "halpy rotvong");
    assert_eq!(r.suggestions.first().map(|s| (s.song_id, s.kind)), Some((Some(dance), Spelling)), "{r:#?}");
    // A Khmer title with one character off.
    let r = studio.search(Tier::Anonymous, "ស្រមោះ");
    assert!(r.results.is_empty(), "{r:#?}");
    assert_eq!(r.suggestions.first().map(|s| (s.song_id, s.kind)), Some((Some(shadow), Spelling)), "{r:#?}");
    assert_eq!(r.suggestions[0].text, "ស្រមោល");
    // Nothing close: popular (newest published) songs, never the unpublished one.
    let r = studio.search(Tier::Anonymous, "zzqx wvvk");
    assert!(r.results.is_empty());
    assert_eq!(kinds(&r, Popular), [shadow, rain, dance], "{r:#?}");
    // The unpublished song's own title, misspelt: anonymous callers are never offered it; staff are.
    for tier in [Tier::Anonymous, Tier::Free, Tier::Premium] {
        let r = studio.search(tier, "Unrelxsed Drafx");
        assert!(r.suggestions.iter().all(|s| s.song_id != Some(secret)), "{tier}: {r:#?}");
        let r = studio.search(tier, "បទមិនទាន់ផ្សាយ១");
        assert!(r.suggestions.iter().all(|s| s.song_id != Some(secret)), "{tier}: {r:#?}");
    }
    let r = studio.search(Tier::Staff, "Unrelxsed Drafx");
    assert!(r.suggestions.iter().any(|s| s.song_id == Some(secret)), "{r:#?}");
    // Normal answers keep the SOP shape: no `suggestions` field.
    let json = serde_json::to_value(studio.search(Tier::Anonymous, "champa battambang")).unwrap();
    assert!(json.get("suggestions").is_none(), "{json}");
    let json = serde_json::to_value(studio.search(Tier::Anonymous, "zzqx wvvk")).unwrap();
    assert_eq!(json["suggestions"][0]["kind"], "popular", "{json}");
}

#[tokio::test]
async fn popular_suggestions_are_the_most_viewed_published_songs_then_the_newest() {
    use molt_search::SuggestionKind::Popular;
    let (mut studio, [champa, river, dance, rain, secret]) = catalogue(false).await;
    let store = Arc::new(studio.store.clone());
    studio.service = service(&studio.store, false).with_views(store.clone());
    let views = molt_search::ViewCounter::new(store);
    let popular = |studio: &Studio| -> Vec<i64> {
        let r = studio.search(Tier::Anonymous, "zzqx wvvk");
        r.suggestions.iter().filter(|s| s.kind == Popular).filter_map(|s| s.song_id).collect()
    };
    // No views yet: the newest published songs.
    assert_eq!(popular(&studio), [rain, dance, river]);
    for (song, n) in [(champa, 3), (secret, 50), (dance, 1), (champa, 2)] {
        (0..n).for_each(|_| views.record(song));
    }
    assert_eq!(views.pending(), 56);
    // Counted but not stored: nothing changes yet.
    assert_eq!(popular(&studio), [rain, dance, river]);
    assert_eq!(views.flush().unwrap(), 56);
    assert_eq!(views.pending(), 0);
    // champa (5) and dance (1) by views, never the unpublished song, then the newest.
    assert_eq!(popular(&studio), [champa, dance, rain]);
    // Views older than the window do not count.
    (0..9).for_each(|_| views.record(rain));
    views.flush_as("2020-01-01").unwrap();
    assert_eq!(popular(&studio), [champa, dance, rain]);
}

#[tokio::test]
async fn a_committed_change_is_found_by_the_next_query_even_when_queries_skip_the_outbox_lock() {
    let (studio, [champa, ..]) = catalogue(false).await;
    // The first query works through the outbox; once it is empty, queries only look.
    assert!(!studio.ids(Tier::Anonymous, "ព្រះចន្ទភ្លឺ").contains(&champa));
    assert_eq!(studio.store.search_pending_count().unwrap(), 0);
    assert!(!studio.store.search_has_pending().unwrap());

    // A change committed before a query is found by it, with no explicit pass.
    studio.store.add_lyrics(champa, lyrics("ព្រះចន្ទភ្លឺលើមេឃ\nបងនឹកអូន"), "editor").await.unwrap();
    assert!(studio.store.search_has_pending().unwrap());
    assert_eq!(studio.ids(Tier::Anonymous, "ព្រះចន្ទភ្លឺ"), [champa]);
    assert!(!studio.store.search_has_pending().unwrap());

    // Many queries at once right after a change: every one of them finds it.
    studio.store.add_lyrics(champa, lyrics("ផ្កាយរះពេលយប់ជ្រៅ"), "editor").await.unwrap();
    std::thread::scope(|scope| {
        let found: Vec<_> = (0..8).map(|_| scope.spawn(|| studio.ids(Tier::Anonymous, "ផ្កាយរះពេល"))).collect();
        for ids in found {
            assert_eq!(ids.join().unwrap(), [champa]);
        }
    });
    assert_eq!(studio.store.search_pending_count().unwrap(), 0);
}

#[tokio::test]
async fn one_and_two_character_queries_find_titles_then_artists_then_lyrics() {
    let (studio, [champa, river, dance, rain, secret]) = catalogue(false).await;
    studio.service.process_pending().unwrap();
    let like = |f: &str, published_only: bool, limit: usize| -> Vec<i64> {
        studio.store.search_like(f, published_only, limit).unwrap().iter().map(|r| r.song_id).collect()
    };
    // ប៉: in one title (ចម្ប៉ា…), then in the artist ប៉ែន រ៉ន (a published and an unpublished song).
    assert_eq!(like("ប៉", false, 10), [champa, dance, secret]);
    assert_eq!(like("ប៉", true, 10), [champa, dance]);
    assert_eq!(like("ប៉", false, 2), [champa, dance]);
    // វា: a title (ភ្លៀងលើវាលស្រែ), then lyrics (ស្គរវាយ…).
    assert_eq!(like("វា", true, 10), [rain, dance]);
    // And through the service: a two-letter query still finds the lyric match.
    assert!(studio.ids(Tier::Staff, "ទឹ").contains(&river));
}

#[tokio::test]
async fn a_remembered_answer_is_never_served_after_a_change_it_would_show() {
    let (studio, [champa, river, ..]) = catalogue(false).await;
    for _ in 0..2 {
        assert_eq!(studio.ids(Tier::Anonymous, "ចម្ប៉ា").first(), Some(&champa));
    }
    // A status change (no outbox row, a trigger moves the generation): hidden at once.
    studio.store.set_song_status(champa, SongStatus::Archived, "t", None).await.unwrap();
    assert!(!studio.ids(Tier::Anonymous, "ចម្ប៉ា").contains(&champa));
    assert!(studio.ids(Tier::Staff, "ចម្ប៉ា").contains(&champa), "staff still see it");
    studio.store.set_song_status(champa, SongStatus::Published, "t", None).await.unwrap();
    assert_eq!(studio.ids(Tier::Anonymous, "ចម្ប៉ា").first(), Some(&champa));
    // New lyrics (through the outbox): the old answer's snippet is not served again.
    let before = studio.search(Tier::Anonymous, "ទន្លេ");
    assert!(before.results.iter().any(|r| r.song_id == river), "{before:#?}");
    studio.store.add_lyrics(river, lyrics("ទន្លេថ្មីហូរកាត់ភូមិ"), "t").await.unwrap();
    let after = studio.search(Tier::Anonymous, "ទន្លេ");
    let snippet =
        |r: &SearchResponse| r.results.iter().find(|x| x.song_id == river).map(|x| x.snippet.clone());
    assert_ne!(snippet(&before), snippet(&after), "{after:#?}");
    assert!(snippet(&after).unwrap().contains("ថ្មី"), "{after:#?}");
}
