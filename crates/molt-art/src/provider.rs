//! The `art` stage's local provider, `local_artist:typeset`.

use crate::{ArtError, CoverSpec, Format, Typesetter};
use async_trait::async_trait;
use base64::Engine as _;
use molt_core::ErrorClass;
use molt_pipeline::provider::{Provider, ProviderId, Usage};
use molt_pipeline::stages::{Art, ArtImage, ArtInput, ArtOutput};
use molt_pipeline::ProviderError;
use std::sync::Arc;

/// Typeset covers, made on this machine: free, offline, deterministic.
pub struct LocalArtist {
    id: ProviderId,
    typesetter: Arc<Typesetter>,
}

impl LocalArtist {
    /// The provider's name in a chain (`local_artist:typeset`).
    pub const NAME: &'static str = "local_artist";
    /// Its one model.
    pub const MODEL: &'static str = "typeset";

    /// A provider over `typesetter`; every font a cover may use must be
    /// installed, so a missing one is reported when the chain is built.
    pub fn new(typesetter: Arc<Typesetter>) -> Result<LocalArtist, ArtError> {
        typesetter.fonts().require_all()?;
        Ok(LocalArtist { id: ProviderId::new(Self::NAME, Self::MODEL), typesetter })
    }
}

/// One square and one vertical image per call.
const USAGE: Usage = Usage { unit_kind: "image", units: 2.0 };

#[async_trait]
impl Provider<Art> for LocalArtist {
    fn id(&self) -> &ProviderId {
        &self.id
    }

    fn estimate(&self, _input: &ArtInput) -> Usage {
        USAGE
    }

    async fn call(&self, input: &ArtInput) -> Result<(ArtOutput, Usage), ProviderError> {
        let typesetter = self.typesetter.clone();
        let spec = CoverSpec {
            title: input.title.clone(),
            title_latin: input.title_latin.clone(),
            artist: input.artist.clone(),
            year: input.year,
            genre: input.genre.clone(),
        };
        // Rendering is CPU work (tens to hundreds of ms): keep it off the async workers.
        let images = tokio::task::spawn_blocking(move || render_all(&typesetter, &spec))
            .await
            .map_err(|e| ProviderError::new(ErrorClass::Unknown, format!("the art task failed: {e}")))?
            .map_err(provider_error)?;
        let output = ArtOutput {
            // Older readers know only the single image: give them the square one.
            image_base64: images[0].image_base64.clone(),
            asset_sha256: None,
            mime: "image/png".into(),
            placeholder: false,
            images,
        };
        Ok((output, USAGE))
    }
}

fn render_all(typesetter: &Typesetter, spec: &CoverSpec) -> Result<Vec<ArtImage>, ArtError> {
    Format::ALL
        .into_iter()
        .map(|format| {
            let cover = typesetter.render(spec, format)?;
            Ok(ArtImage {
                label: format.label().into(),
                width: cover.width,
                height: cover.height,
                mime: "image/png".into(),
                image_base64: Some(base64::engine::general_purpose::STANDARD.encode(&cover.png)),
                asset_sha256: None,
            })
        })
        .collect()
}

/// A missing font is the machine's problem (another provider may do); text the
/// fonts cannot draw is the song's (no retry: the E004 placeholder stands in).
fn provider_error(e: ArtError) -> ProviderError {
    let class = match e {
        ArtError::MissingFont { .. } => ErrorClass::Infrastructure,
        ArtError::MissingGlyph { .. } | ArtError::Input(_) => ErrorClass::SchemaData,
        ArtError::Layout(_) | ArtError::Render(_) => ErrorClass::Unknown,
    };
    ProviderError::new(class, format!("local artist: {e}"))
}
