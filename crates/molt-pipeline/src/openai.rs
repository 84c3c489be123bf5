//! A client for OpenAI-compatible HTTP APIs: chat completions, audio
//! transcriptions and image generations (DESIGN §7). The remote providers
//! (OpenAI, a local Ollama or llama.cpp server, any compatible gateway) are
//! built on it.
//!
//! The client makes exactly one HTTP request per call and never retries by
//! itself (redirects are not followed either): retries, backoff, circuit
//! breaking and fallback are the router's job. What this module does is
//! classify every outcome into an [`ErrorClass`] (DESIGN §6), in one place,
//! [`classify_status`] for HTTP responses and `transport_error` for failures
//! before a response:
//!
//! | outcome | class |
//! |---|---|
//! | connection refused, DNS failure, connection reset or closed | Infrastructure |
//! | the configured timeout elapses (connect, a hung server, a slow response or body) | Transient |
//! | HTTP 429 (`retry_after` from `Retry-After`: delta-seconds or an HTTP-date) | RateLimited |
//! | HTTP 5xx (500, 502, 503, 504 and any other) | Transient |
//! | HTTP 408 Request Timeout (a timeout, as above) | Transient |
//! | HTTP 401, 403 (the provider is unusable with this key) | Infrastructure |
//! | HTTP 3xx (redirects are not followed: `base_url` is wrong) | Infrastructure |
//! | any other 4xx (400, 404, 409, 413, 415, 422, …) | SchemaData |
//! | 2xx whose body is not the expected JSON (malformed, missing field, no choice, bad base64) | SchemaData |
//! | the audio file cannot be read | SchemaData |
//!
//! Every error carries the HTTP status when there was a response. Error
//! messages name the endpoint and quote at most 200 characters of the
//! provider's own error message, with control characters stripped; they
//! never contain the API key (any occurrence of it, e.g. echoed back by a
//! provider, is replaced by `[redacted]`) nor the `Authorization` header.

use crate::error::ProviderError;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use molt_core::config::Secret;
use molt_core::ErrorClass;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, RETRY_AFTER};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// The longest a connection attempt may take, when the overall timeout is longer.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest successful response body read (an image as base64 can be several MB).
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
/// How much of an error response's body is read to find the provider's message.
const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;
/// How many characters of the provider's error message an error quotes.
const MAX_DETAIL_CHARS: usize = 200;

/// Where the provider is and how to talk to it.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenAiConfig {
    /// The server's root, e.g. `http://127.0.0.1:11434`; a trailing `/` or
    /// `/v1` is accepted and ignored (the client adds `/v1/...` itself). A base
    /// whose path already names another API version, such as Gemini's
    /// `https://generativelanguage.googleapis.com/v1beta/openai`, is used as is:
    /// the endpoints are appended without `/v1` (`…/v1beta/openai/chat/completions`).
    pub base_url: String,
    /// Sent as `Authorization: Bearer <key>` when set; nothing is sent otherwise.
    pub api_key: Option<Secret>,
    /// The limit for a whole call: connecting, sending, and reading the response.
    pub timeout: Duration,
}

/// An OpenAI-compatible API client; cheap to clone (the connection pool is shared).
#[derive(Debug, Clone)]
pub struct OpenAiClient {
    http: reqwest::Client,
    /// Without a trailing `/` or `/v1`.
    base_url: String,
    /// The base names its own API version (e.g. `/v1beta/openai`): no `/v1` is added.
    versioned: bool,
    api_key: Option<Secret>,
    timeout: Duration,
}

/// A chat completion request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<ChatMessage>,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
    /// Ask for a JSON object (`response_format: {"type": "json_object"}`).
    pub json_response: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        ChatMessage { role: role.into(), content: content.into() }
    }
}

/// The first choice's text, with the usage the provider reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatResponse {
    pub text: String,
    pub usage: Usage,
    /// The model that answered, as the provider names it (the requested one if it does not say).
    pub model: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// An audio transcription request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscriptionRequest {
    pub model: String,
    /// The file to send. Only its extension travels, as `audio.<ext>`: never
    /// its directory or its name.
    pub audio: PathBuf,
    /// An ISO-639-1 code, e.g. `km`.
    pub language: Option<String>,
    pub prompt: Option<String>,
}

/// A `verbose_json` transcription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transcription {
    pub text: String,
    pub language: Option<String>,
    pub duration_secs: Option<f64>,
    pub segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub start: f64,
    pub end: f64,
    pub text: String,
    pub avg_logprob: Option<f64>,
    pub no_speech_prob: Option<f64>,
    pub compression_ratio: Option<f64>,
}

/// An image generation request (one image).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRequest {
    pub model: String,
    pub prompt: String,
    /// E.g. `1024x1024`.
    pub size: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeneratedImage {
    /// The decoded image file (PNG, JPEG or WebP, as the provider chose).
    pub bytes: Vec<u8>,
    pub revised_prompt: Option<String>,
}

/// The three endpoints, named as they appear in error messages.
#[derive(Debug, Clone, Copy)]
enum Endpoint {
    Chat,
    Transcriptions,
    Images,
}

impl Endpoint {
    fn path(self) -> &'static str {
        match self {
            Endpoint::Chat => "/v1/chat/completions",
            Endpoint::Transcriptions => "/v1/audio/transcriptions",
            Endpoint::Images => "/v1/images/generations",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Endpoint::Chat => "chat completions",
            Endpoint::Transcriptions => "audio transcriptions",
            Endpoint::Images => "image generations",
        }
    }
}

impl OpenAiClient {
    /// Builds the client (and its connection pool) once. Fails, as
    /// Infrastructure (the provider cannot be used as configured), when the
    /// base URL is not an http(s) URL, the timeout is zero, or the key cannot
    /// be sent in an HTTP header.
    pub fn new(config: OpenAiConfig) -> Result<Self, ProviderError> {
        let invalid =
            |what: &str| ProviderError::new(ErrorClass::Infrastructure, format!("openai client: {what}"));
        let base_url = normalise_base_url(&config.base_url).map_err(|e| invalid(&e))?;
        if config.timeout.is_zero() {
            return Err(invalid("the timeout must be longer than zero"));
        }
        if let Some(key) = &config.api_key {
            let valid = !key.expose().is_empty() && HeaderValue::from_str(key.expose()).is_ok();
            if !valid {
                return Err(invalid("the API key is empty or has characters an HTTP header cannot carry"));
            }
        }
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(MAX_CONNECT_TIMEOUT))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("molt/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| invalid(&format!("cannot build the HTTP client: {}", error_chain(e))))?;
        let versioned = names_its_version(&base_url);
        Ok(OpenAiClient { http, base_url, versioned, api_key: config.api_key, timeout: config.timeout })
    }

    /// The base URL requests go to (normalised: no trailing `/` or `/v1`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `POST {base}/v1/chat/completions`; returns the first choice's text.
    pub async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ProviderError> {
        let endpoint = Endpoint::Chat;
        let mut body = serde_json::json!({ "model": request.model, "messages": request.messages });
        if let Some(t) = request.temperature {
            body["temperature"] = serde_json::json!(t);
        }
        if let Some(m) = request.max_tokens {
            body["max_tokens"] = serde_json::json!(m);
        }
        if request.json_response {
            body["response_format"] = serde_json::json!({ "type": "json_object" });
        }
        let builder = self.http.post(self.url(endpoint)).json(&body);
        let (status, bytes) = self.send(endpoint, builder).await?;
        let wire: WireChat = self.parse(endpoint, status, &bytes)?;
        let schema = |what: &str| self.error(endpoint, ErrorClass::SchemaData, what).with_status(status);
        let choice = wire.choices.into_iter().next().ok_or_else(|| schema("the response has no choices"))?;
        let text = choice.message.content.ok_or_else(|| schema("the first choice has no text content"))?;
        let usage = wire.usage.ok_or_else(|| schema("the response has no usage"))?;
        Ok(ChatResponse {
            text,
            usage: Usage { prompt_tokens: usage.prompt_tokens, completion_tokens: usage.completion_tokens },
            model: wire.model.unwrap_or_else(|| request.model.clone()),
        })
    }

    /// `POST {base}/v1/audio/transcriptions` as multipart (`file`, `model`,
    /// `language`?, `prompt`?, `response_format=verbose_json`).
    pub async fn transcribe(&self, request: &TranscriptionRequest) -> Result<Transcription, ProviderError> {
        let endpoint = Endpoint::Transcriptions;
        let (file_name, mime) = upload_name(&request.audio);
        let audio = tokio::fs::read(&request.audio).await.map_err(|e| {
            let shown = request.audio.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
            self.error(
                endpoint,
                ErrorClass::SchemaData,
                &format!("cannot read the audio file {shown:?}: {e}"),
            )
        })?;
        let part = reqwest::multipart::Part::bytes(audio)
            .file_name(file_name)
            .mime_str(mime)
            .map_err(|e| self.error(endpoint, ErrorClass::SchemaData, &error_chain(e)))?;
        let mut form = reqwest::multipart::Form::new()
            .part("file", part)
            .text("model", request.model.clone())
            .text("response_format", "verbose_json");
        if let Some(language) = &request.language {
            form = form.text("language", language.clone());
        }
        if let Some(prompt) = &request.prompt {
            form = form.text("prompt", prompt.clone());
        }
        let builder = self.http.post(self.url(endpoint)).multipart(form);
        let (status, bytes) = self.send(endpoint, builder).await?;
        let wire: WireTranscription = self.parse(endpoint, status, &bytes)?;
        Ok(Transcription {
            text: wire.text,
            language: wire.language,
            duration_secs: wire.duration,
            segments: wire
                .segments
                .unwrap_or_default()
                .into_iter()
                .map(|s| Segment {
                    start: s.start,
                    end: s.end,
                    text: s.text,
                    avg_logprob: s.avg_logprob,
                    no_speech_prob: s.no_speech_prob,
                    compression_ratio: s.compression_ratio,
                })
                .collect(),
        })
    }

    /// `POST {base}/v1/images/generations` for one image as `b64_json`;
    /// returns the decoded image bytes.
    pub async fn generate_image(&self, request: &ImageRequest) -> Result<GeneratedImage, ProviderError> {
        let endpoint = Endpoint::Images;
        let body = serde_json::json!({
            "model": request.model,
            "prompt": request.prompt,
            "size": request.size,
            "n": 1,
            "response_format": "b64_json",
        });
        let builder = self.http.post(self.url(endpoint)).json(&body);
        let (status, bytes) = self.send(endpoint, builder).await?;
        let wire: WireImages = self.parse(endpoint, status, &bytes)?;
        let schema = |what: &str| self.error(endpoint, ErrorClass::SchemaData, what).with_status(status);
        let image = wire.data.into_iter().next().ok_or_else(|| schema("the response has no image"))?;
        let encoded = image.b64_json.ok_or_else(|| schema("the first image has no b64_json"))?;
        let bytes =
            decode_base64(&encoded).map_err(|e| schema(&format!("b64_json is not valid base64: {e}")))?;
        if bytes.is_empty() {
            return Err(schema("the decoded image is empty"));
        }
        Ok(GeneratedImage { bytes, revised_prompt: image.revised_prompt })
    }

    fn url(&self, endpoint: Endpoint) -> String {
        let path = endpoint.path();
        let path = if self.versioned { path.strip_prefix("/v1").unwrap_or(path) } else { path };
        format!("{}{}", self.base_url, path)
    }

    /// Sends one request (no retry) and returns a 2xx response's body;
    /// anything else becomes a classified error.
    async fn send(
        &self,
        endpoint: Endpoint,
        builder: reqwest::RequestBuilder,
    ) -> Result<(u16, Vec<u8>), ProviderError> {
        let builder = match &self.api_key {
            Some(key) => {
                // Checked in `new`; marked sensitive so no debug output of the request shows it.
                let mut value = HeaderValue::from_str(&format!("Bearer {}", key.expose()))
                    .map_err(|_| self.error(endpoint, ErrorClass::Infrastructure, "invalid API key"))?;
                value.set_sensitive(true);
                builder.header(AUTHORIZATION, value)
            }
            None => builder,
        };
        let mut response = builder.send().await.map_err(|e| self.transport_error(endpoint, e))?;
        let status = response.status().as_u16();
        if response.status().is_success() {
            let body = read_body(&mut response, MAX_BODY_BYTES)
                .await
                .map_err(|e| self.transport_error(endpoint, e).with_status(status))?;
            return match body {
                Some(body) => Ok((status, body)),
                None => Err(self
                    .error(
                        endpoint,
                        ErrorClass::SchemaData,
                        &format!("the response body is larger than {MAX_BODY_BYTES} bytes"),
                    )
                    .with_status(status)),
            };
        }
        let retry_after = (status == 429)
            .then(|| parse_retry_after_header(response.headers(), SystemTime::now()))
            .flatten();
        // The status decides the class; the body only adds the provider's words,
        // so failing to read it (a timeout, a reset) loses nothing else.
        let detail = match read_body(&mut response, MAX_ERROR_BODY_BYTES).await {
            // Redacted before the cut, so no part of a key can survive it.
            Ok(Some(body)) => provider_message(&body, |text| self.redact(text)),
            Ok(None) | Err(_) => String::new(),
        };
        let mut message = format!("HTTP {status} from the provider");
        if (300..400).contains(&status) {
            message.push_str(" (redirects are not followed: check base_url)");
        }
        if !detail.is_empty() {
            message.push_str(": ");
            message.push_str(&detail);
        }
        Err(self
            .error(endpoint, classify_status(status), &message)
            .with_status(status)
            .with_retry_after(retry_after))
    }

    /// Parses a 2xx body; anything unexpected is SchemaData.
    fn parse<T: serde::de::DeserializeOwned>(
        &self,
        endpoint: Endpoint,
        status: u16,
        body: &[u8],
    ) -> Result<T, ProviderError> {
        serde_json::from_slice(body).map_err(|e| {
            let what = if body.iter().all(u8::is_ascii_whitespace) {
                "the response body is empty, not JSON".to_string()
            } else {
                format!("the response is not the expected JSON: {e}")
            };
            self.error(endpoint, ErrorClass::SchemaData, &what).with_status(status)
        })
    }

    /// Failures before (or while reading) a response. Timeouts first: a
    /// connect that times out is a timeout (Transient), not a refusal.
    fn transport_error(&self, endpoint: Endpoint, error: reqwest::Error) -> ProviderError {
        let error = error.without_url();
        if error.is_timeout() {
            let what = format!("no complete response within the timeout of {:?}", self.timeout);
            return self.error(endpoint, ErrorClass::Transient, &what);
        }
        let what = if error.is_connect() {
            format!("cannot connect to the provider: {}", error_chain(error))
        } else if error.is_builder() {
            format!("cannot build the request (is the scheme supported?): {}", error_chain(error))
        } else {
            format!("the connection to the provider failed: {}", error_chain(error))
        };
        self.error(endpoint, ErrorClass::Infrastructure, &what)
    }

    /// The one constructor of this client's errors: prefixes the endpoint and
    /// removes the API key wherever it appears.
    fn error(&self, endpoint: Endpoint, class: ErrorClass, what: &str) -> ProviderError {
        ProviderError::new(class, self.redact(&format!("{}: {what}", endpoint.label())))
    }

    /// Replaces every occurrence of the API key by `[redacted]`.
    fn redact(&self, text: &str) -> String {
        match &self.api_key {
            Some(key) if !key.expose().is_empty() => text.replace(key.expose(), "[redacted]"),
            _ => text.to_string(),
        }
    }
}

/// The class of a non-2xx HTTP status (see the module's table).
pub fn classify_status(status: u16) -> ErrorClass {
    match status {
        429 => ErrorClass::RateLimited,
        408 => ErrorClass::Transient,
        401 | 403 => ErrorClass::Infrastructure,
        500..=599 => ErrorClass::Transient,
        300..=399 => ErrorClass::Infrastructure,
        400..=499 => ErrorClass::SchemaData,
        // 1xx as a final status, or nonsense: the server does not speak HTTP as expected.
        _ => ErrorClass::Infrastructure,
    }
}

/// Parses a `Retry-After` value: delta-seconds (`7`) or an HTTP-date
/// (IMF-fixdate, RFC 850 or asctime), the latter as the time left from
/// `now`, rounded up to whole seconds (zero when it is past). Anything else
/// is `None`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse::<u64>().ok().map(Duration::from_secs);
    }
    let date = parse_http_date(value)?;
    let at = SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(u64::try_from(date).ok()?))?;
    let left = at.duration_since(now).unwrap_or(Duration::ZERO);
    let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
    Some(Duration::from_secs(secs))
}

fn parse_retry_after_header(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    parse_retry_after(headers.get(RETRY_AFTER)?.to_str().ok()?, now)
}

/// An HTTP-date (RFC 9110 §5.6.7) as Unix seconds.
fn parse_http_date(value: &str) -> Option<i64> {
    use chrono::NaiveDateTime;
    // IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
    if let Ok(t) = NaiveDateTime::parse_from_str(value, "%a, %d %b %Y %H:%M:%S GMT") {
        return Some(t.and_utc().timestamp());
    }
    // RFC 850: `Sunday, 06-Nov-94 08:49:37 GMT`; two-digit years are this century.
    if let Ok(t) = NaiveDateTime::parse_from_str(value, "%A, %d-%b-%y %H:%M:%S GMT") {
        return Some(t.and_utc().timestamp());
    }
    // asctime: `Sun Nov  6 08:49:37 1994`.
    let collapsed = value.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Ok(t) = NaiveDateTime::parse_from_str(&collapsed, "%a %b %d %H:%M:%S %Y") {
        return Some(t.and_utc().timestamp());
    }
    None
}

/// Reads a body up to `limit` bytes; `None` when it is longer.
async fn read_body(
    response: &mut reqwest::Response,
    limit: usize,
) -> Result<Option<Vec<u8>>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// The provider's own error message from an error body: OpenAI's
/// `{"error": {"message": ...}}`, `{"error": "..."}`, `{"message": "..."}`,
/// or else the body as text; redacted, cleaned and cut to 200 characters.
fn provider_message(body: &[u8], redact: impl Fn(&str) -> String) -> String {
    let from_json = serde_json::from_slice::<serde_json::Value>(body).ok().and_then(|v| {
        let text = v
            .pointer("/error/message")
            .or_else(|| v.get("error").filter(|e| e.is_string()))
            .or_else(|| v.get("message"))
            .or_else(|| v.get("detail"))?;
        text.as_str().map(str::to_owned)
    });
    let raw = from_json.unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    clean_detail(&redact(&raw))
}

/// Strips control and bidi-override characters (whitespace ones become a
/// space), collapses runs of spaces and keeps at most 200 characters.
fn clean_detail(raw: &str) -> String {
    let mut out = String::new();
    let mut count = 0;
    let mut last_space = true;
    for c in raw.chars() {
        let c = match c {
            '\t' | '\n' | '\r' => ' ',
            c if c.is_control() => continue,
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => continue,
            c => c,
        };
        if c == ' ' && last_space {
            continue;
        }
        if count == MAX_DETAIL_CHARS {
            out.truncate(out.trim_end().len());
            out.push('…');
            return out;
        }
        last_space = c == ' ';
        out.push(c);
        count += 1;
    }
    out.truncate(out.trim_end().len());
    out
}

/// `reqwest::Error`'s message with its causes, e.g. `error sending request:
/// client error (Connect): tcp connect error: Connection refused (os error 111)`.
fn error_chain(error: reqwest::Error) -> String {
    molt_core::error::message_chain(&error.without_url())
}

/// Whether a (normalised) base URL's path has a version segment such as
/// `v1beta` or `v1alpha2`: Gemini's OpenAI-compatible API lives under
/// `/v1beta/openai`, with no `/v1` of its own.
fn names_its_version(base: &str) -> bool {
    let path = reqwest::Url::parse(base).map(|u| u.path().to_string()).unwrap_or_default();
    path.split('/').any(|segment| {
        let Some(rest) = segment.strip_prefix('v') else { return false };
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        let suffix = &rest[digits..];
        digits > 0 && (suffix.starts_with("alpha") || suffix.starts_with("beta"))
    })
}

/// Checks the base URL and removes a trailing `/` and `/v1`.
fn normalise_base_url(raw: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(raw.trim()).map_err(|e| format!("base_url is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("base_url must be an http:// or https:// URL with a host".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("base_url must not have a query or a fragment".into());
    }
    let mut base = url.as_str().trim_end_matches('/').to_string();
    if let Some(stripped) = base.strip_suffix("/v1") {
        base = stripped.to_string();
    }
    Ok(base)
}

/// The file name and MIME type sent for an audio file: `audio.<ext>`, from
/// the extension alone (ASCII letters and digits, at most 8), or `audio`.
fn upload_name(path: &std::path::Path) -> (String, &'static str) {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .filter(|e| !e.is_empty() && e.len() <= 8 && e.bytes().all(|b| b.is_ascii_alphanumeric()))
        .map(str::to_ascii_lowercase);
    let mime = match ext.as_deref() {
        Some("wav") => "audio/wav",
        Some("mp3" | "mpga" | "mpeg") => "audio/mpeg",
        Some("flac") => "audio/flac",
        Some("ogg" | "oga" | "opus") => "audio/ogg",
        Some("m4a" | "mp4") => "audio/mp4",
        Some("webm") => "audio/webm",
        _ => "application/octet-stream",
    };
    match ext {
        Some(ext) => (format!("audio.{ext}"), mime),
        None => ("audio".to_string(), mime),
    }
}

/// Standard-alphabet base64, padded or not, ignoring ASCII whitespace
/// (some servers wrap long lines).
fn decode_base64(encoded: &str) -> Result<Vec<u8>, base64::DecodeError> {
    const ENGINE: GeneralPurpose = GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let compact: String = encoded.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    ENGINE.decode(compact)
}

#[derive(Deserialize)]
struct WireChat {
    model: Option<String>,
    choices: Vec<WireChoice>,
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct WireChoice {
    message: WireMessage,
}

#[derive(Deserialize)]
struct WireMessage {
    content: Option<String>,
}

#[derive(Deserialize)]
struct WireUsage {
    prompt_tokens: u64,
    completion_tokens: u64,
}

#[derive(Deserialize)]
struct WireTranscription {
    text: String,
    language: Option<String>,
    duration: Option<f64>,
    segments: Option<Vec<WireSegment>>,
}

#[derive(Deserialize)]
struct WireSegment {
    start: f64,
    end: f64,
    text: String,
    avg_logprob: Option<f64>,
    no_speech_prob: Option<f64>,
    compression_ratio: Option<f64>,
}

#[derive(Deserialize)]
struct WireImages {
    data: Vec<WireImage>,
}

#[derive(Deserialize)]
struct WireImage {
    b64_json: Option<String>,
    revised_prompt: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detail_is_cleaned_and_cut() {
        assert_eq!(clean_detail("a\nb\u{7}c\u{202E}d  \t e"), "a bcd e");
        let long = "x".repeat(300);
        let cut = clean_detail(&long);
        assert_eq!(cut.chars().count(), 201);
        assert!(cut.ends_with('…'));
        assert_eq!(clean_detail(&"y".repeat(200)), "y".repeat(200));
    }

    #[test]
    fn provider_message_shapes() {
        let same = |t: &str| t.to_string();
        assert_eq!(provider_message(br#"{"error":{"message":"bad model","type":"x"}}"#, same), "bad model");
        assert_eq!(provider_message(br#"{"error":"overloaded"}"#, same), "overloaded");
        assert_eq!(provider_message(br#"{"detail":"Not Found"}"#, same), "Not Found");
        assert_eq!(
            provider_message(b"<html>\n502 Bad Gateway</html>", same),
            "<html> 502 Bad Gateway</html>"
        );
    }

    #[test]
    fn base_url_forms() {
        assert_eq!(normalise_base_url("http://h:1").unwrap(), "http://h:1");
        assert_eq!(normalise_base_url("http://h:1/").unwrap(), "http://h:1");
        assert_eq!(normalise_base_url("http://h:1/v1/").unwrap(), "http://h:1");
        assert_eq!(normalise_base_url("http://h:1/proxy/v1").unwrap(), "http://h:1/proxy");
        assert_eq!(normalise_base_url("http://h:1/proxy/").unwrap(), "http://h:1/proxy");
        assert!(normalise_base_url("ftp://h").is_err());
        assert!(normalise_base_url("not a url").is_err());
        assert!(normalise_base_url("http://h/?a=b").is_err());
    }

    #[test]
    fn a_base_that_names_its_version_gets_no_v1() {
        let url = |base: &str| {
            let config =
                OpenAiConfig { base_url: base.into(), api_key: None, timeout: Duration::from_secs(1) };
            OpenAiClient::new(config).unwrap().url(Endpoint::Chat)
        };
        assert_eq!(
            url("https://generativelanguage.googleapis.com/v1beta/openai/"),
            "https://generativelanguage.googleapis.com/v1beta/openai/chat/completions"
        );
        assert_eq!(url("https://api.groq.com/openai/v1"), "https://api.groq.com/openai/v1/chat/completions");
        assert_eq!(url("http://127.0.0.1:11434"), "http://127.0.0.1:11434/v1/chat/completions");
        assert_eq!(url("http://h:1/proxy/"), "http://h:1/proxy/v1/chat/completions");
        assert_eq!(url("http://h:1/vbeta/x"), "http://h:1/vbeta/x/v1/chat/completions");
    }

    #[test]
    fn upload_names() {
        assert_eq!(
            upload_name(std::path::Path::new("/home/u/My Song.WAV")),
            ("audio.wav".into(), "audio/wav")
        );
        assert_eq!(upload_name(std::path::Path::new("/x/y")), ("audio".into(), "application/octet-stream"));
        assert_eq!(
            upload_name(std::path::Path::new("a.b/c.d e")),
            ("audio".into(), "application/octet-stream")
        );
    }

    #[test]
    fn base64_forms() {
        assert_eq!(decode_base64("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(decode_base64("aGVsbG8").unwrap(), b"hello");
        assert_eq!(decode_base64("aGVs\nbG8=").unwrap(), b"hello");
        assert!(decode_base64("a$b=").is_err());
    }
}
