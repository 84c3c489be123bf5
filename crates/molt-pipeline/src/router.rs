//! Every provider call goes through [`Router::route`]: chain order, circuit
//! breakers, local rate limits, the response cache, budget reservation, a
//! timeout, the cost ledger, and the SOP's classification of failures into
//! "try the next provider", "come back later" (via the job's `run_at`, never a
//! sleeping worker) or "stop and escalate".

use crate::breaker::Breaker;
use crate::error::ProviderError;
use crate::provider::{ProviderId, StageProvider, Usage};
use backon::{BackoffBuilder, ExponentialBuilder};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use molt_core::pipeline::{BudgetStop, Reservation, Settlement};
use molt_core::{ErrorClass, Stage};
use molt_store::sqlite::pipeline::Cached;
use molt_store::{CacheEntry, PipelineStore};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct RouterConfig {
    /// Longest a single provider call may take.
    pub timeout: Duration,
    /// Consecutive failures that open a circuit.
    pub breaker_threshold: u32,
    pub breaker_cooldown: Duration,
    /// Consecutive 429s from one provider before switching to the next.
    pub rate_limit_switch_after: u32,
    /// Wait for a 429 without Retry-After.
    pub default_retry_after: Duration,
    /// Bumped when prompts change, so cached answers to old prompts are not reused.
    pub prompt_version: u32,
}

impl Default for RouterConfig {
    fn default() -> Self {
        RouterConfig {
            timeout: Duration::from_secs(15 * 60),
            breaker_threshold: 3,
            breaker_cooldown: Duration::from_secs(30),
            rate_limit_switch_after: 3,
            default_retry_after: Duration::from_secs(60),
            prompt_version: 1,
        }
    }
}

/// Which song and job a call is for.
#[derive(Debug, Clone)]
pub struct CallContext {
    pub song_id: i64,
    pub job_id: i64,
    pub stage: Stage,
    /// The job's attempt (1-based): drives the backoff.
    pub attempt: u32,
    /// Skip this many providers at the head of the chain (E004: try the next one).
    pub skip: usize,
    pub actor: String,
}

/// A provider's answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub provider: ProviderId,
    /// Position in the chain, so a low-quality answer can be retried with the next.
    pub index: usize,
    pub output: Value,
    pub quality: Option<f64>,
    pub cost_micro_usd: i64,
    pub cached: bool,
}

/// What the router decided.
#[derive(Debug, Clone)]
pub enum Routed {
    Answer(Answer),
    /// Try again after `after` (transient failure, rate limit, every circuit open).
    Defer {
        after: Duration,
        error: String,
        class: ErrorClass,
    },
    /// Do not retry: schema/data, business or unknown errors.
    Fail {
        error: String,
        class: ErrorClass,
    },
    /// A spending cap stops the call.
    Budget(BudgetStop),
    /// The chain has no provider that can run at all.
    NoProvider(String),
}

struct Health {
    breaker: Breaker,
    rate_limited: u32,
    limiter: Option<DefaultDirectRateLimiter>,
}

/// One entry of a stage's chain.
pub struct Link {
    pub provider: Arc<dyn StageProvider>,
    /// Calls per minute this studio allows itself against the provider.
    pub rate_per_minute: Option<u32>,
}

pub struct Router {
    store: Arc<dyn PipelineStore>,
    chains: HashMap<Stage, Vec<Link>>,
    /// Providers named in the configuration that this build cannot run, with why.
    unavailable: HashMap<Stage, Vec<String>>,
    health: Mutex<HashMap<ProviderId, Health>>,
    config: RouterConfig,
    circuits_opened: AtomicU64,
    circuits_closed: AtomicU64,
}

impl Router {
    pub fn new(store: Arc<dyn PipelineStore>, config: RouterConfig) -> Router {
        Router {
            store,
            chains: HashMap::new(),
            unavailable: HashMap::new(),
            health: Mutex::new(HashMap::new()),
            config,
            circuits_opened: AtomicU64::new(0),
            circuits_closed: AtomicU64::new(0),
        }
    }

    /// Append a provider to its stage's chain.
    pub fn push(&mut self, link: Link) {
        let id = link.provider.id().clone();
        let limiter =
            link.rate_per_minute.and_then(NonZeroU32::new).map(|n| RateLimiter::direct(Quota::per_minute(n)));
        let breaker = Breaker::new(self.config.breaker_threshold, self.config.breaker_cooldown);
        self.health.lock().expect("health lock").insert(id, Health { breaker, rate_limited: 0, limiter });
        self.chains.entry(link.provider.stage()).or_default().push(link);
    }

    /// Record a configured provider that cannot run in this build.
    pub fn mark_unavailable(&mut self, stage: Stage, reason: String) {
        self.unavailable.entry(stage).or_default().push(reason);
    }

    pub fn chain_len(&self, stage: Stage) -> usize {
        self.chains.get(&stage).map_or(0, Vec::len)
    }

    pub fn config(&self) -> &RouterConfig {
        &self.config
    }

    /// Is the circuit of this provider open now? (For status reports and tests.)
    pub fn circuit_open(&self, id: &ProviderId) -> bool {
        let health = self.health.lock().expect("health lock");
        health.get(id).is_some_and(|h| h.breaker.state(Instant::now()) == crate::breaker::CircuitState::Open)
    }

    /// Every provider's circuit now, by `name:model` (for metrics), in name order.
    pub fn circuit_states(&self) -> Vec<(String, crate::breaker::CircuitState)> {
        let health = self.health.lock().expect("health lock");
        let now = Instant::now();
        let mut states: Vec<_> =
            health.iter().map(|(id, h)| (id.to_string(), h.breaker.state(now))).collect();
        states.sort();
        states
    }

    /// How many times circuits opened and closed again since start (for metrics and tests).
    pub fn circuit_transitions(&self) -> (u64, u64) {
        (self.circuits_opened.load(Ordering::Relaxed), self.circuits_closed.load(Ordering::Relaxed))
    }

    /// Run `input` through the stage's chain.
    pub async fn route(&self, ctx: &CallContext, input: &Value) -> Routed {
        let Some(chain) = self.chains.get(&ctx.stage).filter(|c| !c.is_empty()) else {
            return Routed::NoProvider(self.no_provider_message(ctx.stage));
        };
        if ctx.skip >= chain.len() {
            return Routed::NoProvider(format!(
                "no further {} provider to try after {}",
                ctx.stage.as_str(),
                ctx.skip
            ));
        }
        let mut deferred: Option<Routed> = None;
        for (index, link) in chain.iter().enumerate().skip(ctx.skip) {
            match self.try_link(ctx, index, link, input).await {
                Step::Done(routed) => return routed,
                Step::Next(defer) => deferred = deferred.or(defer),
            }
        }
        deferred.unwrap_or_else(|| Routed::Defer {
            after: self.backoff(ctx.attempt),
            error: format!("every {} provider is unavailable right now (circuits open)", ctx.stage.as_str()),
            class: ErrorClass::Infrastructure,
        })
    }

    fn no_provider_message(&self, stage: Stage) -> String {
        let reasons = self.unavailable.get(&stage).map(|r| r.join("; ")).unwrap_or_default();
        if reasons.is_empty() {
            format!("no {} provider is configured", stage.as_str())
        } else {
            format!("no {} provider is available: {reasons}", stage.as_str())
        }
    }

    async fn try_link(&self, ctx: &CallContext, index: usize, link: &Link, input: &Value) -> Step {
        let provider = &link.provider;
        let id = provider.id().clone();
        match self.admit(&id) {
            Admission::Go => {}
            Admission::CircuitOpen => return Step::Next(None),
            Admission::RateLimited(wait) => {
                let error = format!("{id}: local rate limit, next slot in {:.1} s", wait.as_secs_f64());
                return Step::Next(Some(Routed::Defer {
                    after: wait,
                    error,
                    class: ErrorClass::RateLimited,
                }));
            }
        }
        let usage = match provider.estimate(input) {
            Ok(u) => u,
            Err(e) => {
                return Step::Done(Routed::Fail { error: format!("{id}: {}", e.message), class: e.class })
            }
        };
        let key = self.cache_key(ctx.stage, &id, input);
        let reservation = self.reservation(ctx, &id, &usage);
        if let Ok(Some(hit)) = self.store.cached(&key) {
            if let Err(e) = self.store.use_cached(&key, reservation) {
                tracing::warn!(error = %e, "could not record a cache hit");
            }
            return Step::Done(Routed::Answer(Answer {
                provider: id,
                index,
                output: hit.output,
                quality: hit.quality,
                cost_micro_usd: 0,
                cached: true,
            }));
        }
        let ledger_id = match self.store.reserve(reservation) {
            Ok(Ok(id)) => id,
            Ok(Err(stop)) => return Step::Done(Routed::Budget(stop)),
            Err(e) => {
                let error = format!("could not reserve the call's cost: {e}");
                return Step::Done(Routed::Defer {
                    after: self.backoff(ctx.attempt),
                    error,
                    class: e.class(),
                });
            }
        };
        let started = Instant::now();
        let result = self.call_with_retry(provider.as_ref(), input).await;
        let latency_ms = started.elapsed().as_millis() as i64;
        match result {
            Ok((output, quality, used)) => {
                let cost = self.price(&id, &used);
                self.record_success(&id);
                let entry = CacheEntry {
                    key,
                    stage: ctx.stage,
                    provider: id.name.clone(),
                    model: id.model.clone(),
                    value: Cached { output: output.clone(), quality, cost_micro_usd: cost },
                };
                let settlement = Settlement { outcome: "ok", units: used.units, micro_usd: cost, latency_ms };
                if let Err(e) = self.store.settle_and_cache(ledger_id, settlement, entry) {
                    tracing::error!(error = %e, ledger_id, "could not settle and cache a paid answer");
                }
                Step::Done(Routed::Answer(Answer {
                    provider: id,
                    index,
                    output,
                    quality,
                    cost_micro_usd: cost,
                    cached: false,
                }))
            }
            Err(e) => {
                let outcome = match e.class {
                    ErrorClass::RateLimited => "rate_limited",
                    ErrorClass::Transient if e.message.contains("timed out") => "timeout",
                    _ => "error",
                };
                // A rejected answer can still have been paid for (e.g. a chat reply that is
                // not the verdict asked for): bill what the provider says it used.
                let billed = e.billed.clone().unwrap_or(Usage { unit_kind: usage.unit_kind, units: 0.0 });
                let cost = self.price(&id, &billed);
                self.settle(ledger_id, outcome, &billed, cost, latency_ms);
                self.classify(ctx, &id, e)
            }
        }
    }

    /// One immediate retry for transient failures (the SOP's "retry immediately");
    /// longer waits go back to the queue.
    async fn call_with_retry(
        &self,
        provider: &dyn StageProvider,
        input: &Value,
    ) -> Result<(Value, Option<f64>, Usage), ProviderError> {
        match self.call_once(provider, input).await {
            Err(e) if e.class == ErrorClass::Transient => {
                tracing::info!(provider = %provider.id(), error = %e.message, "transient failure; retrying at once");
                with_earlier_billing(e.billed, self.call_once(provider, input).await)
            }
            other => other,
        }
    }

    async fn call_once(
        &self,
        provider: &dyn StageProvider,
        input: &Value,
    ) -> Result<(Value, Option<f64>, Usage), ProviderError> {
        match tokio::time::timeout(self.config.timeout, provider.call(input)).await {
            Ok(result) => result,
            Err(_) => Err(ProviderError::new(
                ErrorClass::Transient,
                format!("{}: timed out after {:.0} s", provider.id(), self.config.timeout.as_secs_f64()),
            )),
        }
    }

    /// The SOP decision tree for one failed provider.
    fn classify(&self, ctx: &CallContext, id: &ProviderId, e: ProviderError) -> Step {
        let error = format!("{id}: {}", e.message);
        match e.class {
            ErrorClass::Transient => {
                let opened = self.record_failure(id);
                let defer = Routed::Defer { after: self.backoff(ctx.attempt), error, class: e.class };
                if opened {
                    Step::Next(Some(defer))
                } else {
                    Step::Done(defer)
                }
            }
            ErrorClass::RateLimited => {
                let after = e.retry_after.unwrap_or(self.config.default_retry_after) + Duration::from_secs(1);
                let defer = Routed::Defer { after, error, class: e.class };
                if self.record_rate_limited(id) {
                    Step::Next(Some(defer))
                } else {
                    Step::Done(defer)
                }
            }
            ErrorClass::Infrastructure => {
                self.record_failure(id);
                Step::Next(Some(Routed::Defer { after: self.backoff(ctx.attempt), error, class: e.class }))
            }
            // Art (E004): one provider refusing or garbling a song's art (an images API's
            // content filter, bytes that are not an image) says nothing about the next one,
            // e.g. the local cover: try it, and fail only when none answers.
            ErrorClass::SchemaData | ErrorClass::Unknown if ctx.stage == Stage::Art => {
                Step::Next(Some(Routed::Fail { error, class: e.class }))
            }
            ErrorClass::SchemaData | ErrorClass::Business | ErrorClass::Unknown => {
                Step::Done(Routed::Fail { error, class: e.class })
            }
        }
    }

    /// 2 s, 4 s, 8 s … with jitter, by the job's attempt.
    pub fn backoff(&self, attempt: u32) -> Duration {
        ExponentialBuilder::default()
            .with_min_delay(Duration::from_secs(2))
            .with_factor(2.0)
            .with_max_delay(Duration::from_secs(60))
            .with_max_times(8)
            .with_jitter()
            .build()
            .nth(attempt.saturating_sub(1) as usize)
            .unwrap_or(Duration::from_secs(60))
    }

    fn admit(&self, id: &ProviderId) -> Admission {
        let mut health = self.health.lock().expect("health lock");
        let Some(h) = health.get_mut(id) else { return Admission::Go };
        if !h.breaker.allow(Instant::now()) {
            return Admission::CircuitOpen;
        }
        if let Some(limiter) = &h.limiter {
            if let Err(not_until) = limiter.check() {
                h.breaker.release_trial();
                return Admission::RateLimited(
                    not_until.wait_time_from(governor::clock::Clock::now(
                        &governor::clock::DefaultClock::default(),
                    )),
                );
            }
        }
        Admission::Go
    }

    fn record_success(&self, id: &ProviderId) {
        if let Some(h) = self.health.lock().expect("health lock").get_mut(id) {
            if h.breaker.state(Instant::now()) != crate::breaker::CircuitState::Closed {
                self.circuits_closed.fetch_add(1, Ordering::Relaxed);
                tracing::info!(provider = %id, "circuit closed");
            }
            h.breaker.success();
            h.rate_limited = 0;
        }
    }

    /// Returns true when the circuit opened.
    fn record_failure(&self, id: &ProviderId) -> bool {
        let mut health = self.health.lock().expect("health lock");
        let opened = health.get_mut(id).is_some_and(|h| h.breaker.failure(Instant::now()));
        if opened {
            self.circuits_opened.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(provider = %id, "circuit opened");
        }
        opened
    }

    /// Returns true when the provider has rate-limited us often enough to switch.
    fn record_rate_limited(&self, id: &ProviderId) -> bool {
        let mut health = self.health.lock().expect("health lock");
        let Some(h) = health.get_mut(id) else { return false };
        h.rate_limited += 1;
        if h.rate_limited >= self.config.rate_limit_switch_after {
            h.breaker.trip(Instant::now());
            h.rate_limited = 0;
            self.circuits_opened.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(provider = %id, "repeatedly rate limited; switching to the next provider");
            return true;
        }
        false
    }

    fn cache_key(&self, stage: Stage, id: &ProviderId, input: &Value) -> String {
        // serde_json keeps object keys sorted (no preserve_order), so equal inputs hash equally.
        let text = format!(
            "{}\n{}\n{}\n{}\n{}",
            stage.as_str(),
            id.name,
            id.model,
            input,
            self.config.prompt_version
        );
        hex::encode(Sha256::digest(text.as_bytes()))
    }

    fn price(&self, id: &ProviderId, usage: &Usage) -> i64 {
        match self.store.price(&id.name, &id.model, usage.unit_kind) {
            Ok(Some(per_unit)) => (per_unit * usage.units).round() as i64,
            Ok(None) => 0,
            Err(e) => {
                tracing::warn!(error = %e, "price lookup failed; billing 0");
                0
            }
        }
    }

    fn reservation(&self, ctx: &CallContext, id: &ProviderId, usage: &Usage) -> Reservation {
        Reservation {
            service: id.name.clone(),
            model: id.model.clone(),
            stage: Some(ctx.stage),
            song_id: Some(ctx.song_id),
            job_id: Some(ctx.job_id),
            unit_kind: usage.unit_kind.to_string(),
            units: usage.units,
            micro_usd: self.price(id, usage),
            actor: ctx.actor.clone(),
        }
    }

    fn settle(&self, ledger_id: i64, outcome: &'static str, used: &Usage, micro_usd: i64, latency_ms: i64) {
        let settlement = Settlement { outcome, units: used.units, micro_usd, latency_ms };
        if let Err(e) = self.store.settle(ledger_id, settlement) {
            tracing::error!(error = %e, ledger_id, "could not settle a ledger reservation");
        }
    }
}

/// Adds what a first, failed try was billed to the retry's result, so the one
/// ledger row of the call covers both.
fn with_earlier_billing(
    earlier: Option<Usage>,
    result: Result<(Value, Option<f64>, Usage), ProviderError>,
) -> Result<(Value, Option<f64>, Usage), ProviderError> {
    let Some(earlier) = earlier else { return result };
    let add = |usage: &Usage| Usage { unit_kind: usage.unit_kind, units: usage.units + earlier.units };
    match result {
        Ok((output, quality, used)) if used.unit_kind == earlier.unit_kind => {
            let total = add(&used);
            Ok((output, quality, total))
        }
        Ok(other) => Ok(other),
        Err(mut e) => {
            e.billed = Some(match &e.billed {
                Some(billed) if billed.unit_kind == earlier.unit_kind => add(billed),
                Some(billed) => billed.clone(),
                None => earlier,
            });
            Err(e)
        }
    }
}

enum Admission {
    Go,
    CircuitOpen,
    RateLimited(Duration),
}

/// Whether routing is over, or the next provider should be tried (keeping the
/// first deferral, in case none of them answers).
enum Step {
    Done(Routed),
    Next(Option<Routed>),
}
