//! `GET /api/v1/search` in process: rate limits per key and tier (429 with
//! Retry-After, on a clock that moves only when told), what each tier sees,
//! full lyrics for premium callers only, and refusals of bad queries.

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use molt_core::catalog::{LyricsSource, NewLyrics, NewSong, StoredAudio};
use molt_core::validate::SongInput;
use molt_core::{Config, Role, SongStatus};
use molt_khmer::Segmenter;
use molt_search::ratelimit::{ManualClock, RateLimits};
use molt_search::{SearchService, SearchSettings};
use molt_server::AppState;
use molt_store::{Database, NewToken, SqliteStore, StoreOptions};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

struct Api {
    _dir: tempfile::TempDir,
    store: SqliteStore,
    app: axum::Router,
    clock: Arc<ManualClock>,
}

impl Api {
    async fn new(limits: RateLimits) -> Api {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::load(None, Vec::new()).unwrap();
        config.data_dir = dir.path().join("data");
        let store = SqliteStore::open_migrated(&StoreOptions::from_config(&config)).unwrap();
        let clock = Arc::new(ManualClock::default());
        let settings = SearchSettings { limits, ..SearchSettings::default() };
        let segmenter = Arc::new(Segmenter::with_names(None));
        let search =
            SearchService::new(Arc::new(store.clone()), None, segmenter, settings).with_clock(clock.clone());
        let state = AppState::new(Arc::new(store.clone()), Arc::new(store.clone()), config)
            .with_search(Arc::new(search));
        Api { app: molt_server::router(state), store, clock, _dir: dir }
    }

    async fn unlimited() -> Api {
        Api::new(RateLimits { anonymous: 0, free: 0, premium: 0, staff: 0 }).await
    }

    async fn token(&self, role: Role, name: &str) -> String {
        let issued = molt_catalog::issue_token();
        let token = NewToken { name: name.into(), role, prefix: issued.prefix, sha256: issued.sha256 };
        self.store.create_token(token, "test").await.unwrap();
        issued.secret
    }

    async fn song(&self, n: u32, title: &str, lyrics: &str, published: bool) -> i64 {
        let metadata =
            SongInput {
                title: Some(title.into()), artist: Some("ស៊ីន ស៊ីសាមុត".into()), ..Default::default()
            }
            .validate(2026)
            .unwrap();
        let sha256 = format!("{n:064x}");
        let audio = StoredAudio {
            relative_path: format!("assets/audio_in/{sha256}.wav"),
            sha256,
            mime: "audio/wav".into(),
            bytes: 1000,
            duration_secs: 120.0,
        };
        let id = self.store.create_song(NewSong { metadata, audio }, "test").await.unwrap().id;
        let new = NewLyrics {
            text: lyrics.into(),
            timed: None,
            source: LyricsSource::Human,
            author: "test".into(),
            model: None,
            language: Some("km".into()),
            confidence: None,
        };
        self.store.add_lyrics(id, new, "test").await.unwrap();
        if published {
            for to in [SongStatus::Processing, SongStatus::Review] {
                self.store.set_song_status(id, to, "test", None).await.unwrap();
            }
            self.store.publish_song(id, "test", Some("test".into())).await.unwrap();
        }
        id
    }

    /// GET `path` from `ip`, with a bearer token if given.
    async fn get(
        &self,
        path: &str,
        token: Option<&str>,
        ip: [u8; 4],
    ) -> (StatusCode, Value, axum::http::HeaderMap) {
        let mut request = Request::get(path);
        if let Some(t) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let mut request = request.body(Body::empty()).unwrap();
        request.extensions_mut().insert(ConnectInfo(SocketAddr::from((ip, 40000))));
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null), headers)
    }
}

/// `/api/v1/search?q=<query percent-encoded>`.
fn search(q: &str) -> String {
    let mut out = String::from("/api/v1/search?q=");
    for b in q.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

const A: [u8; 4] = [10, 0, 0, 1];
const B: [u8; 4] = [10, 0, 0, 2];

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after_per_key_and_staff_get_more() {
    let api = Api::new(RateLimits { anonymous: 3, free: 3, premium: 5, staff: 6 }).await;
    let q = &search("ចម្ប៉ា");
    for _ in 0..3 {
        assert_eq!(api.get(q, None, A).await.0, StatusCode::OK);
    }
    let (status, body, headers) = api.get(q, None, A).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(headers[header::RETRY_AFTER], "20", "3 a minute: one every 20 s");
    assert_eq!(body["error"]["code"], "rate_limited");
    assert_eq!(body["error"]["message"], "too many searches; retry after 20 s");
    // Another address has its own allowance.
    assert_eq!(api.get(q, None, B).await.0, StatusCode::OK);

    // A token is its own key, whatever its address, and staff get more.
    let operator = api.token(Role::Operator, "op").await;
    for n in 0..6 {
        assert_eq!(api.get(q, Some(&operator), A).await.0, StatusCode::OK, "staff query {n}");
    }
    let (status, _, headers) = api.get(q, Some(&operator), B).await;
    assert_eq!(
        (status, headers[header::RETRY_AFTER].to_str().unwrap()),
        (StatusCode::TOO_MANY_REQUESTS, "10")
    );
    let other = api.token(Role::Engineer, "eng").await;
    assert_eq!(api.get(q, Some(&other), A).await.0, StatusCode::OK, "another token is another key");
    let free = api.token(Role::Free, "learner").await;
    for _ in 0..3 {
        assert_eq!(api.get(q, Some(&free), A).await.0, StatusCode::OK);
    }
    assert_eq!(api.get(q, Some(&free), A).await.0, StatusCode::TOO_MANY_REQUESTS);

    // Bad queries count too; time refills the bucket.
    assert_eq!(api.get("/api/v1/search?q=", None, A).await.0, StatusCode::TOO_MANY_REQUESTS);
    api.clock.advance(Duration::from_secs(19));
    assert_eq!(api.get(q, None, A).await.0, StatusCode::TOO_MANY_REQUESTS);
    api.clock.advance(Duration::from_secs(1));
    assert_eq!(api.get(q, None, A).await.0, StatusCode::OK);
}

#[tokio::test]
async fn each_tier_sees_what_it_may_and_full_lyrics_are_premium() {
    let api = Api::unlimited().await;
    let champa = api.song(1, "ចម្ប៉ាបាត់ដំបង", "ផ្កាចម្ប៉ា ក្រអូប នៅស្រុកបាត់ដំបង\nបងនឹកអូន", true).await;
    let secret = api.song(2, "បទសម្ងាត់", "ពាក្យសម្ងាត់ផ្កាចម្ប៉ា", false).await;
    for n in 0..12 {
        api.song(10 + n, &format!("ស្នេហា {n}"), "អូនជាទីស្រលាញ់", true).await;
    }
    let premium = api.token(Role::Premium, "p").await;
    let free = api.token(Role::Free, "f").await;
    let staff = api.token(Role::Reviewer, "r").await;

    // A fragment typed without spaces, starting and ending inside words.
    let (status, body, _) = api.get(&search("ម្ប៉ាក្រអូប"), None, A).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["query"], "ម្ប៉ាក្រអូប");
    assert!(body["response_time_ms"].is_u64());
    let top = &body["results"][0];
    assert_eq!(top["song_id"].as_i64(), Some(champa));
    assert_eq!(top["snippet"], "ផ្កាច«ម្ប៉ា ក្រអូប» នៅស្រុកបាត់ដំបង");
    assert!(top.get("lyrics").is_none() && top.get("status").is_none(), "{top}");

    // Unpublished songs: staff only.
    let ids = |body: &Value| -> Vec<i64> {
        body["results"].as_array().unwrap().iter().map(|r| r["song_id"].as_i64().unwrap()).collect()
    };
    for token in [None, Some(free.as_str()), Some(premium.as_str())] {
        let (_, body, _) = api.get(&search("ផ្កាចម្ប៉ា"), token, A).await;
        assert!(!ids(&body).contains(&secret), "{token:?}: {body}");
    }
    let (_, body, _) = api.get(&search("ផ្កាចម្ប៉ា"), Some(&staff), A).await;
    assert!(ids(&body).contains(&secret), "{body}");
    let shown = body["results"].as_array().unwrap().iter().find(|r| r["song_id"] == secret).unwrap();
    assert_eq!(shown["status"], "pending");

    // At most 10 for anonymous and free, whatever limit is asked for.
    for token in [None, Some(free.as_str())] {
        let (_, body, _) = api.get(&format!("{}&limit=50", search("ស្រលាញ់")), token, A).await;
        assert_eq!(body["results"].as_array().unwrap().len(), 10, "{token:?}");
    }
    let (_, body, _) = api.get(&format!("{}&limit=50", search("ស្រលាញ់")), Some(&premium), A).await;
    assert_eq!(body["results"].as_array().unwrap().len(), 12);

    // Premium: the full lyrics in search, and the lyrics documents.
    let (_, body, _) = api.get(&search("ចម្ប៉ាបាត់ដំបង"), Some(&premium), A).await;
    assert_eq!(body["results"][0]["lyrics"], "ផ្កាចម្ប៉ា ក្រអូប នៅស្រុកបាត់ដំបង\nបងនឹកអូន");
    assert_eq!(body["results"][0]["lyrics_formats"], serde_json::json!(["txt", "json"]));
    let lyrics = format!("/api/v1/songs/{champa}/lyrics?format=txt");
    assert_eq!(api.get(&lyrics, None, A).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(api.get(&lyrics, Some(&free), A).await.0, StatusCode::FORBIDDEN);
    let request = Request::get(&lyrics).header(header::AUTHORIZATION, format!("Bearer {premium}"));
    let response = api.app.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&text).contains("បងនឹកអូន"));
    assert_eq!(
        api.get(&format!("/api/v1/songs/{secret}/lyrics"), Some(&premium), A).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn bad_queries_are_refused_precisely_and_syntax_is_plain_text() {
    let api = Api::unlimited().await;
    api.song(1, "ចម្ប៉ាបាត់ដំបង", "ផ្កាចម្ប៉ា", true).await;
    let refused = |body: &Value| (body["error"]["code"].clone(), body["error"]["message"].clone());
    for (path, code, message) in [
        ("/api/v1/search", "empty_query", "empty query"),
        ("/api/v1/search?q=", "empty_query", "empty query"),
        ("/api/v1/search?q=+%20+", "empty_query", "empty query"),
        ("/api/v1/search?q=ab%FFcd", "invalid_utf8", "the query is not valid UTF-8 (bad byte at offset 2)"),
        (
            "/api/v1/search?q=ab%07",
            "control_character",
            "the query has a control character (U+0007) at character 3",
        ),
        ("/api/v1/search?q=a&limit=many", "invalid_limit", "limit must be a whole number of results"),
    ] {
        let (status, body, _) = api.get(path, None, A).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(refused(&body), (Value::from(code), Value::from(message)), "{path}");
    }
    // The longest query a URI can carry (http caps a URI below 64 KiB; hyper answers
    // 414 to longer ones before any handler runs); the service's own 1 MB test is in molt-search.
    let huge = format!("/api/v1/search?q={}", "%E1%9E%80".repeat(7_000));
    let (status, body, _) = api.get(&huge, None, A).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "query_too_long");
    assert_eq!(body["error"]["message"], "the query is 21000 bytes; the most is 2048 bytes");

    for q in ["%22", "NEAR(", "*", "%28%28", "OR", "-x", "a%22+OR+%22b", "%25", "_", "title%3Ax"] {
        let (status, body, _) = api.get(&format!("/api/v1/search?q={q}"), None, A).await;
        assert_eq!(status, StatusCode::OK, "{q}: {body}");
        assert!(body["results"].is_array());
    }
    let (_, body, _) = api.get(&search("\"ចម្ប៉ា*"), None, A).await;
    assert_eq!(body["results"][0]["title"], "ចម្ប៉ាបាត់ដំបង", "{body}");

    let (_, doc, _) = api.get("/api/openapi.json", None, A).await;
    assert!(doc["paths"]["/api/v1/search"]["get"].is_object());
}

#[tokio::test]
async fn a_server_without_search_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::load(None, Vec::new()).unwrap();
    config.data_dir = dir.path().join("data");
    let store = SqliteStore::open_migrated(&StoreOptions::from_config(&config)).unwrap();
    let app = molt_server::router(AppState::new(Arc::new(store.clone()), Arc::new(store), config));
    let response =
        app.oneshot(Request::get("/api/v1/search?q=x").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
}
