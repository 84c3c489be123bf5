//! A stale worker that resumes after its job was rescued cannot complete the
//! job or overwrite what the new owner wrote.

mod common;

use common::Studio;
use molt_core::jobs::JobOutcome;
use molt_core::pipeline::StageOutput;
use molt_core::{ErrorClass, Stage};
use molt_store::sqlite::pipeline::RunEnd;
use molt_store::{PipelineStore, StageFailure, StageSuccess};
use serde_json::json;
use std::time::Duration;

fn success(run_id: i64, provider: &str) -> StageSuccess {
    StageSuccess {
        run_id,
        end: RunEnd {
            succeeded: true,
            provider: Some(provider.into()),
            model: Some("m".into()),
            ..Default::default()
        },
        output: StageOutput {
            stage: Stage::Transcribe,
            run_id,
            provider: provider.into(),
            model: "m".into(),
            output: json!({ "text": provider }),
            quality: Some(0.9),
            flagged: false,
        },
        next: Some(molt_core::jobs::NewJob::stage(1, Stage::Context)),
        song_status: None,
        escalations: vec![],
        lyrics: None,
    }
}

#[tokio::test]
async fn a_rescued_jobs_old_worker_is_refused_everywhere() {
    let studio = Studio::new();
    let id = studio.songs(1).await[0];
    let store = &studio.store;
    store.enqueue_job(molt_core::jobs::NewJob::stage(id, Stage::Transcribe)).unwrap();
    let stale = store.claim_jobs("old", 1, Duration::from_millis(1)).unwrap().remove(0);
    let stale_start = store.begin_stage(&stale).unwrap().expect("holds the lease");

    std::thread::sleep(Duration::from_millis(20));
    let report = store.rescue_expired(Duration::from_secs(3600)).unwrap();
    assert_eq!(report.requeued, vec![stale.id]);
    let fresh = store.claim_jobs("new", 1, Duration::from_secs(60)).unwrap().remove(0);
    assert_eq!((fresh.id, fresh.attempt), (stale.id, 2));

    // The stale worker wakes up and tries everything it could do.
    assert!(store.begin_stage(&stale).unwrap().is_none());
    assert!(!store.extend_lease(&stale, Duration::from_secs(60)).unwrap());
    assert!(!store.complete_stage(&stale, success(stale_start.run_id, "old")).unwrap());
    let failure = StageFailure {
        run_id: Some(stale_start.run_id),
        end: RunEnd::default(),
        outcome: JobOutcome::Failed { error: "stale".into(), class: ErrorClass::Unknown },
        song_status_if_final: None,
        escalations_if_final: vec![],
    };
    assert_eq!(store.fail_stage(&stale, failure).unwrap(), None);
    assert!(store.stage_outputs(id).unwrap().is_empty(), "nothing written by the stale worker");
    assert_eq!(studio.scalar("SELECT count(*) FROM jobs WHERE stage = 'context'"), 0);

    let fresh_start = store.begin_stage(&fresh).unwrap().unwrap();
    assert!(store.complete_stage(&fresh, success(fresh_start.run_id, "new")).unwrap());
    let outputs = store.stage_outputs(id).unwrap();
    assert_eq!((outputs.len(), outputs[0].provider.as_str()), (1, "new"));
    let runs = store.stage_runs(id).unwrap();
    let states: Vec<&str> = runs.iter().map(|r| r.state.as_str()).collect();
    assert_eq!(states, vec!["failed", "succeeded"], "the stale run was closed by the rescue");
    assert!(runs[0].error.as_deref().unwrap().contains("lease expired"));
}
