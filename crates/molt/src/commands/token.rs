//! `molt token create|list|revoke`.

use super::open_store;
use crate::cli::TokenCommand;
use crate::output::{emit, CliError, CliResult};
use molt_core::{Config, Role};
use molt_store::{Database, NewToken};

const ACTOR: &str = "cli";

pub async fn run(config: &Config, command: TokenCommand, json: bool) -> CliResult {
    let store = open_store(config).await?;
    match command {
        TokenCommand::Create { role, name } => {
            let role: Role = role.parse().map_err(|e: String| CliError::new("invalid_role", e))?;
            if role == Role::Anonymous {
                return Err(CliError::new("invalid_role", "a token cannot have the anonymous role"));
            }
            let name = name.trim().to_string();
            if name.is_empty() {
                return Err(CliError::new("missing_field", "--name must not be empty"));
            }
            let issued = molt_catalog::issue_token();
            let info = store
                .create_token(NewToken { name, role, prefix: issued.prefix, sha256: issued.sha256 }, ACTOR)
                .await?;
            let shown = serde_json::json!({ "token": issued.secret, "info": info });
            emit(json, &shown, |_| {
                format!(
                    "{}\n\nToken {} ({}) created for role {}. It is shown only this once; store it safely.",
                    issued.secret, info.id, info.name, info.role
                )
            });
        }
        TokenCommand::List => {
            let tokens = store.list_tokens().await?;
            emit(json, &tokens, |tokens| {
                let mut out =
                    format!("{:>4}  {:<14} {:<14} {:<24} {}", "id", "prefix", "role", "name", "state");
                for t in tokens {
                    let state = if t.revoked_at.is_some() { "revoked" } else { "active" };
                    out.push_str(&format!(
                        "\n{:>4}  {:<14} {:<14} {:<24} {state}",
                        t.id, t.prefix, t.role, t.name
                    ));
                }
                out
            });
        }
        TokenCommand::Revoke { id } => {
            let info = store.revoke_token(id, ACTOR).await?;
            emit(json, &info, |t| format!("token {} ({}) revoked", t.id, t.name));
        }
    }
    Ok(())
}
