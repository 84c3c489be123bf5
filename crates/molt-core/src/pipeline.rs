//! Records of the pipeline engine: stage runs, accepted outputs, the cost
//! ledger, budgets and escalations.

use crate::error::ErrorClass;
use crate::song::Stage;
use serde::Serialize;

/// One attempt at a stage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageRun {
    pub id: i64,
    pub stage: Stage,
    pub attempt: u32,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub state: String,
    pub started_at: String,
    pub duration_ms: Option<i64>,
    pub error: Option<String>,
    pub error_class: Option<String>,
    pub quality: Option<f64>,
    pub cost_micro_usd: i64,
}

/// A stage's accepted output.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageOutput {
    pub stage: Stage,
    pub run_id: i64,
    pub provider: String,
    pub model: String,
    pub output: serde_json::Value,
    pub quality: Option<f64>,
    /// Accepted with a known defect (e.g. placeholder art), for a human to see.
    pub flagged: bool,
}

/// What a call is expected to cost, reserved before it is made.
#[derive(Debug, Clone, PartialEq)]
pub struct Reservation {
    pub service: String,
    pub model: String,
    pub stage: Option<Stage>,
    pub song_id: Option<i64>,
    pub job_id: Option<i64>,
    pub unit_kind: String,
    pub units: f64,
    pub micro_usd: i64,
    pub actor: String,
}

/// How a reserved call ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Settlement {
    pub outcome: &'static str,
    pub units: f64,
    pub micro_usd: i64,
    pub latency_ms: i64,
}

/// A spending cap that a reservation would break.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BudgetStop {
    pub scope: String,
    pub limit_micro_usd: i64,
    pub spent_micro_usd: i64,
    pub requested_micro_usd: i64,
}

impl std::fmt::Display for BudgetStop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::MicroUsd;
        write!(
            f,
            "{} budget of {} would be exceeded: {} spent or reserved, {} more requested",
            self.scope.replace('_', " "),
            MicroUsd(self.limit_micro_usd),
            MicroUsd(self.spent_micro_usd),
            MicroUsd(self.requested_micro_usd)
        )
    }
}

/// A hand-off the engine raises by itself.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewEscalation {
    pub kind: &'static str,
    pub to_role: &'static str,
    pub song_id: Option<i64>,
    pub job_id: Option<i64>,
    pub error_class: Option<ErrorClass>,
    pub summary: String,
    pub details: serde_json::Value,
}
