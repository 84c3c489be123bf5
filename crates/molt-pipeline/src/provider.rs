//! Providers: one typed trait per stage (`Transcriber`, `Historian`, `Critic`,
//! `Artist`), and the type-erased [`StageProvider`] the router chains.

use crate::error::ProviderError;
use crate::stages::{Art, Context, Critique, StageKind, Transcribe};
use async_trait::async_trait;
use molt_core::{ErrorClass, Stage};
use serde_json::Value;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

/// A provider and the model it runs, e.g. `local_whisper:base`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProviderId {
    pub name: String,
    pub model: String,
}

impl ProviderId {
    pub fn new(name: impl Into<String>, model: impl Into<String>) -> Self {
        ProviderId { name: name.into(), model: model.into() }
    }
}

impl fmt::Display for ProviderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.name, self.model)
    }
}

/// What a call consumes, for pricing: `units` of `unit_kind` (see the `prices` table).
#[derive(Debug, Clone, PartialEq)]
pub struct Usage {
    pub unit_kind: &'static str,
    pub units: f64,
}

/// A provider for the stage `K`.
#[async_trait]
pub trait Provider<K: StageKind>: Send + Sync {
    fn id(&self) -> &ProviderId;
    /// Expected usage, reserved against the budget before the call.
    fn estimate(&self, input: &K::Input) -> Usage;
    async fn call(&self, input: &K::Input) -> Result<(K::Output, Usage), ProviderError>;
}

/// Transcribes a song's audio into timed lyrics.
pub trait Transcriber: Provider<Transcribe> {}
impl<T: Provider<Transcribe>> Transcriber for T {}
/// Retrieves cultural and historical context for a song.
pub trait Historian: Provider<Context> {}
impl<T: Provider<Context>> Historian for T {}
/// Checks a transcription against what is known about the song.
pub trait Critic: Provider<Critique> {}
impl<T: Provider<Critique>> Critic for T {}
/// Makes cover art.
pub trait Artist: Provider<Art> {}
impl<T: Provider<Art>> Artist for T {}

/// What the router sees of any provider: JSON in, JSON out.
#[async_trait]
pub trait StageProvider: Send + Sync {
    fn id(&self) -> &ProviderId;
    fn stage(&self) -> Stage;
    fn estimate(&self, input: &Value) -> Result<Usage, ProviderError>;
    /// The output as JSON, its quality score, and the usage to bill.
    async fn call(&self, input: &Value) -> Result<(Value, Option<f64>, Usage), ProviderError>;
}

/// Wraps a typed provider as a [`StageProvider`].
pub struct Erased<K, P> {
    provider: P,
    kind: PhantomData<fn() -> K>,
}

/// Put a typed provider into a chain.
pub fn erase<K: StageKind + 'static, P: Provider<K> + 'static>(provider: P) -> Arc<dyn StageProvider> {
    Arc::new(Erased { provider, kind: PhantomData::<fn() -> K> })
}

fn decode<T: serde::de::DeserializeOwned>(input: &Value) -> Result<T, ProviderError> {
    serde_json::from_value(input.clone()).map_err(|e| {
        ProviderError::new(ErrorClass::SchemaData, format!("stage input does not match the stage: {e}"))
    })
}

#[async_trait]
impl<K: StageKind + 'static, P: Provider<K>> StageProvider for Erased<K, P> {
    fn id(&self) -> &ProviderId {
        self.provider.id()
    }

    fn stage(&self) -> Stage {
        K::STAGE
    }

    fn estimate(&self, input: &Value) -> Result<Usage, ProviderError> {
        Ok(self.provider.estimate(&decode::<K::Input>(input)?))
    }

    async fn call(&self, input: &Value) -> Result<(Value, Option<f64>, Usage), ProviderError> {
        let (output, usage) = self.provider.call(&decode::<K::Input>(input)?).await?;
        let quality = K::quality(&output);
        let json = serde_json::to_value(&output).map_err(|e| {
            ProviderError::new(ErrorClass::SchemaData, format!("stage output cannot be stored: {e}"))
        })?;
        Ok((json, quality, usage))
    }
}
