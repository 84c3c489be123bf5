//! The stage runner and router end to end on a real store, with in-process
//! providers scripted per test.

mod common;

use common::{drain, full_router, Act, Fake, Studio};
use molt_core::{ErrorClass, SongStatus, Stage};
use molt_pipeline::router::RouterConfig;
use molt_store::PipelineStore;
use std::sync::atomic::Ordering;
use std::time::Duration;

const LEASE: Duration = Duration::from_secs(60);

fn quick() -> RouterConfig {
    RouterConfig {
        timeout: Duration::from_millis(200),
        breaker_cooldown: Duration::from_millis(50),
        ..RouterConfig::default()
    }
}

#[tokio::test]
async fn songs_go_through_all_four_stages_to_review() {
    let studio = Studio::new();
    let songs = studio.songs(3).await;
    for (stage, price) in [
        ("good-transcribe", 1000.0),
        ("good-context", 2000.0),
        ("good-critique", 3000.0),
        ("good-art", 4000.0),
    ] {
        studio.set_price(stage, price);
    }
    let runner = studio.runner(full_router(&studio, quick(), vec![]), LEASE);
    for id in &songs {
        assert_eq!(runner.start_song(*id).unwrap(), Some(Stage::Transcribe));
    }
    drain(&studio, &runner, 50).await;
    assert_eq!(studio.statuses().await, vec![SongStatus::Review; 3]);
    for id in &songs {
        let outputs = studio.store.stage_outputs(*id).unwrap();
        assert_eq!(outputs.iter().map(|o| o.stage).collect::<Vec<_>>(), Stage::ORDER.to_vec());
        let runs = studio.store.stage_runs(*id).unwrap();
        assert_eq!(runs.len(), 4);
        assert!(runs.iter().all(|r| r.state == "succeeded" && r.duration_ms.is_some()));
    }
    assert_eq!(studio.scalar("SELECT count(*) FROM cost_ledger WHERE outcome = 'ok'"), 12);
    assert_eq!(studio.scalar("SELECT sum(micro_usd) FROM cost_ledger"), 3 * 10_000);
    assert_eq!(studio.scalar("SELECT sum(cost_micro_usd) FROM songs"), 3 * 10_000);
    assert_eq!(studio.scalar("SELECT count(*) FROM jobs WHERE state = 'succeeded'"), 12);
    let lyrics =
        molt_store::Database::lyrics(&studio.store, songs[0], None).await.unwrap().expect("a lyrics version");
    assert_eq!((lyrics.version, lyrics.source), (1, molt_core::catalog::LyricsSource::Asr));
    assert_eq!(lyrics.text, "ខ្ញុំស្រលាញ់អូន");
    assert_eq!(lyrics.author, "asr:good-transcribe:m1");
    assert_eq!(lyrics.timed.unwrap()["lines"][0]["end_ms"], 1500);
    // Nothing left to do: starting a reviewed song again is refused.
    assert!(runner.start_song(songs[0]).is_err());
}

#[tokio::test]
async fn a_restart_resumes_at_the_first_unfinished_stage() {
    let studio = Studio::new();
    let id = studio.songs(1).await[0];
    let transcriber = Fake::good(Stage::Transcribe, "t");
    let calls = transcriber.calls.clone();
    let context = Fake::new(Stage::Context, "c", |_, _| Act::Err(ErrorClass::Infrastructure, None));
    let runner =
        studio.runner(full_router(&studio, quick(), vec![transcriber.link(), context.link()]), LEASE);
    runner.start_song(id).unwrap();
    runner.pass().await.unwrap(); // transcribe
    runner.pass().await.unwrap(); // context fails, deferred
    assert_eq!(studio.status(id).await, SongStatus::Processing);

    // A new process with working providers picks the song up again at `context`.
    let runner = studio.runner(full_router(&studio, quick(), vec![]), LEASE);
    assert_eq!(runner.start_song(id).unwrap(), Some(Stage::Context));
    drain(&studio, &runner, 50).await;
    assert_eq!(studio.status(id).await, SongStatus::Review);
    assert_eq!(calls.load(Ordering::SeqCst), 1, "transcription was not repeated");
}

#[tokio::test]
async fn transient_errors_retry_at_once_then_back_off_through_run_at() {
    let studio = Studio::new();
    let id = studio.songs(1).await[0];
    let flaky = Fake::new(Stage::Transcribe, "flaky", |_, _| Act::Err(ErrorClass::Transient, None));
    let calls = flaky.calls.clone();
    let runner = studio.runner(full_router(&studio, quick(), vec![flaky.link()]), LEASE);
    runner.start_song(id).unwrap();
    runner.pass().await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2, "one immediate retry in-process");
    let (state, attempt, class, run_at) = studio.job(id, Stage::Transcribe);
    assert_eq!((state.as_str(), attempt, class.as_deref()), ("queued", 1, Some("transient")));
    assert!(run_at > molt_core::time::stamp_in(1.0), "backed off ≥ ~2 s: {run_at}");
    assert_eq!(runner.pass().await.unwrap().claimed, 0, "no sleeping worker: the job waits in the queue");
}

#[tokio::test]
async fn a_429_waits_for_retry_after_plus_one_second() {
    let studio = Studio::new();
    let id = studio.songs(1).await[0];
    let limited = Fake::new(Stage::Transcribe, "limited", |_, _| {
        Act::Err(ErrorClass::RateLimited, Some(Duration::from_secs(30)))
    });
    let runner = studio.runner(full_router(&studio, quick(), vec![limited.link()]), LEASE);
    runner.start_song(id).unwrap();
    runner.pass().await.unwrap();
    let (state, _, class, run_at) = studio.job(id, Stage::Transcribe);
    assert_eq!((state.as_str(), class.as_deref()), ("queued", Some("rate_limited")));
    assert!(run_at > molt_core::time::stamp_in(30.0) && run_at < molt_core::time::stamp_in(32.0), "{run_at}");
}

#[tokio::test]
async fn repeated_429s_switch_to_the_next_provider() {
    let studio = Studio::new();
    let id = studio.songs(1).await[0];
    let limited = Fake::new(Stage::Transcribe, "limited", |_, _| Act::Err(ErrorClass::RateLimited, None));
    let backup = Fake::good(Stage::Transcribe, "backup");
    let backup_calls = backup.calls.clone();
    let runner = studio.runner(full_router(&studio, quick(), vec![limited.link(), backup.link()]), LEASE);
    runner.start_song(id).unwrap();
    drain(&studio, &runner, 50).await;
    assert_eq!(studio.status(id).await, SongStatus::Review);
    assert_eq!(backup_calls.load(Ordering::SeqCst), 1);
    assert_eq!(studio.store.stage_outputs(id).unwrap()[0].provider, "backup");
    assert_eq!(studio.scalar("SELECT count(*) FROM cost_ledger WHERE outcome = 'rate_limited'"), 3);
}

#[tokio::test]
async fn infrastructure_failures_fall_back_to_the_next_provider_at_once() {
    let studio = Studio::new();
    let id = studio.songs(1).await[0];
    let down = Fake::new(Stage::Context, "down", |_, _| Act::Err(ErrorClass::Infrastructure, None));
    let runner = studio.runner(
        full_router(&studio, quick(), vec![down.link(), Fake::good(Stage::Context, "backup").link()]),
        LEASE,
    );
    runner.start_song(id).unwrap();
    drain(&studio, &runner, 50).await;
    assert_eq!(studio.status(id).await, SongStatus::Review);
    assert_eq!(studio.store.stage_outputs(id).unwrap()[1].provider, "backup");
}

#[tokio::test]
async fn schema_and_unknown_errors_are_never_retried_and_escalate() {
    for (class, role) in [
        (ErrorClass::SchemaData, "engineer"),
        (ErrorClass::Business, "operator"),
        (ErrorClass::Unknown, "operator"),
    ] {
        let studio = Studio::new();
        let id = studio.songs(1).await[0];
        let broken = Fake::new(Stage::Critique, "broken", move |_, _| Act::Err(class, None));
        let calls = broken.calls.clone();
        let backup = Fake::good(Stage::Critique, "backup");
        let backup_calls = backup.calls.clone();
        let runner = studio.runner(full_router(&studio, quick(), vec![broken.link(), backup.link()]), LEASE);
        runner.start_song(id).unwrap();
        drain(&studio, &runner, 50).await;
        assert_eq!(calls.load(Ordering::SeqCst), 1, "{class:?}: exactly one call");
        assert_eq!(backup_calls.load(Ordering::SeqCst), 0, "{class:?}: no fallback either");
        assert_eq!(studio.status(id).await, SongStatus::Failed);
        assert_eq!(studio.job(id, Stage::Critique).0, "failed");
        let to: String = studio
            .store
            .read(|c| {
                Ok(c.query_row("SELECT to_role FROM escalations WHERE kind = 'critical_failure'", [], |r| {
                    r.get(0)
                })?)
            })
            .unwrap();
        assert_eq!(to, role, "{class:?}");
        assert_eq!(studio.scalar("SELECT count(*) FROM events WHERE kind = 'alert.escalated'"), 1);
    }
}

#[tokio::test]
async fn transient_failures_exhaust_attempts_then_fail_and_escalate() {
    let studio = Studio::new();
    let id = studio.songs(1).await[0];
    let flaky = Fake::new(Stage::Art, "flaky", |_, _| Act::Err(ErrorClass::Transient, None));
    let calls = flaky.calls.clone();
    // Art falls back to a placeholder after the last attempt instead of failing the song.
    let runner = studio.runner(
        full_router(&studio, RouterConfig { breaker_threshold: 100, ..quick() }, vec![flaky.link()]),
        LEASE,
    );
    runner.start_song(id).unwrap();
    drain(&studio, &runner, 50).await;
    assert_eq!(calls.load(Ordering::SeqCst), 10, "5 attempts × (call + immediate retry)");
    let art = studio.store.stage_outputs(id).unwrap().pop().unwrap();
    assert!(art.flagged && art.output["placeholder"] == true);
    assert_eq!(studio.status(id).await, SongStatus::NeedsHumanReview);
    assert_eq!(studio.scalar("SELECT count(*) FROM escalations WHERE kind = 'quality'"), 1);
}

#[tokio::test]
async fn a_low_confidence_transcript_is_retried_with_the_next_transcriber() {
    let studio = Studio::new();
    let id = studio.songs(1).await[0];
    let weak = Fake::new(Stage::Transcribe, "weak", |_, _| Act::Ok(0.40));
    let strong = Fake::new(Stage::Transcribe, "strong", |_, _| Act::Ok(0.91));
    let runner = studio.runner(full_router(&studio, quick(), vec![weak.link(), strong.link()]), LEASE);
    runner.start_song(id).unwrap();
    drain(&studio, &runner, 50).await;
    let t = &studio.store.stage_outputs(id).unwrap()[0];
    assert_eq!((t.provider.as_str(), t.flagged), ("strong", false));
    assert_eq!(studio.status(id).await, SongStatus::Review);
}

#[tokio::test]
async fn still_low_quality_goes_to_human_review_with_an_alert() {
    let studio = Studio::new();
    let id = studio.songs(1).await[0];
    let weak = Fake::new(Stage::Transcribe, "weak", |_, _| Act::Ok(0.40));
    let vague = Fake::new(Stage::Context, "vague", |_, input| {
        Act::Ok(if input["broaden"] == true { 0.70 } else { 0.50 })
    });
    let inputs = vague.inputs.clone();
    let runner = studio.runner(full_router(&studio, quick(), vec![weak.link(), vague.link()]), LEASE);
    runner.start_song(id).unwrap();
    drain(&studio, &runner, 50).await;
    assert_eq!(studio.status(id).await, SongStatus::NeedsHumanReview);
    let broadened: Vec<bool> = inputs.lock().unwrap().iter().map(|i| i["broaden"] == true).collect();
    assert_eq!(broadened, vec![false, true], "context retried once with broader sources");
    let context = &studio.store.stage_outputs(id).unwrap()[1];
    assert_eq!((context.quality, context.flagged), (Some(0.70), true));
    let summary: String = studio
        .store
        .read(
            |c| Ok(c.query_row("SELECT summary FROM escalations WHERE kind = 'quality'", [], |r| r.get(0))?),
        )
        .unwrap();
    assert!(
        summary.contains("lyrics confidence 0.40") && summary.contains("context relevance 0.70"),
        "{summary}"
    );
}

#[tokio::test]
async fn a_low_critique_score_fails_the_lyrics_check_and_says_so() {
    let studio = Studio::new();
    let id = studio.songs(1).await[0];
    let harsh = Fake::new(Stage::Critique, "harsh", |_, _| Act::Ok(0.50));
    let inputs = harsh.inputs.clone();
    let runner = studio.runner(full_router(&studio, quick(), vec![harsh.link()]), LEASE);
    runner.start_song(id).unwrap();
    drain(&studio, &runner, 50).await;
    assert_eq!(studio.status(id).await, SongStatus::NeedsHumanReview);
    let critique = &studio.store.stage_outputs(id).unwrap()[2];
    assert_eq!((critique.quality, critique.flagged), (Some(0.50), true));
    let summary: String = studio
        .store
        .read(
            |c| Ok(c.query_row("SELECT summary FROM escalations WHERE kind = 'quality'", [], |r| r.get(0))?),
        )
        .unwrap();
    // The transcriber was sure (0.95): only the critic's check failed, and it is named.
    assert!(
        summary.contains("lyrics critique score 0.50 < 0.70") && !summary.contains("lyrics confidence"),
        "{summary}"
    );
    // The critic saw the transcript's lines, its segments, the song's duration and the language.
    let input = inputs.lock().unwrap()[0].clone();
    assert_eq!(input["lyrics"], "ខ្ញុំស្រលាញ់អូន");
    assert_eq!(input["segments"][0]["end"], 1.5);
    assert_eq!(input["language"], "km", "the song has none: the transcript's");
    assert!((input["duration_secs"].as_f64().unwrap() - 1.5).abs() < 0.01, "{input}");
}

#[tokio::test]
async fn a_stage_without_providers_fails_clearly_and_never_fakes_a_result() {
    let studio = Studio::new();
    let id = studio.songs(1).await[0];
    let mut router = studio.router(quick());
    router.mark_unavailable(Stage::Transcribe, "local_whisper:base is not built into this molt yet".into());
    let runner = studio.runner(router, LEASE);
    runner.start_song(id).unwrap();
    drain(&studio, &runner, 10).await;
    assert_eq!(studio.status(id).await, SongStatus::Failed);
    assert!(studio.store.stage_outputs(id).unwrap().is_empty());
    let error = studio.store.stage_runs(id).unwrap()[0].error.clone().unwrap();
    assert!(
        error.contains("no transcribe provider is available: local_whisper:base is not built"),
        "{error}"
    );
}

#[tokio::test]
async fn a_circuit_opens_after_repeated_failures_and_closes_again() {
    let studio = Studio::new();
    let songs = studio.songs(4).await;
    // Fails its first three calls, then recovers.
    let shaky = Fake::new(Stage::Transcribe, "shaky", |n, _| {
        if n < 3 {
            Act::Err(ErrorClass::Infrastructure, None)
        } else {
            Act::Ok(0.95)
        }
    });
    let shaky_id = molt_pipeline::ProviderId::new("shaky", "m1");
    let shaky_calls = shaky.calls.clone();
    let router = full_router(
        &studio,
        RouterConfig { breaker_cooldown: Duration::from_millis(300), ..quick() },
        vec![shaky.link(), Fake::good(Stage::Transcribe, "backup").link()],
    );
    let router = std::sync::Arc::new(router);
    let runner = molt_pipeline::runner::Runner::new(
        std::sync::Arc::new(studio.store.clone()),
        router.clone(),
        molt_pipeline::runner::RunnerConfig {
            lease: LEASE,
            batch: 1,
            owner: "w".into(),
            gate: Default::default(),
            data_dir: studio.config.data_dir.clone(),
        },
    );
    for id in &songs[..3] {
        runner.start_song(*id).unwrap();
    }
    for _ in 0..3 {
        runner.pass().await.unwrap();
    }
    assert!(router.circuit_open(&shaky_id), "three failures open the circuit");
    runner.start_song(songs[3]).unwrap();
    runner.pass().await.unwrap();
    assert_eq!(shaky_calls.load(Ordering::SeqCst), 3, "an open circuit is skipped");
    tokio::time::sleep(Duration::from_millis(350)).await;
    drain(&studio, &runner, 50).await;
    assert!(!router.circuit_open(&shaky_id), "a good trial after the cooldown closes it");
    assert_eq!(shaky_calls.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn the_per_song_budget_stops_spending_at_the_cap() {
    let studio = Studio::new();
    let id = studio.songs(1).await[0];
    for stage in ["good-transcribe", "good-context", "good-critique", "good-art"] {
        studio.set_price(stage, 200_000.0);
    }
    let runner = studio.runner(full_router(&studio, quick(), vec![]), LEASE);
    runner.start_song(id).unwrap();
    drain(&studio, &runner, 50).await;
    // $0.50 per song: two $0.20 calls fit, the third would not.
    assert_eq!(studio.scalar("SELECT sum(micro_usd) FROM cost_ledger"), 400_000);
    assert_eq!(studio.scalar("SELECT count(*) FROM cost_ledger WHERE outcome = 'ok'"), 2);
    assert_eq!(studio.status(id).await, SongStatus::NeedsHumanReview);
    assert_eq!(studio.scalar("SELECT count(*) FROM escalations WHERE kind = 'budget'"), 1);
}

#[tokio::test]
async fn the_daily_budget_pauses_the_stage_until_tomorrow() {
    let studio = Studio::new();
    let id = studio.songs(1).await[0];
    studio.set_budget("per_day", 0);
    studio.set_price("good-transcribe", 1.0);
    let runner = studio.runner(full_router(&studio, quick(), vec![]), LEASE);
    runner.start_song(id).unwrap();
    runner.pass().await.unwrap();
    let (state, _, class, run_at) = studio.job(id, Stage::Transcribe);
    assert_eq!((state.as_str(), class.as_deref()), ("queued", Some("business")));
    assert!(run_at.ends_with("T00:00:00.000Z") && run_at > molt_core::time::now_stamp(), "{run_at}");
    assert_eq!(
        studio.scalar("SELECT count(*) FROM cost_ledger WHERE micro_usd > 0 OR reserved_micro_usd > 0"),
        0,
        "nothing spent"
    );
    assert_eq!(studio.scalar("SELECT count(*) FROM escalations WHERE kind = 'budget'"), 1);
    assert_eq!(studio.status(id).await, SongStatus::Processing, "paused, not failed");
}

#[tokio::test]
async fn a_cached_answer_is_never_paid_twice() {
    let studio = Studio::new();
    let id = studio.songs(1).await[0];
    let context = Fake::new(Stage::Context, "c", |_, _| Act::Ok(0.9));
    let paid = context.paid.clone();
    let critic = Fake::new(Stage::Critique, "k", |n, _| {
        if n == 0 {
            Act::Err(ErrorClass::Infrastructure, None)
        } else {
            Act::Ok(0.9)
        }
    });
    let runner = studio.runner(full_router(&studio, quick(), vec![context.link(), critic.link()]), LEASE);
    runner.start_song(id).unwrap();
    drain(&studio, &runner, 50).await;
    // Re-run the same song from `context` (as after a rescue): the paid answer comes from the cache.
    studio
        .store
        .write(move |c| {
            Ok(c.execute("DELETE FROM stage_outputs WHERE song_id = ?1 AND stage != 'transcribe'", [id])?)
        })
        .unwrap();
    studio
        .store
        .write(move |c| Ok(c.execute("UPDATE songs SET status = 'failed' WHERE id = ?1", [id])?))
        .unwrap();
    runner.start_song(id).unwrap();
    drain(&studio, &runner, 50).await;
    assert_eq!(paid.load(Ordering::SeqCst), 1);
    assert_eq!(
        studio.scalar("SELECT count(*) FROM cost_ledger WHERE outcome = 'cache_hit' AND service = 'c'"),
        1
    );
}

#[tokio::test]
async fn a_song_whose_audio_is_gone_or_broken_is_not_started() {
    let studio = Studio::new();
    let id = studio.songs(1).await[0];
    let runner = studio.runner(full_router(&studio, quick(), vec![]), LEASE);
    let audio = std::fs::read_dir(studio.config.data_dir.join("assets/audio_in"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(&audio, b"RIFF garbage that no longer decodes").unwrap();
    let err = runner.start_song(id).unwrap_err();
    assert!(err.contains("audio cannot be processed"), "{err}");
    std::fs::remove_file(&audio).unwrap();
    assert!(runner.start_song(id).unwrap_err().contains("audio cannot be processed"));
    assert_eq!(studio.status(id).await, SongStatus::Pending, "nothing changed");
    assert_eq!(studio.scalar("SELECT count(*) FROM jobs"), 0);
}

#[tokio::test]
async fn a_job_that_keeps_losing_its_lease_fails_its_song_and_escalates() {
    let studio = Studio::new();
    let id = studio.songs(1).await[0];
    let runner = studio.runner(full_router(&studio, quick(), vec![]), LEASE);
    runner.start_song(id).unwrap();
    // Five workers in a row claim the job and die without a heartbeat.
    for _ in 0..5 {
        studio.store.rescue_expired(Duration::from_secs(3600)).unwrap();
        let job = studio.store.claim_jobs("doomed", 1, Duration::from_millis(1)).unwrap();
        assert_eq!(job.len(), 1);
        studio.store.begin_stage(&job[0]).unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(runner.pass().await.unwrap().rescued, 1);
    assert_eq!(studio.status(id).await, SongStatus::Failed);
    assert_eq!(studio.job(id, Stage::Transcribe).0, "failed");
    let summary: String = studio
        .store
        .read(|c| {
            Ok(c.query_row("SELECT summary FROM escalations WHERE kind = 'stuck_job'", [], |r| r.get(0))?)
        })
        .unwrap();
    assert!(summary.contains("transcribe stage stuck: no heartbeat, 5 attempts used"), "{summary}");
}

#[tokio::test]
async fn a_provider_that_stays_down_pages_infrastructure_after_three_attempts() {
    let studio = Studio::new();
    let id = studio.songs(1).await[0];
    let down = Fake::new(Stage::Transcribe, "down", |_, _| Act::Err(ErrorClass::Infrastructure, None));
    let config = RouterConfig { breaker_threshold: 100, ..quick() };
    let runner = studio.runner(full_router(&studio, config, vec![down.link()]), LEASE);
    runner.start_song(id).unwrap();
    drain(&studio, &runner, 50).await;
    assert_eq!(
        studio.scalar(
            "SELECT count(*) FROM escalations WHERE kind = 'provider_down' AND to_role = 'infrastructure'"
        ),
        1
    );
    assert_eq!(studio.scalar("SELECT count(*) FROM escalations WHERE kind = 'critical_failure'"), 1);
    assert_eq!(studio.status(id).await, SongStatus::Failed);
    assert_eq!(studio.job(id, Stage::Transcribe).1, 5, "capped at five attempts");
}
