//! "Where is my song?" over a real store: songs taken through the queue and the
//! pipeline's own writes (claim, begin, fail), run history written as rows with
//! chosen durations, and the answer each tier gets. No assertion depends on how
//! fast the machine is: ETAs are checked through parts that no clock moves.

use molt_core::catalog::{NewSong, StoredAudio};
use molt_core::jobs::{ClaimedJob, JobOutcome, JobState, NewJob};
use molt_core::validate::SongInput;
use molt_core::{ErrorClass, SongStatus, Stage};
use molt_search::status::{song_status, EtaBasis, SongStatusAnswer, StatusError};
use molt_search::Tier;
use molt_store::sqlite::pipeline::RunEnd;
use molt_store::{Database, PipelineStore, SqliteStore, StageFailure, StoreOptions};
use std::time::Duration;

struct Fixture {
    store: SqliteStore,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_migrated(&StoreOptions {
        path: dir.path().join("molt.db"),
        backup_dir: dir.path().join("backups"),
        busy_timeout: Duration::from_millis(200),
        lock_retries: 1,
        read_connections: 2,
    })
    .unwrap();
    Fixture { store, _dir: dir }
}

impl Fixture {
    /// A pending song with 100 s of audio.
    async fn song(&self, n: u32, title: &str) -> i64 {
        let metadata =
            SongInput {
                title: Some(title.into()), artist: Some("ស៊ីន ស៊ីសាមុត".into()), ..Default::default()
            }
            .validate(2026)
            .unwrap();
        let sha256 = format!("{n:064x}");
        let audio = StoredAudio {
            relative_path: format!("assets/audio_in/{sha256}.wav"),
            sha256,
            mime: "audio/wav".into(),
            bytes: 100,
            duration_secs: 100.0,
        };
        self.store.create_song(NewSong { metadata, audio }, "test").await.unwrap().id
    }

    fn status(&self, tier: Tier, id: i64) -> Result<SongStatusAnswer, StatusError> {
        song_status(&self.store, tier, id)
    }

    fn staff(&self, id: i64) -> SongStatusAnswer {
        self.status(Tier::Staff, id).unwrap()
    }

    /// Queue `stage` for `id`, and claim and begin it when `start`.
    fn stage_job(&self, id: i64, stage: Stage, start: bool) -> Option<(ClaimedJob, i64)> {
        self.store.enqueue_job(NewJob::stage(id, stage)).unwrap();
        if !start {
            return None;
        }
        let job = self.store.claim_jobs("worker", 1, Duration::from_secs(600)).unwrap().remove(0);
        let run = self.store.begin_stage(&job).unwrap().expect("the lease is ours").run_id;
        Some((job, run))
    }

    /// Accepted outputs for `stages` (each with a succeeded run of 1 s).
    fn done(&self, id: i64, stages: &[Stage]) {
        let stages: Vec<&'static str> = stages.iter().map(|s| s.as_str()).collect();
        self.store
            .write(move |c| {
                for stage in stages {
                    c.execute(
                        "INSERT INTO stage_runs (song_id, stage, attempt, state, started_at, duration_ms)
                         VALUES (?1, ?2, 1, 'succeeded', '2026-01-01T00:00:00.000Z', 1000)",
                        (id, stage),
                    )?;
                    c.execute(
                        "INSERT INTO stage_outputs (song_id, stage, run_id, provider, model, output, created_at)
                         VALUES (?1, ?2, ?3, 'p', 'm', '{}', 'now')",
                        (id, stage, c.last_insert_rowid()),
                    )?;
                }
                Ok(())
            })
            .unwrap();
    }

    /// Succeeded runs of `stage` that took `ms` each (history, attached to song `id`).
    fn history(&self, id: i64, stage: Stage, ms: &[i64]) {
        let ms = ms.to_vec();
        self.store
            .write(move |c| {
                for d in ms {
                    c.execute(
                        "INSERT INTO stage_runs (song_id, stage, attempt, state, started_at, duration_ms)
                         VALUES (?1, ?2, 1, 'succeeded', '2026-01-01T00:00:00.000Z', ?3)",
                        (id, stage.as_str(), d),
                    )?;
                }
                Ok(())
            })
            .unwrap();
    }
}

#[tokio::test]
async fn a_pending_song_that_nobody_queued_has_no_eta() {
    let f = fixture();
    let id = f.song(1, "ចម្ប៉ាបាត់ដំបង").await;
    let a = f.staff(id);
    assert_eq!((a.status, a.stage, a.stages_done, a.stages_total), (SongStatus::Pending, None, 0, 4));
    assert!(a.job.is_none() && a.eta.is_none() && a.failure.is_none());
    assert_eq!(a.progress, "0 of 4 stages done");
    assert_eq!(
        a.summary,
        format!("Song {id} \"ចម្ប៉ាបាត់ដំបង\": pending — not queued for processing yet (0 of 4 stages done)")
    );
    assert_eq!(a.artist, "ស៊ីន ស៊ីសាមុត");
}

#[tokio::test]
async fn a_queued_song_counts_the_jobs_ahead_and_their_time() {
    let f = fixture();
    let first = f.song(1, "a").await;
    let second = f.song(2, "b").await;
    let mine = f.song(3, "c").await;
    for id in [first, second, mine] {
        f.stage_job(id, Stage::Transcribe, false);
    }
    let a = f.staff(mine);
    assert_eq!((a.status, a.stage, a.stage_number), (SongStatus::Pending, Some(Stage::Transcribe), Some(1)));
    let job = a.job.clone().unwrap();
    assert_eq!(
        (job.state, job.attempt, job.jobs_ahead, job.retry_in_secs),
        (JobState::Queued, 1, Some(2), None)
    );
    // No history: each transcription is 3 s + 0.12 × 100 s = 15 s by default;
    // two ahead on one assumed worker, then its own.
    let eta = a.eta.unwrap();
    assert_eq!(
        (eta.basis, eta.queue_wait_secs, eta.workers_assumed, eta.seconds),
        (EtaBasis::Defaults, 30, 1, 57)
    );
    assert_eq!(eta.stages.len(), 4);
    assert_eq!(eta.stages.iter().map(|s| s.seconds).sum::<u64>(), 15 + 5 + 2 + 5);
    assert!(a.summary.contains("stage 1 of 4 (transcribe) queued, 2 job(s) ahead"), "{}", a.summary);
    assert!(a.summary.contains("about 57 s left (default estimates: no run history yet"), "{}", a.summary);
    assert_eq!(f.staff(first).job.unwrap().jobs_ahead, Some(0));
}

#[tokio::test]
async fn mid_pipeline_without_history_uses_the_defaults() {
    let f = fixture();
    let id = f.song(1, "ចម្ប៉ាបាត់ដំបង").await;
    f.done(id, &[Stage::Transcribe, Stage::Context]);
    f.stage_job(id, Stage::Critique, true);
    let a = f.staff(id);
    assert_eq!((a.status, a.stage, a.stage_number), (SongStatus::Processing, Some(Stage::Critique), Some(3)));
    assert_eq!((a.stages_done, a.progress.as_str()), (2, "2 of 4 stages done"));
    let job = a.job.clone().unwrap();
    assert_eq!((job.state, job.attempt, job.max_attempts, job.jobs_ahead), (JobState::Running, 1, 5, None));
    assert!(job.running_secs.is_some(), "the running attempt's age is known");
    let eta = a.eta.clone().unwrap();
    assert_eq!(eta.basis, EtaBasis::Defaults);
    let stages: Vec<(Stage, f64, usize)> =
        eta.stages.iter().map(|s| (s.stage, s.typical_secs, s.samples)).collect();
    assert_eq!(stages, [(Stage::Critique, 2.0, 0), (Stage::Art, 5.0, 0)]);
    assert_eq!(eta.stages[1].seconds, 5, "a stage not started yet counts whole");
    assert_eq!(eta.queue_wait_secs, 0, "it is running: no queue");
    assert!(
        a.summary.starts_with(&format!(
            "Song {id} \"ចម្ប៉ាបាត់ដំបង\": processing — stage 3 of 4 (critique), attempt 1"
        )),
        "{}",
        a.summary
    );
    assert!(a.summary.contains("left (default estimates: no run history yet)"), "{}", a.summary);
}

#[tokio::test]
async fn mid_pipeline_with_history_uses_the_median_of_recent_runs() {
    let f = fixture();
    let id = f.song(1, "ចម្ប៉ាបាត់ដំបង").await;
    let other = f.song(2, "other").await;
    f.history(other, Stage::Critique, &[10_000, 50_000, 30_000, 20_000, 40_000]);
    f.history(other, Stage::Art, &[4_000, 8_000, 6_000]);
    f.done(id, &[Stage::Transcribe, Stage::Context]);
    f.stage_job(id, Stage::Critique, true);
    let eta = f.staff(id).eta.unwrap();
    assert_eq!((eta.basis, eta.derivation.as_str()), (EtaBasis::History, "median of recent runs"));
    let stages: Vec<(Stage, f64, usize)> =
        eta.stages.iter().map(|s| (s.stage, s.typical_secs, s.samples)).collect();
    assert_eq!(stages, [(Stage::Critique, 30.0, 5), (Stage::Art, 6.0, 3)]);
    assert_eq!(eta.stages[1].seconds, 6);
    assert!(eta.seconds >= 6 && eta.seconds <= 36, "{}", eta.seconds);
    // Failed runs are no history: only succeeded ones count.
    f.store
        .write(move |c| {
            c.execute(
                "INSERT INTO stage_runs (song_id, stage, attempt, state, started_at, duration_ms)
                 VALUES (?1, 'art', 1, 'failed', '2026-01-01T00:00:00.000Z', 999000)",
                [other],
            )?;
            Ok(())
        })
        .unwrap();
    assert_eq!(f.staff(id).eta.unwrap().stages[1].typical_secs, 6.0);
}

#[tokio::test]
async fn a_failed_song_says_where_and_why() {
    let f = fixture();
    let id = f.song(1, "ចម្ប៉ាបាត់ដំបង").await;
    let (job, run) = f.stage_job(id, Stage::Transcribe, true).unwrap();
    let failure = StageFailure {
        run_id: Some(run),
        end: RunEnd {
            error: Some("the audio has no speech".into()),
            error_class: Some("schema_data".into()),
            ..RunEnd::default()
        },
        outcome: JobOutcome::Failed {
            error: "the audio has no speech".into(),
            class: ErrorClass::SchemaData,
        },
        song_status_if_final: Some((SongStatus::Failed, "transcribe failed: the audio has no speech".into())),
        escalations_if_final: Vec::new(),
    };
    assert_eq!(f.store.fail_stage(&job, failure).unwrap(), Some(JobState::Failed));
    let a = f.staff(id);
    assert_eq!((a.status, a.stage), (SongStatus::Failed, Some(Stage::Transcribe)));
    assert!(a.job.is_none() && a.eta.is_none());
    assert_eq!(a.reason.as_deref(), Some("transcribe failed: the audio has no speech"));
    let failure = a.failure.clone().unwrap();
    assert_eq!(failure.error_class.as_deref(), Some("schema_data"));
    assert_eq!((failure.stage, failure.attempts), (Some(Stage::Transcribe), Some(1)));
    assert_eq!(
        a.summary,
        format!(
            "Song {id} \"ចម្ប៉ាបាត់ដំបង\": failed — at stage 1 of 4 (transcribe) after 1 attempt(s): \
             transcribe failed: the audio has no speech"
        )
    );
}

#[tokio::test]
async fn a_retry_waits_for_its_back_off() {
    let f = fixture();
    let id = f.song(1, "x").await;
    let (job, run) = f.stage_job(id, Stage::Transcribe, true).unwrap();
    let retry = StageFailure {
        run_id: Some(run),
        end: RunEnd {
            error: Some("timeout".into()),
            error_class: Some("transient".into()),
            ..RunEnd::default()
        },
        outcome: JobOutcome::Retry {
            run_at: molt_core::time::stamp_in(600.0),
            error: "provider timed out".into(),
            class: ErrorClass::Transient,
        },
        song_status_if_final: None,
        escalations_if_final: Vec::new(),
    };
    assert_eq!(f.store.fail_stage(&job, retry).unwrap(), Some(JobState::Queued));
    let a = f.staff(id);
    let job = a.job.clone().unwrap();
    assert_eq!(
        (job.state, job.attempt, job.last_error.as_deref()),
        (JobState::Queued, 2, Some("provider timed out"))
    );
    let wait = job.retry_in_secs.unwrap();
    assert!(wait > 500 && wait <= 600, "{wait}");
    assert!(a.eta.unwrap().queue_wait_secs >= wait);
    assert!(
        a.summary.contains("retrying in 10 min as attempt 2 of 5 (last error: provider timed out)"),
        "{}",
        a.summary
    );
}

#[tokio::test]
async fn a_song_in_review_waits_for_a_person() {
    let f = fixture();
    let id = f.song(1, "x").await;
    f.done(id, &Stage::ORDER);
    f.store.set_song_status(id, SongStatus::Processing, "test", None).await.unwrap();
    let why = "lyrics confidence 0.62 is below 0.85";
    f.store.set_song_status(id, SongStatus::NeedsHumanReview, "test", Some(why.into())).await.unwrap();
    let a = f.staff(id);
    assert_eq!((a.status, a.stage, a.stages_done), (SongStatus::NeedsHumanReview, None, 4));
    assert!(a.job.is_none() && a.eta.is_none() && a.failure.is_none());
    assert_eq!(a.reason.as_deref(), Some(why));
    assert_eq!(
        a.summary,
        format!("Song {id} \"x\": needs human review — 4 of 4 stages done; waiting for a reviewer: {why}")
    );
}

#[tokio::test]
async fn published_songs_are_for_everyone_and_others_do_not_exist_for_learners() {
    let f = fixture();
    let published = f.song(1, "published").await;
    f.done(published, &Stage::ORDER);
    for to in [SongStatus::Processing, SongStatus::Review, SongStatus::Published] {
        f.store.set_song_status(published, to, "test", None).await.unwrap();
    }
    let pending = f.song(2, "pending").await;
    let failed = f.song(3, "failed").await;
    for to in [SongStatus::Processing, SongStatus::Failed] {
        f.store.set_song_status(failed, to, "test", Some("broken".into())).await.unwrap();
    }
    for tier in Tier::ALL {
        let a = f.status(tier, published).unwrap();
        assert_eq!((a.status, a.stages_done, a.reason.clone()), (SongStatus::Published, 4, None), "{tier}");
        assert_eq!(a.summary, format!("Song {published} \"published\": published — lyrics are available"));
        for hidden in [pending, failed] {
            let result = f.status(tier, hidden);
            if tier == Tier::Staff {
                assert!(result.is_ok());
            } else {
                let err = result.unwrap_err();
                assert!(matches!(err, StatusError::NotFound(id) if id == hidden), "{tier}: {err:?}");
                assert_eq!(
                    err.to_string(),
                    format!("song {hidden} not found"),
                    "the same words as a missing song"
                );
            }
        }
    }
}

#[tokio::test]
async fn an_unknown_song_is_not_found() {
    let f = fixture();
    let err = f.status(Tier::Staff, 4242).unwrap_err();
    assert!(matches!(err, StatusError::NotFound(4242)));
    assert_eq!(err.code(), "not_found");
}
