//! The art stage's images: every size a provider makes is stored
//! content-addressed under `assets/art/`, and the artist is told the song's
//! romanised title and the genre the context stage found.

mod common;

use async_trait::async_trait;
use base64::Engine as _;
use common::{drain, full_router, Studio};
use molt_core::Stage;
use molt_pipeline::provider::{ProviderId, StageProvider, Usage};
use molt_pipeline::router::{Link, RouterConfig};
use molt_pipeline::ProviderError;
use molt_store::PipelineStore;
use serde_json::{json, Value};
use sha2::Digest as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A provider that answers one fixed output and remembers its inputs.
struct Fixed {
    id: ProviderId,
    stage: Stage,
    output: Value,
    inputs: Arc<Mutex<Vec<Value>>>,
}

impl Fixed {
    fn link(stage: Stage, output: Value) -> (Link, Arc<Mutex<Vec<Value>>>) {
        let inputs = Arc::new(Mutex::new(Vec::new()));
        let provider = Fixed {
            id: ProviderId::new(format!("fixed-{}", stage.as_str()), "m1"),
            stage,
            output,
            inputs: inputs.clone(),
        };
        (Link { provider: Arc::new(provider), rate_per_minute: None }, inputs)
    }
}

#[async_trait]
impl StageProvider for Fixed {
    fn id(&self) -> &ProviderId {
        &self.id
    }

    fn stage(&self) -> Stage {
        self.stage
    }

    fn estimate(&self, _input: &Value) -> Result<Usage, ProviderError> {
        Ok(Usage { unit_kind: "image", units: 2.0 })
    }

    async fn call(&self, input: &Value) -> Result<(Value, Option<f64>, Usage), ProviderError> {
        self.inputs.lock().unwrap().push(input.clone());
        Ok((self.output.clone(), Some(1.0), Usage { unit_kind: "image", units: 2.0 }))
    }
}

const SQUARE: &[u8] = b"\x89PNG\r\n\x1a\nsquare";
const VERTICAL: &[u8] = b"\x89PNG\r\n\x1a\nvertical";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

#[tokio::test]
async fn every_art_image_is_stored_by_its_hash_and_the_artist_gets_the_genre() {
    let studio = Studio::new();
    let id = studio.songs(1).await[0];
    let context = json!({"relevance": 0.95, "facts": [
        {"text": "Sung by Sinn Sisamouth.", "source": "kb", "document": "artist-sinn-sisamouth"},
        {"text": "A circle dance.", "source": "kb", "document": "genre-romvong"},
    ]});
    let art = json!({
        "image_base64": b64(SQUARE), "mime": "image/png", "placeholder": false,
        "images": [
            {"label": "square", "width": 1080, "height": 1080, "mime": "image/png", "image_base64": b64(SQUARE)},
            {"label": "vertical", "width": 1080, "height": 1920, "mime": "image/png", "image_base64": b64(VERTICAL)},
        ],
    });
    let (context_link, _) = Fixed::link(Stage::Context, context);
    let (art_link, art_inputs) = Fixed::link(Stage::Art, art);
    let router = full_router(&studio, RouterConfig::default(), vec![context_link, art_link]);
    let runner = studio.runner(router, Duration::from_secs(60));
    runner.start_song(id).unwrap();
    drain(&studio, &runner, 20).await;

    let input = art_inputs.lock().unwrap()[0].clone();
    assert_eq!(input["genre"], "romvong", "the first genre document's name, without its prefix");
    let output =
        studio.store.stage_outputs(id).unwrap().into_iter().find(|o| o.stage == Stage::Art).unwrap().output;
    assert!(!output.to_string().contains("image_base64"), "no base64 stays in the stored output: {output}");
    assert_eq!(output["asset_sha256"], sha(SQUARE), "older readers find the square image");
    for (image, bytes) in output["images"].as_array().unwrap().iter().zip([SQUARE, VERTICAL]) {
        assert_eq!(image["asset_sha256"], sha(bytes));
        let path = studio.config.data_dir.join("assets/art").join(format!("{}.png", sha(bytes)));
        assert_eq!(std::fs::read(path).unwrap(), bytes);
    }
    assert_eq!(output["images"][1]["label"], "vertical");
    // Only the two images are there: no temp files left behind.
    let stored = std::fs::read_dir(studio.config.data_dir.join("assets/art")).unwrap().count();
    assert_eq!(stored, 2);
}

#[tokio::test]
async fn an_undecodable_extra_image_fails_the_stage_like_the_main_one() {
    let studio = Studio::new();
    let id = studio.songs(1).await[0];
    let art = json!({
        "mime": "image/png", "placeholder": false,
        "images": [{"label": "square", "width": 1, "height": 1, "mime": "image/png", "image_base64": "not base64!"}],
    });
    let (art_link, _) = Fixed::link(Stage::Art, art);
    let runner =
        studio.runner(full_router(&studio, RouterConfig::default(), vec![art_link]), Duration::from_secs(60));
    runner.start_song(id).unwrap();
    drain(&studio, &runner, 20).await;
    assert!(studio.store.stage_outputs(id).unwrap().iter().all(|o| o.stage != Stage::Art));
    assert_eq!(studio.job(id, Stage::Art).0, "failed");
}
