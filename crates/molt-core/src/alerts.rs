//! Alerts (issue 8, DESIGN §10): a condition raised under a key, deduplicated
//! while it fires, delivered through channels (Telegram, a webhook, the log)
//! from an outbox that is retried until every notice is delivered.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How bad a condition is. Ordered: `Info < Warning < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Info, Severity::Warning, Severity::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// Where a notice goes. The log channel is always on; the others when configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Telegram,
    Webhook,
    Log,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Telegram, Channel::Webhook, Channel::Log];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Telegram => "telegram",
            Channel::Webhook => "webhook",
            Channel::Log => "log",
        }
    }
}

/// Whether an alert's condition still holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    Firing,
    Resolved,
}

impl AlertState {
    pub const ALL: [AlertState; 2] = [AlertState::Firing, AlertState::Resolved];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
        }
    }
}

/// What a delivered notice says about its alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum NoticeKind {
    /// The condition started.
    Fired,
    /// It still holds, after the cooldown (or it became more severe).
    Repeated,
    /// It cleared.
    Resolved,
}

impl NoticeKind {
    pub const ALL: [NoticeKind; 3] = [NoticeKind::Fired, NoticeKind::Repeated, NoticeKind::Resolved];

    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Fired => "fired",
            NoticeKind::Repeated => "repeated",
            NoticeKind::Resolved => "resolved",
        }
    }
}

/// Whether a notice has reached its channel. There is no "given up": an
/// undelivered notice stays pending and is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    Pending,
    Delivered,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 2] = [DeliveryState::Pending, DeliveryState::Delivered];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
        }
    }
}

macro_rules! text_enum {
    ($ty:ident, $what:literal) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                let s = s.trim();
                $ty::ALL.into_iter().find(|v| v.as_str() == s).ok_or_else(|| {
                    let names: Vec<_> = $ty::ALL.iter().map(|v| v.as_str()).collect();
                    format!("`{s}` is not {} ({})", $what, names.join(", "))
                })
            }
        }
    };
}

text_enum!(Severity, "a severity");
text_enum!(Channel, "an alert channel");
text_enum!(AlertState, "an alert state");
text_enum!(NoticeKind, "an alert notice");
text_enum!(DeliveryState, "a delivery state");

/// A condition to raise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAlert {
    /// Identifies the condition (`queue_depth`, `schedule_failing:daily_summary`):
    /// at most one alert fires per key.
    pub key: String,
    pub severity: Severity,
    /// One line for a human, with the figures that triggered it. No secrets or personal data.
    pub summary: String,
    /// A JSON object with the figures; no secrets or personal data.
    pub details: serde_json::Value,
}

/// A stored alert. Times are UTC stamps (`molt_core::time::stamp`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Alert {
    pub id: i64,
    pub key: String,
    pub severity: Severity,
    pub summary: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub details: serde_json::Value,
    pub state: AlertState,
    pub fired_at: String,
    /// The last time the condition was raised.
    pub last_seen_at: String,
    /// The last time a fired or repeated notice was queued: the cooldown counts from here.
    pub notified_at: String,
    /// Times the condition was raised while this alert fired (1 when it first fired).
    pub occurrences: u32,
    pub resolved_at: Option<String>,
}

/// One notice of one alert on one channel (the `alert_deliveries` outbox).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delivery {
    pub id: i64,
    pub alert_id: i64,
    pub channel: Channel,
    pub notice: NoticeKind,
    pub state: DeliveryState,
    /// Failed attempts so far.
    pub attempts: u32,
    /// When a pending notice is next tried.
    pub next_attempt_at: String,
    /// Why the last attempt failed (never a secret: channels redact their errors).
    pub last_error: Option<String>,
    pub created_at: String,
    pub delivered_at: Option<String>,
}

/// An alert with all its notices, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertWithDeliveries {
    pub alert: Alert,
    pub deliveries: Vec<Delivery>,
}

/// A notice to send now, with the alert it is about (as the alert is now).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DueDelivery {
    pub delivery: Delivery,
    pub alert: Alert,
}

/// What raising a condition did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RaiseOutcome {
    /// No alert fired for the key: a new alert, and a `fired` notice per channel.
    Fired,
    /// The alert fired and its cooldown had passed (or the severity rose):
    /// a `repeated` notice per channel.
    Repeated,
    /// The alert fired within its cooldown: counted, nothing sent.
    Suppressed,
}

/// The answer to a raise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Raised {
    pub alert_id: i64,
    pub outcome: RaiseOutcome,
    pub occurrences: u32,
    /// The notices queued (none when suppressed, or with no channel).
    pub deliveries: Vec<i64>,
}

/// The answer to a resolve that found a firing alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolved {
    pub alert_id: i64,
    pub deliveries: Vec<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_are_named() {
        for s in Severity::ALL {
            assert_eq!(s.as_str().parse::<Severity>().unwrap(), s);
        }
        for c in Channel::ALL {
            assert_eq!(c.to_string().parse::<Channel>().unwrap(), c);
        }
        let err = "sms".parse::<Channel>().unwrap_err();
        assert!(err.contains("`sms`") && err.contains("telegram, webhook, log"), "{err}");
        assert!(Severity::Info < Severity::Warning && Severity::Warning < Severity::Critical);
        assert_eq!(serde_json::to_string(&NoticeKind::Repeated).unwrap(), "\"repeated\"");
    }
}
