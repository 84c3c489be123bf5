//! Alerts and their delivery outbox (`alerts`, `alert_deliveries`, migration
//! `…000012_operations`). At most one alert fires per key; every change to an
//! alert and the notices it queues are written in one transaction, so a
//! notice is never lost and never queued for a change that did not happen.
//! Times are the caller's (molt-ops' clock), never SQLite's.

use super::sql_int;
use crate::error::{StoreError, StoreResult};
use crate::repo::AlertStore;
use chrono::{DateTime, Utc};
use molt_core::alerts::{
    Alert, AlertWithDeliveries, Channel, Delivery, DueDelivery, NewAlert, NoticeKind, RaiseOutcome, Raised,
    Resolved,
};
use molt_core::time::{add_capped, stamp, sub_capped};
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::str::FromStr;
use std::time::Duration;

const ALERT_COLUMNS: &str = "a.id, a.key, a.severity, a.summary, a.details, a.state, a.fired_at, \
     a.last_seen_at, a.notified_at, a.occurrences, a.resolved_at";
const DELIVERY_COLUMNS: &str = "d.id, d.alert_id, d.channel, d.notice, d.state, d.attempts, \
     d.next_attempt_at, d.last_error, d.created_at, d.delivered_at";
/// Longest error text kept with a delivery.
const MAX_ERROR_CHARS: usize = 500;

fn parsed<T: FromStr<Err = String>>(idx: usize, text: String) -> rusqlite::Result<T> {
    text.parse().map_err(|e: String| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, e.into())
    })
}

fn count(idx: usize, n: i64) -> rusqlite::Result<u32> {
    u32::try_from(n)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Integer, e.into()))
}

/// An alert from [`ALERT_COLUMNS`] starting at column `at`.
fn alert_row(r: &Row<'_>, at: usize) -> rusqlite::Result<Alert> {
    let details: String = r.get(at + 4)?;
    Ok(Alert {
        id: r.get(at)?,
        key: r.get(at + 1)?,
        severity: parsed(at + 2, r.get(at + 2)?)?,
        summary: r.get(at + 3)?,
        details: serde_json::from_str(&details).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(at + 4, rusqlite::types::Type::Text, e.into())
        })?,
        state: parsed(at + 5, r.get(at + 5)?)?,
        fired_at: r.get(at + 6)?,
        last_seen_at: r.get(at + 7)?,
        notified_at: r.get(at + 8)?,
        occurrences: count(at + 9, r.get(at + 9)?)?,
        resolved_at: r.get(at + 10)?,
    })
}

/// A delivery from [`DELIVERY_COLUMNS`] starting at column `at`.
fn delivery_row(r: &Row<'_>, at: usize) -> rusqlite::Result<Delivery> {
    Ok(Delivery {
        id: r.get(at)?,
        alert_id: r.get(at + 1)?,
        channel: parsed(at + 2, r.get(at + 2)?)?,
        notice: parsed(at + 3, r.get(at + 3)?)?,
        state: parsed(at + 4, r.get(at + 4)?)?,
        attempts: count(at + 5, r.get(at + 5)?)?,
        next_attempt_at: r.get(at + 6)?,
        last_error: r.get(at + 7)?,
        created_at: r.get(at + 8)?,
        delivered_at: r.get(at + 9)?,
    })
}

/// `t + d`, saturating far in the future instead of overflowing.
/// One notice per distinct channel, due at once.
fn queue_notices(
    conn: &Connection,
    alert_id: i64,
    channels: &[Channel],
    notice: NoticeKind,
    now: &str,
) -> StoreResult<Vec<i64>> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO alert_deliveries (alert_id, channel, notice, next_attempt_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?4) RETURNING id",
    )?;
    let mut seen = Vec::new();
    let mut ids = Vec::new();
    for &channel in channels {
        if seen.contains(&channel) {
            continue;
        }
        seen.push(channel);
        ids.push(stmt.query_row(params![alert_id, channel.as_str(), notice.as_str(), now], |r| r.get(0))?);
    }
    Ok(ids)
}

fn raise(
    conn: &Connection,
    alert: &NewAlert,
    channels: &[Channel],
    now: DateTime<Utc>,
    cooldown: Duration,
) -> StoreResult<Raised> {
    if alert.key.trim().is_empty() {
        return Err(StoreError::InvalidState("an alert needs a key".into()));
    }
    let details = if alert.details.is_null() { serde_json::json!({}) } else { alert.details.clone() };
    let details = serde_json::to_string(&details).map_err(|e| StoreError::InvalidState(e.to_string()))?;
    let at = stamp(now);
    let firing = conn
        .prepare_cached(&format!(
            "SELECT {ALERT_COLUMNS} FROM alerts a WHERE a.key = ?1 AND a.state = 'firing'"
        ))?
        .query_row([&alert.key], |r| alert_row(r, 0))
        .optional()?;
    let Some(current) = firing else {
        let id: i64 = conn
            .prepare_cached(
                "INSERT INTO alerts (key, severity, summary, details, state, fired_at, last_seen_at, notified_at)
                 VALUES (?1, ?2, ?3, ?4, 'firing', ?5, ?5, ?5) RETURNING id",
            )?
            .query_row(params![alert.key, alert.severity.as_str(), alert.summary, details, at], |r| r.get(0))?;
        let deliveries = queue_notices(conn, id, channels, NoticeKind::Fired, &at)?;
        return Ok(Raised { alert_id: id, outcome: RaiseOutcome::Fired, occurrences: 1, deliveries });
    };
    let cooled = current.notified_at <= stamp(sub_capped(now, cooldown));
    let worse = alert.severity > current.severity;
    let occurrences = current.occurrences.saturating_add(1);
    if cooled || worse {
        conn.prepare_cached(
            "UPDATE alerts SET occurrences = ?2, last_seen_at = ?3, notified_at = ?3,
                 severity = ?4, summary = ?5, details = ?6
             WHERE id = ?1",
        )?
        .execute(params![
            current.id,
            occurrences,
            at,
            alert.severity.as_str(),
            alert.summary,
            details
        ])?;
        let deliveries = queue_notices(conn, current.id, channels, NoticeKind::Repeated, &at)?;
        Ok(Raised { alert_id: current.id, outcome: RaiseOutcome::Repeated, occurrences, deliveries })
    } else {
        conn.prepare_cached("UPDATE alerts SET occurrences = ?2, last_seen_at = ?3 WHERE id = ?1")?
            .execute(params![current.id, occurrences, at])?;
        Ok(Raised {
            alert_id: current.id,
            outcome: RaiseOutcome::Suppressed,
            occurrences,
            deliveries: vec![],
        })
    }
}

fn resolve(
    conn: &Connection,
    key: &str,
    channels: &[Channel],
    now: DateTime<Utc>,
) -> StoreResult<Option<Resolved>> {
    let at = stamp(now);
    let id: Option<i64> = conn
        .prepare_cached(
            "UPDATE alerts SET state = 'resolved', resolved_at = ?2
             WHERE key = ?1 AND state = 'firing' RETURNING id",
        )?
        .query_row(params![key, at], |r| r.get(0))
        .optional()?;
    match id {
        None => Ok(None),
        Some(alert_id) => {
            let deliveries = queue_notices(conn, alert_id, channels, NoticeKind::Resolved, &at)?;
            Ok(Some(Resolved { alert_id, deliveries }))
        }
    }
}

fn list(conn: &Connection, firing_only: bool, limit: usize) -> StoreResult<Vec<Alert>> {
    let filter = if firing_only { "WHERE a.state = 'firing'" } else { "" };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ALERT_COLUMNS} FROM alerts a {filter} ORDER BY a.id DESC LIMIT ?1"
    ))?;
    let rows = stmt.query_map([sql_int(limit)], |r| alert_row(r, 0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn with_deliveries(conn: &Connection, id: i64) -> StoreResult<Option<AlertWithDeliveries>> {
    let Some(alert) = conn
        .prepare_cached(&format!("SELECT {ALERT_COLUMNS} FROM alerts a WHERE a.id = ?1"))?
        .query_row([id], |r| alert_row(r, 0))
        .optional()?
    else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM alert_deliveries d WHERE d.alert_id = ?1 ORDER BY d.id"
    ))?;
    let deliveries = stmt.query_map([id], |r| delivery_row(r, 0))?.collect::<Result<_, _>>()?;
    Ok(Some(AlertWithDeliveries { alert, deliveries }))
}

fn due(conn: &Connection, now: &str, limit: usize) -> StoreResult<Vec<DueDelivery>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {DELIVERY_COLUMNS}, {ALERT_COLUMNS}
         FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id
         WHERE d.state = 'pending' AND d.next_attempt_at <= ?1
         ORDER BY d.next_attempt_at, d.id LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![now, sql_int(limit)], |r| {
        Ok(DueDelivery { delivery: delivery_row(r, 0)?, alert: alert_row(r, 10)? })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Pending deliveries among `ids` that are due at `now`, in id order. One not
/// due is either leased by a sender (sending it too would send it twice) or
/// waiting out its backoff.
fn due_by_id(conn: &Connection, ids: &[i64], now: &str) -> StoreResult<Vec<DueDelivery>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {DELIVERY_COLUMNS}, {ALERT_COLUMNS}
         FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id
         WHERE d.id = ?1 AND d.state = 'pending' AND d.next_attempt_at <= ?2"
    ))?;
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut out = Vec::new();
    for id in ids {
        let row = stmt
            .query_row(params![id, now], |r| {
                Ok(DueDelivery { delivery: delivery_row(r, 0)?, alert: alert_row(r, 10)? })
            })
            .optional()?;
        out.extend(row);
    }
    Ok(out)
}

/// Moves the claimed deliveries' next attempt to `until`, so no other process
/// sends them meanwhile; the returned rows keep the time they were due.
fn lease(conn: &Connection, claimed: &[DueDelivery], until: &str) -> StoreResult<()> {
    let mut stmt = conn.prepare_cached(
        "UPDATE alert_deliveries SET next_attempt_at = ?2 WHERE id = ?1 AND state = 'pending'",
    )?;
    for d in claimed {
        stmt.execute(params![d.delivery.id, until])?;
    }
    Ok(())
}

fn delivered(conn: &Connection, id: i64, now: &str) -> StoreResult<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE alert_deliveries SET state = 'delivered', delivered_at = ?2
             WHERE id = ?1 AND state = 'pending'",
        )?
        .execute(params![id, now])?;
    Ok(n > 0)
}

fn failed(conn: &Connection, id: i64, error: &str, next_attempt_at: &str) -> StoreResult<bool> {
    let error: String = error.chars().take(MAX_ERROR_CHARS).collect();
    let n = conn
        .prepare_cached(
            "UPDATE alert_deliveries SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3
             WHERE id = ?1 AND state = 'pending'",
        )?
        .execute(params![id, error, next_attempt_at])?;
    Ok(n > 0)
}

impl AlertStore for super::SqliteStore {
    fn raise_alert(
        &self,
        alert: NewAlert,
        channels: &[Channel],
        now: DateTime<Utc>,
        cooldown: Duration,
    ) -> StoreResult<Raised> {
        let channels = channels.to_vec();
        self.write(move |c| raise(c, &alert, &channels, now, cooldown))
    }

    fn resolve_alert(
        &self,
        key: &str,
        channels: &[Channel],
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Resolved>> {
        let (key, channels) = (key.to_string(), channels.to_vec());
        self.write(move |c| resolve(c, &key, &channels, now))
    }

    fn list_alerts(&self, firing_only: bool, limit: usize) -> StoreResult<Vec<Alert>> {
        self.read(|c| list(c, firing_only, limit))
    }

    fn alert_with_deliveries(&self, id: i64) -> StoreResult<Option<AlertWithDeliveries>> {
        self.read(|c| with_deliveries(c, id))
    }

    fn due_deliveries(&self, now: DateTime<Utc>, limit: usize) -> StoreResult<Vec<DueDelivery>> {
        self.read(|c| due(c, &stamp(now), limit))
    }

    fn claim_due_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_for: Duration,
        limit: usize,
    ) -> StoreResult<Vec<DueDelivery>> {
        self.write(move |c| {
            let claimed = due(c, &stamp(now), limit)?;
            lease(c, &claimed, &stamp(add_capped(now, lease_for)))?;
            Ok(claimed)
        })
    }

    fn claim_deliveries(
        &self,
        ids: &[i64],
        now: DateTime<Utc>,
        lease_for: Duration,
    ) -> StoreResult<Vec<DueDelivery>> {
        let ids = ids.to_vec();
        self.write(move |c| {
            let claimed = due_by_id(c, &ids, &stamp(now))?;
            lease(c, &claimed, &stamp(add_capped(now, lease_for)))?;
            Ok(claimed)
        })
    }

    fn mark_delivered(&self, delivery_id: i64, now: DateTime<Utc>) -> StoreResult<bool> {
        self.write(move |c| delivered(c, delivery_id, &stamp(now)))
    }

    fn mark_delivery_failed(
        &self,
        delivery_id: i64,
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let error = error.to_string();
        self.write(move |c| failed(c, delivery_id, &error, &stamp(next_attempt_at)))
    }

    fn pending_deliveries(&self) -> StoreResult<u64> {
        self.read(|c| {
            let n: i64 =
                c.query_row("SELECT count(*) FROM alert_deliveries WHERE state = 'pending'", [], |r| {
                    r.get(0)
                })?;
            Ok(n.max(0) as u64)
        })
    }
}
