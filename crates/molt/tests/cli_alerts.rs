//! `molt alert list|show|test|deliver` against a fake Telegram Bot API and a
//! fake webhook receiver on 127.0.0.1.

mod common;

use common::fake_http::{serve, Fake};
use common::{stderr, stdout, Studio};

const TOKEN: &str = "777:cli-secret-token";
const HOOK_SECRET: &str = "cli-hook-secret";

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

#[test]
fn alert_test_reaches_telegram_and_the_webhook_and_failures_are_retried_by_deliver() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let (bot, hook) = (Fake::default(), Fake::default());
    let (bot_addr, hook_addr) = (serve(&rt, &bot), serve(&rt, &hook));
    let studio = Studio::new()
        .with_env("MOLT_TELEGRAM__BOT_TOKEN", TOKEN)
        .with_env("MOLT_TELEGRAM__CHAT_ID", "-100777")
        .with_env("MOLT_ALERTS__TELEGRAM_API_BASE", &format!("http://{bot_addr}"))
        .with_env("MOLT_ALERTS__WEBHOOK_URL", &format!("http://{hook_addr}/molt"))
        .with_env("MOLT_ALERTS__WEBHOOK_SECRET", HOOK_SECRET);

    let none = studio.run(["alert", "list"]);
    assert!(none.status.success(), "{}", stderr(&none));
    assert_eq!(stdout(&none).trim(), "no alert is firing");

    let test = studio.run(["alert", "test"]);
    assert!(test.status.success(), "{}", stderr(&test));
    let text = stdout(&test);
    assert!(text.contains("through 3 channels"), "{text}");
    for line in ["telegram  delivered", "webhook   delivered", "log       delivered"] {
        assert!(text.contains(line), "{line}: {text}");
    }
    assert_eq!(bot.paths(), [format!("/bot{TOKEN}/sendMessage")]);
    assert_eq!(hook.paths(), ["/molt"]);
    assert!(stderr(&test).contains("Test alert"), "the log channel: {}", stderr(&test));

    let all = json(&studio.run(["--json", "alert", "list", "--all"]));
    let alerts = all.as_array().unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        (alerts[0]["key"].as_str(), alerts[0]["state"].as_str()),
        (Some("alert_test"), Some("resolved"))
    );
    let id = alerts[0]["id"].as_i64().unwrap();
    let show = studio.run(["alert", "show", &id.to_string()]);
    assert!(show.status.success(), "{}", stderr(&show));
    assert!(stdout(&show).contains("alert_test (info, resolved)"), "{}", stdout(&show));
    assert_eq!(stdout(&show).matches("fired     delivered ").count(), 3, "{}", stdout(&show));
    let missing = studio.run(["alert", "show", "999"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("alert 999 not found"), "{}", stderr(&missing));

    // The webhook is down: the test says so and exits 1; the notice stays pending.
    hook.set_status(500);
    let failed = studio.run(["--json", "alert", "test"]);
    assert_eq!(failed.status.code(), Some(1), "{}", stderr(&failed));
    let report = json(&failed);
    let webhook = report["report"]["attempts"].as_array().unwrap().iter().find(|a| a["channel"] == "webhook");
    let webhook = webhook.unwrap().clone();
    assert_eq!(webhook["delivered"], false);
    assert_eq!(webhook["error"], "webhook: HTTP 500: {\"ok\":true,\"result\":{}}");
    assert!(stderr(&failed).contains("delivery_failed"), "{}", stderr(&failed));
    assert_eq!(hook.paths().len(), 2);

    // Not due yet (the backoff is 30 s): nothing is sent.
    hook.set_status(200);
    let early = studio.run(["alert", "deliver"]);
    assert!(early.status.success(), "{}", stderr(&early));
    assert_eq!(stdout(&early).trim(), "delivered 0, failed 0");
    assert_eq!(hook.paths().len(), 2);

    // Time passes (the retry falls due), and the receiver is back: delivered once.
    let db = rusqlite::Connection::open(studio.data().join("molt.db")).unwrap();
    let moved = db
        .execute(
            "UPDATE alert_deliveries SET next_attempt_at = '2000-01-01T00:00:00.000Z' WHERE state = 'pending'",
            [],
        )
        .unwrap();
    assert_eq!(moved, 1);
    let deliver = studio.run(["alert", "deliver"]);
    assert!(deliver.status.success(), "{}", stderr(&deliver));
    assert!(stdout(&deliver).starts_with("delivered 1, failed 0"), "{}", stdout(&deliver));
    assert!(stdout(&deliver).contains("alert_test (fired): webhook   delivered"), "{}", stdout(&deliver));
    assert_eq!(hook.paths().len(), 3);
    let again = studio.run(["alert", "deliver"]);
    assert_eq!(stdout(&again).trim(), "delivered 0, failed 0");
    assert_eq!(hook.paths().len(), 3, "delivered exactly once");

    // Neither secret shows anywhere.
    let config = studio.run(["config", "show"]);
    for out in [&config, &test, &failed, &deliver, &show] {
        for secret in [TOKEN, HOOK_SECRET] {
            assert!(!stdout(out).contains(secret) && !stderr(out).contains(secret), "{secret} leaked");
        }
    }
    assert!(stdout(&config).contains("[alerts]"), "{}", stdout(&config));
}

#[test]
fn a_webhook_without_a_secret_is_refused() {
    let studio = Studio::new().with_env("MOLT_ALERTS__WEBHOOK_URL", "http://127.0.0.1:9/hook");
    let out = studio.run(["alert", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("alerts.webhook_secret"), "{}", stderr(&out));
}
