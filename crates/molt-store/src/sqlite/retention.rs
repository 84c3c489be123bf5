//! [`RetentionStore`] on SQLite: one transaction of parameterised deletes.

use super::SqliteStore;
use crate::error::StoreResult;
use crate::retention::{PruneCounts, RetentionCutoffs, RetentionStore};
use rusqlite::Connection;

fn delete(conn: &Connection, sql: &str, cutoff: &Option<String>) -> StoreResult<u64> {
    match cutoff {
        Some(before) => Ok(conn.prepare_cached(sql)?.execute([before])? as u64),
        None => Ok(0),
    }
}

pub(super) fn prune(conn: &Connection, cutoffs: &RetentionCutoffs) -> StoreResult<PruneCounts> {
    let jobs = match &cutoffs.jobs {
        Some(before) => super::queue::prune(conn, before)? as u64,
        None => 0,
    };
    let query_log = delete(conn, "DELETE FROM query_log WHERE created_at < ?1", &cutoffs.query_log)?;
    let schedule_runs = delete(
        conn,
        "DELETE FROM schedule_runs WHERE outcome <> 'running' AND started_at < ?1",
        &cutoffs.schedule_runs,
    )?;
    let alert_deliveries = delete(
        conn,
        "DELETE FROM alert_deliveries WHERE state = 'delivered' AND delivered_at < ?1",
        &cutoffs.alert_notices,
    )?;
    // Only alerts with no notice left: a pending one is never lost to the cascade.
    let alerts = delete(
        conn,
        "DELETE FROM alerts WHERE state = 'resolved' AND resolved_at < ?1
           AND NOT EXISTS (SELECT 1 FROM alert_deliveries d WHERE d.alert_id = alerts.id)",
        &cutoffs.alert_notices,
    )?;
    Ok(PruneCounts { jobs, query_log, schedule_runs, alert_deliveries, alerts })
}

impl RetentionStore for SqliteStore {
    fn prune_older_than(&self, cutoffs: &RetentionCutoffs) -> StoreResult<PruneCounts> {
        let cutoffs = cutoffs.clone();
        self.write(move |c| prune(c, &cutoffs))
    }
}
