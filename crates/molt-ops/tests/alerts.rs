//! Alert delivery against a fake Telegram Bot API and a fake webhook receiver,
//! both served by axum on 127.0.0.1 inside the test, up and down. A fake clock
//! moves time, so no test waits for a backoff or depends on timing.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Response, StatusCode, Uri};
use axum::Router;
use chrono::Duration as Span;
use molt_core::alerts::{AlertState, Channel, DeliveryState, NoticeKind, RaiseOutcome, Severity};
use molt_core::config::Secret;
use molt_core::Config;
use molt_ops::alerts::{
    hmac_sha256, AlertChannel, AlertSettings, Alerter, LogChannel, TelegramChannel, WebhookChannel, TEST_KEY,
};
use molt_ops::{AlertSink, Clock, FakeClock, Raise};
use molt_store::{AlertStore, SqliteStore, StoreOptions};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TOKEN: &str = "123456:SECRET-bot-token";
const CHAT: &str = "-100123";
const HOOK_SECRET: &str = "hook-shared-secret";

/// One request a fake received.
#[derive(Debug, Clone)]
struct Hit {
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Hit {
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).unwrap_or_else(|| panic!("no {name} header")).to_str().unwrap()
    }
}

/// (status, body, extra headers) a fake answers with.
type Reply = (u16, String, Vec<(&'static str, String)>);

/// A receiver that records every request and answers what it is told to.
#[derive(Clone, Default)]
struct Fake {
    hits: Arc<Mutex<Vec<Hit>>>,
    /// Default 200 `{"ok":true,"result":{}}`.
    reply: Arc<Mutex<Option<Reply>>>,
}

impl Fake {
    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }
    fn answer(&self, status: u16, body: &str, headers: &[(&'static str, &str)]) {
        let headers = headers.iter().map(|(k, v)| (*k, v.to_string())).collect();
        *self.reply.lock().unwrap() = Some((status, body.to_string(), headers));
    }
}

async fn handle(
    State(fake): State<Fake>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    fake.hits.lock().unwrap().push(Hit { method, path: uri.path().to_string(), headers, body });
    let reply = fake.reply.lock().unwrap().clone();
    let (status, body, extra) =
        reply.unwrap_or((200, r#"{"ok":true,"result":{"message_id":1}}"#.into(), vec![]));
    let mut response = Response::builder().status(StatusCode::from_u16(status).unwrap());
    for (k, v) in extra {
        response = response.header(k, v);
    }
    response.header("content-type", "application/json").body(Body::from(body)).unwrap()
}

/// Serves `fake` on `addr` (port 0: any free port); returns where.
async fn serve(fake: &Fake, addr: SocketAddr) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().fallback(handle).with_state(fake.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// A local address nothing listens on (yet).
async fn closed_port() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

fn store(dir: &Path) -> SqliteStore {
    SqliteStore::open_migrated(&StoreOptions::in_dir(dir)).unwrap()
}

fn clock() -> FakeClock {
    FakeClock::at_rfc3339("2026-11-20T18:00:00Z")
}

fn telegram(addr: SocketAddr) -> Arc<dyn AlertChannel> {
    let base = format!("http://{addr}");
    Arc::new(TelegramChannel::new(&base, Secret::new(TOKEN), CHAT, Duration::from_secs(5)).unwrap())
}

fn webhook(addr: SocketAddr) -> Arc<dyn AlertChannel> {
    let url = format!("http://{addr}/hooks/molt");
    Arc::new(WebhookChannel::new(&url, Secret::new(HOOK_SECRET), Duration::from_secs(5)).unwrap())
}

fn alerter(store: &SqliteStore, clock: &FakeClock, channels: Vec<Arc<dyn AlertChannel>>) -> Alerter {
    let mut all: Vec<Arc<dyn AlertChannel>> = vec![Arc::new(LogChannel)];
    all.extend(channels);
    Alerter::new(Arc::new(store.clone()), Arc::new(clock.clone()), all, AlertSettings::default())
}

fn queue_alert() -> Raise {
    Raise {
        key: "queue_depth".into(),
        severity: Severity::Warning,
        summary: "153 jobs queued (alert above 100)".into(),
        details: serde_json::json!({ "queue_depth": 153, "threshold": 100 }),
    }
}

/// The deliveries of `alert_id` on `channel`, oldest first.
fn deliveries(store: &SqliteStore, alert_id: i64, channel: Channel) -> Vec<molt_core::alerts::Delivery> {
    let shown = store.alert_with_deliveries(alert_id).unwrap().unwrap();
    shown.deliveries.into_iter().filter(|d| d.channel == channel).collect()
}

#[tokio::test]
async fn telegram_gets_the_exact_bot_api_request_once() {
    let dir = tempfile::tempdir().unwrap();
    let (store, clock, bot) = (store(dir.path()), clock(), Fake::default());
    let addr = serve(&bot, "127.0.0.1:0".parse().unwrap()).await;
    let alerter = alerter(&store, &clock, vec![telegram(addr)]);
    assert_eq!(alerter.channels(), [Channel::Telegram, Channel::Log]);

    let raised = alerter.raise_alert(queue_alert()).unwrap();
    assert_eq!(raised.outcome, RaiseOutcome::Fired);
    let report = alerter.deliver_due().await.unwrap();
    assert_eq!((report.delivered, report.failed), (2, 0), "{report:?}");

    let hits = bot.hits();
    assert_eq!(hits.len(), 1);
    let hit = &hits[0];
    assert_eq!(hit.method, Method::POST);
    assert_eq!(hit.path, format!("/bot{TOKEN}/sendMessage"));
    assert!(hit.header("content-type").starts_with("application/json"));
    let body = hit.json();
    let keys: Vec<_> = body.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["chat_id", "text"]);
    assert_eq!(body["chat_id"], CHAT);
    assert_eq!(
        body["text"],
        "Molt alert [WARNING] 153 jobs queued (alert above 100)\nkey: queue_depth · fired 2026-11-20 18:00 UTC"
    );

    let sent = deliveries(&store, raised.alert_id, Channel::Telegram);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].state, DeliveryState::Delivered);
    assert_eq!(sent[0].delivered_at.as_deref(), Some("2026-11-20T18:00:00.000Z"));
    assert_eq!(deliveries(&store, raised.alert_id, Channel::Log)[0].state, DeliveryState::Delivered);

    clock.advance(Span::hours(2));
    let again = alerter.deliver_due().await.unwrap();
    assert!(again.attempts.is_empty(), "nothing left: {again:?}");
    assert_eq!(bot.hits().len(), 1, "delivered exactly once");
}

#[tokio::test]
async fn webhook_notices_are_signed_and_the_signature_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let (store, clock, hook) = (store(dir.path()), clock(), Fake::default());
    hook.answer(204, "", &[]);
    let addr = serve(&hook, "127.0.0.1:0".parse().unwrap()).await;
    let alerter = alerter(&store, &clock, vec![webhook(addr)]);
    let raised = alerter.raise_alert(queue_alert()).unwrap();
    let report = alerter.deliver_due().await.unwrap();
    assert_eq!((report.delivered, report.failed), (2, 0), "{report:?}");

    let hits = hook.hits();
    assert_eq!(hits.len(), 1);
    let hit = &hits[0];
    assert_eq!((hit.method.clone(), hit.path.as_str()), (Method::POST, "/hooks/molt"));
    assert_eq!(hit.header("content-type"), "application/json");
    let timestamp = hit.header("x-molt-timestamp");
    assert_eq!(timestamp, clock.now().timestamp().to_string());
    assert_eq!(hit.header("x-molt-event"), "fired");
    let delivery_id = deliveries(&store, raised.alert_id, Channel::Webhook)[0].id;
    assert_eq!(hit.header("x-molt-delivery"), delivery_id.to_string());

    // What a receiver does: HMAC-SHA256 of "{timestamp}.{raw body}" with the shared secret.
    let verify = |secret: &str| {
        let mut signed = format!("{timestamp}.").into_bytes();
        signed.extend_from_slice(&hit.body);
        format!("sha256={}", hex::encode(hmac_sha256(secret.as_bytes(), &signed)))
    };
    assert_eq!(hit.header("x-molt-signature"), verify(HOOK_SECRET));
    assert_ne!(hit.header("x-molt-signature"), verify("a wrong secret"));

    let body = hit.json();
    assert_eq!(body["alert_id"], raised.alert_id);
    assert_eq!(body["delivery_id"], delivery_id);
    assert_eq!(body["key"], "queue_depth");
    assert_eq!(body["severity"], "warning");
    assert_eq!(body["notice"], "fired");
    assert_eq!(body["state"], "firing");
    assert_eq!(body["summary"], "153 jobs queued (alert above 100)");
    assert_eq!(body["details"], serde_json::json!({ "queue_depth": 153, "threshold": 100 }));
    assert_eq!(body["fired_at"], "2026-11-20T18:00:00.000Z");
    assert_eq!(body["sent_at"], "2026-11-20T18:00:00.000Z");
    assert!(!String::from_utf8_lossy(&hit.body).contains(HOOK_SECRET));
}

#[tokio::test]
async fn a_telegram_api_that_is_down_keeps_the_notice_pending_until_it_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let (store, clock, bot) = (store(dir.path()), clock(), Fake::default());
    let addr = closed_port().await;
    let alerter = alerter(&store, &clock, vec![telegram(addr)]);
    let raised = alerter.raise_alert(queue_alert()).unwrap();

    let report = alerter.deliver_due().await.unwrap();
    assert_eq!((report.delivered, report.failed), (1, 1), "the log is always delivered: {report:?}");
    let failed = report.attempts.iter().find(|a| a.channel == Channel::Telegram).unwrap();
    assert_eq!(failed.next_attempt_at.as_deref(), Some("2026-11-20T18:00:30.000Z"));
    let pending = &deliveries(&store, raised.alert_id, Channel::Telegram)[0];
    assert_eq!((pending.state, pending.attempts), (DeliveryState::Pending, 1));
    assert_eq!(pending.next_attempt_at, "2026-11-20T18:00:30.000Z");
    let error = pending.last_error.clone().unwrap();
    assert!(error.starts_with("telegram: ") && error.contains("onnect"), "{error}");
    assert!(!error.contains(TOKEN) && !error.contains("SECRET-bot-token"), "the token leaked: {error}");

    // Not due again before the backoff has passed.
    clock.advance(Span::seconds(29));
    assert!(alerter.deliver_due().await.unwrap().attempts.is_empty());
    clock.advance(Span::seconds(1));
    let second = alerter.deliver_due().await.unwrap();
    assert_eq!((second.delivered, second.failed), (0, 1));
    let pending = &deliveries(&store, raised.alert_id, Channel::Telegram)[0];
    assert_eq!((pending.state, pending.attempts), (DeliveryState::Pending, 2));
    assert_eq!(pending.next_attempt_at, "2026-11-20T18:01:30.000Z", "the wait doubled to 60 s");

    // The API comes back (on the same address); the next due round delivers once.
    serve(&bot, addr).await;
    clock.advance(Span::seconds(59));
    assert!(alerter.deliver_due().await.unwrap().attempts.is_empty());
    assert!(bot.hits().is_empty());
    clock.advance(Span::seconds(1));
    let third = alerter.deliver_due().await.unwrap();
    assert_eq!((third.delivered, third.failed), (1, 0), "{third:?}");
    assert_eq!(bot.hits().len(), 1);
    let done = &deliveries(&store, raised.alert_id, Channel::Telegram)[0];
    assert_eq!((done.state, done.attempts), (DeliveryState::Delivered, 2));
    assert_eq!(done.delivered_at.as_deref(), Some("2026-11-20T18:01:30.000Z"));

    clock.advance(Span::days(1));
    assert!(alerter.deliver_due().await.unwrap().attempts.is_empty());
    assert_eq!(bot.hits().len(), 1, "delivered exactly once");
    assert_eq!(store.pending_deliveries().unwrap(), 0);
}

#[tokio::test]
async fn a_webhook_answering_errors_is_retried_with_backoff_and_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let (store, clock, hook) = (store(dir.path()), clock(), Fake::default());
    hook.answer(500, "upstream exploded", &[]);
    let addr = serve(&hook, "127.0.0.1:0".parse().unwrap()).await;
    let alerter = alerter(&store, &clock, vec![webhook(addr)]);
    let raised = alerter.raise_alert(queue_alert()).unwrap();

    alerter.deliver_due().await.unwrap();
    let pending = &deliveries(&store, raised.alert_id, Channel::Webhook)[0];
    assert_eq!((pending.state, pending.attempts), (DeliveryState::Pending, 1));
    assert_eq!(pending.last_error.as_deref(), Some("webhook: HTTP 500: upstream exploded"));
    assert_eq!(pending.next_attempt_at, "2026-11-20T18:00:30.000Z");

    // A 429 asking for two minutes waits longer than the backoff would.
    hook.answer(429, "", &[("retry-after", "120")]);
    clock.advance(Span::seconds(30));
    alerter.deliver_due().await.unwrap();
    let pending = &deliveries(&store, raised.alert_id, Channel::Webhook)[0];
    assert_eq!((pending.state, pending.attempts), (DeliveryState::Pending, 2));
    assert_eq!(pending.next_attempt_at, "2026-11-20T18:02:30.000Z");

    hook.answer(200, "thanks", &[]);
    clock.advance(Span::seconds(120));
    let report = alerter.deliver_due().await.unwrap();
    assert_eq!((report.delivered, report.failed), (1, 0));
    assert_eq!(hook.hits().len(), 3);
    let hits = hook.hits();
    let ids: Vec<_> = hits.iter().map(|h| h.header("x-molt-delivery").to_string()).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "every attempt carries the same delivery id");
    clock.advance(Span::days(1));
    assert!(alerter.deliver_due().await.unwrap().attempts.is_empty());
    assert_eq!(hook.hits().len(), 3, "nothing is sent after it was delivered");
}

#[tokio::test]
async fn a_refused_telegram_call_is_a_failure_and_its_error_never_holds_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let (store, clock, bot) = (store(dir.path()), clock(), Fake::default());
    let addr = serve(&bot, "127.0.0.1:0".parse().unwrap()).await;
    let alerter = alerter(&store, &clock, vec![telegram(addr)]);
    let raised = alerter.raise_alert(queue_alert()).unwrap();

    // A description that echoes the token (as a misbehaving proxy might).
    bot.answer(
        401,
        &format!(r#"{{"ok":false,"error_code":401,"description":"Unauthorized bot{TOKEN}"}}"#),
        &[],
    );
    alerter.deliver_due().await.unwrap();
    let error = deliveries(&store, raised.alert_id, Channel::Telegram)[0].last_error.clone().unwrap();
    assert_eq!(error, "telegram: HTTP 401: Unauthorized bot[redacted]");

    // HTTP 200 with "ok": false is not delivered either; retry_after is honoured.
    bot.answer(
        200,
        r#"{"ok":false,"description":"Too Many Requests","parameters":{"retry_after":600}}"#,
        &[],
    );
    clock.advance(Span::seconds(30));
    alerter.deliver_due().await.unwrap();
    let pending = &deliveries(&store, raised.alert_id, Channel::Telegram)[0];
    assert_eq!(pending.state, DeliveryState::Pending);
    assert_eq!(
        pending.last_error.as_deref(),
        Some("telegram: the Bot API answered ok=false: Too Many Requests")
    );
    assert_eq!(pending.next_attempt_at, "2026-11-20T18:10:30.000Z");

    // Not JSON at all.
    bot.answer(200, "<html>captive portal</html>", &[]);
    clock.advance(Span::seconds(600));
    alerter.deliver_due().await.unwrap();
    let pending = &deliveries(&store, raised.alert_id, Channel::Telegram)[0];
    assert_eq!(pending.attempts, 3);
    assert!(pending.last_error.as_deref().unwrap().contains("not the expected JSON"), "{pending:?}");
    assert_eq!(bot.hits().len(), 3);
}

#[tokio::test]
async fn every_notice_of_an_alerts_life_goes_out_through_every_channel() {
    let dir = tempfile::tempdir().unwrap();
    let (store, clock, bot, hook) = (store(dir.path()), clock(), Fake::default(), Fake::default());
    let bot_addr = serve(&bot, "127.0.0.1:0".parse().unwrap()).await;
    let hook_addr = serve(&hook, "127.0.0.1:0".parse().unwrap()).await;
    let alerter = alerter(&store, &clock, vec![webhook(hook_addr), telegram(bot_addr)]);
    let sink: &dyn AlertSink = &alerter;

    sink.raise(queue_alert()).unwrap();
    alerter.deliver_due().await.unwrap();
    clock.advance(Span::minutes(10));
    sink.raise(queue_alert()).unwrap(); // within the 30 min cooldown: counted only
    assert!(alerter.deliver_due().await.unwrap().attempts.is_empty());
    clock.advance(Span::minutes(20));
    let mut worse = queue_alert();
    worse.summary = "240 jobs queued (alert above 100)".into();
    sink.raise(worse).unwrap(); // the cooldown has passed: repeated
    alerter.deliver_due().await.unwrap();
    clock.advance(Span::minutes(42));
    sink.resolve("queue_depth").unwrap();
    sink.resolve("queue_depth").unwrap(); // nothing fires any more: no notice
    let report = alerter.deliver_due().await.unwrap();
    assert_eq!((report.delivered, report.failed), (3, 0));

    let texts: Vec<String> =
        bot.hits().iter().map(|h| h.json()["text"].as_str().unwrap().to_string()).collect();
    assert_eq!(texts.len(), 3, "{texts:?}");
    assert!(texts[0].starts_with("Molt alert [WARNING] 153 jobs queued"), "{}", texts[0]);
    assert!(
        texts[1].contains("still firing: 240 jobs queued") && texts[1].contains("seen 3 times"),
        "{}",
        texts[1]
    );
    assert!(
        texts[2].starts_with("Molt alert [RESOLVED]") && texts[2].contains("fired for 1h 12m"),
        "{}",
        texts[2]
    );
    let events: Vec<String> = hook.hits().iter().map(|h| h.header("x-molt-event").to_string()).collect();
    assert_eq!(events, ["fired", "repeated", "resolved"]);
    let last = hook.hits()[2].json();
    assert_eq!(
        (last["state"].as_str(), last["resolved_at"].as_str()),
        (Some("resolved"), Some("2026-11-20T19:12:00.000Z"))
    );

    let alerts = store.list_alerts(false, 10).unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!((alerts[0].state, alerts[0].occurrences), (AlertState::Resolved, 3));
    let shown = store.alert_with_deliveries(alerts[0].id).unwrap().unwrap();
    assert_eq!(shown.deliveries.len(), 9);
    assert!(shown.deliveries.iter().all(|d| d.state == DeliveryState::Delivered));
    let notices: Vec<_> = shown.deliveries.iter().map(|d| d.notice).collect();
    assert_eq!(notices.iter().filter(|n| **n == NoticeKind::Resolved).count(), 3);
}

#[tokio::test]
async fn two_senders_sharing_the_store_deliver_each_notice_once() {
    let dir = tempfile::tempdir().unwrap();
    let (store, clock, hook) = (store(dir.path()), clock(), Fake::default());
    let addr = serve(&hook, "127.0.0.1:0".parse().unwrap()).await;
    let one = alerter(&store, &clock, vec![webhook(addr)]);
    let two = alerter(&store, &clock, vec![webhook(addr)]);
    for i in 0..20 {
        let mut alert = queue_alert();
        alert.key = format!("condition_{i}");
        one.raise_alert(alert).unwrap();
    }
    let (a, b) = tokio::join!(one.deliver_due(), two.deliver_due());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.delivered + b.delivered, 40, "20 webhook and 20 log notices");
    assert_eq!(hook.hits().len(), 20);
    let mut ids: Vec<String> = hook.hits().iter().map(|h| h.header("x-molt-delivery").to_string()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 20, "no notice was sent twice");
}

#[tokio::test]
async fn the_test_alert_goes_out_at_once_and_leaves_nothing_firing() {
    let dir = tempfile::tempdir().unwrap();
    let (store, clock, bot, hook) = (store(dir.path()), clock(), Fake::default(), Fake::default());
    let bot_addr = serve(&bot, "127.0.0.1:0".parse().unwrap()).await;
    let hook_addr = serve(&hook, "127.0.0.1:0".parse().unwrap()).await;
    let alerter = alerter(&store, &clock, vec![telegram(bot_addr), webhook(hook_addr)]);

    for round in 1..=2 {
        let test = alerter.test().await.unwrap();
        assert_eq!(test.channels, [Channel::Telegram, Channel::Webhook, Channel::Log]);
        let ok: Vec<_> = test.report.attempts.iter().map(|a| (a.channel, a.delivered)).collect();
        assert_eq!(ok, [(Channel::Telegram, true), (Channel::Webhook, true), (Channel::Log, true)]);
        assert_eq!((bot.hits().len(), hook.hits().len()), (round, round));
        // Straight after the previous one: a new alert, never suppressed by the cooldown.
        assert!(store.list_alerts(true, 10).unwrap().is_empty(), "the test alert is resolved");
    }
    let alerts = store.list_alerts(false, 10).unwrap();
    assert_eq!(alerts.len(), 2);
    assert!(alerts.iter().all(|a| a.key == TEST_KEY && a.severity == Severity::Info));
    assert!(bot.hits()[0].json()["text"].as_str().unwrap().contains("[INFO] Test alert"));
    assert!(alerter.deliver_due().await.unwrap().attempts.is_empty(), "no resolved notice is queued");
}

#[tokio::test]
async fn a_notice_for_a_channel_no_longer_configured_stays_pending() {
    let dir = tempfile::tempdir().unwrap();
    let (store, clock, hook) = (store(dir.path()), clock(), Fake::default());
    let addr = serve(&hook, "127.0.0.1:0".parse().unwrap()).await;
    let before = alerter(&store, &clock, vec![webhook(addr)]);
    let raised = before.raise_alert(queue_alert()).unwrap();
    let after = alerter(&store, &clock, vec![]);
    let report = after.deliver_due().await.unwrap();
    assert_eq!((report.delivered, report.failed), (1, 1));
    let pending = &deliveries(&store, raised.alert_id, Channel::Webhook)[0];
    assert_eq!(pending.state, DeliveryState::Pending);
    assert!(pending.last_error.as_deref().unwrap().contains("not configured"), "{pending:?}");
    clock.advance(Span::seconds(30));
    assert_eq!(before.deliver_due().await.unwrap().delivered, 1, "delivered once it is configured again");
}

#[tokio::test]
async fn the_run_loop_delivers_what_a_raise_queued_and_stops_on_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let (store, clock, hook) = (store(dir.path()), clock(), Fake::default());
    let addr = serve(&hook, "127.0.0.1:0".parse().unwrap()).await;
    let alerter = Arc::new(alerter(&store, &clock, vec![webhook(addr)]));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = {
        let alerter = alerter.clone();
        tokio::spawn(async move {
            alerter.run(Duration::from_secs(3600), async { stopped.await.unwrap_or(()) }).await
        })
    };
    alerter.raise_alert(queue_alert()).unwrap();
    // Bounded only so a broken loop fails instead of hanging.
    tokio::time::timeout(Duration::from_secs(30), async {
        while store.pending_deliveries().unwrap() > 0 {
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the loop delivered the notices");
    assert_eq!(hook.hits().len(), 1);
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(30), running).await.expect("the loop stopped").unwrap();
}

#[tokio::test]
async fn a_notice_raised_while_stopping_goes_out_in_the_last_round() {
    let dir = tempfile::tempdir().unwrap();
    let (store, clock, hook) = (store(dir.path()), clock(), Fake::default());
    let addr = serve(&hook, "127.0.0.1:0".parse().unwrap()).await;
    let alerter = alerter(&store, &clock, vec![webhook(addr)]);
    alerter.raise_alert(queue_alert()).unwrap();
    // Stopped before its first round: only the last round can send it.
    alerter.run(Duration::from_secs(3600), async {}).await;
    assert_eq!(store.pending_deliveries().unwrap(), 0);
    assert_eq!(hook.hits().len(), 1);
}

#[test]
fn the_configuration_enables_the_channels_it_names() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn AlertStore> = Arc::new(store(dir.path()));
    let clock: Arc<dyn Clock> = Arc::new(clock());
    let env = |pairs: &[(&str, &str)]| {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>()
    };

    let config = Config::load(None, Vec::new()).unwrap();
    let alerter = Alerter::from_config(store.clone(), clock.clone(), &config).unwrap();
    assert_eq!(alerter.channels(), [Channel::Log]);
    assert_eq!(alerter.settings().cooldown, Duration::from_secs(1800));

    // A token without a chat (the bot may serve commands only) sends no alerts to Telegram.
    let config = Config::load(None, env(&[("MOLT_TELEGRAM__BOT_TOKEN", TOKEN)])).unwrap();
    assert_eq!(
        Alerter::from_config(store.clone(), clock.clone(), &config).unwrap().channels(),
        [Channel::Log]
    );

    let config = Config::load(
        Some("[alerts]\ncooldown_secs = 60\nbackoff_base_secs = 5\nbackoff_max_secs = 40\n"),
        env(&[
            ("MOLT_TELEGRAM__BOT_TOKEN", TOKEN),
            ("MOLT_TELEGRAM__CHAT_ID", CHAT),
            ("MOLT_ALERTS__WEBHOOK_URL", "http://127.0.0.1:9/hook"),
            ("MOLT_ALERTS__WEBHOOK_SECRET", HOOK_SECRET),
        ]),
    )
    .unwrap();
    let alerter = Alerter::from_config(store, clock, &config).unwrap();
    assert_eq!(alerter.channels(), [Channel::Telegram, Channel::Webhook, Channel::Log]);
    let s = alerter.settings();
    assert_eq!(s.cooldown, Duration::from_secs(60));
    assert_eq!([1, 2, 3, 4, 5].map(|n| s.backoff(n).as_secs()), [5, 10, 20, 40, 40]);
}

#[tokio::test]
async fn an_alert_the_store_refuses_is_still_sent_directly() {
    let dir = tempfile::tempdir().unwrap();
    let (store, clock, hook) = (store(dir.path()), clock(), Fake::default());
    let addr = serve(&hook, "127.0.0.1:0".parse().unwrap()).await;
    let alerter = alerter(&store, &clock, vec![webhook(addr)]);
    // The store can no longer record alerts (as when it is full or broken).
    store.write(|c| Ok(c.execute_batch("ALTER TABLE alerts RENAME TO alerts_gone")?)).unwrap();
    let err = alerter.raise_alert(queue_alert()).unwrap_err();
    assert!(err.to_string().contains("alerts"), "{err}");
    // Bounded only so a broken send fails instead of hanging.
    tokio::time::timeout(Duration::from_secs(30), async {
        while hook.hits().is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the webhook got the unrecorded alert");
    let body = hook.hits()[0].json();
    assert_eq!((body["key"].as_str(), body["alert_id"].as_i64()), (Some("queue_depth"), Some(0)));
    assert!(body["summary"].as_str().unwrap().contains("not recorded"), "{body}");
}
