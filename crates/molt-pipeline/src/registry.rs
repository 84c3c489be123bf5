//! Builds the [`Router`] from the configuration: `pipeline.chains` names, per
//! stage and in order, the providers to try as `name:model`.
//!
//! - `name` is a `[providers.NAME]` entry: a remote provider of that entry's
//!   `kind` (only `openai`, an OpenAI-compatible API, for now). One client per
//!   entry is shared by every stage and model that uses it. `model` is sent to
//!   the API as is and may itself contain `:` (e.g. an Ollama tag `llama3.1:8b`).
//! - `name` starts with `local_`: a provider built into molt, supplied by the
//!   binary through [`LocalProviders`] (local Whisper, the Historian, the rule
//!   critic, the typeset artist). One this build lacks, or that cannot run here
//!   (its model file is missing), is recorded as unavailable: the stage fails
//!   with a clear reason naming it, and nothing pretends to have produced a result.
//! - anything else is a configuration error.

use crate::openai::{OpenAiClient, OpenAiConfig};
use crate::provider::{erase, ProviderId, StageProvider};
use crate::remote::{RemoteArtist, RemoteCritic, RemoteHistorian, RemoteTranscriber, PROMPT_VERSION};
use crate::router::{Link, Router, RouterConfig};
use crate::stages::{Art, Context, Critique, Transcribe};
use molt_core::config::RemoteProviderConfig;
use molt_core::{Config, Stage};
use molt_store::PipelineStore;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// The provider-name prefix of providers built into molt.
pub const LOCAL_PREFIX: &str = "local_";

/// Providers built into molt (local Whisper, …), supplied by the binary so that
/// the heavy ML crates stay out of this one.
pub trait LocalProviders {
    /// The provider for `stage` named `name:model`: `Ok(None)` when this build has
    /// no such provider; `Err(reason)` when it exists but cannot run here (e.g. its
    /// model file is missing) — the stage then fails with that reason.
    fn provider(
        &self,
        stage: Stage,
        name: &str,
        model: &str,
    ) -> Result<Option<Arc<dyn StageProvider>>, String>;
}

/// A build with no local providers.
pub struct NoLocalProviders;

impl LocalProviders for NoLocalProviders {
    fn provider(&self, _: Stage, _: &str, _: &str) -> Result<Option<Arc<dyn StageProvider>>, String> {
        Ok(None)
    }
}

/// The router for `config`: its limits from `[pipeline]`, its chains from
/// `[pipeline.chains]` and `[providers.*]`. Errors name the offending key.
pub fn build_router(
    config: &Config,
    store: Arc<dyn PipelineStore>,
    locals: &dyn LocalProviders,
) -> Result<Router, String> {
    let router_config = router_config(config)?;
    let mut router = Router::new(store, router_config);
    let mut clients: HashMap<String, Arc<OpenAiClient>> = HashMap::new();
    for stage in Stage::ORDER {
        let key = format!("pipeline.chains.{}", stage.as_str());
        let mut seen: Vec<(&str, &str)> = Vec::new();
        for (i, entry) in chain(config, stage).iter().enumerate() {
            let (name, model) = parse_entry(entry).map_err(|e| format!("{key}[{i}]: {e}"))?;
            if seen.contains(&(name, model)) {
                return Err(format!("{key}[{i}]: `{name}:{model}` is listed twice"));
            }
            seen.push((name, model));
            if let Some(remote) = config.providers.get(name) {
                let client = match clients.get(name) {
                    Some(client) => client.clone(),
                    None => {
                        let client = Arc::new(client_for(name, remote)?);
                        clients.insert(name.to_string(), client.clone());
                        client
                    }
                };
                let provider = remote_provider(stage, client, ProviderId::new(name, model));
                router.push(Link { provider, rate_per_minute: remote.rate_per_minute });
            } else if name.starts_with(LOCAL_PREFIX) {
                match locals.provider(stage, name, model) {
                    Ok(Some(provider)) => router.push(Link { provider, rate_per_minute: None }),
                    Ok(None) => router
                        .mark_unavailable(stage, format!("{name}:{model} is not built into this molt yet")),
                    Err(reason) => router.mark_unavailable(stage, format!("{name}:{model}: {reason}")),
                }
            } else {
                return Err(format!(
                    "unknown provider `{name}` in {key}: not a [providers.*] entry and not a local provider"
                ));
            }
        }
    }
    Ok(router)
}

/// Timeout and circuit breaker from `[pipeline]`; the prompt version from
/// [`PROMPT_VERSION`]; the rest the router's defaults.
fn router_config(config: &Config) -> Result<RouterConfig, String> {
    let pipeline = &config.pipeline;
    if pipeline.call_timeout_secs == 0 {
        return Err("pipeline.call_timeout_secs must be at least 1".into());
    }
    Ok(RouterConfig {
        timeout: Duration::from_secs(pipeline.call_timeout_secs),
        breaker_threshold: pipeline.breaker_threshold,
        breaker_cooldown: Duration::from_secs(pipeline.breaker_cooldown_secs),
        prompt_version: PROMPT_VERSION,
        ..RouterConfig::default()
    })
}

fn chain(config: &Config, stage: Stage) -> &[String] {
    let chains = &config.pipeline.chains;
    match stage {
        Stage::Transcribe => &chains.transcribe,
        Stage::Context => &chains.context,
        Stage::Critique => &chains.critique,
        Stage::Art => &chains.art,
    }
}

/// `name:model`, split at the first `:`; surrounding spaces are ignored.
fn parse_entry(entry: &str) -> Result<(&str, &str), String> {
    let (name, model) =
        entry.split_once(':').ok_or_else(|| format!("`{entry}` is not `name:model` (it has no `:`)"))?;
    let (name, model) = (name.trim(), model.trim());
    if name.is_empty() {
        return Err(format!("`{entry}` has an empty provider name (expected `name:model`)"));
    }
    if model.is_empty() {
        return Err(format!("`{entry}` has an empty model (expected `name:model`)"));
    }
    Ok((name, model))
}

fn client_for(name: &str, remote: &RemoteProviderConfig) -> Result<OpenAiClient, String> {
    if remote.kind != "openai" {
        return Err(format!(
            "providers.{name}: kind `{}` is not supported (the only kind is `openai`, an OpenAI-compatible API)",
            remote.kind
        ));
    }
    if remote.timeout_secs == 0 {
        return Err(format!("providers.{name}: timeout_secs must be at least 1"));
    }
    OpenAiClient::new(OpenAiConfig {
        base_url: remote.base_url.clone(),
        api_key: remote.api_key.clone(),
        timeout: Duration::from_secs(remote.timeout_secs),
    })
    .map_err(|e| format!("providers.{name}: {e}"))
}

fn remote_provider(stage: Stage, client: Arc<OpenAiClient>, id: ProviderId) -> Arc<dyn StageProvider> {
    match stage {
        Stage::Transcribe => erase::<Transcribe, _>(RemoteTranscriber::new(client, id)),
        Stage::Context => erase::<Context, _>(RemoteHistorian::new(client, id)),
        Stage::Critique => erase::<Critique, _>(RemoteCritic::new(client, id)),
        Stage::Art => erase::<Art, _>(RemoteArtist::new(client, id)),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_entry;

    #[test]
    fn entries_split_at_the_first_colon() {
        assert_eq!(parse_entry("ollama:llama3.1:8b"), Ok(("ollama", "llama3.1:8b")));
        assert_eq!(parse_entry(" studio : whisper-1 "), Ok(("studio", "whisper-1")));
        assert!(parse_entry("nocolon").unwrap_err().contains("has no `:`"));
        assert!(parse_entry(":m").unwrap_err().contains("empty provider name"));
        assert!(parse_entry("n:").unwrap_err().contains("empty model"));
    }
}
