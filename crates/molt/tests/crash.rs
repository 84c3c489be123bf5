//! Crash safety: `molt worker` processes are killed with SIGKILL mid-stage,
//! again and again, while songs go through the pipeline against a fake
//! OpenAI-compatible service on 127.0.0.1. Every song must end up done, no
//! stage may complete twice, and no paid answer may be paid for twice.

mod common;

use axum::routing::post;
use common::{stderr, Studio};
use rand::{Rng, SeedableRng};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Each call takes this long, so kills land in the middle of stages.
const CALL_DELAY: Duration = Duration::from_millis(150);
/// A 1×1 PNG.
const PNG_B64: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";

async fn fake_service(calls: Arc<AtomicUsize>) -> String {
    let count = move |calls: Arc<AtomicUsize>| async move {
        calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(CALL_DELAY).await;
    };
    let (c1, c2, c3) = (calls.clone(), calls.clone(), calls);
    let app = axum::Router::new()
        .route(
            "/v1/audio/transcriptions",
            post(move || {
                let c = c1.clone();
                async move {
                    count(c).await;
                    axum::Json(serde_json::json!({
                        "text": "ខ្ញុំស្រលាញ់អូន", "language": "km", "duration": 2.0,
                        "segments": [{"start": 0.0, "end": 2.0, "text": "ខ្ញុំស្រលាញ់អូន",
                                      "avg_logprob": -0.05, "no_speech_prob": 0.01, "compression_ratio": 1.1}]
                    }))
                }
            }),
        )
        .route(
            "/v1/chat/completions",
            post(move || {
                let c = c2.clone();
                async move {
                    count(c).await;
                    let content = serde_json::json!({
                        "facts": [{"text": "A golden-age recording", "source": "fake"}],
                        "relevance": 0.9, "score": 0.9, "issues": []
                    });
                    axum::Json(serde_json::json!({
                        "model": "fake",
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": content.to_string()}}],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
                    }))
                }
            }),
        )
        .route(
            "/v1/images/generations",
            post(move || {
                let c = c3.clone();
                async move {
                    count(c).await;
                    axum::Json(serde_json::json!({"created": 1, "data": [{"b64_json": PNG_B64}]}))
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn config(url: &str) -> String {
    format!(
        "[pipeline]\nlease_secs = 3\nworkers = 2\nbatch = 1\ncall_timeout_secs = 10\n\
         [pipeline.chains]\ntranscribe = [\"fake:whisper-1\"]\ncontext = [\"fake:gpt\"]\n\
         critique = [\"fake:gpt\"]\nart = [\"fake:img\"]\n\
         [providers.fake]\nkind = \"openai\"\nbase_url = \"{url}\"\n"
    )
}

fn worker(studio: &Studio) -> Child {
    studio.command().arg("worker").stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap()
}

fn query(studio: &Studio, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(studio.data().join("molt.db")).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn reasons(studio: &Studio) -> String {
    let conn = rusqlite::Connection::open(studio.data().join("molt.db")).unwrap();
    let mut stmt = conn.prepare("SELECT id, status, coalesce(failure_reason, '') FROM songs").unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok(format!("{}:{}:{}", r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
        })
        .unwrap();
    rows.map(Result::unwrap).collect::<Vec<_>>().join(" | ")
}

/// Wait (at most 30 s) until no song is pending or processing.
async fn wait_until_settled(studio: &Studio) -> bool {
    for _ in 0..300 {
        if query(studio, "SELECT count(*) FROM songs WHERE status IN ('pending','processing')") == 0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_workers_lose_no_song_repeat_no_stage_and_pay_no_answer_twice() {
    let calls = Arc::new(AtomicUsize::new(0));
    let url = fake_service(calls.clone()).await;
    let studio = Studio::new();
    std::fs::write(studio.dir.path().join("molt.toml"), config(&url)).unwrap();
    const SONGS: i64 = 5;
    for n in 0..SONGS as u32 {
        let wav = studio.wav(n);
        let out = studio
            .command()
            .args(["song", "add", "--title", &format!("song {n}"), "--artist", "Pan Ron", "--audio"])
            .arg(&wav)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let queued = studio.run(["process", "--all-pending"]);
    assert!(queued.status.success(), "{}", stderr(&queued));

    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let mut kills = 0;
    for _ in 0..8 {
        let mut child = worker(&studio);
        tokio::time::sleep(Duration::from_millis(rng.random_range(200..700))).await;
        child.kill().unwrap(); // SIGKILL: no cleanup, leases left dangling
        child.wait().unwrap();
        kills += 1;
    }

    // A last worker finishes the work, rescuing whatever the killed ones held.
    let mut last = worker(&studio);
    let mut done = wait_until_settled(&studio).await;
    // A stage killed five times in a row has used its attempts: its song is FAILED
    // (an explicit, escalated state), and resumable at its first unfinished stage.
    let stuck = query(&studio, "SELECT count(*) FROM songs WHERE status = 'failed'");
    if stuck > 0 {
        assert_eq!(
            query(&studio, "SELECT count(*) FROM escalations WHERE kind = 'stuck_job'"),
            stuck,
            "each stuck song was escalated: {}",
            reasons(&studio)
        );
        let resumed = studio.run(["process", "--all-failed"]);
        assert!(resumed.status.success(), "{}", stderr(&resumed));
        done = wait_until_settled(&studio).await;
    }
    let pid = last.id().to_string();
    std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(last.wait().unwrap().success(), "the last worker stops cleanly on SIGTERM");
    assert!(done, "every song finished within 30 s");
    assert_eq!(kills, 8);
    let rescued = query(&studio, "SELECT count(*) FROM stage_runs WHERE error LIKE 'lease expired%'");
    eprintln!("stage runs rescued after a kill: {rescued}");
    assert!(rescued > 0, "kills landed mid-stage and were rescued");

    assert_eq!(query(&studio, "SELECT count(*) FROM songs WHERE status = 'review'"), SONGS, "no song lost");
    assert_eq!(
        query(&studio, "SELECT count(*) FROM (SELECT 1 FROM stage_runs WHERE state = 'succeeded' GROUP BY song_id, stage HAVING count(*) > 1)"),
        0,
        "no stage completed twice"
    );
    assert_eq!(query(&studio, "SELECT count(*) FROM stage_outputs"), SONGS * 4);
    assert_eq!(query(&studio, "SELECT count(*) FROM jobs WHERE state = 'succeeded'"), SONGS * 4);
    assert_eq!(
        query(&studio, "SELECT count(*) FROM (SELECT 1 FROM cost_ledger WHERE outcome = 'ok' GROUP BY song_id, stage HAVING count(*) > 1)"),
        0,
        "no answer paid twice: a rescued stage reuses the cached answer"
    );
    assert_eq!(query(&studio, "SELECT count(*) FROM cost_ledger WHERE outcome = 'ok'"), SONGS * 4);
    let art_files = std::fs::read_dir(studio.data().join("assets/art")).unwrap().count();
    assert_eq!(art_files, 1, "the same image is stored once, content-addressed");
    assert!(calls.load(Ordering::SeqCst) >= (SONGS * 4) as usize);
}
