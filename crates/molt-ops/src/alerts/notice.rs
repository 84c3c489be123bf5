//! What a channel sends: one notice about one alert, as JSON (the webhook's
//! body) and as text (Telegram, the log), and the webhook's signature.

use chrono::{DateTime, Utc};
use molt_core::alerts::{AlertState, DueDelivery, NoticeKind, Severity};
use molt_core::time::{parse_stamp, stamp};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// One notice, as it is sent. Everything here comes from the alert's stored
/// row, which by contract holds no secrets or personal data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertNotice {
    /// The same for every attempt of this notice on this channel: a receiver
    /// can drop a notice it has already seen (delivery is at least once).
    pub delivery_id: i64,
    pub alert_id: i64,
    pub key: String,
    pub severity: Severity,
    /// `fired`, `repeated` or `resolved`.
    pub notice: NoticeKind,
    /// The alert's state when the notice is sent (a late `fired` notice may
    /// find its alert already resolved).
    pub state: AlertState,
    pub summary: String,
    pub details: serde_json::Value,
    pub occurrences: u32,
    pub fired_at: String,
    pub last_seen_at: String,
    pub resolved_at: Option<String>,
    pub sent_at: String,
    /// `sent_at` in Unix seconds: the webhook's `X-Molt-Timestamp`.
    #[serde(skip)]
    pub sent_unix: i64,
}

impl AlertNotice {
    pub fn new(due: &DueDelivery, now: DateTime<Utc>) -> AlertNotice {
        let a = &due.alert;
        AlertNotice {
            delivery_id: due.delivery.id,
            alert_id: a.id,
            key: a.key.clone(),
            severity: a.severity,
            notice: due.delivery.notice,
            state: a.state,
            summary: a.summary.clone(),
            details: a.details.clone(),
            occurrences: a.occurrences,
            fired_at: a.fired_at.clone(),
            last_seen_at: a.last_seen_at.clone(),
            resolved_at: a.resolved_at.clone(),
            sent_at: stamp(now),
            sent_unix: now.timestamp(),
        }
    }

    /// A notice for an alert the store refused to record (it is down or
    /// full): ids 0, sent once per channel without retries.
    pub fn unrecorded(
        key: &str,
        severity: Severity,
        summary: &str,
        details: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> AlertNotice {
        AlertNotice {
            delivery_id: 0,
            alert_id: 0,
            key: key.to_string(),
            severity,
            notice: NoticeKind::Fired,
            state: AlertState::Firing,
            summary: format!("{summary} (not recorded: the store refused it)"),
            details: details.clone(),
            occurrences: 1,
            fired_at: stamp(now),
            last_seen_at: stamp(now),
            resolved_at: None,
            sent_at: stamp(now),
            sent_unix: now.timestamp(),
        }
    }

    /// The message for people: severity, summary, key and when; for a
    /// resolved alert, how long it fired.
    pub fn text(&self) -> String {
        let severity = self.severity.as_str().to_uppercase();
        let fired = when(&self.fired_at);
        match self.notice {
            NoticeKind::Fired => format!(
                "Molt alert [{severity}] {}\nkey: {} · fired {fired}",
                self.summary, self.key
            ),
            NoticeKind::Repeated => format!(
                "Molt alert [{severity}] still firing: {}\nkey: {} · firing since {fired} ({}), seen {} times",
                self.summary,
                self.key,
                span(&self.fired_at, &self.last_seen_at),
                self.occurrences
            ),
            NoticeKind::Resolved => {
                let until = self.resolved_at.as_deref().unwrap_or(&self.sent_at);
                format!(
                    "Molt alert [RESOLVED] {}\nkey: {} · fired for {} ({fired} to {})",
                    self.summary,
                    self.key,
                    span(&self.fired_at, until),
                    when(until)
                )
            }
        }
    }

    /// The webhook's body: this notice as JSON.
    pub fn json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// `2026-11-20 18:00 UTC`.
fn when(t: &str) -> String {
    parse_stamp(t).map_or_else(|| t.to_string(), |t| t.format("%Y-%m-%d %H:%M UTC").to_string())
}

/// How long from `from` to `to`: `45s`, `12m`, `1h 12m`, `2d 3h`.
fn span(from: &str, to: &str) -> String {
    let (Some(a), Some(b)) = (parse_stamp(from), parse_stamp(to)) else { return "?".into() };
    let s = (b - a).num_seconds().max(0);
    let (d, h, m) = (s / 86_400, s % 86_400 / 3_600, s % 3_600 / 60);
    match () {
        _ if d > 0 => format!("{d}d {h}h"),
        _ if h > 0 => format!("{h}h {m}m"),
        _ if m > 0 => format!("{m}m"),
        _ => format!("{s}s"),
    }
}

/// HMAC-SHA256 (RFC 2104) over SHA-256, 64-byte blocks.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let (mut inner_pad, mut outer_pad) = ([0x36u8; BLOCK], [0x5cu8; BLOCK]);
    for i in 0..BLOCK {
        inner_pad[i] ^= k[i];
        outer_pad[i] ^= k[i];
    }
    let inner = Sha256::new().chain_update(inner_pad).chain_update(message).finalize();
    Sha256::new().chain_update(outer_pad).chain_update(inner).finalize().into()
}

/// The `X-Molt-Signature` value: `sha256=` and the hex HMAC-SHA256, keyed with
/// the shared secret, of `{timestamp}.{body}` (the `X-Molt-Timestamp` value, a
/// dot, and the raw body bytes).
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut signed = format!("{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    format!("sha256={}", hex::encode(hmac_sha256(secret, &signed)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use molt_core::alerts::{Alert, Channel, Delivery, DeliveryState};

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2: a short key.
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(hex::encode(mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        // Test case 6: a key longer than the block is hashed first.
        let mac = hmac_sha256(&[0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First");
        assert_eq!(hex::encode(mac), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
        // Test case 1: a 20-byte key.
        let mac = hmac_sha256(&[0x0b; 20], b"Hi There");
        assert_eq!(hex::encode(mac), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    }

    #[test]
    fn the_signature_covers_the_timestamp_and_the_body() {
        let a = signature(b"s3cret", 1_790_000_000, b"{\"a\":1}");
        // The same as Python's `hmac.new(b"s3cret", b'1790000000.{"a":1}', hashlib.sha256)`
        // and `openssl dgst -sha256 -hmac s3cret` (docs/RUNBOOK.md, "Alerts").
        assert_eq!(a, "sha256=b3e592eceaf8e8b6c5101a58c2678f5ff4e74c21bed3a56a3130ecc5c7f6ed82");
        assert_ne!(a, signature(b"s3cret", 1_790_000_001, b"{\"a\":1}"));
        assert_ne!(a, signature(b"s3cret", 1_790_000_000, b"{\"a\":2}"));
        assert_ne!(a, signature(b"other", 1_790_000_000, b"{\"a\":1}"));
        let mut signed = b"1790000000.".to_vec();
        signed.extend_from_slice(b"{\"a\":1}");
        assert_eq!(a, format!("sha256={}", hex::encode(hmac_sha256(b"s3cret", &signed))));
    }

    fn due(notice: NoticeKind, resolved_at: Option<&str>) -> DueDelivery {
        DueDelivery {
            delivery: Delivery {
                id: 7,
                alert_id: 3,
                channel: Channel::Telegram,
                notice,
                state: DeliveryState::Pending,
                attempts: 0,
                next_attempt_at: "2026-11-20T18:00:00.000Z".into(),
                last_error: None,
                created_at: "2026-11-20T18:00:00.000Z".into(),
                delivered_at: None,
            },
            alert: Alert {
                id: 3,
                key: "queue_depth".into(),
                severity: Severity::Warning,
                summary: "153 jobs queued (alert above 100)".into(),
                details: serde_json::json!({ "queue_depth": 153 }),
                state: if resolved_at.is_some() { AlertState::Resolved } else { AlertState::Firing },
                fired_at: "2026-11-20T18:00:00.000Z".into(),
                last_seen_at: "2026-11-20T18:45:00.000Z".into(),
                notified_at: "2026-11-20T18:30:00.000Z".into(),
                occurrences: 4,
                resolved_at: resolved_at.map(Into::into),
            },
        }
    }

    #[test]
    fn the_text_says_severity_summary_key_and_when() {
        let now = DateTime::parse_from_rfc3339("2026-11-20T19:12:30Z").unwrap().with_timezone(&Utc);
        let fired = AlertNotice::new(&due(NoticeKind::Fired, None), now).text();
        assert_eq!(
            fired,
            "Molt alert [WARNING] 153 jobs queued (alert above 100)\nkey: queue_depth · fired 2026-11-20 18:00 UTC"
        );
        let repeated = AlertNotice::new(&due(NoticeKind::Repeated, None), now).text();
        assert!(repeated.contains("still firing") && repeated.contains("(45m), seen 4 times"), "{repeated}");
        let resolved =
            AlertNotice::new(&due(NoticeKind::Resolved, Some("2026-11-20T19:12:00.000Z")), now).text();
        assert_eq!(
            resolved,
            "Molt alert [RESOLVED] 153 jobs queued (alert above 100)\nkey: queue_depth · fired for 1h 12m \
             (2026-11-20 18:00 UTC to 2026-11-20 19:12 UTC)"
        );
        let notice = AlertNotice::new(&due(NoticeKind::Fired, None), now);
        let body: serde_json::Value = serde_json::from_slice(&notice.json()).unwrap();
        assert_eq!(body["delivery_id"], 7);
        assert_eq!(body["notice"], "fired");
        assert_eq!(body["severity"], "warning");
        assert_eq!(body["details"]["queue_depth"], 153);
        assert_eq!(body["sent_at"], "2026-11-20T19:12:30.000Z");
        assert!(body.get("sent_unix").is_none());
        assert_eq!(notice.sent_unix, now.timestamp());
    }

    #[test]
    fn spans_read_well() {
        assert_eq!(span("2026-11-20T18:00:00.000Z", "2026-11-20T18:00:45.000Z"), "45s");
        assert_eq!(span("2026-11-20T18:00:00.000Z", "2026-11-20T18:12:00.000Z"), "12m");
        assert_eq!(span("2026-11-20T18:00:00.000Z", "2026-11-22T21:00:00.000Z"), "2d 3h");
        assert_eq!(span("nonsense", "2026-11-22T21:00:00.000Z"), "?");
    }
}
