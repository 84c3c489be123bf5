//! `molt kpi` and `molt report generate|list|show` through the real binary.

mod common;

use common::{stderr, stdout, Studio};
use serde_json::Value;

#[test]
fn kpis_and_a_weekly_report_through_the_cli() {
    let studio = Studio::new();
    // An empty studio: every KPI says "no data", none is made up.
    let out = studio.run(["--json", "kpi", "--window", "7d"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let kpis: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let kpis = kpis["kpis"].as_array().unwrap();
    assert_eq!(kpis.len(), 6);
    assert!(kpis.iter().all(|k| k["status"] == "no_data" && k["value"].is_null()), "{kpis:?}");
    assert_eq!(studio.run(["kpi", "--window", "2w"]).status.code(), Some(2));

    let conn = rusqlite::Connection::open(studio.data().join("molt.db")).unwrap();
    conn.execute_batch(
        "INSERT INTO cost_ledger (at, service, model, stage, provider, micro_usd, outcome)
         VALUES ('2026-11-18T10:00:00.000Z', 'transcriber', 'whisper-1', 'transcribe', 'openai', 700000, 'ok'),
                ('2026-11-18T11:00:00.000Z', 'transcriber', 'whisper-1', 'transcribe', 'openai', 300000, 'error');",
    )
    .unwrap();
    drop(conn);
    let out = studio.run(["--json", "report", "generate", "weekly", "--at", "2026-11-21T09:00:00Z"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stored: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(stored["kind"], "weekly_cost");
    assert_eq!(stored["period_end"], "2026-11-20T18:00:00.000Z");
    assert_eq!(stored["data"]["total_usd"], 1.0);
    assert_eq!(stored["data"]["failed_call_waste_usd"], 0.3);
    assert!(stored["data"]["recommendations"].as_array().unwrap().len() >= 3);
    let id = stored["id"].as_i64().unwrap();

    let out = studio.run(["report", "list", "--kind", "weekly"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("weekly_cost"), "{}", stdout(&out));
    let out = studio.run(["report", "show", &id.to_string()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("# Weekly cost optimisation report"), "{}", stdout(&out));
    assert!(stdout(&out).contains("Fix the failing calls to openai/whisper-1"), "{}", stdout(&out));
    let missing = studio.run(["report", "show", "999"]);
    assert_eq!(missing.status.code(), Some(1));
}
