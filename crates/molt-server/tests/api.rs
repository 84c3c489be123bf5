//! The HTTP API in process: authentication, permissions, uploads and their
//! refusals, the OpenAPI document.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use molt_core::{Config, Role, SongStatus};
use molt_server::AppState;
use molt_store::{Database, NewToken, SqliteStore, StoreOptions, ViewStore};
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;

struct Api {
    _dir: tempfile::TempDir,
    config: Config,
    data: std::path::PathBuf,
    store: SqliteStore,
    views: Arc<molt_search::ViewCounter>,
    app: axum::Router,
}

impl Api {
    async fn new(max_bytes: u64) -> Api {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::load(None, Vec::new()).unwrap();
        config.data_dir = dir.path().join("data");
        config.audio.max_bytes = max_bytes;
        config.server.anonymous_page_limit = 2;
        let store = SqliteStore::open_migrated(&StoreOptions::from_config(&config)).unwrap();
        let views = Arc::new(molt_search::ViewCounter::new(Arc::new(store.clone())));
        let app = molt_server::router(
            AppState::new(Arc::new(store.clone()), Arc::new(store.clone()), config.clone())
                .with_views(views.clone()),
        );
        Api { data: config.data_dir.clone(), config, _dir: dir, store, views, app }
    }

    async fn token(&self, role: Role) -> String {
        let issued = molt_catalog::issue_token();
        let token =
            NewToken { name: format!("{role}-test"), role, prefix: issued.prefix, sha256: issued.sha256 };
        self.store.create_token(token, "test").await.unwrap();
        issued.secret
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, Value, axum::http::HeaderMap) {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null), headers)
    }

    async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut request = Request::get(path);
        if let Some(t) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let (s, v, _) = self.send(request.body(Body::empty()).unwrap()).await;
        (s, v)
    }

    async fn upload(&self, token: Option<&str>, parts: &[Part<'_>]) -> (StatusCode, Value) {
        let (content_type, body) = multipart(parts);
        let mut request = Request::post("/api/v1/songs").header(header::CONTENT_TYPE, content_type);
        if let Some(t) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let (s, v, _) = self.send(request.body(Body::from(body)).unwrap()).await;
        (s, v)
    }

    async fn song_count(&self) -> usize {
        self.store
            .read(|c| Ok(c.query_row("SELECT count(*) FROM songs", [], |r| r.get::<_, i64>(0))?))
            .unwrap() as usize
    }

    fn leftover_files(&self) -> usize {
        ["assets/audio_in", "tmp"]
            .iter()
            .filter_map(|d| std::fs::read_dir(self.data.join(d)).ok())
            .map(|entries| entries.count())
            .sum()
    }
}

enum Part<'a> {
    Text(&'a str, &'a [u8]),
    File(&'a str, &'a [u8]),
}

fn multipart(parts: &[Part<'_>]) -> (String, Vec<u8>) {
    let boundary = "molt-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match part {
            Part::Text(name, value) => {
                body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
                );
                body.extend_from_slice(value);
            }
            Part::File(file_name, bytes) => {
                body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"audio\"; filename=\"{file_name}\"\r\n\
                         Content-Type: audio/mpeg\r\n\r\n"
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(bytes);
            }
        }
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn wav(n: u32) -> Vec<u8> {
    molt_media::testing::sine_wav(1.5, 16_000, 1, 200.0 + f64::from(n) * 7.0)
}

/// A refusal: the status, the error code, and nothing stored.
async fn assert_refused(api: &Api, (status, body): (StatusCode, Value), want: StatusCode, code: &str) {
    assert_eq!(status, want, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    assert_eq!(api.song_count().await, 0);
    assert_eq!(api.leftover_files(), 0);
}

#[tokio::test]
async fn health_ready_and_openapi() {
    let api = Api::new(1 << 20).await;
    assert_eq!(api.get("/health", None).await.0, StatusCode::OK);
    let (status, ready) = api.get("/ready", None).await;
    assert_eq!((status, ready["status"].as_str()), (StatusCode::OK, Some("ready")));
    let (status, doc) = api.get("/api/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in ["/health", "/ready", "/api/v1/songs", "/api/v1/songs/{id}", "/api/v1/status"] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
    assert!(
        doc["paths"]["/api/v1/songs"]["post"]["requestBody"]["content"]["multipart/form-data"].is_object()
    );
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

#[tokio::test]
async fn operator_uploads_and_anonymous_sees_only_published_songs() {
    let api = Api::new(1 << 20).await;
    let op = api.token(Role::Operator).await;
    let audio = wav(1);
    let (status, song) = api
        .upload(
            Some(&op),
            &[
                Part::Text("title", "ស្នេហ៍ដំបូង".as_bytes()),
                Part::Text("artist", b"Ros Sereysothea"),
                Part::Text("year", b"1972"),
                Part::File("song.wav", &audio),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{song}");
    assert_eq!(song["title"], "ស្នេហ៍ដំបូង");
    assert_eq!(song["status"], "pending");

    let (_, listed) = api.get("/api/v1/songs", Some(&op)).await;
    assert_eq!(listed["songs"].as_array().unwrap().len(), 1);
    let (_, anon) = api.get("/api/v1/songs", None).await;
    assert_eq!(anon["songs"].as_array().unwrap().len(), 0, "pending songs are not public");
    assert_eq!(api.get("/api/v1/songs/1", None).await.0, StatusCode::NOT_FOUND);

    let id = song["id"].as_i64().unwrap();
    api.store.set_song_status(id, SongStatus::Processing, "t", None).await.unwrap();
    api.store.set_song_status(id, SongStatus::Review, "t", None).await.unwrap();
    api.store.set_song_status(id, SongStatus::Published, "t", None).await.unwrap();
    let (_, anon) = api.get("/api/v1/songs", None).await;
    assert_eq!(anon["songs"][0]["id"], id);
    assert_eq!(api.get("/api/v1/songs/1", None).await.0, StatusCode::OK);
    // Learners' reads of a published song are views; staff reads and refusals are not.
    assert_eq!(api.get("/api/v1/songs/1", Some(&op)).await.0, StatusCode::OK);
    assert_eq!(api.get("/api/v1/songs/1", None).await.0, StatusCode::OK);
    assert_eq!(api.views.pending(), 2);
    assert_eq!(api.views.flush().unwrap(), 2);
    let popular = api.store.popular_songs(&molt_core::time::day_ago(0), 5).unwrap();
    assert_eq!(popular.iter().map(|p| (p.song_id, p.views)).collect::<Vec<_>>(), [(id, 2)]);

    // Anonymous pages are capped (anonymous_page_limit = 2), and filters are staff-only.
    let (_, page) = api.get("/api/v1/songs?limit=500&status=pending", None).await;
    assert_eq!(page["songs"].as_array().unwrap().len(), 1, "status filter ignored for anonymous: {page}");
}

#[tokio::test]
async fn permissions_are_checked_on_every_route() {
    let api = Api::new(1 << 20).await;
    let audio = wav(2);
    let parts = [Part::Text("title", b"t"), Part::Text("artist", b"a"), Part::File("a.wav", &audio)];
    let (status, body) = api.upload(None, &parts).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthenticated")));
    let engineer = api.token(Role::Engineer).await;
    let (status, body) = api.upload(Some(&engineer), &parts).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
    let (status, body) = api.get("/api/v1/songs", Some("molt_not-a-real-token")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_token")));
    let (status, _) = api.get("/api/v1/songs?status=pending", Some(&engineer)).await;
    assert_eq!(status, StatusCode::OK, "engineers may read every song");
    assert_eq!(api.song_count().await, 0);

    let revoked = api.token(Role::Operator).await;
    let id = api.store.list_tokens().await.unwrap().last().unwrap().id;
    api.store.revoke_token(id, "test").await.unwrap();
    assert_eq!(api.get("/api/v1/songs", Some(&revoked)).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_uploads_get_precise_errors_and_leave_nothing() {
    let api = Api::new(100_000).await;
    let op = api.token(Role::Operator).await;
    let good = wav(3);
    let fake_mp3 = b"ID3 not really an mp3, just text\n".repeat(40);
    let big = molt_media::testing::sine_wav(4.0, 16_000, 1, 440.0); // 128 kB > 100 kB

    let cases: Vec<(Vec<Part>, StatusCode, &str)> = vec![
        (
            vec![Part::Text("artist", b"a"), Part::File("a.wav", &good)],
            StatusCode::BAD_REQUEST,
            "missing_field",
        ),
        (
            vec![Part::Text("title", b"t"), Part::Text("artist", b"a"), Part::File("a.mp3", &fake_mp3)],
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "audio_unrecognised_format",
        ),
        (
            vec![Part::Text("title", b"t"), Part::Text("artist", b"a"), Part::File("a.mp3", b"")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "audio_empty",
        ),
        (
            vec![Part::Text("title", b"t"), Part::Text("artist", b"a"), Part::File("big.wav", &big)],
            StatusCode::PAYLOAD_TOO_LARGE,
            "audio_too_large",
        ),
        (
            vec![Part::Text("title", b"T\xff\xfe"), Part::Text("artist", b"a"), Part::File("a.wav", &good)],
            StatusCode::BAD_REQUEST,
            "invalid_utf8",
        ),
        (
            vec![
                Part::Text("title", b"t"),
                Part::Text("artist", b"a"),
                Part::File("../../etc/passwd", &good),
            ],
            StatusCode::BAD_REQUEST,
            "unsafe_file_name",
        ),
        (
            vec![Part::Text("title", b"t"), Part::Text("artist", b"a")],
            StatusCode::BAD_REQUEST,
            "missing_field",
        ),
        (
            vec![
                Part::Text("title", b"t"),
                Part::Text("artist", b"a"),
                Part::Text("owner", b"x"),
                Part::File("a.wav", &good),
            ],
            StatusCode::BAD_REQUEST,
            "unknown_field",
        ),
        (
            vec![
                Part::Text("title", b"t"),
                Part::Text("artist", b"a"),
                Part::Text("year", b"3024"),
                Part::File("a.wav", &good),
            ],
            StatusCode::BAD_REQUEST,
            "implausible_year",
        ),
    ];
    for (parts, status, code) in cases {
        let response = api.upload(Some(&op), &parts).await;
        assert_refused(&api, response, status, code).await;
    }

    let request = Request::post("/api/v1/songs")
        .header(header::AUTHORIZATION, format!("Bearer {op}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{}"))
        .unwrap();
    let (status, body, _) = api.send(request).await;
    assert_refused(&api, (status, body), StatusCode::BAD_REQUEST, "expected_multipart").await;
}

#[tokio::test]
async fn sql_metacharacters_are_stored_verbatim_and_duplicates_conflict() {
    let api = Api::new(1 << 20).await;
    let op = api.token(Role::Operator).await;
    let audio = wav(4);
    let title = "x'); DELETE FROM songs; -- <b>";
    let parts =
        [Part::Text("title", title.as_bytes()), Part::Text("artist", b"a"), Part::File("a.wav", &audio)];
    let (status, song) = api.upload(Some(&op), &parts).await;
    assert_eq!(status, StatusCode::CREATED, "{song}");
    assert_eq!(song["title"], title);
    let (status, body) = api.upload(Some(&op), &parts).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("duplicate_audio")));
    assert_eq!(api.song_count().await, 1);
    assert_eq!(api.leftover_files(), 1);
}

#[tokio::test]
async fn responses_carry_a_request_id() {
    let api = Api::new(1 << 20).await;
    let (_, _, headers) = api.send(Request::get("/health").body(Body::empty()).unwrap()).await;
    assert!(headers.get("x-request-id").is_some());
    let request = Request::get("/health").header("x-request-id", "abc-123").body(Body::empty()).unwrap();
    let (_, _, headers) = api.send(request).await;
    assert_eq!(headers.get("x-request-id").unwrap(), "abc-123");
}

#[tokio::test]
async fn lyrics_are_imported_as_versions_and_exported_in_every_format() {
    let api = Api::new(1 << 20).await;
    let op = api.token(Role::Operator).await;
    let audio = wav(9);
    let (_, song) = api
        .upload(
            Some(&op),
            &[Part::Text("title", b"t"), Part::Text("artist", b"a"), Part::File("a.wav", &audio)],
        )
        .await;
    let id = song["id"].as_i64().unwrap();
    let lrc = "[00:01.00]ខ្ញុំស្រលាញ់អូន\n[00:04.50]ណាស់\n";
    let post = |token: Option<String>, format: &str, body: &str| {
        let mut request = Request::post(format!("/api/v1/songs/{id}/lyrics?format={format}"));
        if let Some(t) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        request.body(Body::from(body.to_string())).unwrap()
    };
    let (status, version, _) = api.send(post(Some(op.clone()), "lrc", lrc)).await;
    assert_eq!(status, StatusCode::CREATED, "{version}");
    assert_eq!((version["version"].as_u64(), version["source"].as_str()), (Some(1), Some("human")));

    let export = |format: &str| {
        Request::get(format!("/api/v1/songs/{id}/lyrics?format={format}"))
            .header(header::AUTHORIZATION, format!("Bearer {op}"))
            .body(Body::empty())
            .unwrap()
    };
    let response = api.app.clone().oneshot(export("vtt")).await.unwrap();
    assert_eq!(response.headers()[header::CONTENT_TYPE], "text/vtt; charset=utf-8");
    let vtt = String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert!(vtt.starts_with("WEBVTT") && vtt.contains("00:00:01.000 --> 00:00:04.500\nខ្ញុំស្រលាញ់អូន"), "{vtt}");
    let response = api.app.clone().oneshot(export("lrc")).await.unwrap();
    let round = String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert!(round.contains("[00:01.00]ខ្ញុំស្រលាញ់អូន"), "{round}");

    let (status, body, _) = api.send(post(Some(op.clone()), "lrc", "[00:01.00]ok\n[99:99.99]broken\n")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_lyrics"))
    );
    assert!(body["error"]["message"].as_str().unwrap().contains("line 2"), "{body}");
    let (status, body, _) = api.send(post(Some(op.clone()), "docx", "x")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unsupported_format"))
    );
    let engineer = api.token(Role::Engineer).await;
    assert_eq!(api.send(post(Some(engineer), "lrc", lrc)).await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        api.get(&format!("/api/v1/songs/{id}/lyrics"), None).await.0,
        StatusCode::NOT_FOUND,
        "unpublished"
    );
    assert_eq!(api.store.lyrics_versions(id).await.unwrap().len(), 1, "refused imports add nothing");
}

impl Api {
    async fn send_json(&self, method: &str, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let (s, v, _) = self.send(request).await;
        (s, v)
    }
}

#[tokio::test]
async fn review_decisions_over_http_follow_roles_and_the_rights_gate() {
    let api = Api::new(1 << 20).await;
    let (op, reviewer, engineer) =
        (api.token(Role::Operator).await, api.token(Role::Reviewer).await, api.token(Role::Engineer).await);
    let audio = wav(7);
    let parts = [
        Part::Text("title", "ចម្ប៉ាបាត់ដំបង".as_bytes()),
        Part::Text("artist", b"Sinn Sisamouth"),
        Part::File("s.wav", &audio),
    ];
    let id = api.upload(Some(&op), &parts).await.1["id"].as_i64().unwrap();
    api.store.set_song_status(id, SongStatus::Processing, "t", None).await.unwrap();
    api.store.set_song_status(id, SongStatus::Review, "t", None).await.unwrap();

    let (status, queue) = api.get("/api/v1/review", Some(&reviewer)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(queue[0]["song"]["id"], id);
    assert_eq!(queue[0]["needs_rights_override"], true, "rights are unknown by default");
    assert_eq!(api.get("/api/v1/review", Some(&engineer)).await.0, StatusCode::FORBIDDEN);

    let approve = format!("/api/v1/songs/{id}/approve");
    let (status, body) = api.send_json("POST", &approve, &engineer, serde_json::json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = api.send_json("POST", &approve, &reviewer, serde_json::json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("conflict")), "{body}");
    let (status, _) =
        api.send_json("POST", &approve, &reviewer, serde_json::json!({"override_rights": "ok"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "reviewers cannot override rights");
    let (status, body) = api.send_json("POST", &approve, &reviewer, serde_json::json!({"surprise": 1})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_body")));

    let rights = format!("/api/v1/songs/{id}/rights");
    assert_eq!(
        api.send_json("PUT", &rights, &reviewer, serde_json::json!({"rights": "family_held"})).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, body) =
        api.send_json("PUT", &rights, &op, serde_json::json!({"rights": "family-held"})).await;
    assert_eq!((status, body["rights_status"].as_str()), (StatusCode::OK, Some("family_held")), "{body}");
    let (status, body) = api.send_json("POST", &approve, &reviewer, serde_json::json!({})).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("published")), "{body}");

    let reject = format!("/api/v1/songs/{id}/reject");
    let (status, _) = api.send_json("POST", &reject, &reviewer, serde_json::json!({"reason": "late"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "a published song is not in review");
    let (status, body) = api
        .send_json("POST", &reject, &reviewer, serde_json::json!({"reason": "x", "to_stage": "mastering"}))
        .await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_stage")));
}

#[tokio::test]
async fn song_status_is_for_staff_until_the_song_is_published() {
    use molt_core::jobs::NewJob;
    use molt_store::PipelineStore;
    let api = Api::new(1 << 20).await;
    let op = api.token(Role::Operator).await;
    let free = api.token(Role::Free).await;
    let audio = wav(3);
    let parts = [
        Part::Text("title", "ចម្ប៉ាបាត់ដំបង".as_bytes()),
        Part::Text("artist", b"Sinn Sisamouth"),
        Part::File("s.wav", &audio),
    ];
    let (_, song) = api.upload(Some(&op), &parts).await;
    let id = song["id"].as_i64().unwrap();
    api.store.enqueue_job(NewJob::stage(id, molt_core::Stage::Transcribe)).unwrap();

    let path = format!("/api/v1/songs/{id}/status");
    let (status, answer) = api.get(&path, Some(&op)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!((answer["status"].as_str(), answer["stage"].as_str()), (Some("pending"), Some("transcribe")));
    assert_eq!(
        (answer["job"]["state"].as_str(), answer["job"]["jobs_ahead"].as_u64()),
        (Some("queued"), Some(0))
    );
    assert_eq!(answer["progress"], "0 of 4 stages done");
    assert_eq!(answer["eta"]["basis"], "defaults", "{answer}");
    assert!(answer["eta"]["seconds"].as_u64().unwrap() > 0);
    assert!(answer["summary"].as_str().unwrap().contains("stage 1 of 4 (transcribe) queued"), "{answer}");
    // Khmer digits name the same song (១ is 1).
    let khmer: String =
        id.to_string().chars().map(|d| char::from_u32(0x17E0 + d.to_digit(10).unwrap()).unwrap()).collect();
    let encoded: String = khmer.bytes().map(|b| format!("%{b:02X}")).collect();
    let (status, same) = api.get(&format!("/api/v1/songs/{encoded}/status"), Some(&op)).await;
    assert_eq!((status, same["song_id"].as_i64()), (StatusCode::OK, Some(id)));

    // Learners and anonymous callers: an unpublished song is exactly like a missing one.
    let (_, missing) = api.get("/api/v1/songs/999/status", None).await;
    for token in [None, Some(free.as_str())] {
        let (status, body) = api.get(&path, token).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert_eq!(body, missing, "nothing tells a hidden song from a missing one");
    }
    assert_eq!(api.get("/api/v1/songs/999/status", Some(&op)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(missing["error"]["code"], "not_found");
    for bad in ["abc", "-1", "0", "1.5", "99999999999999999999"] {
        let (status, body) = api.get(&format!("/api/v1/songs/{bad}/status"), Some(&op)).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_song_id")),
            "{bad}"
        );
    }

    for to in [SongStatus::Processing, SongStatus::Review, SongStatus::Published] {
        api.store.set_song_status(id, to, "t", None).await.unwrap();
    }
    let (status, public) = api.get(&path, None).await;
    assert_eq!((status, public["status"].as_str()), (StatusCode::OK, Some("published")), "{public}");
    assert!(public["job"].is_null() && public["eta"].is_null());

    let (_, doc) = api.get("/api/openapi.json", None).await;
    assert!(doc["paths"]["/api/v1/songs/{id}/status"]["get"].is_object());
    let schemas = &doc["components"]["schemas"];
    assert!(schemas["SongStatusAnswer"]["properties"]["eta"].is_object(), "{}", schemas["SongStatusAnswer"]);
    assert!(schemas["Eta"]["properties"]["basis"].is_object());
    assert!(schemas["SearchAnswer"]["properties"]["suggestions"].is_object(), "{}", schemas["SearchAnswer"]);
    assert!(schemas["Suggestion"]["properties"]["kind"].is_object());
}

#[tokio::test]
async fn the_status_report_is_for_staff_and_unavailable_until_the_monitor_has_run() {
    use molt_ops::disk::DiskSpace;
    use molt_ops::monitor::{Monitor, MonitorSettings};
    let mut api = Api::new(1 << 20).await;
    let operator = api.token(Role::Operator).await;
    let premium = api.token(Role::Premium).await;
    let (status, body) = api.get("/api/v1/status", Some(&operator)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("no_status"))
    );

    let monitor = Arc::new(
        Monitor::new(
            Arc::new(api.store.clone()),
            Arc::new(molt_ops::SystemClock),
            Arc::new(molt_ops::RecordingSink::default()),
            api.data.clone(),
            // Neither a slow runner (timing) nor its own disk may decide the
            // outcome: no latency limit, and a fixed, roomy disk.
            MonitorSettings { store_slow_ms: f64::MAX, ..MonitorSettings::default() },
        )
        .with_disk_probe(|_| Some(DiskSpace { free_bytes: 50 << 30, total_bytes: 100 << 30 })),
    );
    api.app = molt_server::router(
        AppState::new(Arc::new(api.store.clone()), Arc::new(api.store.clone()), api.config.clone())
            .with_monitor(monitor.clone()),
    );
    assert_eq!(api.get("/api/v1/status", Some(&operator)).await.0, StatusCode::SERVICE_UNAVAILABLE);
    let checked = monitor.check();
    let (status, report) = api.get("/api/v1/status", Some(&operator)).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["timestamp"], checked.timestamp.as_str());
    assert_eq!(report["status"], "healthy", "{report}");
    for field in ["songs_processing", "songs_completed_today", "queue_depth", "cost_24h", "alerts"] {
        assert!(report.get(field).is_some(), "{field}: {report}");
    }
    // Costs and queues are staff figures.
    assert_eq!(api.get("/api/v1/status", Some(&premium)).await.0, StatusCode::FORBIDDEN);
    assert_eq!(api.get("/api/v1/status", None).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn metrics_are_prometheus_text_for_staff_and_time_every_route() {
    let mut api = Api::new(1 << 20).await;
    let operator = api.token(Role::Operator).await;
    let premium = api.token(Role::Premium).await;
    let metrics = Arc::new(molt_ops::metrics::Metrics::new(Arc::new(api.store.clone())));
    api.app = molt_server::router(
        AppState::new(Arc::new(api.store.clone()), Arc::new(api.store.clone()), api.config.clone())
            .with_metrics(metrics),
    );
    assert_eq!(api.get("/api/v1/songs/7", Some(&operator)).await.0, StatusCode::NOT_FOUND);
    // An invented method on a known route is timed as "other", never as itself.
    let odd = Request::builder().method("BREWCOFFEE").uri("/health").body(Body::empty()).unwrap();
    api.app.clone().oneshot(odd).await.unwrap();
    assert_eq!(api.get("/metrics", Some(&premium)).await.0, StatusCode::FORBIDDEN);
    let request = Request::get("/metrics").header(header::AUTHORIZATION, format!("Bearer {operator}"));
    let response = api.app.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert!(text.contains("molt_store_up 1\n"), "{text}");
    // The song request is counted under its route template, not its path.
    assert!(
        text.contains(
            r#"molt_http_request_duration_seconds_count{method="GET",route="/api/v1/songs/{id}",status="404"} 1"#
        ),
        "{text}"
    );
    assert!(!text.contains("BREWCOFFEE"), "{text}");
    assert!(text.contains(r#"method="other""#), "{text}");
}

#[tokio::test]
async fn kpis_are_for_staff_per_window_and_say_when_there_is_no_data() {
    let mut api = Api::new(1 << 20).await;
    let operator = api.token(Role::Operator).await;
    let free = api.token(Role::Free).await;
    api.app = molt_server::router(
        AppState::new(Arc::new(api.store.clone()), Arc::new(api.store.clone()), api.config.clone())
            .with_reports(Arc::new(api.store.clone())),
    );
    let (status, report) = api.get("/api/v1/kpis?window=7d", Some(&operator)).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let kpis = report["kpis"].as_array().unwrap();
    assert_eq!(kpis.len(), 6, "{report}");
    // A new studio has measured nothing: no value is made up.
    assert!(kpis.iter().all(|k| k["status"] == "no_data" && k["value"].is_null()), "{report}");
    let (status, body) = api.get("/api/v1/kpis?window=1y", Some(&operator)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_window")));
    assert_eq!(api.get("/api/v1/kpis", Some(&free)).await.0, StatusCode::FORBIDDEN);
}
