//! The pipeline's composite writes. Each is one transaction, so a stage's
//! output, its run record, the song's status, the next stage's job and the
//! fenced completion of the current job all commit together or not at all.

use super::{catalog, pipeline, queue, SqliteStore};
use crate::error::{StoreError, StoreResult};
use crate::repo::{CacheEntry, PipelineStore, StageFailure, StageStart, StageSuccess};
use molt_core::jobs::{ClaimedJob, JobState};
use molt_core::pipeline::{BudgetStop, NewEscalation, Reservation, Settlement, StageOutput, StageRun};
use molt_core::time::now_stamp;
use molt_core::SongStatus;

const ACTOR: &str = "pipeline";

fn fenced(conn: &rusqlite::Connection, job: &ClaimedJob) -> StoreResult<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM jobs WHERE id = ?1 AND lease_token = ?2 AND state = 'running'")?
        .exists(rusqlite::params![job.id, job.lease_token])?)
}

fn move_song(
    conn: &rusqlite::Connection,
    song_id: i64,
    to: SongStatus,
    reason: Option<&str>,
) -> StoreResult<()> {
    let current =
        catalog::get_song(conn, song_id)?.ok_or(StoreError::NotFound { what: "song", id: song_id })?;
    if current.status != to || to == SongStatus::Processing {
        catalog::set_song_status(conn, song_id, to, ACTOR, reason)?;
    }
    Ok(())
}

impl PipelineStore for SqliteStore {
    fn begin_stage(&self, job: &ClaimedJob) -> StoreResult<Option<StageStart>> {
        let job = job.clone();
        self.write(move |c| {
            let (Some(song_id), Some(stage)) = (job.song_id, job.stage) else {
                return Err(StoreError::InvalidState(format!("job {} is not a stage job", job.id)));
            };
            if !fenced(c, &job)? {
                return Ok(None);
            }
            let song =
                catalog::get_song(c, song_id)?.ok_or(StoreError::NotFound { what: "song", id: song_id })?;
            if song.status != SongStatus::Processing || song.current_stage != Some(stage) {
                if song.status != SongStatus::Processing {
                    catalog::set_song_status(c, song_id, SongStatus::Processing, ACTOR, None)?;
                }
                c.prepare_cached("UPDATE songs SET current_stage = ?2 WHERE id = ?1")?
                    .execute(rusqlite::params![song_id, stage.as_str()])?;
            }
            let now = now_stamp();
            let run_id = pipeline::start_run(c, song_id, stage, Some(job.id), job.attempt, &now)?;
            let song =
                catalog::get_song(c, song_id)?.ok_or(StoreError::NotFound { what: "song", id: song_id })?;
            Ok(Some(StageStart { run_id, song, outputs: pipeline::stage_outputs(c, song_id)? }))
        })
    }

    fn complete_stage(&self, job: &ClaimedJob, success: StageSuccess) -> StoreResult<bool> {
        let job = job.clone();
        self.write(move |c| {
            if !fenced(c, &job)? {
                return Ok(false);
            }
            let now = now_stamp();
            let song_id = job.song_id.unwrap_or_default();
            pipeline::finish_run(c, success.run_id, &success.end, &now)?;
            pipeline::accept_output(c, song_id, success.run_id, &success.output, &now)?;
            if let Some(next) = &success.next {
                queue::enqueue(c, next, &now)?;
            }
            if let Some((status, reason)) = &success.song_status {
                move_song(c, song_id, *status, reason.as_deref())?;
                if *status != SongStatus::Processing {
                    c.prepare_cached("UPDATE songs SET current_stage = NULL WHERE id = ?1")?
                        .execute([song_id])?;
                }
            }
            for e in &success.escalations {
                pipeline::escalate(c, e, ACTOR, &now)?;
            }
            if let Some(new) = &success.lyrics {
                super::lyrics::add(c, song_id, new, ACTOR)?;
            }
            Ok(queue::complete(c, &[(job.id, job.lease_token.clone())], &now)?[0])
        })
    }

    fn fail_stage(&self, job: &ClaimedJob, failure: StageFailure) -> StoreResult<Option<JobState>> {
        let job = job.clone();
        self.write(move |c| {
            if !fenced(c, &job)? {
                return Ok(None);
            }
            let now = now_stamp();
            let song_id = job.song_id.unwrap_or_default();
            if let Some(run_id) = failure.run_id {
                pipeline::finish_run(c, run_id, &failure.end, &now)?;
            }
            let state = queue::finish(c, job.id, &job.lease_token, &failure.outcome, &now)?;
            if state == Some(JobState::Failed) {
                if let Some((status, reason)) = &failure.song_status_if_final {
                    move_song(c, song_id, *status, Some(reason))?;
                    c.prepare_cached("UPDATE songs SET current_stage = NULL WHERE id = ?1")?
                        .execute([song_id])?;
                }
                for e in &failure.escalations_if_final {
                    pipeline::escalate(c, e, ACTOR, &now)?;
                }
            }
            Ok(state)
        })
    }

    fn reserve(&self, reservation: Reservation) -> StoreResult<Result<i64, BudgetStop>> {
        self.write(move |c| {
            let day_start = chrono::Utc::now().format("%Y-%m-%dT00:00:00.000Z").to_string();
            pipeline::reserve(c, &reservation, &now_stamp(), &day_start)
        })
    }

    fn settle(&self, ledger_id: i64, settlement: Settlement) -> StoreResult<()> {
        self.write(move |c| pipeline::settle(c, ledger_id, &settlement))
    }

    fn cached(&self, key: &str) -> StoreResult<Option<pipeline::Cached>> {
        self.read(|c| pipeline::cache_get(c, key))
    }

    fn use_cached(&self, key: &str, reservation: Reservation) -> StoreResult<()> {
        let key = key.to_string();
        self.write(move |c| {
            pipeline::cache_hit(c, &key)?;
            pipeline::record_cache_hit(c, &reservation, &now_stamp())
        })
    }

    fn settle_and_cache(&self, ledger_id: i64, settlement: Settlement, e: CacheEntry) -> StoreResult<()> {
        self.write(move |c| {
            pipeline::settle(c, ledger_id, &settlement)?;
            pipeline::cache_put(c, &e.key, e.stage, &e.provider, &e.model, &e.value, &now_stamp())
        })
    }

    fn price(&self, provider: &str, model: &str, unit_kind: &str) -> StoreResult<Option<f64>> {
        self.read(|c| pipeline::price(c, provider, model, unit_kind))
    }

    fn escalate(&self, escalation: NewEscalation) -> StoreResult<i64> {
        self.write(move |c| pipeline::escalate(c, &escalation, ACTOR, &now_stamp()))
    }

    fn stage_runs(&self, song_id: i64) -> StoreResult<Vec<StageRun>> {
        self.read(|c| pipeline::stage_runs(c, song_id))
    }

    fn stage_outputs(&self, song_id: i64) -> StoreResult<Vec<StageOutput>> {
        self.read(|c| pipeline::stage_outputs(c, song_id))
    }

    fn song_progress(&self, song_id: i64, history: usize) -> StoreResult<Option<crate::SongProgress>> {
        self.read(|c| super::status::song_progress(c, song_id, history))
    }

    fn claim_jobs(
        &self,
        owner: &str,
        limit: usize,
        lease: std::time::Duration,
    ) -> StoreResult<Vec<ClaimedJob>> {
        self.claim(owner, limit, lease)
    }

    fn extend_lease(&self, job: &ClaimedJob, lease: std::time::Duration) -> StoreResult<bool> {
        self.heartbeat(job.id, &job.lease_token, lease)
    }

    fn rescue_expired(
        &self,
        reservation_ttl: std::time::Duration,
    ) -> StoreResult<molt_core::jobs::ReapReport> {
        let stale = molt_core::time::stamp_in(-reservation_ttl.as_secs_f64());
        self.write(move |c| {
            let now = now_stamp();
            let report = queue::reap(c, &now)?;
            let ids = report.requeued.iter().copied().chain(report.failed.iter().map(|f| f.id));
            let mut close = c.prepare_cached(
                "UPDATE stage_runs SET state = 'failed', error = 'lease expired: the worker stopped answering',
                     error_class = 'infrastructure', finished_at = ?2
                 WHERE job_id = ?1 AND state = 'running'",
            )?;
            for id in ids {
                close.execute(rusqlite::params![id, now])?;
            }
            pipeline::release_stale_reservations(c, &stale)?;
            Ok(report)
        })
    }

    fn enqueue_job(&self, job: molt_core::jobs::NewJob) -> StoreResult<i64> {
        self.enqueue(job).map(queue::Enqueued::id)
    }

    fn prune_jobs(&self, retention: std::time::Duration) -> StoreResult<usize> {
        self.prune(retention)
    }

    fn set_status(&self, song_id: i64, status: SongStatus, reason: &str) -> StoreResult<()> {
        let reason = reason.to_string();
        self.write(move |c| {
            move_song(c, song_id, status, Some(&reason))?;
            c.prepare_cached("UPDATE songs SET current_stage = NULL WHERE id = ?1")?.execute([song_id])?;
            Ok(())
        })
    }

    fn song(&self, song_id: i64) -> StoreResult<Option<molt_core::catalog::Song>> {
        self.read(|c| catalog::get_song(c, song_id))
    }
}
