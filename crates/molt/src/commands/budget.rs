//! `molt budget show|set`: spending caps in dollars, stored as micro-USD.

use super::open_store;
use crate::cli::{BudgetCommand, PriceCommand};
use crate::output::{emit, CliError, CliResult};
use molt_core::{Config, MicroUsd};
use molt_store::sqlite::pipeline;

pub async fn run(config: &Config, command: BudgetCommand, json: bool) -> CliResult {
    let store = open_store(config).await?;
    if let BudgetCommand::Set { per_song, per_day } = &command {
        let changes = [("per_song", per_song), ("per_day", per_day)];
        if changes.iter().all(|(_, v)| v.is_none()) {
            return Err(CliError::new("nothing_to_do", "give --per-song and/or --per-day, in dollars"));
        }
        for (scope, value) in changes {
            if let Some(text) = value {
                let micro = parse_dollars(text)?;
                let now = molt_core::time::now_stamp();
                store.write(move |c| pipeline::set_budget(c, scope, micro, &now))?;
            }
        }
    }
    let day_start = chrono::Utc::now().format("%Y-%m-%dT00:00:00.000Z").to_string();
    let (caps, today) = store.read(|c| Ok((pipeline::budgets(c)?, pipeline::spend_since(c, &day_start)?)))?;
    let shown = serde_json::json!({
        "caps_micro_usd": caps.iter().map(|(s, l)| (s.clone(), *l)).collect::<std::collections::BTreeMap<_, _>>(),
        "spent_today_micro_usd": today,
    });
    emit(json, &shown, |_| {
        let mut out = String::new();
        for (scope, limit) in &caps {
            out.push_str(&format!("{:<9} cap {}\n", scope, MicroUsd(*limit)));
        }
        out.push_str(&format!("today     spent or reserved {}", MicroUsd(today)));
        out
    });
    Ok(())
}

/// `molt price list|set`.
pub async fn prices(config: &Config, command: PriceCommand, json: bool) -> CliResult {
    let store = open_store(config).await?;
    if let PriceCommand::Set { provider, model, unit, micro_usd_per_unit } = command {
        if !pipeline::UNIT_KINDS.contains(&unit.as_str()) {
            let kinds = pipeline::UNIT_KINDS.join(", ");
            return Err(CliError::new(
                "invalid_unit",
                format!("unknown unit `{unit}`; expected one of: {kinds}"),
            ));
        }
        if !(micro_usd_per_unit.is_finite() && micro_usd_per_unit >= 0.0) {
            return Err(CliError::new(
                "invalid_amount",
                "the price must be a non-negative number of micro-USD",
            ));
        }
        let now = molt_core::time::now_stamp();
        store.write(move |c| pipeline::set_price(c, &provider, &model, &unit, micro_usd_per_unit, &now))?;
    }
    let rows = store.read(pipeline::prices)?;
    let shown: Vec<serde_json::Value> = rows
        .iter()
        .map(|(p, m, u, price)| serde_json::json!({ "provider": p, "model": m, "unit": u, "micro_usd_per_unit": price }))
        .collect();
    emit(json, &shown, |_| {
        if rows.is_empty() {
            return "no prices set: calls are billed at $0".into();
        }
        rows.iter()
            .map(|(p, m, u, price)| format!("{p}:{m}  {price} micro-USD per {u}"))
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(())
}

/// "0.50", "$25", "1.234567" → exact micro-USD (no floating point).
fn parse_dollars(text: &str) -> CliResult<i64> {
    let bad =
        || CliError::new("invalid_amount", format!("`{text}` is not an amount in dollars such as 0.50"));
    let t = molt_core::digits::khmer_to_ascii_digits(text.trim().trim_start_matches('$'));
    let (whole, frac) = t.split_once('.').unwrap_or((&t, ""));
    if whole.is_empty() && frac.is_empty()
        || frac.len() > 6
        || !whole.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| bad())? };
    let frac: i64 = format!("{frac:0<6}").parse().map_err(|_| bad())?;
    whole.checked_mul(1_000_000).and_then(|w| w.checked_add(frac)).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::parse_dollars;

    #[test]
    fn dollars_parse_exactly() {
        assert_eq!(parse_dollars("0.50").unwrap(), 500_000);
        assert_eq!(parse_dollars("$25").unwrap(), 25_000_000);
        assert_eq!(parse_dollars("1.234567").unwrap(), 1_234_567);
        assert_eq!(parse_dollars(".5").unwrap(), 500_000);
        assert_eq!(parse_dollars("០.៥០").unwrap(), 500_000);
        for bad in ["", "-1", "1.2345678", "ten", "1e3", "."] {
            assert!(parse_dollars(bad).is_err(), "{bad}");
        }
    }
}
