//! The OpenAI-compatible client against a scripted fake server (axum on
//! 127.0.0.1:0): request shapes, response parsing, and the classification of
//! every failure (DESIGN §6).

use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use molt_core::config::Secret;
use molt_core::ErrorClass;
use molt_pipeline::openai::{
    classify_status, parse_retry_after, ChatMessage, ChatRequest, ImageRequest, OpenAiClient, OpenAiConfig,
    TranscriptionRequest,
};
use molt_pipeline::ProviderError;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const KEY: &str = "sk-test-Zq8VJ2mKc91xLpRr";
const SHORT: Duration = Duration::from_millis(300);
const LONG: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------- fake server

#[derive(Debug, Clone)]
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    delay: Duration,
}

impl Reply {
    fn json(status: u16, body: Value) -> Self {
        Reply {
            status,
            headers: vec![("content-type", "application/json".into())],
            body: body.to_string().into_bytes(),
            delay: Duration::ZERO,
        }
    }

    fn raw(status: u16, body: &str) -> Self {
        Reply { status, headers: vec![], body: body.as_bytes().to_vec(), delay: Duration::ZERO }
    }

    fn error(status: u16, message: &str) -> Self {
        Reply::json(status, json!({"error": {"message": message, "type": "test_error", "code": null}}))
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

#[derive(Debug, Clone)]
struct SeenPart {
    name: String,
    file_name: Option<String>,
    content_type: Option<String>,
    data: Vec<u8>,
}

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    authorization: Option<String>,
    json: Option<Value>,
    parts: Vec<SeenPart>,
}

impl Seen {
    fn part(&self, name: &str) -> Option<&SeenPart> {
        self.parts.iter().find(|p| p.name == name)
    }

    fn text_part(&self, name: &str) -> Option<String> {
        self.part(name).map(|p| String::from_utf8(p.data.clone()).unwrap())
    }
}

#[derive(Default)]
struct Script {
    replies: VecDeque<Reply>,
    seen: Vec<Seen>,
}

struct Fake {
    addr: SocketAddr,
    script: Arc<Mutex<Script>>,
}

impl Fake {
    async fn start(replies: Vec<Reply>) -> Fake {
        let script = Arc::new(Mutex::new(Script { replies: replies.into(), seen: vec![] }));
        let app = Router::new().fallback(handle).with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Fake { addr, script }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn seen(&self) -> Vec<Seen> {
        self.script.lock().unwrap().seen.clone()
    }

    fn client(&self, key: Option<&str>, timeout: Duration) -> OpenAiClient {
        client_at(&self.url(), key, timeout)
    }
}

fn header(request: &Request, name: &str) -> Option<String> {
    request.headers().get(name).map(|v| v.to_str().unwrap().to_string())
}

async fn handle(State(script): State<Arc<Mutex<Script>>>, request: Request) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_string();
    let authorization = header(&request, "authorization");
    let content_type = header(&request, "content-type").unwrap_or_default();
    let mut seen = Seen { method, path, authorization, json: None, parts: vec![] };
    if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(request, &()).await.unwrap();
        while let Some(field) = multipart.next_field().await.unwrap() {
            let name = field.name().unwrap_or_default().to_string();
            let file_name = field.file_name().map(str::to_string);
            let content_type = field.content_type().map(str::to_string);
            let data = field.bytes().await.unwrap().to_vec();
            seen.parts.push(SeenPart { name, file_name, content_type, data });
        }
    } else {
        let body = axum::body::to_bytes(request.into_body(), usize::MAX).await.unwrap();
        seen.json = serde_json::from_slice(&body).ok();
    }
    let reply = {
        let mut script = script.lock().unwrap();
        script.seen.push(seen);
        script.replies.pop_front()
    };
    let Some(reply) = reply else {
        return (StatusCode::IM_A_TEAPOT, "the test scripted no reply for this request").into_response();
    };
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut response = Response::new(axum::body::Body::from(reply.body));
    *response.status_mut() = StatusCode::from_u16(reply.status).unwrap();
    for (name, value) in reply.headers {
        response.headers_mut().insert(HeaderName::from_static(name), HeaderValue::from_str(&value).unwrap());
    }
    response
}

/// A raw TCP server: for each connection, reads the request's first bytes,
/// writes `prefix` (if any), then holds the connection open (`hold`) or closes it.
async fn raw_server(prefix: Option<&'static str>, hold: bool) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = vec![];
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 64 * 1024];
            let _ = socket.read(&mut buf).await;
            if let Some(prefix) = prefix {
                socket.write_all(prefix.as_bytes()).await.unwrap();
                socket.flush().await.unwrap();
            }
            if hold {
                held.push(socket);
            }
        }
    });
    format!("http://{addr}")
}

// ---------------------------------------------------------------- helpers

fn client_at(url: &str, key: Option<&str>, timeout: Duration) -> OpenAiClient {
    OpenAiClient::new(OpenAiConfig { base_url: url.to_string(), api_key: key.map(Secret::new), timeout })
        .unwrap()
}

fn chat_request() -> ChatRequest {
    ChatRequest {
        model: "gpt-test".into(),
        messages: vec![
            ChatMessage::new("system", "You are a historian of Khmer music."),
            ChatMessage::new("user", "Who sang ភ្លេងការ?"),
        ],
        temperature: Some(0.25),
        max_tokens: Some(300),
        json_response: true,
    }
}

fn chat_ok() -> Value {
    json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "gpt-test-2024",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "{\"singer\":\"Sinn Sisamouth\"}"},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 42, "completion_tokens": 7, "total_tokens": 49}
    })
}

fn transcription_ok() -> Value {
    json!({
        "task": "transcribe",
        "language": "khmer",
        "duration": 8.47,
        "text": "សួស្តី ពិភពលោក",
        "segments": [
            {"id": 0, "seek": 0, "start": 0.0, "end": 3.5, "text": "សួស្តី", "tokens": [1, 2],
             "temperature": 0.0, "avg_logprob": -0.25, "compression_ratio": 1.5, "no_speech_prob": 0.01},
            {"id": 1, "seek": 0, "start": 3.5, "end": 8.47, "text": " ពិភពលោក", "tokens": [3],
             "temperature": 0.0, "avg_logprob": -0.75, "compression_ratio": 0.9, "no_speech_prob": 0.125}
        ]
    })
}

const PNG_ISH: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\xff";

fn image_request() -> ImageRequest {
    ImageRequest {
        model: "img-test".into(),
        prompt: "an angkor sunset, cover art".into(),
        size: "256x256".into(),
    }
}

/// Standard base64 with padding, written here so the test does not share the
/// client's decoder.
fn b64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn assert_no_key(error: &ProviderError) {
    let shown = format!("{error}");
    let debugged = format!("{error:?}");
    // Any part of the key, e.g. one cut by the 200-character limit, is a leak.
    for text in [&shown, &debugged] {
        assert!(!text.contains(&KEY[..10]), "key leaked: {text}");
        assert!(!text.contains(&KEY[KEY.len() - 10..]), "key leaked: {text}");
    }
}

/// One chat call against one scripted reply; checks that exactly one request was made.
async fn chat_error(reply: Reply) -> ProviderError {
    let fake = Fake::start(vec![reply]).await;
    let error = fake.client(Some(KEY), LONG).chat(&chat_request()).await.unwrap_err();
    assert_eq!(fake.seen().len(), 1, "the client must make exactly one request");
    assert_no_key(&error);
    error
}

fn http_date(at: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(at).format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

// ---------------------------------------------------------------- successes

#[tokio::test]
async fn chat_sends_the_request_and_parses_the_first_choice() {
    let fake = Fake::start(vec![Reply::json(200, chat_ok())]).await;
    let response = fake.client(Some(KEY), LONG).chat(&chat_request()).await.unwrap();

    assert_eq!(response.text, "{\"singer\":\"Sinn Sisamouth\"}");
    assert_eq!(response.usage.prompt_tokens, 42);
    assert_eq!(response.usage.completion_tokens, 7);
    assert_eq!(response.model, "gpt-test-2024");

    let seen = fake.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].path, "/v1/chat/completions");
    assert_eq!(seen[0].authorization.as_deref(), Some(format!("Bearer {KEY}").as_str()));
    let body = seen[0].json.as_ref().expect("a JSON body");
    assert_eq!(body["model"], "gpt-test");
    assert_eq!(
        body["messages"][0],
        json!({"role": "system", "content": "You are a historian of Khmer music."})
    );
    assert_eq!(body["messages"][1]["content"], "Who sang ភ្លេងការ?");
    assert_eq!(body["temperature"], json!(0.25));
    assert_eq!(body["max_tokens"], json!(300));
    assert_eq!(body["response_format"], json!({"type": "json_object"}));
}

#[tokio::test]
async fn chat_without_a_key_sends_no_authorization_and_omits_unset_options() {
    let mut reply = chat_ok();
    reply.as_object_mut().unwrap().remove("model");
    let fake = Fake::start(vec![Reply::json(200, reply)]).await;
    // A trailing slash on the base URL must not double the slash.
    let client = client_at(&format!("{}/", fake.url()), None, LONG);
    let request = ChatRequest { temperature: None, max_tokens: None, json_response: false, ..chat_request() };
    let response = client.chat(&request).await.unwrap();
    assert_eq!(response.model, "gpt-test", "falls back to the requested model");

    let seen = fake.seen();
    assert_eq!(seen[0].path, "/v1/chat/completions");
    assert_eq!(seen[0].authorization, None);
    let body = seen[0].json.as_ref().unwrap().as_object().unwrap();
    assert!(!body.contains_key("temperature"));
    assert!(!body.contains_key("max_tokens"));
    assert!(!body.contains_key("response_format"));
}

#[tokio::test]
async fn a_base_url_ending_in_v1_is_not_doubled() {
    let fake = Fake::start(vec![Reply::json(200, chat_ok())]).await;
    let client = client_at(&format!("{}/v1/", fake.url()), None, LONG);
    assert_eq!(client.base_url(), fake.url());
    client.chat(&chat_request()).await.unwrap();
    assert_eq!(fake.seen()[0].path, "/v1/chat/completions");
}

#[tokio::test]
async fn transcription_sends_multipart_without_the_directory_and_parses_segments() {
    let dir = tempfile::tempdir().unwrap();
    let audio = dir.path().join("private folder").join("Song Title By Someone.WAV");
    std::fs::create_dir_all(audio.parent().unwrap()).unwrap();
    let wav = b"RIFF\x24\x00\x00\x00WAVEfmt fake audio bytes \x00\x01\x02\xff".to_vec();
    std::fs::write(&audio, &wav).unwrap();

    let fake = Fake::start(vec![Reply::json(200, transcription_ok())]).await;
    let request = TranscriptionRequest {
        model: "whisper-test".into(),
        audio: audio.clone(),
        language: Some("km".into()),
        prompt: Some("ចម្រៀង".into()),
    };
    let transcription = fake.client(Some(KEY), LONG).transcribe(&request).await.unwrap();

    assert_eq!(transcription.text, "សួស្តី ពិភពលោក");
    assert_eq!(transcription.language.as_deref(), Some("khmer"));
    assert_eq!(transcription.duration_secs, Some(8.47));
    assert_eq!(transcription.segments.len(), 2);
    let s = &transcription.segments[1];
    assert_eq!((s.start, s.end, s.text.as_str()), (3.5, 8.47, " ពិភពលោក"));
    assert_eq!(s.avg_logprob, Some(-0.75));
    assert_eq!(s.no_speech_prob, Some(0.125));
    assert_eq!(s.compression_ratio, Some(0.9));
    assert_eq!(transcription.segments[0].avg_logprob, Some(-0.25));

    let seen = fake.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/v1/audio/transcriptions");
    assert_eq!(seen[0].authorization.as_deref(), Some(format!("Bearer {KEY}").as_str()));
    assert_eq!(seen[0].text_part("model").as_deref(), Some("whisper-test"));
    assert_eq!(seen[0].text_part("response_format").as_deref(), Some("verbose_json"));
    assert_eq!(seen[0].text_part("language").as_deref(), Some("km"));
    assert_eq!(seen[0].text_part("prompt").as_deref(), Some("ចម្រៀង"));
    let file = seen[0].part("file").expect("a file part");
    assert_eq!(file.data, wav);
    assert_eq!(file.file_name.as_deref(), Some("audio.wav"));
    assert_eq!(file.content_type.as_deref(), Some("audio/wav"));
    let name = file.file_name.as_deref().unwrap();
    assert!(!name.contains('/') && !name.contains('\\'), "no directory in {name}");
    let dir_text = dir.path().to_string_lossy().to_string();
    assert!(!name.contains("Song Title") && !name.contains(&dir_text));
}

#[tokio::test]
async fn transcription_without_language_or_prompt_sends_neither_and_accepts_no_segments() {
    let dir = tempfile::tempdir().unwrap();
    let audio = dir.path().join("take1.mp3");
    std::fs::write(&audio, b"ID3 fake mp3").unwrap();
    let fake = Fake::start(vec![Reply::json(200, json!({"text": "hello"}))]).await;
    let request = TranscriptionRequest { model: "whisper-test".into(), audio, language: None, prompt: None };
    let transcription = fake.client(None, LONG).transcribe(&request).await.unwrap();
    assert_eq!(transcription.text, "hello");
    assert_eq!(transcription.language, None);
    assert_eq!(transcription.duration_secs, None);
    assert!(transcription.segments.is_empty());

    let seen = fake.seen();
    assert_eq!(seen[0].authorization, None);
    assert!(seen[0].part("language").is_none());
    assert!(seen[0].part("prompt").is_none());
    assert_eq!(seen[0].part("file").unwrap().file_name.as_deref(), Some("audio.mp3"));
    assert_eq!(seen[0].part("file").unwrap().content_type.as_deref(), Some("audio/mpeg"));
}

#[tokio::test]
async fn image_generation_decodes_b64_json() {
    let fake = Fake::start(vec![Reply::json(
        200,
        json!({"created": 1, "data": [{"b64_json": b64(PNG_ISH), "revised_prompt": "a sunset over Angkor Wat"}]}),
    )])
    .await;
    let image = fake.client(Some(KEY), LONG).generate_image(&image_request()).await.unwrap();
    assert_eq!(image.bytes, PNG_ISH);
    assert_eq!(image.revised_prompt.as_deref(), Some("a sunset over Angkor Wat"));

    let seen = fake.seen();
    assert_eq!(seen[0].path, "/v1/images/generations");
    let body = seen[0].json.as_ref().unwrap();
    assert_eq!(body["model"], "img-test");
    assert_eq!(body["prompt"], "an angkor sunset, cover art");
    assert_eq!(body["size"], "256x256");
    assert_eq!(body["n"], 1);
    assert_eq!(body["response_format"], "b64_json");
}

#[tokio::test]
async fn image_b64_without_padding_is_accepted() {
    let unpadded = b64(b"abcd").trim_end_matches('=').to_string();
    assert_eq!(unpadded, "YWJjZA");
    let fake = Fake::start(vec![Reply::json(200, json!({"data": [{"b64_json": unpadded}]}))]).await;
    let image = fake.client(None, LONG).generate_image(&image_request()).await.unwrap();
    assert_eq!(image.bytes, b"abcd");
    assert_eq!(image.revised_prompt, None);
}

// ---------------------------------------------------------------- rate limits

#[tokio::test]
async fn http_429_with_retry_after_seconds_is_rate_limited() {
    let error = chat_error(Reply::error(429, "Rate limit reached").header("retry-after", "7")).await;
    assert_eq!(error.class, ErrorClass::RateLimited);
    assert_eq!(error.retry_after, Some(Duration::from_secs(7)));
    assert_eq!(error.status, Some(429));
    assert_eq!(error.message, "chat completions: HTTP 429 from the provider: Rate limit reached");
}

#[tokio::test]
async fn http_429_without_retry_after_has_none() {
    let error = chat_error(Reply::error(429, "slow down")).await;
    assert_eq!(error.class, ErrorClass::RateLimited);
    assert_eq!(error.retry_after, None);
    assert_eq!(error.status, Some(429));
}

#[tokio::test]
async fn http_429_with_an_http_date_is_the_time_left() {
    let at = SystemTime::now() + Duration::from_secs(120);
    let error = chat_error(Reply::error(429, "later").header("retry-after", http_date(at))).await;
    assert_eq!(error.class, ErrorClass::RateLimited);
    let wait = error.retry_after.expect("a wait from the HTTP-date");
    assert!(wait >= Duration::from_secs(100) && wait <= Duration::from_secs(121), "{wait:?}");
}

#[tokio::test]
async fn http_429_with_an_invalid_retry_after_has_none() {
    let error = chat_error(Reply::error(429, "later").header("retry-after", "soon-ish")).await;
    assert_eq!(error.class, ErrorClass::RateLimited);
    assert_eq!(error.retry_after, None);
}

#[test]
fn retry_after_values() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
    assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
    assert_eq!(parse_retry_after(" 120 ", now), Some(Duration::from_secs(120)));
    assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
    assert_eq!(parse_retry_after("", now), None);
    assert_eq!(parse_retry_after("-1", now), None);
    assert_eq!(parse_retry_after("1.5", now), None);
    assert_eq!(parse_retry_after("99999999999999999999999", now), None);
    assert_eq!(parse_retry_after("tomorrow", now), None);
    // The three HTTP-date forms, 30 s after `now`.
    assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now), Some(Duration::from_secs(30)));
    assert_eq!(parse_retry_after("Sunday, 06-Nov-94 08:50:07 GMT", now), Some(Duration::from_secs(30)));
    assert_eq!(parse_retry_after("Sun Nov  6 08:50:07 1994", now), Some(Duration::from_secs(30)));
    // Sub-second remainders round up; a past date means now.
    assert_eq!(
        parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now + Duration::from_millis(500)),
        Some(Duration::from_secs(30))
    );
    assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now), Some(Duration::ZERO));
    // Not GMT, or a wrong weekday: invalid.
    assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:50:07 +0700", now), None);
    assert_eq!(parse_retry_after("Mon, 06 Nov 1994 08:50:07 GMT", now), None);
}

// ---------------------------------------------------------------- HTTP statuses

#[tokio::test]
async fn server_errors_are_transient() {
    for status in [500, 502, 503, 504, 507] {
        let error = chat_error(Reply::error(status, "upstream overloaded")).await;
        assert_eq!(error.class, ErrorClass::Transient, "HTTP {status}");
        assert_eq!(error.status, Some(status));
        assert_eq!(error.retry_after, None);
        assert_eq!(
            error.message,
            format!("chat completions: HTTP {status} from the provider: upstream overloaded")
        );
    }
}

#[tokio::test]
async fn a_server_error_with_a_non_json_body_quotes_the_text() {
    let error = chat_error(Reply::raw(502, "<html>\n<h1>502 Bad Gateway</h1>\n</html>")).await;
    assert_eq!(error.class, ErrorClass::Transient);
    assert_eq!(
        error.message,
        "chat completions: HTTP 502 from the provider: <html> <h1>502 Bad Gateway</h1> </html>"
    );
}

#[tokio::test]
async fn unauthorized_and_forbidden_are_infrastructure() {
    for status in [401, 403] {
        let error = chat_error(Reply::error(status, "Invalid API key")).await;
        assert_eq!(error.class, ErrorClass::Infrastructure, "HTTP {status}");
        assert_eq!(error.status, Some(status));
        assert_eq!(
            error.message,
            format!("chat completions: HTTP {status} from the provider: Invalid API key")
        );
    }
}

#[tokio::test]
async fn client_errors_are_schema_data() {
    for status in [400, 404, 409, 413, 415, 422, 418] {
        let error = chat_error(Reply::error(status, "bad request")).await;
        assert_eq!(error.class, ErrorClass::SchemaData, "HTTP {status}");
        assert_eq!(error.status, Some(status));
    }
}

#[tokio::test]
async fn request_timeout_408_is_transient() {
    let error = chat_error(Reply::error(408, "request timeout")).await;
    assert_eq!(error.class, ErrorClass::Transient);
    assert_eq!(error.status, Some(408));
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let error = chat_error(Reply::raw(301, "").header("location", "http://127.0.0.1:1/elsewhere")).await;
    assert_eq!(error.class, ErrorClass::Infrastructure);
    assert_eq!(error.status, Some(301));
    assert!(error.message.contains("redirects are not followed"), "{}", error.message);
}

#[test]
fn status_table() {
    let expected = [
        (429, ErrorClass::RateLimited),
        (500, ErrorClass::Transient),
        (501, ErrorClass::Transient),
        (502, ErrorClass::Transient),
        (503, ErrorClass::Transient),
        (504, ErrorClass::Transient),
        (599, ErrorClass::Transient),
        (408, ErrorClass::Transient),
        (401, ErrorClass::Infrastructure),
        (403, ErrorClass::Infrastructure),
        (302, ErrorClass::Infrastructure),
        (400, ErrorClass::SchemaData),
        (404, ErrorClass::SchemaData),
        (409, ErrorClass::SchemaData),
        (413, ErrorClass::SchemaData),
        (415, ErrorClass::SchemaData),
        (422, ErrorClass::SchemaData),
        (451, ErrorClass::SchemaData),
    ];
    for (status, class) in expected {
        assert_eq!(classify_status(status), class, "HTTP {status}");
    }
}

#[tokio::test]
async fn the_provider_message_is_cut_to_200_characters_and_stripped_of_control_characters() {
    let long = format!("bad\u{1b}[31m input\u{0}\r\n{}", "ក".repeat(400));
    let error = chat_error(Reply::error(400, &long)).await;
    let prefix = "chat completions: HTTP 400 from the provider: ";
    let detail = error.message.strip_prefix(prefix).expect(&error.message);
    assert!(detail.starts_with("bad[31m input "), "{detail}");
    assert_eq!(detail.chars().count(), 201, "200 characters and an ellipsis");
    assert!(detail.ends_with('…'));
    assert!(!error.message.chars().any(char::is_control), "{:?}", error.message);
}

// ---------------------------------------------------------------- transport failures

#[tokio::test]
async fn a_slow_response_times_out_as_transient() {
    let fake = Fake::start(vec![Reply::json(200, chat_ok()).delayed(Duration::from_secs(5))]).await;
    let started = Instant::now();
    let error = fake.client(Some(KEY), SHORT).chat(&chat_request()).await.unwrap_err();
    assert_eq!(error.class, ErrorClass::Transient, "{error}");
    assert_eq!(error.status, None);
    assert!(error.message.contains("timeout"), "{}", error.message);
    assert!(started.elapsed() < Duration::from_secs(4), "the client waited for the server");
    assert_eq!(fake.seen().len(), 1);
    assert_no_key(&error);
}

#[tokio::test]
async fn a_server_that_accepts_and_hangs_is_transient() {
    let url = raw_server(None, true).await;
    let error = client_at(&url, Some(KEY), SHORT).chat(&chat_request()).await.unwrap_err();
    assert_eq!(error.class, ErrorClass::Transient, "{error}");
    assert_eq!(error.status, None);
    assert!(error.message.starts_with("chat completions: "), "{}", error.message);
    assert_no_key(&error);
}

#[tokio::test]
async fn a_body_that_stalls_after_the_headers_is_transient() {
    let head =
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{\"choices\":";
    let url = raw_server(Some(head), true).await;
    let error = client_at(&url, None, SHORT).chat(&chat_request()).await.unwrap_err();
    assert_eq!(error.class, ErrorClass::Transient, "{error}");
    assert_eq!(error.status, Some(200));
}

#[tokio::test]
async fn a_connection_closed_without_a_response_is_infrastructure() {
    let url = raw_server(None, false).await;
    let error = client_at(&url, Some(KEY), LONG).chat(&chat_request()).await.unwrap_err();
    assert_eq!(error.class, ErrorClass::Infrastructure, "{error}");
    assert_eq!(error.status, None);
    assert_no_key(&error);
}

#[tokio::test]
async fn a_closed_port_is_infrastructure() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let error = client_at(&format!("http://127.0.0.1:{port}"), Some(KEY), LONG)
        .chat(&chat_request())
        .await
        .unwrap_err();
    assert_eq!(error.class, ErrorClass::Infrastructure, "{error}");
    assert_eq!(error.status, None);
    assert!(
        error.message.starts_with("chat completions: cannot connect to the provider"),
        "{}",
        error.message
    );
    assert_no_key(&error);
}

// ---------------------------------------------------------------- bad 2xx bodies

#[tokio::test]
async fn malformed_json_is_schema_data() {
    let error = chat_error(Reply::raw(200, "{\"choices\": [ {\"message\": ")).await;
    assert_eq!(error.class, ErrorClass::SchemaData);
    assert_eq!(error.status, Some(200));
    assert!(error.message.starts_with("chat completions: the response is not the expected JSON"), "{error}");
}

#[tokio::test]
async fn unexpected_chat_bodies_are_schema_data() {
    let mut no_usage = chat_ok();
    no_usage.as_object_mut().unwrap().remove("usage");
    let cases = [
        (Reply::raw(200, ""), "the response body is empty"),
        (
            Reply::json(200, json!({"choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 0}})),
            "no choices",
        ),
        (Reply::json(200, no_usage), "no usage"),
        (
            Reply::json(
                200,
                json!({"choices": [{"message": {"content": null}}], "usage": {"prompt_tokens": 1, "completion_tokens": 0}}),
            ),
            "no text content",
        ),
        (Reply::json(200, json!({"choices": "nope"})), "not the expected JSON"),
        (Reply::json(200, json!({"object": "list"})), "not the expected JSON"),
    ];
    for (reply, expected) in cases {
        let error = chat_error(reply).await;
        assert_eq!(error.class, ErrorClass::SchemaData, "{error}");
        assert_eq!(error.status, Some(200));
        assert!(error.message.contains(expected), "{:?} lacks {expected:?}", error.message);
    }
}

#[tokio::test]
async fn unexpected_transcription_bodies_are_schema_data() {
    let dir = tempfile::tempdir().unwrap();
    let audio = dir.path().join("a.flac");
    std::fs::write(&audio, b"fLaC").unwrap();
    let request = TranscriptionRequest { model: "w".into(), audio, language: None, prompt: None };
    for body in [
        json!({"language": "km"}),
        json!({"text": "x", "segments": [{"start": 0.0, "text": "no end"}]}),
        json!({"text": "x", "segments": [{"start": "0", "end": 1.0, "text": "x"}]}),
    ] {
        let fake = Fake::start(vec![Reply::json(200, body)]).await;
        let error = fake.client(None, LONG).transcribe(&request).await.unwrap_err();
        assert_eq!(error.class, ErrorClass::SchemaData, "{error}");
        assert!(error.message.starts_with("audio transcriptions: "), "{error}");
        assert_eq!(fake.seen().len(), 1);
    }
}

#[tokio::test]
async fn unexpected_image_bodies_are_schema_data() {
    let cases = [
        (json!({"data": []}), "no image"),
        (json!({"data": [{"url": "https://example.invalid/x.png"}]}), "no b64_json"),
        (json!({"data": [{"b64_json": "not base64!"}]}), "not valid base64"),
        (json!({"data": [{"b64_json": ""}]}), "empty"),
    ];
    for (body, expected) in cases {
        let fake = Fake::start(vec![Reply::json(200, body)]).await;
        let error = fake.client(None, LONG).generate_image(&image_request()).await.unwrap_err();
        assert_eq!(error.class, ErrorClass::SchemaData, "{error}");
        assert_eq!(error.status, Some(200));
        assert!(error.message.starts_with("image generations: "), "{error}");
        assert!(error.message.contains(expected), "{:?} lacks {expected:?}", error.message);
    }
}

#[tokio::test]
async fn an_unreadable_audio_file_is_schema_data_and_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Fake::start(vec![]).await;
    let request = TranscriptionRequest {
        model: "w".into(),
        audio: dir.path().join("missing.wav"),
        language: None,
        prompt: None,
    };
    let error = fake.client(None, LONG).transcribe(&request).await.unwrap_err();
    assert_eq!(error.class, ErrorClass::SchemaData);
    assert_eq!(error.status, None);
    assert!(error.message.contains("cannot read the audio file \"missing.wav\""), "{error}");
    assert!(!error.message.contains(&*dir.path().to_string_lossy()), "no directory: {error}");
    assert!(fake.seen().is_empty());
}

// ---------------------------------------------------------------- secrets

#[tokio::test]
async fn the_key_never_appears_in_errors_even_when_the_provider_echoes_it() {
    let echoed =
        chat_error(Reply::error(401, &format!("Incorrect API key provided: {KEY}. Check it."))).await;
    assert_eq!(echoed.class, ErrorClass::Infrastructure);
    assert_eq!(
        echoed.message,
        "chat completions: HTTP 401 from the provider: Incorrect API key provided: [redacted]. Check it."
    );

    // serde_json quotes unexpected values in its errors.
    let quoted = chat_error(Reply::json(200, json!({"choices": KEY}))).await;
    assert_eq!(quoted.class, ErrorClass::SchemaData);
    assert!(quoted.message.contains("[redacted]"), "{}", quoted.message);

    let in_text = chat_error(Reply::raw(500, &format!("Authorization: Bearer {KEY}"))).await;
    assert_eq!(in_text.class, ErrorClass::Transient);
    assert_eq!(
        in_text.message,
        "chat completions: HTTP 500 from the provider: Authorization: Bearer [redacted]"
    );

    // A key that straddles the 200-character cut is redacted before the cut.
    let straddling = chat_error(Reply::error(400, &format!("{}{KEY}", "x".repeat(190)))).await;
    assert!(straddling.message.ends_with("x[redacted]"), "{}", straddling.message);
}

#[test]
fn invalid_configs_are_rejected_without_showing_the_key() {
    let config = |base_url: &str, key: Option<&str>, timeout: Duration| OpenAiConfig {
        base_url: base_url.into(),
        api_key: key.map(Secret::new),
        timeout,
    };
    for bad in [
        config("ftp://127.0.0.1:1", Some(KEY), LONG),
        config("127.0.0.1:8080", Some(KEY), LONG),
        config("http://127.0.0.1:1?x=1", Some(KEY), LONG),
        config("http://127.0.0.1:1", Some(KEY), Duration::ZERO),
        config("http://127.0.0.1:1", Some(&format!("{KEY}\n")), LONG),
        config("http://127.0.0.1:1", Some(""), LONG),
    ] {
        let error = OpenAiClient::new(bad.clone()).unwrap_err();
        assert_eq!(error.class, ErrorClass::Infrastructure, "{bad:?}");
        assert!(error.message.starts_with("openai client: "), "{error}");
        assert_no_key(&error);
    }
    let client = OpenAiClient::new(config("http://127.0.0.1:1", Some(KEY), LONG)).unwrap();
    assert!(!format!("{client:?}").contains(KEY), "the client's Debug shows the key");
}

#[tokio::test]
async fn an_https_base_url_that_cannot_be_reached_is_infrastructure() {
    // Without a TLS backend compiled in, or with one and nothing listening:
    // either way the provider is unusable, never a retryable blip.
    let error = client_at("https://127.0.0.1:1", Some(KEY), LONG).chat(&chat_request()).await.unwrap_err();
    assert_eq!(error.class, ErrorClass::Infrastructure, "{error}");
    assert_eq!(error.status, None);
    assert_no_key(&error);
}
