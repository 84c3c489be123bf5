//! Chaos: providers fail 30% of calls at random with a mix of 429s, 5xx,
//! outages and hangs. Every song must end in an explicit state, circuits must
//! open and close again, and the ledger must equal the calls that really happened.

mod common;

use common::{Act, Fake, Studio};
use molt_core::{ErrorClass, SongStatus, Stage};
use molt_pipeline::router::{Link, RouterConfig};
use rand::{Rng, SeedableRng};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const PRICE: i64 = 1_000;

fn chaotic(stage: Stage, name: &'static str, seed: u64) -> Fake {
    let rng = Mutex::new(rand::rngs::StdRng::seed_from_u64(seed));
    Fake::new(stage, name, move |_, _| {
        let mut rng = rng.lock().unwrap();
        if rng.random_bool(0.7) {
            return Act::Ok(0.95);
        }
        match rng.random_range(0..4) {
            0 => Act::Err(ErrorClass::RateLimited, Some(Duration::from_secs(1))),
            1 => Act::Err(ErrorClass::Transient, None),
            2 => Act::Err(ErrorClass::Infrastructure, None),
            _ => Act::Hang,
        }
    })
}

#[tokio::test]
async fn every_song_lands_in_an_explicit_state_and_the_ledger_adds_up() {
    let studio = Studio::new();
    let songs = studio.songs(16).await;
    let config = RouterConfig {
        timeout: Duration::from_millis(60),
        breaker_threshold: 2,
        breaker_cooldown: Duration::from_millis(20),
        ..RouterConfig::default()
    };
    let mut router = studio.router(config);
    let mut fakes = Vec::new();
    for (i, stage) in Stage::ORDER.into_iter().enumerate() {
        for (name, j) in [("primary", 0u64), ("fallback", 1u64)] {
            let name: &'static str = Box::leak(format!("{name}-{}", stage.as_str()).into_boxed_str());
            studio.set_price(name, PRICE as f64);
            let fake = chaotic(stage, name, 1000 + i as u64 * 10 + j);
            fakes.push((fake.calls.clone(), fake.paid.clone()));
            router.push(Link { provider: Arc::new(fake), rate_per_minute: None });
        }
    }
    let router = Arc::new(router);
    let runner = molt_pipeline::runner::Runner::new(
        Arc::new(studio.store.clone()),
        router.clone(),
        molt_pipeline::runner::RunnerConfig {
            lease: Duration::from_secs(60),
            batch: 4,
            owner: "chaos".into(),
            gate: Default::default(),
            data_dir: studio.config.data_dir.clone(),
        },
    );
    for id in &songs {
        runner.start_song(*id).unwrap();
    }
    for _ in 0..400 {
        studio.fast_forward();
        tokio::time::sleep(Duration::from_millis(25)).await; // let cooldowns pass, so circuits can close
        let pass = runner.pass().await.unwrap();
        if pass.claimed == 0
            && studio.scalar("SELECT count(*) FROM jobs WHERE state IN ('queued','running')") == 0
        {
            break;
        }
    }

    let statuses = studio.statuses().await;
    assert!(
        statuses
            .iter()
            .all(|s| matches!(s, SongStatus::Review | SongStatus::NeedsHumanReview | SongStatus::Failed)),
        "{statuses:?}"
    );
    assert!(statuses.contains(&SongStatus::Review), "most songs get through: {statuses:?}");
    assert_eq!(studio.scalar("SELECT count(*) FROM jobs WHERE state IN ('queued','running')"), 0);
    assert_eq!(
        studio.scalar("SELECT count(*) FROM cost_ledger WHERE outcome = 'reserved'"),
        0,
        "no reservation left open"
    );

    let calls: usize = fakes.iter().map(|(c, _)| c.load(Ordering::SeqCst)).sum();
    let paid: usize = fakes.iter().map(|(_, p)| p.load(Ordering::SeqCst)).sum();
    assert!(calls > paid, "failures happened: {calls} calls, {paid} paid");
    assert_eq!(studio.scalar("SELECT count(*) FROM cost_ledger WHERE outcome = 'ok'"), paid as i64);
    assert_eq!(studio.scalar("SELECT coalesce(sum(micro_usd), 0) FROM cost_ledger"), paid as i64 * PRICE);
    assert_eq!(studio.scalar("SELECT sum(cost_micro_usd) FROM songs"), paid as i64 * PRICE);
    // Every attempt reached the provider through the ledger: one row per call,
    // except the router's in-process immediate retry, which shares its reservation.
    assert!(studio.scalar("SELECT count(*) FROM cost_ledger WHERE outcome != 'cache_hit'") <= calls as i64);

    let (opened, closed) = router.circuit_transitions();
    assert!(opened > 0, "circuits opened");
    assert!(closed > 0, "and closed again");
}
