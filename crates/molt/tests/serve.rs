//! `molt serve` end to end: a real process on a loopback port, songs added by
//! the CLI visible through the API, and a clean exit on SIGTERM.

mod common;

use common::{stderr, stdout, Studio};
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(studio: &Studio) -> Server {
        let mut child = studio
            .command()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let base =
            line.trim().strip_prefix("molt listening on ").unwrap_or_else(|| panic!("{line:?}")).to_string();
        Server { child, base }
    }

    fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

#[test]
fn serve_answers_ready_lists_cli_songs_and_stops_on_sigterm() {
    let studio = Studio::new();
    let server = Server::start(&studio);
    let http = reqwest::blocking::Client::new();

    let ready = http.get(format!("{}/ready", server.base)).send().unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.json::<serde_json::Value>().unwrap()["status"], "ready");

    let wav = studio.wav(1);
    let added = studio
        .command()
        .args(["song", "add", "--title", "Champa Battambang", "--artist", "Sinn Sisamouth", "--audio"])
        .arg(&wav)
        .output()
        .unwrap();
    assert!(added.status.success(), "{}", stderr(&added));
    let token = studio.run(["token", "create", "--role", "operator", "--name", "e2e", "--json"]);
    let token: serde_json::Value = serde_json::from_str(&stdout(&token)).unwrap();
    let token = token["token"].as_str().unwrap();

    let songs: serde_json::Value =
        http.get(format!("{}/api/v1/songs", server.base)).bearer_auth(token).send().unwrap().json().unwrap();
    assert_eq!(songs["songs"][0]["title"], "Champa Battambang", "{songs}");

    // The same upload over HTTP is a duplicate of the CLI's song.
    let form = reqwest::blocking::multipart::Form::new()
        .text("title", "again")
        .text("artist", "Sinn Sisamouth")
        .file("audio", &wav)
        .unwrap();
    let dup =
        http.post(format!("{}/api/v1/songs", server.base)).bearer_auth(token).multipart(form).send().unwrap();
    assert_eq!(dup.status(), 409);

    // A learner's reads of a published song are counted, and stored by shutdown at the latest.
    let db = rusqlite::Connection::open(studio.data().join("molt.db")).unwrap();
    db.execute("UPDATE songs SET status = 'published'", []).unwrap();
    for _ in 0..2 {
        assert_eq!(http.get(format!("{}/api/v1/songs/1", server.base)).send().unwrap().status(), 200);
    }

    let status = server.terminate();
    assert!(status.success(), "graceful shutdown exits 0, got {status:?}");
    let views: i64 =
        db.query_row("SELECT coalesce(sum(views), 0) FROM song_views", [], |r| r.get(0)).unwrap();
    assert_eq!(views, 2);
}

/// Polls `probe` every 200 ms for up to a minute (a slow CI machine, not a timing assertion).
fn eventually<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    for _ in 0..300 {
        if let Some(found) = probe() {
            return found;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    panic!("gave up waiting for {what}");
}

#[test]
fn serve_runs_the_health_check_on_schedule_and_its_alert_reaches_telegram() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let bot = common::fake_http::Fake::default();
    let bot_addr = common::fake_http::serve(&rt, &bot);
    let studio = Studio::new()
        .with_env("MOLT_TELEGRAM__BOT_TOKEN", "555:serve-secret")
        .with_env("MOLT_TELEGRAM__CHAT_ID", "-100555")
        .with_env("MOLT_ALERTS__TELEGRAM_API_BASE", &format!("http://{bot_addr}"))
        .with_env("MOLT_MONITOR__INTERVAL_SECS", "1")
        // No disk has 100 % free: every check finds the data disk too full.
        .with_env("MOLT_MONITOR__DISK_MIN_FREE_PERCENT", "100");
    let server = Server::start(&studio);
    let token = studio.run(["token", "create", "--role", "operator", "--name", "ops", "--json"]);
    let token: serde_json::Value = serde_json::from_str(&stdout(&token)).unwrap();
    let token = token["token"].as_str().unwrap().to_string();
    let http = reqwest::blocking::Client::new();

    // The scheduler runs the health check; its report is served live.
    let report: serde_json::Value = eventually("a status report", || {
        let response = http.get(format!("{}/api/v1/status", server.base)).bearer_auth(&token).send().ok()?;
        (response.status() == 200).then(|| response.json().unwrap())
    });
    assert_eq!(report["status"], "unhealthy", "{report}");
    assert_eq!(report["alerts"][0]["key"], "disk_space", "{report}");
    // Its alert is delivered to the (fake) Telegram Bot API, once: the next
    // checks find the same condition within the cooldown.
    eventually("the Telegram notice", || (!bot.paths().is_empty()).then_some(()));
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_eq!(bot.paths(), ["/bot555:serve-secret/sendMessage"]);
    let listed = studio.run(["schedule", "list", "--json"]);
    assert!(stdout(&listed).contains("health_check"), "{}", stdout(&listed));
    let status = studio.run(["status"]);
    assert!(stdout(&status).contains("status: unhealthy (reported"), "{}", stdout(&status));
    assert!(server.terminate().success());
}
