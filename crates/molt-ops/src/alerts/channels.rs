//! Where notices go, behind [`AlertChannel`]: Telegram (the Bot API's
//! `sendMessage`), a webhook (a signed JSON POST) and the log. Outbound
//! clients live here, in the crate that uses them (DESIGN §2).

use super::notice::{signature, AlertNotice};
use async_trait::async_trait;
use molt_core::alerts::{Channel, NoticeKind, Severity};
use molt_core::config::Secret;
use std::fmt;
use std::time::Duration;

/// Telegram refuses messages longer than 4,096 characters.
const TELEGRAM_MAX_CHARS: usize = 4_000;
/// The most of a response body read for an error message.
const MAX_ERROR_BODY: usize = 300;

/// Why a notice did not reach its channel. Its message never holds a secret:
/// each channel redacts its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelError {
    pub message: String,
    /// When the receiver asked to wait (Telegram's `retry_after`, HTTP `Retry-After`).
    pub retry_after: Option<Duration>,
}

impl ChannelError {
    pub fn new(message: impl Into<String>) -> ChannelError {
        ChannelError { message: message.into(), retry_after: None }
    }
}

impl fmt::Display for ChannelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ChannelError {}

/// One way out for notices.
#[async_trait]
pub trait AlertChannel: Send + Sync {
    fn kind(&self) -> Channel;
    /// Ok once the receiver accepted the notice.
    async fn send(&self, notice: &AlertNotice) -> Result<(), ChannelError>;
}

fn http_client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        // A redirect would carry the signature (or the token) elsewhere.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("molt/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {}", error_chain(e)))
}

fn check_url(what: &str, raw: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(raw.trim()).map_err(|e| format!("{what} is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("{what} must be an http:// or https:// URL with a host"));
    }
    Ok(url)
}

/// `reqwest::Error`'s message with its causes, without the URL (which may
/// hold a token).
fn error_chain(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut out = molt_core::error::message_chain(&error);
    if error.is_timeout() && !out.contains("timed out") {
        out.push_str(" (timed out)");
    }
    out
}

fn clip(text: &str, max: usize) -> String {
    let mut out: String = text.chars().take(max).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

/// `Retry-After` in seconds (the HTTP-date form is ignored).
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Telegram: `POST {api_base}/bot{token}/sendMessage` with `{"chat_id", "text"}`.
/// A non-2xx answer or `"ok": false` is a failure.
pub struct TelegramChannel {
    http: reqwest::Client,
    url: reqwest::Url,
    token: Secret,
    chat_id: String,
}

impl TelegramChannel {
    pub fn new(
        api_base: &str,
        token: Secret,
        chat_id: &str,
        timeout: Duration,
    ) -> Result<TelegramChannel, String> {
        if token.expose().trim().is_empty() || chat_id.trim().is_empty() {
            return Err("telegram alerts need telegram.bot_token and telegram.chat_id".into());
        }
        let base = check_url("alerts.telegram_api_base", api_base)?;
        let raw = format!("{}/bot{}/sendMessage", base.as_str().trim_end_matches('/'), token.expose());
        // The URL holds the token: its parse error is not shown.
        let url =
            reqwest::Url::parse(&raw).map_err(|_| "telegram.bot_token cannot be put in a URL".to_string())?;
        Ok(TelegramChannel { http: http_client(timeout)?, url, token, chat_id: chat_id.trim().to_string() })
    }

    /// Every message this channel records or logs goes through here.
    fn redact(&self, text: &str) -> String {
        let token = self.token.expose();
        if token.is_empty() {
            text.to_string()
        } else {
            text.replace(token, "[redacted]")
        }
    }

    fn failure(&self, what: String, retry_after: Option<Duration>) -> ChannelError {
        ChannelError { message: self.redact(&format!("telegram: {what}")), retry_after }
    }
}

#[async_trait]
impl AlertChannel for TelegramChannel {
    fn kind(&self) -> Channel {
        Channel::Telegram
    }

    async fn send(&self, notice: &AlertNotice) -> Result<(), ChannelError> {
        let text = clip(&notice.text(), TELEGRAM_MAX_CHARS);
        let body = serde_json::json!({ "chat_id": self.chat_id, "text": text });
        let response = self
            .http
            .post(self.url.clone())
            .json(&body)
            .send()
            .await
            .map_err(|e| self.failure(error_chain(e), None))?;
        let status = response.status();
        let waited = retry_after(&response);
        let bytes = response.bytes().await.map_err(|e| self.failure(error_chain(e), None))?;
        let answer: Option<serde_json::Value> = serde_json::from_slice(&bytes).ok();
        let ok = answer.as_ref().and_then(|a| a.get("ok")).and_then(serde_json::Value::as_bool);
        if status.is_success() && ok == Some(true) {
            return Ok(());
        }
        let description = answer
            .as_ref()
            .and_then(|a| a.get("description"))
            .and_then(serde_json::Value::as_str)
            .map(|d| clip(d, MAX_ERROR_BODY))
            .unwrap_or_else(|| clip(String::from_utf8_lossy(&bytes).trim(), MAX_ERROR_BODY));
        let retry = answer
            .as_ref()
            .and_then(|a| a.pointer("/parameters/retry_after"))
            .and_then(serde_json::Value::as_u64)
            .map(Duration::from_secs)
            .or(waited);
        let what = match ok {
            Some(false) if status.is_success() => format!("the Bot API answered ok=false: {description}"),
            None if status.is_success() => {
                format!("the Bot API's answer is not the expected JSON: {description}")
            }
            _ => format!("HTTP {}: {description}", status.as_u16()),
        };
        Err(self.failure(what, retry))
    }
}

/// A webhook: the notice as a JSON POST, with `X-Molt-Timestamp` (Unix
/// seconds), `X-Molt-Signature: sha256=<hex HMAC-SHA256 of "{timestamp}.{body}">`,
/// `X-Molt-Delivery` (the notice's id, the same on every retry) and
/// `X-Molt-Event` (`fired`, `repeated` or `resolved`). Any 2xx is delivered.
pub struct WebhookChannel {
    http: reqwest::Client,
    url: reqwest::Url,
    secret: Secret,
}

impl WebhookChannel {
    pub fn new(url: &str, secret: Secret, timeout: Duration) -> Result<WebhookChannel, String> {
        if secret.expose().is_empty() {
            return Err("alerts.webhook_secret must not be empty".into());
        }
        let url = check_url("alerts.webhook_url", url)?;
        Ok(WebhookChannel { http: http_client(timeout)?, url, secret })
    }
}

#[async_trait]
impl AlertChannel for WebhookChannel {
    fn kind(&self) -> Channel {
        Channel::Webhook
    }

    async fn send(&self, notice: &AlertNotice) -> Result<(), ChannelError> {
        let body = notice.json();
        let sig = signature(self.secret.expose().as_bytes(), notice.sent_unix, &body);
        let response = self
            .http
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Molt-Timestamp", notice.sent_unix.to_string())
            .header("X-Molt-Signature", sig)
            .header("X-Molt-Delivery", notice.delivery_id.to_string())
            .header("X-Molt-Event", notice.notice.as_str())
            .body(body)
            .send()
            .await
            .map_err(|e| ChannelError::new(format!("webhook: {}", error_chain(e))))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let waited = retry_after(&response);
        let text = response.text().await.unwrap_or_default();
        let mut what = format!("webhook: HTTP {}", status.as_u16());
        if !text.trim().is_empty() {
            what.push_str(": ");
            what.push_str(&clip(text.trim(), MAX_ERROR_BODY));
        }
        Err(ChannelError { message: what, retry_after: waited })
    }
}

/// The log: a `tracing` event, `error` for a critical alert firing, `warn`
/// otherwise. Always delivered.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogChannel;

#[async_trait]
impl AlertChannel for LogChannel {
    fn kind(&self) -> Channel {
        Channel::Log
    }

    async fn send(&self, n: &AlertNotice) -> Result<(), ChannelError> {
        let (key, severity, notice, summary) = (&n.key, n.severity.as_str(), n.notice.as_str(), &n.summary);
        if n.severity == Severity::Critical && n.notice != NoticeKind::Resolved {
            tracing::error!(
                alert_id = n.alert_id,
                key,
                severity,
                notice,
                occurrences = n.occurrences,
                "alert: {summary}"
            );
        } else {
            tracing::warn!(
                alert_id = n.alert_id,
                key,
                severity,
                notice,
                occurrences = n.occurrences,
                "alert: {summary}"
            );
        }
        Ok(())
    }
}
