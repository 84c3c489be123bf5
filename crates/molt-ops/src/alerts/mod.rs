//! The alert service (DESIGN §10): conditions raised by the monitor and the
//! scheduler become alerts in the store, deduplicated by key with a cooldown
//! and resolved when they clear; each notice is queued per channel in the same
//! transaction and delivered by [`Alerter::deliver_due`], retried with
//! exponential backoff until it is delivered (never given up).

pub mod channels;
pub mod notice;

pub use channels::{AlertChannel, ChannelError, LogChannel, TelegramChannel, WebhookChannel};
pub use notice::{hmac_sha256, signature, AlertNotice};

use crate::alerting::{AlertError, AlertSink, Raise};
use crate::clock::Clock;
use chrono::{DateTime, Utc};
use molt_core::alerts::{Channel, DueDelivery, NewAlert, NoticeKind, Raised, Resolved, Severity};
use molt_core::config::AlertsConfig;
use molt_core::time::stamp;
use molt_core::Config;
use molt_store::AlertStore;
use serde::Serialize;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// The key of the alert `molt alert test` raises.
pub const TEST_KEY: &str = "alert_test";

/// The longest the delivery loop's last round, at shutdown, may take.
pub const FINAL_ROUND: Duration = Duration::from_secs(10);

/// The longest wait a receiver's `Retry-After` may impose on a notice.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// How alerts are deduplicated and retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertSettings {
    /// A firing alert raised again is sent again only after this long since its last notice.
    pub cooldown: Duration,
    /// The wait after the first failed attempt; it doubles with each failure …
    pub backoff_base: Duration,
    /// … up to this.
    pub backoff_max: Duration,
    /// Notices claimed (and sent, one after the other) per store transaction.
    pub batch: usize,
    /// The longest one send may take; a claim lasts long enough for a batch.
    pub request_timeout: Duration,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings::from_config(&AlertsConfig::default())
    }
}

impl AlertSettings {
    pub fn from_config(config: &AlertsConfig) -> AlertSettings {
        AlertSettings {
            cooldown: Duration::from_secs(config.cooldown_secs),
            backoff_base: Duration::from_secs(config.backoff_base_secs.max(1)),
            backoff_max: Duration::from_secs(config.backoff_max_secs.max(config.backoff_base_secs.max(1))),
            batch: 16,
            request_timeout: Duration::from_secs(config.request_timeout_secs.max(1)),
        }
    }

    /// The wait before the next attempt after `attempts` failures (1 or more):
    /// `base × 2^(attempts−1)`, at most `max`.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(32);
        self.backoff_base.saturating_mul(1u32 << doublings.min(31)).min(self.backoff_max)
    }

    /// How long claimed notices are kept from other senders.
    fn lease(&self) -> Duration {
        self.request_timeout.saturating_mul(self.batch.max(1) as u32) + Duration::from_secs(60)
    }
}

/// One attempt to deliver one notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryAttempt {
    pub delivery_id: i64,
    pub alert_id: i64,
    pub key: String,
    pub channel: Channel,
    pub notice: NoticeKind,
    pub delivered: bool,
    /// Why it failed (redacted by the channel).
    pub error: Option<String>,
    /// When a failed notice is tried again.
    pub next_attempt_at: Option<String>,
}

/// What a delivery round did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryReport {
    pub delivered: usize,
    pub failed: usize,
    pub attempts: Vec<DeliveryAttempt>,
}

/// What `molt alert test` did: the test alert and each channel's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestReport {
    pub alert_id: i64,
    pub channels: Vec<Channel>,
    pub report: DeliveryReport,
}

/// Alerts in the store, delivered through the configured channels.
pub struct Alerter {
    store: Arc<dyn AlertStore>,
    clock: Arc<dyn Clock>,
    channels: Vec<Arc<dyn AlertChannel>>,
    settings: AlertSettings,
    wake: Notify,
    unrecorded: UnrecordedSends,
}

/// Alerts sent directly because the store refused to record them (the
/// alert that the store is down cannot wait in the store's outbox): when
/// each key was last sent so, and at which severity, for the same cooldown
/// as recorded alerts. In memory only.
#[derive(Default)]
pub struct UnrecordedSends(std::sync::Mutex<std::collections::HashMap<String, (Severity, DateTime<Utc>)>>);

impl UnrecordedSends {
    /// Whether `key` should be sent now (and, if so, notes it as sent): not
    /// sent within `cooldown`, or sent at a lower severity.
    pub fn due(&self, key: &str, severity: Severity, now: DateTime<Utc>, cooldown: Duration) -> bool {
        let mut sent = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let quiet = sent
            .get(key)
            .is_some_and(|(was, at)| *was >= severity && now < molt_core::time::add_capped(*at, cooldown));
        if !quiet {
            sent.insert(key.to_string(), (severity, now));
        }
        !quiet
    }
}

impl Alerter {
    /// One channel per kind; a later one of the same kind replaces an earlier one.
    pub fn new(
        store: Arc<dyn AlertStore>,
        clock: Arc<dyn Clock>,
        channels: Vec<Arc<dyn AlertChannel>>,
        settings: AlertSettings,
    ) -> Alerter {
        let mut kept: Vec<Arc<dyn AlertChannel>> = Vec::new();
        for channel in channels {
            kept.retain(|c| c.kind() != channel.kind());
            kept.push(channel);
        }
        kept.sort_by_key(|c| c.kind());
        Alerter {
            store,
            clock,
            channels: kept,
            settings,
            wake: Notify::new(),
            unrecorded: UnrecordedSends::default(),
        }
    }

    /// The channels the configuration enables: the log always, Telegram with
    /// `telegram.bot_token` and `telegram.chat_id`, the webhook with
    /// `alerts.webhook_url` and `alerts.webhook_secret`.
    pub fn from_config(
        store: Arc<dyn AlertStore>,
        clock: Arc<dyn Clock>,
        config: &Config,
    ) -> Result<Alerter, AlertError> {
        let alerts = &config.alerts;
        let timeout = Duration::from_secs(alerts.request_timeout_secs.max(1));
        let mut channels: Vec<Arc<dyn AlertChannel>> = vec![Arc::new(LogChannel)];
        let token = config.telegram.bot_token.as_ref().filter(|t| !t.expose().trim().is_empty());
        let chat = config.telegram.chat_id.as_deref().filter(|c| !c.trim().is_empty());
        if let (Some(token), Some(chat)) = (token, chat) {
            let telegram = TelegramChannel::new(&alerts.telegram_api_base, token.clone(), chat, timeout);
            channels.push(Arc::new(telegram.map_err(AlertError)?));
        }
        if let (Some(url), Some(secret)) = (&alerts.webhook_url, &alerts.webhook_secret) {
            let webhook = WebhookChannel::new(url.expose(), secret.clone(), timeout);
            channels.push(Arc::new(webhook.map_err(AlertError)?));
        }
        Ok(Alerter::new(store, clock, channels, AlertSettings::from_config(alerts)))
    }

    /// The channels notices are queued for, in a fixed order.
    pub fn channels(&self) -> Vec<Channel> {
        self.channels.iter().map(|c| c.kind()).collect()
    }

    pub fn settings(&self) -> &AlertSettings {
        &self.settings
    }

    /// [`AlertSink::raise`], saying what happened.
    pub fn raise_alert(&self, alert: Raise) -> Result<Raised, AlertError> {
        self.raise_with(alert, self.settings.cooldown)
    }

    fn raise_with(&self, alert: Raise, cooldown: Duration) -> Result<Raised, AlertError> {
        let now = self.clock.now();
        let new = NewAlert {
            key: alert.key.clone(),
            severity: alert.severity,
            summary: alert.summary.clone(),
            details: alert.details.clone(),
        };
        let raised = match self.store.raise_alert(new, &self.channels(), now, cooldown) {
            Ok(raised) => raised,
            Err(e) => {
                self.send_unrecorded(&alert, now, &e.to_string());
                return Err(store_error(e));
            }
        };
        if !raised.deliveries.is_empty() {
            self.wake.notify_one();
        }
        Ok(raised)
    }

    /// The store refused the alert: send it at once on every channel (no
    /// retries, none recorded), at most once per cooldown per key, so the
    /// alert that the store is down or full still reaches someone.
    fn send_unrecorded(&self, alert: &Raise, now: DateTime<Utc>, why: &str) {
        tracing::error!(
            key = %alert.key, severity = alert.severity.as_str(), summary = %alert.summary, error = %why,
            "alert not recorded: the store refused it"
        );
        if !self.unrecorded.due(&alert.key, alert.severity, now, self.settings.cooldown) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let notice = Arc::new(AlertNotice::unrecorded(
            &alert.key,
            alert.severity,
            &alert.summary,
            &alert.details,
            now,
        ));
        // The log line above is the log channel's notice.
        for channel in self.channels.iter().filter(|c| c.kind() != Channel::Log) {
            let (channel, notice) = (channel.clone(), notice.clone());
            runtime.spawn(async move {
                if let Err(e) = channel.send(&notice).await {
                    tracing::warn!(key = %notice.key, channel = %channel.kind(), error = %e, "unrecorded alert not sent");
                }
            });
        }
    }

    /// [`AlertSink::resolve`], saying which alert was resolved (`None`: none fired).
    pub fn resolve_alert(&self, key: &str) -> Result<Option<Resolved>, AlertError> {
        let resolved =
            self.store.resolve_alert(key, &self.channels(), self.clock.now()).map_err(store_error)?;
        if resolved.as_ref().is_some_and(|r| !r.deliveries.is_empty()) {
            self.wake.notify_one();
        }
        Ok(resolved)
    }

    /// Sends every notice due now, oldest first, and records each result: a
    /// failed one stays pending, its next attempt moved by the backoff.
    pub async fn deliver_due(&self) -> Result<DeliveryReport, AlertError> {
        let mut report = DeliveryReport::default();
        let now = self.clock.now();
        loop {
            let store = self.store.clone();
            let (lease, batch) = (self.settings.lease(), self.settings.batch.max(1));
            let claimed = blocking(move || store.claim_due_deliveries(now, lease, batch)).await?;
            let full = claimed.len() >= batch;
            self.send_all(claimed, &mut report).await?;
            if !full {
                return Ok(report);
            }
        }
    }

    /// Sends the given notices now if they are still pending and due.
    pub async fn deliver(&self, delivery_ids: &[i64]) -> Result<DeliveryReport, AlertError> {
        let mut report = DeliveryReport::default();
        let (store, ids) = (self.store.clone(), delivery_ids.to_vec());
        let (now, lease) = (self.clock.now(), self.settings.lease());
        let claimed = blocking(move || store.claim_deliveries(&ids, now, lease)).await?;
        self.send_all(claimed, &mut report).await?;
        Ok(report)
    }

    /// Raises the test alert ([`TEST_KEY`], info), sends it at once through
    /// every channel, and resolves it without a notice. A channel that fails
    /// keeps its notice pending, like any other.
    pub async fn test(&self) -> Result<TestReport, AlertError> {
        let raised = self.raise_with(
            Raise {
                key: TEST_KEY.into(),
                severity: Severity::Info,
                summary: "Test alert from `molt alert test`: this channel works.".into(),
                details: serde_json::json!({ "test": true }),
            },
            Duration::ZERO,
        )?;
        let report = self.deliver(&raised.deliveries).await?;
        self.store.resolve_alert(TEST_KEY, &[], self.clock.now()).map_err(store_error)?;
        Ok(TestReport { alert_id: raised.alert_id, channels: self.channels(), report })
    }

    /// Delivers what is due every `every`, and at once when a raise or a
    /// resolve queued notices, until `shutdown` completes; then one last
    /// round (at most [`FINAL_ROUND`]) sends what the shutdown itself raised.
    pub async fn run(&self, every: Duration, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut tick = tokio::time::interval(every.max(Duration::from_millis(10)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                _ = &mut shutdown => break,
                _ = tick.tick() => {}
                _ = self.wake.notified() => {}
            }
            self.round().await;
        }
        if tokio::time::timeout(FINAL_ROUND, self.round()).await.is_err() {
            tracing::warn!("the last alert delivery round ran out of time; the next start sends the rest");
        }
    }

    async fn round(&self) {
        if let Err(e) = self.deliver_due().await {
            tracing::warn!(error = %e, "alert delivery round failed; retrying on the next round");
        }
    }

    async fn send_all(
        &self,
        claimed: Vec<DueDelivery>,
        report: &mut DeliveryReport,
    ) -> Result<(), AlertError> {
        for due in claimed {
            let attempt = self.send_one(&due).await?;
            if attempt.delivered {
                report.delivered += 1;
            } else {
                report.failed += 1;
            }
            report.attempts.push(attempt);
        }
        Ok(())
    }

    async fn send_one(&self, due: &DueDelivery) -> Result<DeliveryAttempt, AlertError> {
        let d = &due.delivery;
        let channel = self.channels.iter().find(|c| c.kind() == d.channel);
        let sent = match channel {
            Some(channel) => channel.send(&AlertNotice::new(due, self.clock.now())).await,
            None => Err(ChannelError::new(format!(
                "{}: the channel is not configured (the notice is kept until it is)",
                d.channel
            ))),
        };
        let now = self.clock.now();
        let store = self.store.clone();
        let mut attempt = DeliveryAttempt {
            delivery_id: d.id,
            alert_id: due.alert.id,
            key: due.alert.key.clone(),
            channel: d.channel,
            notice: d.notice,
            delivered: false,
            error: None,
            next_attempt_at: None,
        };
        match sent {
            Ok(()) => {
                let id = d.id;
                blocking(move || store.mark_delivered(id, now)).await?;
                attempt.delivered = true;
            }
            Err(e) => {
                // A receiver's wait is honoured up to a day: a misbehaving one
                // must not park a notice for years.
                let asked = e.retry_after.unwrap_or_default().min(MAX_RETRY_AFTER);
                let wait = self.settings.backoff(d.attempts.saturating_add(1)).max(asked);
                let next = molt_core::time::add_capped(now, wait);
                tracing::warn!(
                    delivery_id = d.id,
                    alert_id = due.alert.id,
                    key = %due.alert.key,
                    channel = %d.channel,
                    attempts = d.attempts + 1,
                    next_attempt_at = %stamp(next),
                    error = %e,
                    "alert notice not delivered; it stays pending"
                );
                let (id, message) = (d.id, e.message.clone());
                blocking(move || store.mark_delivery_failed(id, &message, next)).await?;
                attempt.error = Some(e.message);
                attempt.next_attempt_at = Some(stamp(next));
            }
        }
        Ok(attempt)
    }
}

impl AlertSink for Alerter {
    fn raise(&self, alert: Raise) -> Result<(), AlertError> {
        self.raise_alert(alert).map(|_| ())
    }

    fn resolve(&self, key: &str) -> Result<(), AlertError> {
        self.resolve_alert(key).map(|_| ())
    }
}

fn store_error(e: molt_store::StoreError) -> AlertError {
    AlertError(e.to_string())
}

/// Store work off the async runtime's threads.
async fn blocking<T, F>(f: F) -> Result<T, AlertError>
where
    T: Send + 'static,
    F: FnOnce() -> molt_store::StoreResult<T> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AlertError(format!("alert store task failed: {e}")))?
        .map_err(store_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unrecorded_alert_is_sent_once_per_cooldown_unless_its_severity_rises() {
        use molt_core::alerts::Severity::{Critical, Warning};
        let sends = super::UnrecordedSends::default();
        let t0 = chrono::Utc::now();
        let cooldown = Duration::from_secs(1800);
        let at = |secs: i64| t0 + chrono::Duration::seconds(secs);
        assert!(sends.due("store_unreachable", Warning, at(0), cooldown));
        assert!(!sends.due("store_unreachable", Warning, at(60), cooldown), "within the cooldown");
        assert!(sends.due("disk_space", Warning, at(60), cooldown), "another key");
        assert!(sends.due("store_unreachable", Critical, at(120), cooldown), "a rise goes at once");
        assert!(!sends.due("store_unreachable", Warning, at(180), cooldown));
        assert!(sends.due("store_unreachable", Warning, at(120 + 1800), cooldown), "the cooldown is over");
    }

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_cap() {
        let s = AlertSettings::default();
        let secs: Vec<u64> =
            [1, 2, 3, 4, 5, 6, 7, 8, 50, u32::MAX].iter().map(|&n| s.backoff(n).as_secs()).collect();
        assert_eq!(secs, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
        assert_eq!(s.backoff(0).as_secs(), 30);
    }
}
