//! KPIs and reports against a real store seeded with explicit timestamps:
//! every figure asserted here follows from the rows seeded below.

use chrono::{DateTime, Utc};
use molt_core::time::parse_stamp;
use molt_ops::kpi::{self, KpiSettings, KpiStatus};
use molt_ops::reports::{self, weekly, Effort, Owner, WeeklyCostReport};
use molt_store::{ReportStore, SqliteStore, StoreOptions};

fn t(s: &str) -> DateTime<Utc> {
    parse_stamp(s).unwrap_or_else(|| panic!("{s}"))
}

fn store(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open_migrated(&StoreOptions::in_dir(dir.path())).unwrap()
}

fn sql(store: &SqliteStore, sql: &str) {
    let sql = sql.to_string();
    store.write(move |c| Ok(c.execute_batch(&sql)?)).unwrap();
}

fn song(store: &SqliteStore, id: i64, status: &str, created_at: &str, bytes: i64) {
    sql(
        store,
        &format!(
            "INSERT OR IGNORE INTO artists (id, name_latin) VALUES (1, 'Sinn Sisamouth');
             INSERT INTO assets (id, kind, sha256, path, mime, bytes) VALUES ({id}, 'audio_in', 'sha{id}', 'a/{id}', 'audio/wav', {bytes});
             INSERT INTO songs (id, title, artist_id, audio_asset_id, audio_sha256, status, created_by, created_at)
             VALUES ({id}, 'Song {id}', 1, {id}, 'sha{id}', '{status}', 'test', '{created_at}');"
        ),
    );
}

#[allow(clippy::too_many_arguments)]
fn ledger(
    store: &SqliteStore,
    at: &str,
    service: &str,
    stage: &str,
    provider: &str,
    model: &str,
    micro: i64,
    outcome: &str,
    song: Option<i64>,
) {
    let song = song.map_or("NULL".to_string(), |s| s.to_string());
    let hit = i64::from(outcome == "cache_hit");
    sql(
        store,
        &format!(
            "INSERT INTO cost_ledger (at, service, model, stage, provider, micro_usd, outcome, cache_hit, song_id)
             VALUES ('{at}', '{service}', '{model}', '{stage}', '{provider}', {micro}, '{outcome}', {hit}, {song})"
        ),
    );
}

/// A pass of `song` from `start` to `end`, ending in `to`.
fn pass(store: &SqliteStore, song: i64, start: &str, end: &str, to: &str, error_class: Option<&str>) {
    let (state, class) = match error_class {
        Some(c) => ("failed", format!("'{c}'")),
        None => ("succeeded", "NULL".into()),
    };
    sql(
        store,
        &format!(
            "INSERT INTO stage_runs (song_id, stage, attempt, state, started_at, finished_at, error_class, cost_micro_usd)
             VALUES ({song}, 'transcribe', 1, 'succeeded', '{start}', '{start}', NULL, 0),
                    ({song}, 'art', 1, '{state}', '{start}', '{end}', {class}, 20000);
             INSERT INTO events (at, actor, kind, song_id, details) VALUES
               ('{start}', 'test', 'song.status_changed', {song}, '{{\"from\":\"pending\",\"to\":\"processing\"}}'),
               ('{end}', 'test', 'song.status_changed', {song}, '{{\"from\":\"processing\",\"to\":\"{to}\"}}');"
        ),
    );
}

/// Week A (ending Friday 2026-11-20 18:00): an expensive transcriber with a
/// cheap alternative, a poor cache, failing context calls, all spend in 3 hours.
fn seed_week_a(store: &SqliteStore) {
    for id in 1..=4 {
        song(store, id, "review", "2026-11-01T00:00:00.000Z", 1000);
        pass(store, id, "2026-11-18T10:00:00.000Z", "2026-11-18T10:04:00.000Z", "review", None);
    }
    song(store, 5, "failed", "2026-11-01T00:00:00.000Z", 1000);
    pass(store, 5, "2026-11-18T10:00:00.000Z", "2026-11-18T10:01:00.000Z", "failed", Some("transient"));
    // Archive: 6 qualifies (old, no views); 7 was viewed; 8 is too new.
    song(store, 6, "published", "2026-06-01T00:00:00.000Z", 2_000_000_000);
    song(store, 7, "published", "2026-06-01T00:00:00.000Z", 1000);
    song(store, 8, "published", "2026-11-01T00:00:00.000Z", 1000);
    sql(store, "INSERT INTO song_views (song_id, day, views) VALUES (7, '2026-10-01', 3)");

    for id in 1..=4 {
        ledger(
            store,
            "2026-11-18T10:01:00.000Z",
            "transcriber",
            "transcribe",
            "openai",
            "whisper-1",
            300_000,
            "ok",
            Some(id),
        );
        ledger(
            store,
            "2026-11-18T10:02:00.000Z",
            "historian",
            "context",
            "gemini",
            "flash",
            50_000,
            "ok",
            Some(id),
        );
    }
    // Song 1's context paid for twice.
    ledger(
        store,
        "2026-11-18T10:03:00.000Z",
        "historian",
        "context",
        "gemini",
        "flash",
        50_000,
        "ok",
        Some(1),
    );
    ledger(
        store,
        "2026-11-18T11:00:00.000Z",
        "transcriber",
        "transcribe",
        "local",
        "whisper-small",
        10_000,
        "ok",
        Some(5),
    );
    ledger(
        store,
        "2026-11-18T11:30:00.000Z",
        "historian",
        "context",
        "gemini",
        "flash",
        0,
        "cache_hit",
        Some(5),
    );
    ledger(
        store,
        "2026-11-18T14:00:00.000Z",
        "historian",
        "context",
        "gemini",
        "flash",
        40_000,
        "error",
        Some(5),
    );
    ledger(
        store,
        "2026-11-18T14:10:00.000Z",
        "historian",
        "context",
        "gemini",
        "flash",
        40_000,
        "error",
        Some(5),
    );
    ledger(
        store,
        "2026-11-18T14:20:00.000Z",
        "historian",
        "context",
        "gemini",
        "flash",
        20_000,
        "rate_limited",
        Some(5),
    );
    // A reservation is not a call; the previous week spent $1.
    ledger(store, "2026-11-18T15:00:00.000Z", "historian", "context", "gemini", "flash", 0, "reserved", None);
    ledger(
        store,
        "2026-11-10T09:00:00.000Z",
        "transcriber",
        "transcribe",
        "openai",
        "whisper-1",
        1_000_000,
        "ok",
        None,
    );

    sql(
        store,
        "INSERT INTO escalations (at, kind, to_role, song_id, summary) VALUES
           ('2026-11-18T10:01:00.000Z', 'critical_failure', 'engineer', 5, 'art failed')",
    );
    // 20 queries: 18 at 100 ms, 2 at 520 ms: the p95 (rank 19) is 520 ms.
    let mut q = String::new();
    for i in 0..20 {
        let ms = if i < 18 { 100 } else { 520 };
        q.push_str(&format!(
            "INSERT INTO query_log (query_redacted, intent, result_count, response_ms, tier, created_at)
             VALUES ('q', 'song_search', 1, {ms}, 'free', '2026-11-17T12:00:{i:02}.000Z');"
        ));
    }
    sql(store, &q);
}

/// Week B: one cheap model, a good cache, no failures, spend spread out, but
/// one song costing $1 (over the $0.50 per-song budget).
fn seed_week_b(store: &SqliteStore) {
    song(store, 1, "review", "2026-11-01T00:00:00.000Z", 1000);
    pass(store, 1, "2026-11-16T00:00:00.000Z", "2026-11-16T09:30:00.000Z", "review", None);
    for h in 0..10 {
        ledger(
            store,
            &format!("2026-11-16T{h:02}:00:00.000Z"),
            "transcriber",
            "transcribe",
            "local",
            "whisper-small",
            100_000,
            "ok",
            Some(1),
        );
        ledger(
            store,
            &format!("2026-11-17T{h:02}:00:00.000Z"),
            "historian",
            "context",
            "local",
            "qwen",
            0,
            "cache_hit",
            Some(1),
        );
    }
}

const WEEK_END: &str = "2026-11-20T18:00:00.000Z";

fn weekly_a() -> (tempfile::TempDir, SqliteStore, WeeklyCostReport) {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir);
    seed_week_a(&s);
    let report = weekly::build(&s, t(WEEK_END)).unwrap();
    (dir, s, report)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

#[test]
fn the_weekly_report_follows_from_the_seeded_week() {
    let (_dir, _s, r) = weekly_a();
    assert_eq!(r.period_start, "2026-11-13T18:00:00.000Z");
    assert!(close(r.total_usd, 1.56), "{}", r.total_usd);
    assert!(close(r.previous_total_usd, 1.0));
    assert!(close(r.change_percent.unwrap(), 56.0));
    assert_eq!(r.calls, 14);
    assert_eq!(r.songs_processed, 5);
    assert_eq!(r.top_services[0].name, "transcriber");
    assert!(close(r.top_services[0].usd, 1.21));
    assert_eq!(r.top_models[0].name, "transcribe/openai/whisper-1");
    assert!(close(r.top_models[0].usd, 1.2));
    assert_eq!(r.failed_calls, 3);
    assert!(close(r.failed_call_waste_usd, 0.10));
    assert_eq!(r.waste_by_provider[0].name, "gemini/flash");
    assert_eq!((r.failed_stage_runs, r.failed_stage_runs_usd), (1, 0.02));
    assert_eq!(r.cache_hits, 1);
    assert!(close(r.cache_hit_rate_percent.unwrap(), 100.0 / 14.0));
    assert_eq!((r.repeat_calls, r.repeat_usd), (1, 0.05));
    assert_eq!(r.peak_hour.as_deref(), Some("10"));
    let h10 = r.hours.iter().find(|h| h.hour == "10").unwrap();
    assert_eq!(h10.calls, 9);
    assert!(close(h10.usd, 1.45));
    assert_eq!(r.archive_candidates_total, 1);
    assert_eq!(r.archive_candidates[0].song_id, 6);
    assert_eq!(r.max_day.as_deref(), Some("2026-11-18"));

    let rules: Vec<&str> = r.recommendations.iter().map(|x| x.rule.as_str()).collect();
    assert_eq!(
        rules,
        ["switch_model", "failing_provider", "cache", "off_peak", "archive", "budget_headroom"]
    );
    assert!(r.recommendations.iter().all(|x| x.fired));
    let switch = &r.recommendations[0];
    assert_eq!(switch.title, "Switch transcribe from openai/whisper-1 to local/whisper-small");
    // (0.30 − 0.01) × 4 calls × 30/7.
    assert!(close(switch.monthly_saving_usd, 4.9714), "{}", switch.monthly_saving_usd);
    assert!(switch.detail.contains("76.9 %"), "{}", switch.detail);
    assert_eq!((switch.effort, switch.owner), (Effort::Medium, Owner::Engineering));
    assert!(close(r.recommendations[1].monthly_saving_usd, 0.4286));
    assert!(r.recommendations[1].detail.contains("6.4 %"));
    assert!(r.recommendations[2].detail.contains("7.1 %"));
    // Archiving moves files within the studio's disk: space, not money.
    let archive = &r.recommendations[4];
    assert_eq!((archive.rule.as_str(), archive.monthly_saving_usd), ("archive", 0.0));
    assert!(archive.saving_basis.contains("same disk"), "{}", archive.saving_basis);
    assert_eq!(r.recommendations[5].title, "Lower the daily budget cap from $25.0000 to $4.0000");
    assert_eq!((r.recommendations[5].effort, r.recommendations[5].owner), (Effort::Low, Owner::Operator));

    let md = r.to_markdown();
    assert!(md.contains("## Recommendations") && md.contains("transcribe/openai/whisper-1"), "{md}");
}

#[test]
fn different_weeks_give_different_recommendations() {
    let (_dir, _s, a) = weekly_a();
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir);
    seed_week_b(&s);
    let b = weekly::build(&s, t(WEEK_END)).unwrap();
    assert!(close(b.total_usd, 1.0));
    assert!(close(b.cache_hit_rate_percent.unwrap(), 50.0));
    assert_eq!(b.recommendations.len(), 3, "{:#?}", b.recommendations);
    let rules: Vec<&str> = b.recommendations.iter().map(|x| x.rule.as_str()).collect();
    assert_eq!(rules, ["cost_per_song", "budget_headroom", "cache"]);
    // $1.00 per song against $0.50: 0.50 × 1 song × 30/7.
    assert!(close(b.recommendations[0].monthly_saving_usd, 2.1429));
    assert!(!b.recommendations[2].fired);
    assert!(b.recommendations[2].detail.contains("10 of 20 calls"), "{}", b.recommendations[2].detail);
    let titles = |r: &WeeklyCostReport| r.recommendations.iter().map(|x| x.title.clone()).collect::<Vec<_>>();
    assert!(titles(&a).iter().all(|x| !titles(&b).contains(x)), "{:?} {:?}", titles(&a), titles(&b));
}

#[test]
fn a_week_with_any_call_gets_three_recommendations_and_an_empty_one_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir);
    let empty = weekly::build(&s, t(WEEK_END)).unwrap();
    assert!(empty.recommendations.is_empty());
    assert!(empty.to_markdown().contains("No data this week"), "{}", empty.to_markdown());

    // One paid call, in one hour, nothing rate limited, and no daily cap.
    sql(&s, "DELETE FROM budgets WHERE scope = 'per_day'");
    ledger(
        &s,
        "2026-11-18T10:00:00.000Z",
        "transcriber",
        "transcribe",
        "local",
        "whisper-small",
        300_000,
        "ok",
        None,
    );
    let r = weekly::build(&s, t(WEEK_END)).unwrap();
    let rules: Vec<(&str, bool)> = r.recommendations.iter().map(|x| (x.rule.as_str(), x.fired)).collect();
    assert_eq!(rules, [("budget_headroom", true), ("cache", false), ("off_peak", false)]);
    // All spend in one hour is no reason to move work when nothing was throttled.
    assert_eq!(r.recommendations[0].title, "Set a daily budget cap of $1.0000");

    // A cap below twice the costliest day is never "lowered" to a higher one.
    sql(&s, "INSERT INTO budgets (scope, limit_micro_usd) VALUES ('per_day', 500000)");
    let r = weekly::build(&s, t(WEEK_END)).unwrap();
    let headroom = r.recommendations.iter().find(|x| x.rule == "budget_headroom").unwrap();
    assert_eq!(headroom.title, "Keep the daily budget cap of $0.5000: the costliest day used 60 %");
    assert!(!headroom.fired);
}

#[test]
fn kpis_over_the_seeded_week_are_green_amber_and_red() {
    let (_dir, s, _) = weekly_a();
    let k = kpi::compute(&s, t("2026-11-13T18:00:00Z"), t(WEEK_END), &KpiSettings::default()).unwrap();
    let get = |key: &str| k.get(key).unwrap().clone();
    let success = get("success_rate");
    assert_eq!((success.value, success.status), (Some(80.0), KpiStatus::Red));
    let time = get("avg_processing_time");
    assert_eq!((time.value, time.status), (Some(4.0), KpiStatus::Green));
    let cost = get("cost_per_song");
    assert!(close(cost.value.unwrap(), 0.312));
    assert_eq!(cost.status, KpiStatus::Green);
    let query = get("query_response_p95");
    assert_eq!((query.value, query.status), (Some(520.0), KpiStatus::Amber));
    let esc = get("escalation_rate");
    assert_eq!((esc.value, esc.status), (Some(20.0), KpiStatus::Red));
    // No status report was ever stored: no data, not 100 %.
    let up = get("uptime");
    assert_eq!((up.value, up.status), (None, KpiStatus::NoData));
    assert!(k.to_markdown().contains("| uptime | no data | > 99.90 % | no_data |"), "{}", k.to_markdown());
}

#[test]
fn a_pass_after_a_rejection_is_timed_from_its_own_start() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir);
    song(&s, 1, "review", "2026-11-18T00:00:00.000Z", 1000);
    // First pass 10:00–10:04, a day in review, rejected; the second pass
    // re-runs only art, 11:00–11:02 the next day.
    pass(&s, 1, "2026-11-18T10:00:00.000Z", "2026-11-18T10:04:00.000Z", "review", None);
    sql(
        &s,
        "INSERT INTO events (at, actor, kind, song_id, details) VALUES
           ('2026-11-19T11:00:00.000Z', 'test', 'song.status_changed', 1, '{\"from\":\"review\",\"to\":\"processing\"}'),
           ('2026-11-19T11:02:00.000Z', 'test', 'song.status_changed', 1, '{\"from\":\"processing\",\"to\":\"review\"}');
         INSERT INTO stage_runs (song_id, stage, attempt, state, started_at, finished_at, cost_micro_usd)
           VALUES (1, 'art', 2, 'succeeded', '2026-11-19T11:00:00.000Z', '2026-11-19T11:02:00.000Z', 0);",
    );
    let k = kpi::compute(&s, t("2026-11-18T00:00:00Z"), t("2026-11-20T00:00:00Z"), &KpiSettings::default())
        .unwrap();
    // (4 + 2) / 2 minutes, not (4 + 26 h) / 2.
    assert_eq!(k.get("avg_processing_time").unwrap().value, Some(3.0));
}

#[test]
fn an_empty_store_has_no_data_for_every_kpi() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir);
    let k = kpi::compute(&s, t("2026-11-13T18:00:00Z"), t(WEEK_END), &KpiSettings::default()).unwrap();
    assert_eq!(k.kpis.len(), 6);
    for kpi in &k.kpis {
        assert_eq!((kpi.value, kpi.status), (None, KpiStatus::NoData), "{kpi:?}");
    }
}

#[test]
fn uptime_counts_gaps_and_unhealthy_reports_as_down() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir);
    let mut q = String::new();
    // Every minute from 11:59 to 12:59, none 12:10–12:14, 12:30 unhealthy.
    for m in -1..60 {
        if (10..15).contains(&m) {
            continue;
        }
        let (h, mm) = if m < 0 { (11, 59) } else { (12, m) };
        let status = if m == 30 { "unhealthy" } else { "healthy" };
        q.push_str(&format!(
            "INSERT INTO status_reports (at, status, report) VALUES ('2026-11-18T{h:02}:{mm:02}:00.000Z', '{status}', '{{}}');"
        ));
    }
    sql(&s, &q);
    let settings = KpiSettings { monitor_interval: chrono::Duration::seconds(60) };
    let k = kpi::compute(&s, t("2026-11-18T12:00:00Z"), t("2026-11-18T13:00:00Z"), &settings).unwrap();
    let up = k.get("uptime").unwrap();
    // Down: 12:11–12:15 (the 12:09 report covers 2 minutes) and 12:30–12:31.
    assert!(close(up.value.unwrap(), 55.0 * 100.0 / 60.0), "{up:?}");
    assert_eq!(up.status, KpiStatus::Red);
    // Fully covered: green.
    let k = kpi::compute(&s, t("2026-11-18T12:00:00Z"), t("2026-11-18T12:10:00Z"), &settings).unwrap();
    assert_eq!(k.get("uptime").unwrap().value, Some(100.0));
    assert_eq!(k.get("uptime").unwrap().status, KpiStatus::Green);
    // Before the first report ever: no data.
    let k = kpi::compute(&s, t("2026-11-17T00:00:00Z"), t("2026-11-17T01:00:00Z"), &settings).unwrap();
    assert_eq!(k.get("uptime").unwrap().status, KpiStatus::NoData);
}

#[test]
fn the_daily_summary_and_stored_reports() {
    let (_dir, s, _) = weekly_a();
    sql(
        &s,
        "INSERT INTO alerts (key, severity, summary, state, fired_at, last_seen_at, notified_at) VALUES
           ('queue_depth', 'warning', '120 queued', 'firing', '2026-11-18T09:00:00.000Z', '2026-11-18T09:00:00.000Z', '2026-11-18T09:00:00.000Z');
         INSERT INTO alerts (key, severity, summary, state, fired_at, last_seen_at, notified_at, resolved_at) VALUES
           ('disk_space', 'critical', 'disk full', 'resolved', '2026-11-17T09:00:00.000Z', '2026-11-17T09:00:00.000Z', '2026-11-17T09:00:00.000Z', '2026-11-18T12:00:00.000Z');",
    );
    let settings = KpiSettings::default();
    let at = t("2026-11-18T20:00:00Z");
    let stored = reports::generate_daily_at(&s, at, at, &settings).unwrap();
    assert_eq!(stored.kind, "daily");
    assert_eq!(stored.period_start, "2026-11-17T20:00:00.000Z");
    let d: reports::DailySummary = serde_json::from_value(stored.data.clone()).unwrap();
    assert_eq!((d.processed, d.failed, d.in_review, d.in_human_review), (4, 1, 4, 0));
    assert!(close(d.cost_usd, 1.56));
    assert_eq!(d.alerts_fired.len(), 1);
    assert_eq!(d.alerts_fired[0].key, "queue_depth");
    assert_eq!(d.alerts_resolved[0].key, "disk_space");
    assert_eq!((d.errors[0].name.as_str(), d.errors[0].count), ("transient", 1));
    assert_eq!(d.kpis.get("success_rate").unwrap().value, Some(80.0));
    assert_eq!(stored.markdown, d.to_markdown());

    // Weekly: stored once per period, replaced when generated again.
    let clock = molt_ops::FakeClock::at_rfc3339("2026-11-21T09:00:00Z");
    let w1 = reports::generate_weekly(&s, &clock).unwrap();
    assert_eq!(w1.period_end, WEEK_END);
    let w2 = reports::generate_weekly(&s, &clock).unwrap();
    assert_eq!(w1.id, w2.id);
    let listed = s.reports(None, 10).unwrap();
    assert_eq!(listed.len(), 2);
    // Newest period first: the day (11-18) began after the week (11-13).
    assert_eq!((listed[0].kind.as_str(), listed[1].kind.as_str()), ("daily", "weekly_cost"));
    assert_eq!(s.reports(Some("daily"), 10).unwrap().len(), 1);
    let back = s.report(w1.id).unwrap().unwrap();
    let w: WeeklyCostReport = serde_json::from_value(back.data).unwrap();
    assert!(w.recommendations.len() >= 3);
    assert!(s.report(9999).unwrap().is_none());
}
