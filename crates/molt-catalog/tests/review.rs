//! Review decisions: every status a song can be in against approve and
//! reject, the rights gate, who may do what, and what is recorded.

use molt_catalog::review::{self, ReviewError};
use molt_core::catalog::{NewSong, StoredAudio};
use molt_core::validate::SongInput;
use molt_core::{Role, SongStatus, Stage};
use molt_store::{Database, PipelineStore, SqliteStore, StoreOptions};
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

/// A song brought to `status` along the lifecycle, with `rights`.
async fn song(f: &Fixture, n: u32, status: SongStatus, rights: &'static str) -> i64 {
    let metadata =
        SongInput { title: Some(format!("song {n}")), artist: Some("Pan Ron".into()), ..Default::default() }
            .validate(2026)
            .unwrap();
    let sha256 = format!("{n:064x}");
    let audio = StoredAudio {
        relative_path: format!("assets/audio_in/{sha256}.wav"),
        sha256,
        mime: "audio/wav".into(),
        bytes: 100,
        duration_secs: 2.0,
    };
    let id = f.store.create_song(NewSong { metadata, audio }, "test").await.unwrap().id;
    f.store.set_song_rights(id, rights, "test").await.unwrap();
    let path: &[SongStatus] = match status {
        SongStatus::Pending => &[],
        SongStatus::Processing => &[SongStatus::Processing],
        SongStatus::Review => &[SongStatus::Processing, SongStatus::Review],
        SongStatus::NeedsHumanReview => &[SongStatus::Processing, SongStatus::NeedsHumanReview],
        SongStatus::Failed => &[SongStatus::Processing, SongStatus::Failed],
        SongStatus::Published => &[SongStatus::Processing, SongStatus::Review, SongStatus::Published],
        SongStatus::Archived => {
            &[SongStatus::Processing, SongStatus::Review, SongStatus::Published, SongStatus::Archived]
        }
    };
    for next in path {
        f.store.set_song_status(id, *next, "test", None).await.unwrap();
    }
    id
}

async fn status(f: &Fixture, id: i64) -> SongStatus {
    f.store.get_song(id).await.unwrap().unwrap().status
}

async fn events(f: &Fixture, id: i64) -> Vec<(String, String)> {
    f.store.song_events(id).await.unwrap().into_iter().map(|e| (e.kind, e.details.to_string())).collect()
}

#[tokio::test]
async fn only_songs_in_review_can_be_approved_or_rejected() {
    let f = fixture();
    for (n, from) in SongStatus::ALL.into_iter().enumerate() {
        let in_review = matches!(from, SongStatus::Review | SongStatus::NeedsHumanReview);
        let a = song(&f, n as u32 * 2, from, "public_domain").await;
        let approved = review::approve(&f.store, a, "t", Role::Reviewer, None).await;
        let r = song(&f, n as u32 * 2 + 1, from, "public_domain").await;
        let rejected = review::reject(&f.store, r, "t", Role::Reviewer, "wrong words", None).await;
        if in_review {
            assert_eq!(approved.unwrap().status, SongStatus::Published, "{from}");
            assert_eq!(rejected.unwrap().status, SongStatus::Failed, "{from}");
            let reason = f.store.get_song(r).await.unwrap().unwrap().failure_reason.unwrap();
            assert!(reason.contains("rejected: wrong words"), "{reason}");
        } else {
            assert!(
                matches!(approved, Err(ReviewError::Conflict(ref m)) if m.contains("only songs in review")),
                "{from}: {approved:?}"
            );
            assert!(matches!(rejected, Err(ReviewError::Conflict(_))), "{from}");
            assert_eq!(status(&f, a).await, from, "a refused decision changes nothing");
            assert_eq!(status(&f, r).await, from);
        }
    }
}

#[tokio::test]
async fn the_rights_gate_needs_an_operator_override_with_a_reason_and_records_it() {
    let f = fixture();
    for rights in ["unknown", "protected"] {
        let id = song(&f, if rights == "unknown" { 1 } else { 2 }, SongStatus::Review, rights).await;
        let refused = review::approve(&f.store, id, "t", Role::Operator, None).await.unwrap_err();
        assert!(
            refused.to_string().contains("cannot be published without an explicit override"),
            "{refused}"
        );
        let reviewer =
            review::approve(&f.store, id, "t", Role::Reviewer, Some("family agreed")).await.unwrap_err();
        assert!(matches!(reviewer, ReviewError::Forbidden(ref m) if m.contains("override")), "{reviewer}");
        let blank = review::approve(&f.store, id, "t", Role::Operator, Some("  ")).await.unwrap_err();
        assert!(matches!(blank, ReviewError::Invalid(_)));
        assert_eq!(status(&f, id).await, SongStatus::Review);

        let song = review::approve(&f.store, id, "dara", Role::Operator, Some("family agreed in writing"))
            .await
            .unwrap();
        assert_eq!(song.status, SongStatus::Published);
        let log = events(&f, id).await;
        let recorded =
            log.iter().find(|(kind, _)| kind == "song.rights_override").expect("override recorded");
        assert!(
            recorded.1.contains("family agreed in writing") && recorded.1.contains(rights),
            "{recorded:?}"
        );
    }
    for (n, rights) in [(3, "family_held"), (4, "licensed"), (5, "public_domain")] {
        let id = song(&f, n, SongStatus::NeedsHumanReview, rights).await;
        assert_eq!(
            review::approve(&f.store, id, "t", Role::Reviewer, None).await.unwrap().status,
            SongStatus::Published
        );
        assert!(!events(&f, id).await.iter().any(|(k, _)| k == "song.rights_override"));
    }
}

#[tokio::test]
async fn only_reviewers_operators_and_admins_decide() {
    let f = fixture();
    for (n, role) in Role::ALL.into_iter().enumerate() {
        let id = song(&f, n as u32, SongStatus::Review, "public_domain").await;
        let may = matches!(role, Role::Reviewer | Role::Operator | Role::Admin);
        let rejected = review::reject(&f.store, id, "t", role, "bad", None).await;
        assert_eq!(rejected.is_ok(), may, "{role} reject: {rejected:?}");
        if !may {
            assert!(matches!(rejected, Err(ReviewError::Forbidden(_))));
            let approved = review::approve(&f.store, id, "t", role, None).await;
            assert!(matches!(approved, Err(ReviewError::Forbidden(_))), "{role}");
        }
    }
    let id = song(&f, 50, SongStatus::Review, "unknown").await;
    assert!(matches!(
        review::set_rights(&f.store, id, "t", Role::Reviewer, "public_domain").await,
        Err(ReviewError::Forbidden(_))
    ));
    assert!(matches!(
        review::set_rights(&f.store, id, "t", Role::Operator, "mine").await,
        Err(ReviewError::Invalid(_))
    ));
    assert_eq!(
        review::set_rights(&f.store, id, "t", Role::Operator, "Public-Domain").await.unwrap().rights_status,
        "public_domain"
    );
    assert!(events(&f, id).await.iter().any(|(k, d)| k == "song.rights_changed" && d.contains("unknown")));
}

#[tokio::test]
async fn rejecting_to_a_stage_drops_that_and_later_outputs_and_queues_the_stage() {
    let f = fixture();
    let id = song(&f, 1, SongStatus::NeedsHumanReview, "public_domain").await;
    f.store
        .write(move |c| {
            c.execute("INSERT INTO stage_runs (song_id, stage, attempt, state, started_at) VALUES (?1, 'transcribe', 1, 'succeeded', 'now')", [id])?;
            let run = c.last_insert_rowid();
            for stage in ["transcribe", "context", "critique", "art"] {
                c.execute(
                    "INSERT INTO stage_outputs (song_id, stage, run_id, provider, model, output, created_at) VALUES (?1, ?2, ?3, 'p', 'm', '{}', 'now')",
                    rusqlite::params![id, stage, run],
                )?;
            }
            Ok(())
        })
        .unwrap();
    let empty = review::reject(&f.store, id, "t", Role::Reviewer, "", Some(Stage::Critique)).await;
    assert!(matches!(empty, Err(ReviewError::Invalid(_))));
    let song =
        review::reject(&f.store, id, "t", Role::Reviewer, "the critic missed a loop", Some(Stage::Critique))
            .await
            .unwrap();
    assert_eq!((song.status, song.current_stage), (SongStatus::Processing, Some(Stage::Critique)));
    let kept: Vec<Stage> = f.store.stage_outputs(id).unwrap().into_iter().map(|o| o.stage).collect();
    assert_eq!(kept, [Stage::Transcribe, Stage::Context], "critique and art are redone");
    let queued: i64 = f
        .store
        .read(move |c| {
            Ok(c.query_row(
                "SELECT count(*) FROM jobs WHERE song_id = ?1 AND stage = 'critique' AND state = 'queued'",
                [id],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(queued, 1);
    assert!(events(&f, id)
        .await
        .iter()
        .any(|(k, d)| k == "song.rejected" && d.contains("\"outputs_dropped\":2")));
}
