//! `molt alert list|show|test|deliver`.

use super::open_store;
use crate::cli::AlertCommand;
use crate::output::{emit, CliError, CliResult};
use molt_core::alerts::{Alert, AlertWithDeliveries, DeliveryState};
use molt_core::Config;
use molt_ops::alerts::{DeliveryAttempt, DeliveryReport, TestReport};
use molt_ops::AlertError;
use molt_store::AlertStore;

pub async fn run(config: &Config, command: AlertCommand, json: bool) -> CliResult {
    let store = open_store(config).await?;
    match command {
        AlertCommand::List { all, limit } => {
            let alerts = store.list_alerts(!all, limit)?;
            emit(json, &alerts, |alerts| list_text(alerts, all));
        }
        AlertCommand::Show { id } => {
            let shown = store
                .alert_with_deliveries(id)?
                .ok_or_else(|| CliError::new("not_found", format!("alert {id} not found")))?;
            emit(json, &shown, show_text);
        }
        AlertCommand::Test => {
            let test = super::status::alerter(config, &store)?.test().await.map_err(alert_error)?;
            emit(json, &test, test_text);
            let failed = test.report.failed;
            if failed > 0 {
                return Err(CliError::new(
                    "delivery_failed",
                    format!(
                        "{failed} of {} channels failed; their notices stay pending and are retried by \
                         `molt alert deliver` (or `molt serve`)",
                        test.channels.len()
                    ),
                ));
            }
        }
        AlertCommand::Deliver => {
            let report = super::status::alerter(config, &store)?.deliver_due().await.map_err(alert_error)?;
            emit(json, &report, deliver_text);
        }
    }
    Ok(())
}

fn alert_error(e: AlertError) -> CliError {
    CliError::new("alert_failed", e.0)
}

fn list_text(alerts: &[Alert], all: bool) -> String {
    if alerts.is_empty() {
        return if all { "no alerts".into() } else { "no alert is firing".into() };
    }
    let mut out = format!(
        "{:>5}  {:<9} {:<9} {:<28} {:>5}  {:<24}  {}",
        "id", "state", "severity", "key", "seen", "fired", "summary"
    );
    for a in alerts {
        out.push_str(&format!(
            "\n{:>5}  {:<9} {:<9} {:<28} {:>5}  {:<24}  {}",
            a.id, a.state, a.severity, a.key, a.occurrences, a.fired_at, a.summary
        ));
    }
    out
}

fn show_text(shown: &AlertWithDeliveries) -> String {
    let a = &shown.alert;
    let mut out = format!(
        "alert {}: {} ({}, {})\nsummary: {}\nfired: {}  last seen: {}  last notified: {}  occurrences: {}",
        a.id, a.key, a.severity, a.state, a.summary, a.fired_at, a.last_seen_at, a.notified_at, a.occurrences
    );
    if let Some(resolved) = &a.resolved_at {
        out.push_str(&format!("\nresolved: {resolved}"));
    }
    out.push_str(&format!("\ndetails: {}", a.details));
    if shown.deliveries.is_empty() {
        out.push_str("\nno notices");
        return out;
    }
    out.push_str(&format!(
        "\n\n{:>6}  {:<9} {:<9} {:<10} {:>8}  {:<24}  {}",
        "notice", "channel", "kind", "state", "attempts", "delivered / next try", "last error"
    ));
    for d in &shown.deliveries {
        let when = match d.state {
            DeliveryState::Delivered => d.delivered_at.as_deref().unwrap_or(""),
            DeliveryState::Pending => &d.next_attempt_at,
        };
        out.push_str(&format!(
            "\n{:>6}  {:<9} {:<9} {:<10} {:>8}  {:<24}  {}",
            d.id,
            d.channel,
            d.notice,
            d.state,
            d.attempts,
            when,
            d.last_error.as_deref().unwrap_or("")
        ));
        out.truncate(out.trim_end().len());
    }
    out
}

fn attempt_line(a: &DeliveryAttempt) -> String {
    match (&a.error, &a.next_attempt_at) {
        (None, _) => format!("{:<9} delivered", a.channel),
        (Some(e), Some(next)) => format!("{:<9} FAILED: {e} (next try {next})", a.channel),
        (Some(e), None) => format!("{:<9} FAILED: {e}", a.channel),
    }
}

fn test_text(test: &TestReport) -> String {
    let n = test.channels.len();
    let plural = if n == 1 { "" } else { "s" };
    let mut out = format!("test alert {} through {n} channel{plural}:", test.alert_id);
    for channel in &test.channels {
        let line = match test.report.attempts.iter().find(|a| a.channel == *channel) {
            Some(a) => attempt_line(a),
            None => format!("{channel:<9} not attempted here (another process is sending it)"),
        };
        out.push_str(&format!("\n  {line}"));
    }
    out
}

fn deliver_text(report: &DeliveryReport) -> String {
    let mut out = format!("delivered {}, failed {}", report.delivered, report.failed);
    for a in &report.attempts {
        out.push_str(&format!("\n  alert {} {} ({}): {}", a.alert_id, a.key, a.notice, attempt_line(a)));
    }
    out
}
