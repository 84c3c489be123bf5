//! Alerts and their delivery outbox: deduplication by key, the cooldown,
//! resolving, and deliveries that stay pending until delivered. Times are
//! passed in, so nothing here depends on the wall clock.

use chrono::{DateTime, Duration as Span, Utc};
use molt_core::alerts::{AlertState, Channel, DeliveryState, NewAlert, NoticeKind, RaiseOutcome, Severity};
use molt_store::{AlertStore, SqliteStore, StoreOptions};
use std::path::Path;
use std::time::Duration;

const COOLDOWN: Duration = Duration::from_secs(30 * 60);
const CHANNELS: &[Channel] = &[Channel::Telegram, Channel::Webhook, Channel::Log];

fn store(dir: &Path) -> SqliteStore {
    SqliteStore::open_migrated(&StoreOptions::in_dir(dir)).unwrap()
}

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-20T18:00:00Z").unwrap().with_timezone(&Utc)
}

fn mins(n: i64) -> DateTime<Utc> {
    t0() + Span::minutes(n)
}

fn alert(key: &str, severity: Severity, summary: &str) -> NewAlert {
    NewAlert {
        key: key.into(),
        severity,
        summary: summary.into(),
        details: serde_json::json!({ "queue_depth": 153 }),
    }
}

fn counts(dir: &Path) -> (i64, i64) {
    let conn = rusqlite::Connection::open(dir.join("molt.db")).unwrap();
    let alerts = conn.query_row("SELECT count(*) FROM alerts", [], |r| r.get(0)).unwrap();
    let deliveries = conn.query_row("SELECT count(*) FROM alert_deliveries", [], |r| r.get(0)).unwrap();
    (alerts, deliveries)
}

#[test]
fn a_condition_fires_once_and_is_counted_within_the_cooldown() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let fired =
        store.raise_alert(alert("queue_depth", Severity::Warning, "153 queued"), CHANNELS, t0(), COOLDOWN);
    let fired = fired.unwrap();
    assert_eq!(fired.outcome, RaiseOutcome::Fired);
    assert_eq!((fired.occurrences, fired.deliveries.len()), (1, 3));
    assert_eq!(counts(dir.path()), (1, 3), "the alert and its notices are written together");

    for (i, at) in [mins(1), mins(10), mins(29)].into_iter().enumerate() {
        let again = store
            .raise_alert(alert("queue_depth", Severity::Warning, "160 queued"), CHANNELS, at, COOLDOWN)
            .unwrap();
        assert_eq!(again.outcome, RaiseOutcome::Suppressed);
        assert_eq!(again.alert_id, fired.alert_id);
        assert_eq!(again.occurrences, i as u32 + 2);
        assert!(again.deliveries.is_empty());
    }
    assert_eq!(counts(dir.path()), (1, 3), "suppressed raises queue nothing");

    let shown = store.alert_with_deliveries(fired.alert_id).unwrap().unwrap();
    assert_eq!(shown.alert.state, AlertState::Firing);
    assert_eq!(shown.alert.occurrences, 4);
    assert_eq!(shown.alert.summary, "153 queued", "a suppressed raise only counts");
    assert_eq!(shown.alert.fired_at, "2026-11-20T18:00:00.000Z");
    assert_eq!(shown.alert.last_seen_at, "2026-11-20T18:29:00.000Z");
    assert_eq!(shown.alert.notified_at, "2026-11-20T18:00:00.000Z");
    assert_eq!(shown.alert.details["queue_depth"], 153);
    let channels: Vec<_> = shown.deliveries.iter().map(|d| d.channel).collect();
    assert_eq!(channels, CHANNELS);
    assert!(shown.deliveries.iter().all(|d| d.notice == NoticeKind::Fired
        && d.state == DeliveryState::Pending
        && d.attempts == 0
        && d.next_attempt_at == "2026-11-20T18:00:00.000Z"));
}

#[test]
fn after_the_cooldown_a_firing_alert_is_repeated_and_the_cooldown_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let fired = store
        .raise_alert(alert("queue_depth", Severity::Warning, "153 queued"), CHANNELS, t0(), COOLDOWN)
        .unwrap();
    let repeated = store
        .raise_alert(alert("queue_depth", Severity::Warning, "170 queued"), CHANNELS, mins(30), COOLDOWN)
        .unwrap();
    assert_eq!(repeated.outcome, RaiseOutcome::Repeated, "exactly one cooldown later");
    assert_eq!((repeated.alert_id, repeated.occurrences), (fired.alert_id, 2));
    assert_eq!(repeated.deliveries.len(), 3);
    let shown = store.alert_with_deliveries(fired.alert_id).unwrap().unwrap();
    assert_eq!(shown.alert.summary, "170 queued");
    assert_eq!(shown.alert.notified_at, "2026-11-20T18:30:00.000Z");
    let notices: Vec<_> = shown.deliveries.iter().map(|d| d.notice).collect();
    assert_eq!(notices[3..], [NoticeKind::Repeated; 3]);

    // The cooldown now counts from the repeat, not from when it fired.
    let within =
        store.raise_alert(alert("queue_depth", Severity::Warning, "x"), CHANNELS, mins(59), COOLDOWN);
    assert_eq!(within.unwrap().outcome, RaiseOutcome::Suppressed);
    let after = store.raise_alert(alert("queue_depth", Severity::Warning, "y"), CHANNELS, mins(60), COOLDOWN);
    assert_eq!(after.unwrap().outcome, RaiseOutcome::Repeated);
    assert_eq!(counts(dir.path()), (1, 9));
}

#[test]
fn a_rise_in_severity_is_sent_at_once_but_a_fall_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    store.raise_alert(alert("cost_24h", Severity::Warning, "160%"), CHANNELS, t0(), COOLDOWN).unwrap();
    let worse = store.raise_alert(alert("cost_24h", Severity::Critical, "300%"), CHANNELS, mins(1), COOLDOWN);
    let worse = worse.unwrap();
    assert_eq!(worse.outcome, RaiseOutcome::Repeated);
    let shown = store.alert_with_deliveries(worse.alert_id).unwrap().unwrap();
    assert_eq!(shown.alert.severity, Severity::Critical);
    let milder = store.raise_alert(alert("cost_24h", Severity::Warning, "160%"), CHANNELS, mins(2), COOLDOWN);
    assert_eq!(milder.unwrap().outcome, RaiseOutcome::Suppressed);
    let shown = store.alert_with_deliveries(worse.alert_id).unwrap().unwrap();
    assert_eq!(shown.alert.severity, Severity::Critical, "a suppressed raise changes nothing but counts");
}

#[test]
fn resolving_queues_notices_and_a_new_firing_is_a_new_alert() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    assert_eq!(store.resolve_alert("queue_depth", CHANNELS, t0()).unwrap(), None, "nothing fired");
    let first = store
        .raise_alert(alert("queue_depth", Severity::Warning, "153 queued"), CHANNELS, t0(), COOLDOWN)
        .unwrap();
    let other = store
        .raise_alert(alert("stuck_jobs", Severity::Critical, "2 stuck"), CHANNELS, t0(), COOLDOWN)
        .unwrap();
    assert_ne!(first.alert_id, other.alert_id, "keys are deduplicated separately");

    let resolved = store.resolve_alert("queue_depth", CHANNELS, mins(12)).unwrap().unwrap();
    assert_eq!(resolved.alert_id, first.alert_id);
    assert_eq!(resolved.deliveries.len(), 3);
    assert_eq!(store.resolve_alert("queue_depth", CHANNELS, mins(13)).unwrap(), None, "resolved once");
    let shown = store.alert_with_deliveries(first.alert_id).unwrap().unwrap();
    assert_eq!(shown.alert.state, AlertState::Resolved);
    assert_eq!(shown.alert.resolved_at.as_deref(), Some("2026-11-20T18:12:00.000Z"));
    assert_eq!(shown.deliveries.iter().filter(|d| d.notice == NoticeKind::Resolved).count(), 3);

    let firing: Vec<_> = store.list_alerts(true, 10).unwrap().into_iter().map(|a| a.key).collect();
    assert_eq!(firing, ["stuck_jobs"]);

    // Within what would have been the old alert's cooldown: still a new alert.
    let again = store
        .raise_alert(alert("queue_depth", Severity::Warning, "120 queued"), CHANNELS, mins(14), COOLDOWN)
        .unwrap();
    assert_eq!(again.outcome, RaiseOutcome::Fired);
    assert!(again.alert_id > other.alert_id);
    let all: Vec<_> = store.list_alerts(false, 10).unwrap().into_iter().map(|a| (a.id, a.state)).collect();
    assert_eq!(
        all,
        [
            (again.alert_id, AlertState::Firing),
            (other.alert_id, AlertState::Firing),
            (first.alert_id, AlertState::Resolved)
        ],
        "newest first"
    );
    assert_eq!(store.list_alerts(false, 1).unwrap().len(), 1);

    // A resolve with no channel (e.g. after `molt alert test`) queues nothing.
    let quiet = store.resolve_alert("stuck_jobs", &[], mins(15)).unwrap().unwrap();
    assert!(quiet.deliveries.is_empty());
    assert_eq!(counts(dir.path()), (3, 12));
}

#[test]
fn an_alert_needs_a_key_and_null_details_become_an_object() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let empty_key = store.raise_alert(alert(" ", Severity::Info, "x"), CHANNELS, t0(), COOLDOWN);
    assert!(empty_key.is_err());
    assert_eq!(counts(dir.path()), (0, 0));
    let mut odd = alert("odd", Severity::Info, "x");
    odd.details = serde_json::Value::Null;
    let raised = store.raise_alert(odd, CHANNELS, t0(), COOLDOWN).unwrap();
    let shown = store.alert_with_deliveries(raised.alert_id).unwrap().unwrap();
    assert_eq!(shown.alert.details, serde_json::json!({}));
    assert_eq!(counts(dir.path()), (1, 3));
    assert!(store.alert_with_deliveries(raised.alert_id + 1).unwrap().is_none());
}

#[test]
fn deliveries_stay_pending_until_delivered_and_a_claim_keeps_others_off() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let fired = store
        .raise_alert(alert("queue_depth", Severity::Warning, "153 queued"), CHANNELS, t0(), COOLDOWN)
        .unwrap();
    assert_eq!(store.pending_deliveries().unwrap(), 3);
    assert!(
        store.due_deliveries(t0() - Span::seconds(1), 10).unwrap().is_empty(),
        "not due before they exist"
    );
    let due = store.due_deliveries(t0(), 10).unwrap();
    assert_eq!(due.iter().map(|d| d.delivery.id).collect::<Vec<_>>(), fired.deliveries);
    assert_eq!(due[0].alert.key, "queue_depth");
    assert_eq!(store.due_deliveries(t0(), 2).unwrap().len(), 2, "limited");

    let claimed = store.claim_due_deliveries(t0(), Duration::from_secs(120), 10).unwrap();
    assert_eq!(claimed.len(), 3);
    assert!(store.claim_due_deliveries(mins(1), Duration::from_secs(120), 10).unwrap().is_empty(), "leased");
    let [telegram, webhook, log] = [0, 1, 2].map(|i| claimed[i].delivery.id);

    assert!(store.mark_delivered(log, mins(0)).unwrap());
    assert!(!store.mark_delivered(log, mins(0)).unwrap(), "delivered once");
    assert!(store.mark_delivery_failed(telegram, "telegram: HTTP 500", mins(0) + Span::seconds(30)).unwrap());
    assert!(store.mark_delivery_failed(webhook, "webhook: refused", mins(0) + Span::seconds(30)).unwrap());
    assert!(store
        .mark_delivery_failed(webhook, "webhook: refused again", mins(1) + Span::seconds(60))
        .unwrap());
    assert!(!store.mark_delivery_failed(log, "late", mins(5)).unwrap(), "a delivered notice stays delivered");
    assert_eq!(store.pending_deliveries().unwrap(), 2);

    let shown = store.alert_with_deliveries(fired.alert_id).unwrap().unwrap();
    let by_id = |id| shown.deliveries.iter().find(|d| d.id == id).unwrap().clone();
    assert_eq!(by_id(log).state, DeliveryState::Delivered);
    assert_eq!(by_id(log).delivered_at.as_deref(), Some("2026-11-20T18:00:00.000Z"));
    assert_eq!(by_id(log).last_error, None);
    assert_eq!(by_id(telegram).attempts, 1);
    assert_eq!(by_id(telegram).next_attempt_at, "2026-11-20T18:00:30.000Z");
    assert_eq!(by_id(telegram).last_error.as_deref(), Some("telegram: HTTP 500"));
    assert_eq!(by_id(webhook).attempts, 2);
    assert_eq!(by_id(webhook).next_attempt_at, "2026-11-20T18:02:00.000Z");
    assert_eq!(by_id(webhook).last_error.as_deref(), Some("webhook: refused again"));

    // Only the telegram notice is due at 18:00:30; the webhook's at 18:02.
    let due: Vec<_> = store.due_deliveries(mins(0) + Span::seconds(30), 10).unwrap();
    assert_eq!(due.iter().map(|d| d.delivery.id).collect::<Vec<_>>(), [telegram]);
    let due: Vec<_> = store.claim_due_deliveries(mins(5), Duration::from_secs(120), 10).unwrap();
    assert_eq!(
        due.iter().map(|d| d.delivery.id).collect::<Vec<_>>(),
        [telegram, webhook],
        "longest due first"
    );

    // Claiming by id skips what is delivered and what another sender holds
    // (leased until 18:07), so no notice goes twice.
    let ids = [log, webhook, webhook];
    assert!(store.claim_deliveries(&ids, mins(6), Duration::from_secs(120)).unwrap().is_empty(), "leased");
    let now = store.claim_deliveries(&ids, mins(7), Duration::from_secs(120)).unwrap();
    assert_eq!(now.iter().map(|d| d.delivery.id).collect::<Vec<_>>(), [webhook]);
    assert!(store.mark_delivered(webhook, mins(7)).unwrap());
    assert!(store.mark_delivered(telegram, mins(7)).unwrap());
    assert_eq!(store.pending_deliveries().unwrap(), 0);
    assert!(store.due_deliveries(mins(600), 10).unwrap().is_empty());
}

#[test]
fn one_notice_per_channel_and_long_errors_are_cut_at_whole_chars() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let twice = [Channel::Webhook, Channel::Webhook];
    let fired = store.raise_alert(alert("k", Severity::Info, "s"), &twice, t0(), COOLDOWN).unwrap();
    assert_eq!(fired.deliveries.len(), 1, "one notice per distinct channel");
    let long = "ក".repeat(2_000);
    assert!(store.mark_delivery_failed(fired.deliveries[0], &long, mins(1)).unwrap());
    let shown = store.alert_with_deliveries(fired.alert_id).unwrap().unwrap();
    assert_eq!(shown.deliveries[0].last_error.as_ref().unwrap().chars().count(), 500);
}
