//! An embedder loaded on first use, so that commands and workers that never
//! embed do not pay for loading the model (about a second and 0.5 GB). Shared by
//! the knowledge base and song search.

use crate::{EmbedError, Embedder, Role};
use std::sync::{Arc, OnceLock};

type Loader = Box<dyn Fn() -> Result<Arc<dyn Embedder>, EmbedError> + Send + Sync>;

pub struct LazyEmbedder {
    model_id: String,
    loader: Loader,
    loaded: OnceLock<Result<Arc<dyn Embedder>, String>>,
}

impl LazyEmbedder {
    /// `model_id` must be the id the loaded model will report.
    pub fn new(model_id: impl Into<String>, loader: Loader) -> LazyEmbedder {
        LazyEmbedder { model_id: model_id.into(), loader, loaded: OnceLock::new() }
    }

    /// The model, loading it the first time. A failed load is remembered: the
    /// file will not fix itself while the process runs.
    fn model(&self) -> Result<&Arc<dyn Embedder>, EmbedError> {
        let loaded = self.loaded.get_or_init(|| {
            let model = (self.loader)().map_err(|e| e.to_string())?;
            if model.model_id() != self.model_id {
                return Err(format!(
                    "the model says it is `{}`, expected `{}`",
                    model.model_id(),
                    self.model_id
                ));
            }
            Ok(model)
        });
        loaded.as_ref().map_err(|e| EmbedError::Model(e.clone()))
    }
}

impl Embedder for LazyEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    /// Loads the model to learn it; 0 when it cannot be loaded (and `embed` says why).
    fn dim(&self) -> usize {
        self.model().map_or(0, |m| m.dim())
    }

    fn embed(&self, texts: &[&str], role: Role) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.model()?.embed(texts, role)
    }
}
