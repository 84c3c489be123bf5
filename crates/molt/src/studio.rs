//! The studio's local parts, assembled from the configuration: the knowledge
//! base (with its lazily loaded embedding model) and the local providers the
//! pipeline's chains name.

use crate::commands::segmenter;
use crate::output::{CliError, CliResult};
use molt_core::{Config, Stage};
use molt_kb::historian::LocalHistorian;
use molt_kb::KnowledgeBase;
use molt_pipeline::provider::{erase, ProviderId, StageProvider};
use molt_pipeline::registry::LocalProviders;
use molt_pipeline::stages::{Art, Context, Critique};
use molt_store::SqliteStore;
use molt_vector::Embedder;
use molt_vector::LazyEmbedder;
use std::sync::Arc;

/// The configured embedding model, loaded on first use.
pub fn embedder(config: &Config) -> Arc<dyn Embedder> {
    let path = config.embedding_model_path();
    let loader = move || -> Result<Arc<dyn Embedder>, molt_vector::EmbedError> {
        Ok(Arc::new(molt_ml::E5Embedder::load(&path)?))
    };
    Arc::new(LazyEmbedder::new(molt_ml::E5_MODEL_ID, Box::new(loader)))
}

/// The knowledge base over `store`, with the configured embedding model
/// (loaded on first use).
pub fn knowledge_base(config: &Config, store: &SqliteStore) -> CliResult<Arc<KnowledgeBase>> {
    Ok(Arc::new(KnowledgeBase::new(
        Arc::new(store.clone()),
        embedder(config),
        Arc::new(segmenter(config)?),
        config.knowledge.max_document_bytes,
    )))
}

/// Everything built into this binary: local Whisper (`local_whisper:MODEL`),
/// the local Historian (`local_historian:kb`), the local critic
/// (`local_critic:rules`) and the local cover artist (`local_artist:typeset`).
pub struct StudioProviders {
    models: molt_ml::local::LocalModels,
    kb: Arc<KnowledgeBase>,
    config: Config,
}

impl StudioProviders {
    pub fn new(config: &Config, store: &SqliteStore) -> CliResult<StudioProviders> {
        Ok(StudioProviders {
            models: molt_ml::local::LocalModels::new(config),
            kb: knowledge_base(config, store)?,
            config: config.clone(),
        })
    }

    fn historian(&self, name: &str, model: &str) -> Result<Arc<dyn StageProvider>, String> {
        if model != "kb" {
            return Err(format!("unknown model `{model}` (the local Historian has one: `kb`)"));
        }
        let path = self.config.embedding_model_path();
        if !path.is_file() {
            return Err(format!("the embedding model {} is missing: run scripts/setup.sh", path.display()));
        }
        // The starter set is seeded by the first answer, not here: building the
        // router (at every start) must stay fast.
        let knowledge = &self.config.knowledge;
        let id = ProviderId::new(name, model);
        let historian = LocalHistorian::new(id, self.kb.clone(), knowledge.top_k, knowledge.seed_starter);
        Ok(erase::<Context, _>(historian))
    }
}

impl StudioProviders {
    /// The local cover artist (`local_artist:typeset`), with the fonts from
    /// `[art] font_dirs` and the studio's names list (so names wrap whole).
    fn artist(&self, model: &str) -> Result<Arc<dyn StageProvider>, String> {
        if model != molt_art::LocalArtist::MODEL {
            return Err(format!("unknown model `{model}` (the local artist has one: `typeset`)"));
        }
        let fonts = molt_art::FontLibrary::load(&self.config.art.font_dirs);
        let names = segmenter(&self.config).map_err(|e| e.message)?;
        let typesetter = molt_art::Typesetter::new(fonts, Arc::new(names));
        let artist = molt_art::LocalArtist::new(Arc::new(typesetter)).map_err(|e| e.to_string())?;
        Ok(erase::<Art, _>(artist))
    }
}

impl LocalProviders for StudioProviders {
    fn provider(
        &self,
        stage: Stage,
        name: &str,
        model: &str,
    ) -> Result<Option<Arc<dyn StageProvider>>, String> {
        match (stage, name) {
            (Stage::Context, "local_historian") => self.historian(name, model).map(Some),
            (Stage::Critique, "local_critic") => {
                let critic = molt_critic::LocalCritic::new(name, model)?;
                Ok(Some(erase::<Critique, _>(critic)))
            }
            (Stage::Art, "local_artist") => self.artist(model).map(Some),
            _ => self.models.provider(stage, name, model),
        }
    }
}

/// A knowledge-base error as the CLI reports it.
pub fn kb_error(e: molt_kb::KbError) -> CliError {
    match e {
        molt_kb::KbError::Store(e) => e.into(),
        molt_kb::KbError::Document { .. } => CliError::new("invalid_document", e.to_string()),
        molt_kb::KbError::Input(m) => CliError::new("invalid_input", m),
        molt_kb::KbError::Embed(e) => CliError::new("embedding_failed", e.to_string()),
    }
}
