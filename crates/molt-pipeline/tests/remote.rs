//! The remote (OpenAI-compatible) stage providers and the router registry,
//! against a fake server on 127.0.0.1:0; end to end through a real store,
//! catalog, router and runner.

mod common;
#[path = "common/fake_openai.rs"]
mod fake_openai;

use base64::Engine as _;
use common::Studio;
use fake_openai::{chat_reply, image_reply, FakeOpenAi, Reply, Seen};
use molt_catalog::Catalog;
use molt_core::config::RemoteProviderConfig;
use molt_core::validate::SongInput;
use molt_core::{Config, ErrorClass, SongStatus, Stage};
use molt_pipeline::openai::{OpenAiClient, OpenAiConfig};
use molt_pipeline::provider::{Provider, ProviderId, Usage};
use molt_pipeline::registry::{build_router, NoLocalProviders};
use molt_pipeline::remote::{RemoteArtist, RemoteCritic, RemoteHistorian, RemoteTranscriber, PROMPT_VERSION};
use molt_pipeline::router::{CallContext, Routed, Router};
use molt_pipeline::runner::{QualityGate, Runner, RunnerConfig};
use molt_pipeline::stages::{
    ArtInput, ArtOutput, ContextInput, ContextOutput, CritiqueInput, Fact, TranscribeInput,
};
use molt_pipeline::ProviderError;
use molt_store::PipelineStore;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00";
const JPEG: &[u8] = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01";
const WEBP: &[u8] = b"RIFF\x1a\x00\x00\x00WEBPVP8 \x0e\x00\x00\x00";

fn client(fake: &FakeOpenAi) -> Arc<OpenAiClient> {
    Arc::new(
        OpenAiClient::new(OpenAiConfig {
            base_url: fake.url(),
            api_key: None,
            timeout: Duration::from_secs(10),
        })
        .unwrap(),
    )
}

fn id(model: &str) -> ProviderId {
    ProviderId::new("studio", model)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

fn context_input(broaden: bool) -> ContextInput {
    ContextInput {
        title: "ចម្រៀងស្នេហ៍".into(),
        artist: "Sinn Sisamouth".into(),
        year: Some(1967),
        lyrics: "ខ្ញុំស្រលាញ់អូន".into(),
        broaden,
        ..ContextInput::default()
    }
}

fn critique_input() -> CritiqueInput {
    CritiqueInput {
        title: "ចម្រៀងស្នេហ៍".into(),
        artist: "Sinn Sisamouth".into(),
        lyrics: "ខ្ញុំស្រលាញ់អូន".into(),
        confidence: 0.91,
        facts: vec![Fact {
            text: "Recorded in Phnom Penh".into(),
            source: "liner notes".into(),
            ..Fact::default()
        }],
        ..CritiqueInput::default()
    }
}

fn art_input() -> ArtInput {
    ArtInput {
        title: "ចម្រៀងស្នេហ៍".into(),
        artist: "Sinn Sisamouth".into(),
        year: Some(1967),
        ..ArtInput::default()
    }
}

/// The bytes of the request's messages, /4 rounded up, plus its max_tokens: the documented estimate.
fn expected_estimate(seen: &Seen) -> f64 {
    let body = seen.json.as_ref().unwrap();
    let bytes: usize =
        body["messages"].as_array().unwrap().iter().map(|m| m["content"].as_str().unwrap().len()).sum();
    bytes.div_ceil(4) as f64 + body["max_tokens"].as_f64().unwrap()
}

fn schema_message(result: Result<impl std::fmt::Debug, ProviderError>) -> String {
    let error = result.unwrap_err();
    assert_eq!(error.class, ErrorClass::SchemaData, "{error:?}");
    error.message
}

// ---------------------------------------------------------------- transcriber

fn transcription(duration: Option<f64>) -> Value {
    let mut body = json!({
        "task": "transcribe",
        "language": "khmer",
        "text": "  ខ្ញុំស្រលាញ់អូន ណាស់ ",
        "segments": [
            {"id": 0, "start": 0.0, "end": 4.0, "text": " ខ្ញុំស្រលាញ់អូន", "avg_logprob": -0.1, "no_speech_prob": 0.02},
            {"id": 1, "start": 4.0, "end": 9.5, "text": " ណាស់", "avg_logprob": -0.2, "no_speech_prob": 0.6},
            // Probably silence: it must not count.
            {"id": 2, "start": 9.5, "end": 12.0, "text": " ...", "avg_logprob": -3.0, "no_speech_prob": 0.95}
        ]
    });
    if let Some(d) = duration {
        body["duration"] = json!(d);
    }
    body
}

#[tokio::test]
async fn the_transcriber_returns_the_transcript_its_confidence_and_the_billed_seconds() {
    let fake = FakeOpenAi::start(|_| Reply::json(transcription(Some(12.25)))).await;
    let dir = tempfile::tempdir().unwrap();
    let audio = dir.path().join("abc123.wav");
    std::fs::write(&audio, molt_media::testing::sine_wav(0.5, 8_000, 1, 440.0)).unwrap();
    let transcriber = RemoteTranscriber::new(client(&fake), id("whisper-1"));
    let input = TranscribeInput {
        audio_path: audio.display().to_string(),
        language: Some("km".into()),
        duration_secs: 12.0,
    };

    assert_eq!(transcriber.estimate(&input), Usage { unit_kind: "audio_second", units: 12.0 });
    let (transcript, usage) = transcriber.call(&input).await.unwrap();

    let confidence = ((-0.1f64).exp() + (-0.2f64).exp()) / 2.0; // 0.8618…; segment 2 weighs 0
    assert!(close(transcript.confidence, confidence), "{}", transcript.confidence);
    assert_eq!(transcript.text, "ខ្ញុំស្រលាញ់អូន ណាស់");
    assert_eq!(transcript.language.as_deref(), Some("km"));
    assert_eq!(transcript.model.as_deref(), Some("whisper-1"));
    let spans: Vec<(f64, f64, &str)> =
        transcript.segments.iter().map(|s| (s.start, s.end, s.text.as_str())).collect();
    assert_eq!(spans, vec![(0.0, 4.0, "ខ្ញុំស្រលាញ់អូន"), (4.0, 9.5, "ណាស់"), (9.5, 12.0, "...")]);
    assert_eq!(transcript.segments[0].avg_logprob, Some(-0.1), "quality signals are kept");
    assert_eq!(usage, Usage { unit_kind: "audio_second", units: 12.25 }, "the provider's duration is billed");

    let seen = fake.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/v1/audio/transcriptions");
    assert_eq!(seen[0].text_part("model").as_deref(), Some("whisper-1"));
    assert_eq!(seen[0].text_part("language").as_deref(), Some("km"));
    assert_eq!(seen[0].text_part("prompt"), None);
    let file = seen[0].parts.iter().find(|p| p.name == "file").unwrap();
    assert_eq!(file.data, std::fs::read(&audio).unwrap());
}

#[tokio::test]
async fn a_transcript_without_segments_has_zero_confidence_and_bills_the_songs_duration() {
    let fake = FakeOpenAi::start(|_| Reply::json(json!({"text": "la la", "language": "english"}))).await;
    let dir = tempfile::tempdir().unwrap();
    let audio = dir.path().join("a.wav");
    std::fs::write(&audio, b"RIFF....WAVE").unwrap();
    let transcriber = RemoteTranscriber::new(client(&fake), id("whisper-1"));
    let input =
        TranscribeInput { audio_path: audio.display().to_string(), language: None, duration_secs: 7.5 };
    let (transcript, usage) = transcriber.call(&input).await.unwrap();
    assert_eq!(transcript.confidence, 0.0, "no segments: no confidence is invented");
    assert_eq!(transcript.language.as_deref(), Some("english"), "the detected language when none was asked");
    assert!(transcript.segments.is_empty());
    assert_eq!(usage, Usage { unit_kind: "audio_second", units: 7.5 });
    assert_eq!(fake.seen()[0].text_part("language"), None);
}

#[tokio::test]
async fn a_missing_audio_file_is_a_schema_error_and_sends_nothing() {
    let fake = FakeOpenAi::start(|_| Reply::json(transcription(None))).await;
    let transcriber = RemoteTranscriber::new(client(&fake), id("whisper-1"));
    let input =
        TranscribeInput { audio_path: "/nonexistent/x.wav".into(), language: None, duration_secs: 1.0 };
    let message = schema_message(transcriber.call(&input).await);
    assert!(message.contains("cannot read the audio file"), "{message}");
    assert!(fake.seen().is_empty());
}

// ---------------------------------------------------------------- historian

#[tokio::test]
async fn the_historian_asks_for_json_facts_and_parses_them() {
    let content = r#"{"facts": [{"text": "Written for the 1967 film Pka Proheam Rik.", "source": "Cambodian Rock archive"},
                                {"text": " Sinn Sisamouth sang it. ", "source": "general knowledge"}],
                      "relevance": 0.9, "note": "extra keys are ignored"}"#;
    let fake = FakeOpenAi::start(move |_| chat_reply(content, 120, 30)).await;
    let historian = RemoteHistorian::new(client(&fake), id("gpt-4o-mini"));
    let input = context_input(false);
    let estimate = historian.estimate(&input);
    let (output, usage) = historian.call(&input).await.unwrap();

    assert_eq!(
        output,
        ContextOutput {
            facts: vec![
                Fact {
                    text: "Written for the 1967 film Pka Proheam Rik.".into(),
                    source: "Cambodian Rock archive".into(),
                    ..Fact::default()
                },
                Fact {
                    text: "Sinn Sisamouth sang it.".into(),
                    source: "general knowledge".into(),
                    ..Fact::default()
                },
            ],
            relevance: 0.9,
        }
    );
    assert_eq!(usage, Usage { unit_kind: "input_token", units: 150.0 }, "prompt + completion tokens");

    let seen = fake.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/v1/chat/completions");
    let body = seen[0].json.as_ref().unwrap();
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(body["response_format"], json!({"type": "json_object"}));
    assert_eq!(body["max_tokens"], json!(1200));
    assert_eq!(estimate, Usage { unit_kind: "input_token", units: expected_estimate(&seen[0]) });
    let system = seen[0].message(0);
    assert!(system.contains("\"facts\"") && system.contains("\"relevance\""), "{system}");
    assert!(!system.contains("broaden"), "a first search is not broadened: {system}");
    let song: Value = serde_json::from_str(&seen[0].message(1)).unwrap();
    assert_eq!(
        song,
        json!({"title": "ចម្រៀងស្នេហ៍", "artist": "Sinn Sisamouth", "year": 1967, "lyrics": "ខ្ញុំស្រលាញ់អូន"})
    );
}

#[tokio::test]
async fn a_broadened_search_asks_for_era_genre_and_biography() {
    let fake = FakeOpenAi::start(|_| chat_reply(r#"{"facts": [], "relevance": 0}"#, 1, 1)).await;
    let historian = RemoteHistorian::new(client(&fake), id("gpt-4o-mini"));
    let (output, _) = historian.call(&context_input(true)).await.unwrap();
    assert_eq!(output, ContextOutput { facts: vec![], relevance: 0.0 });
    let system = fake.seen()[0].message(0);
    for word in ["broaden", "era", "genre", "biography"] {
        assert!(system.contains(word), "{word} missing from: {system}");
    }
}

#[tokio::test]
async fn malformed_historian_answers_are_schema_errors_naming_the_problem() {
    let cases = [
        ("the facts are", "malformed JSON"),
        (r#"[{"text": "x"}]"#, "expected an object, got an array"),
        (r#"{"relevance": 0.5}"#, "`facts` is missing"),
        (r#"{"facts": {"text": "x"}, "relevance": 0.5}"#, "`facts` is not an array"),
        (r#"{"facts": ["x"], "relevance": 0.5}"#, "`facts[0]` is not an object"),
        (
            r#"{"facts": [{"text": "x", "source": "y"}, {"text": "z"}], "relevance": 0.5}"#,
            "`facts[1].source` is missing",
        ),
        (r#"{"facts": [{"text": 7, "source": "y"}], "relevance": 0.5}"#, "`facts[0].text` is not a string"),
        (r#"{"facts": [{"text": "  ", "source": "y"}], "relevance": 0.5}"#, "`facts[0].text` is empty"),
        (r#"{"facts": []}"#, "`relevance` is missing"),
        (r#"{"facts": [], "relevance": "high"}"#, "`relevance` is not a number (got a string)"),
        (r#"{"facts": [], "relevance": 1.5}"#, "`relevance` is 1.5, outside 0..1"),
        (r#"{"facts": [], "relevance": -0.1}"#, "`relevance` is -0.1, outside 0..1"),
    ];
    for (content, expected) in cases {
        let fake = FakeOpenAi::start(move |_| chat_reply(content, 10, 10)).await;
        let historian = RemoteHistorian::new(client(&fake), id("m"));
        let message = schema_message(historian.call(&context_input(false)).await);
        assert!(message.starts_with("historian: the model's answer is not the expected JSON: "), "{message}");
        assert!(message.contains(expected), "{content}: {message}");
    }
}

// ---------------------------------------------------------------- critic

#[tokio::test]
async fn the_critic_judges_the_transcript_and_parses_its_structured_verdict() {
    let content = r#"{"score": 0.72, "issues": [
        {"line": 1, "kind": "wrong_word", "message": "the second word is garbled", "suggestion": null},
        {"line": null, "kind": "missing", "message": "the chorus is missing", "suggestion": "listen again"}],
        "corrections": [{"line": 1, "text": "ខ្ញុំស្រលាញ់អូនណាស់"}]}"#;
    let fake = FakeOpenAi::start(move |_| chat_reply(content, 200, 40)).await;
    let critic = RemoteCritic::new(client(&fake), id("gpt-4o-mini"));
    let input = critique_input();
    let estimate = critic.estimate(&input);
    let (output, usage) = critic.call(&input).await.unwrap();
    assert_eq!(output.score, 0.72);
    assert_eq!(output.issues, vec!["line 1: the second word is garbled", "the chorus is missing"]);
    let findings: Vec<(Option<u32>, &str, Option<&str>)> =
        output.findings.iter().map(|f| (f.line, f.kind.as_str(), f.suggestion.as_deref())).collect();
    assert_eq!(
        findings,
        vec![(Some(1), "wrong_word", Some("ខ្ញុំស្រលាញ់អូនណាស់")), (None, "missing", Some("listen again"))]
    );
    assert_eq!(usage, Usage { unit_kind: "input_token", units: 240.0 });

    let seen = fake.seen();
    let body = seen[0].json.as_ref().unwrap();
    assert_eq!(body["response_format"], json!({"type": "json_object"}));
    assert_eq!(body["temperature"], json!(0.0));
    assert_eq!(estimate, Usage { unit_kind: "input_token", units: expected_estimate(&seen[0]) });
    let system = seen[0].message(0);
    for key in ["\"score\"", "\"issues\"", "\"corrections\"", "\"suggestion\""] {
        assert!(system.contains(key), "{key} missing from: {system}");
    }
    let song: Value = serde_json::from_str(&seen[0].message(1)).unwrap();
    assert_eq!(
        song,
        json!({
            "title": "ចម្រៀងស្នេហ៍", "artist": "Sinn Sisamouth", "language": null, "duration_secs": 0.0,
            "lyrics": [{"line": 1, "text": "ខ្ញុំស្រលាញ់អូន"}],
            "transcriber_confidence": 0.91,
            "facts": [{"text": "Recorded in Phnom Penh", "source": "liner notes"}]
        })
    );
}

#[tokio::test]
async fn malformed_critic_verdicts_are_the_models_fault_retried_and_billed() {
    let cases = [
        ("```json\n{\"score\": 1, \"issues\": []}\n```", "malformed JSON"),
        ("0.9", "expected an object, got a number"),
        (r#"{"issues": []}"#, "`score` is missing"),
        (r#"{"score": null, "issues": []}"#, "`score` is not a number (got null)"),
        (r#"{"score": 1.7, "issues": []}"#, "`score` is 1.7, outside 0..1"),
        (r#"{"score": 0.5}"#, "`issues` is missing"),
        (r#"{"score": 0.5, "issues": ["a loop"]}"#, "`issues[0]` is not an object"),
        (
            r#"{"score": 0.5, "issues": [{"line": 999, "kind": "loop", "message": "m"}]}"#,
            "`issues[0].line` is 999, outside the lyrics' lines 1..1",
        ),
    ];
    for (content, expected) in cases {
        let fake = FakeOpenAi::start(move |_| chat_reply(content, 10, 5)).await;
        let critic = RemoteCritic::new(client(&fake), id("m"));
        let error = critic.call(&critique_input()).await.unwrap_err();
        assert_eq!(error.class, ErrorClass::Transient, "{content}: {error:?}");
        assert!(
            error.message.starts_with("critic: the model's answer is not the expected JSON: "),
            "{error:?}"
        );
        assert!(error.message.contains(expected), "{content}: {}", error.message);
        assert_eq!(
            error.billed,
            Some(Usage { unit_kind: "input_token", units: 15.0 }),
            "the tokens were used"
        );
    }
}

// ---------------------------------------------------------------- artist

#[tokio::test]
async fn the_artist_returns_the_image_as_base64_with_its_sniffed_type() {
    for (bytes, mime) in [(PNG, "image/png"), (JPEG, "image/jpeg"), (WEBP, "image/webp")] {
        let fake = FakeOpenAi::start(move |_| image_reply(bytes)).await;
        let artist = RemoteArtist::new(client(&fake), id("gpt-image-1"));
        assert_eq!(artist.estimate(&art_input()), Usage { unit_kind: "image", units: 1.0 });
        let (output, usage) = artist.call(&art_input()).await.unwrap();
        assert_eq!(
            output,
            ArtOutput {
                image_base64: Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
                asset_sha256: None,
                mime: mime.into(),
                placeholder: false,
                images: Vec::new(),
            }
        );
        assert_eq!(usage, Usage { unit_kind: "image", units: 1.0 });
        let seen = fake.seen();
        assert_eq!(seen[0].path, "/v1/images/generations");
        let body = seen[0].json.as_ref().unwrap();
        assert_eq!(body["model"], "gpt-image-1");
        let prompt = body["prompt"].as_str().unwrap();
        for part in ["\"ចម្រៀងស្នេហ៍\"", "Sinn Sisamouth", "1967", "golden-age Cambodian", "Do not put any text"]
        {
            assert!(prompt.contains(part), "{part} missing from: {prompt}");
        }
    }
}

#[tokio::test]
async fn art_that_is_not_an_image_is_a_schema_error() {
    for bytes in
        [&b"<svg xmlns='http://www.w3.org/2000/svg'/>"[..], b"RIFF\x04\x00\x00\x00WAVEfmt ", b"\x89PN"]
    {
        let fake = FakeOpenAi::start(move |_| image_reply(bytes)).await;
        let artist = RemoteArtist::new(client(&fake), id("gpt-image-1"));
        let message = schema_message(artist.call(&art_input()).await);
        assert!(message.contains("not a PNG, JPEG or WebP image"), "{message}");
    }
}

// ---------------------------------------------------------------- registry

fn router_for(studio: &Studio, config: &Config) -> Result<Router, String> {
    build_router(config, Arc::new(studio.store.clone()) as Arc<dyn PipelineStore>, &NoLocalProviders)
}

fn ctx(song_id: i64, job_id: i64, stage: Stage) -> CallContext {
    CallContext { song_id, job_id, stage, attempt: 1, skip: 0, actor: "test".into() }
}

#[tokio::test]
async fn the_default_config_builds_no_chain_and_names_the_missing_local_providers() {
    let studio = Studio::new();
    let song = studio.songs(1).await[0];
    let router = router_for(&studio, &Config::default()).unwrap();
    assert_eq!(router.config().timeout, Duration::from_secs(15 * 60));
    assert_eq!(router.config().prompt_version, PROMPT_VERSION);
    let expected = [
        (Stage::Transcribe, "local_whisper:base"),
        (Stage::Context, "local_historian:kb"),
        (Stage::Critique, "local_critic:rules"),
        (Stage::Art, "local_artist:typeset"),
    ];
    for (stage, local) in expected {
        assert_eq!(router.chain_len(stage), 0, "{stage:?}");
        match router.route(&ctx(song, 0, stage), &json!({})).await {
            Routed::NoProvider(message) => assert_eq!(
                message,
                format!(
                    "no {} provider is available: {local} is not built into this molt yet",
                    stage.as_str()
                )
            ),
            other => panic!("{stage:?}: {other:?}"),
        }
    }
    assert_eq!(studio.scalar("SELECT count(*) FROM cost_ledger"), 0, "nothing was called");
}

fn remote_config(studio: &Studio, url: &str) -> Config {
    let mut config = studio.config.clone();
    config.providers.insert(
        "studio".into(),
        RemoteProviderConfig {
            kind: "openai".into(),
            base_url: url.into(),
            api_key: Some(molt_core::config::Secret::new("sk-test")),
            timeout_secs: 10,
            rate_per_minute: Some(600),
        },
    );
    let chains = &mut config.pipeline.chains;
    chains.transcribe = vec!["studio:whisper-1".into()];
    chains.context = vec!["studio:historian-1".into()];
    chains.critique = vec!["studio:critic-1".into()];
    chains.art = vec!["studio:painter-1".into()];
    config
}

/// Answers each endpoint (and each chat model) the way a good provider would:
/// above the quality gate, with a real PNG signature.
fn good_provider(seen: &Seen) -> Reply {
    match (seen.path.as_str(), seen.model().as_deref()) {
        ("/v1/audio/transcriptions", _) => Reply::json(json!({
            "text": "ខ្ញុំស្រលាញ់អូន", "language": "khmer", "duration": 1.5,
            "segments": [{"start": 0.0, "end": 1.5, "text": "ខ្ញុំស្រលាញ់អូន", "avg_logprob": -0.05, "no_speech_prob": 0.01}]
        })),
        ("/v1/chat/completions", Some("historian-1")) => chat_reply(
            r#"{"facts": [{"text": "A 1960s romvong standard.", "source": "Cambodian Rock archive"}], "relevance": 0.9}"#,
            100,
            20,
        ),
        ("/v1/chat/completions", Some("critic-1")) => chat_reply(r#"{"score": 0.8, "issues": []}"#, 80, 10),
        ("/v1/images/generations", _) => image_reply(PNG),
        _ => Reply::status(404, r#"{"error": {"message": "the fake has no such route"}}"#),
    }
}

#[tokio::test]
async fn configured_remote_providers_answer_every_stage_through_the_router() {
    let studio = Studio::new();
    let song = studio.songs(1).await[0];
    let fake = FakeOpenAi::start(good_provider).await;
    let mut config = remote_config(&studio, &fake.url());
    config.pipeline.call_timeout_secs = 42;
    config.pipeline.breaker_threshold = 7;
    config.pipeline.breaker_cooldown_secs = 9;
    let router = router_for(&studio, &config).unwrap();
    assert_eq!(router.config().timeout, Duration::from_secs(42));
    assert_eq!(router.config().breaker_threshold, 7);
    assert_eq!(router.config().breaker_cooldown, Duration::from_secs(9));

    let dir = tempfile::tempdir().unwrap();
    let audio = dir.path().join("a.wav");
    std::fs::write(&audio, molt_media::testing::sine_wav(1.5, 8_000, 1, 330.0)).unwrap();
    let inputs = [
        (
            Stage::Transcribe,
            json!({"audio_path": audio.display().to_string(), "language": "km", "duration_secs": 1.5}),
        ),
        (Stage::Context, serde_json::to_value(context_input(false)).unwrap()),
        (Stage::Critique, serde_json::to_value(critique_input()).unwrap()),
        (Stage::Art, serde_json::to_value(art_input()).unwrap()),
    ];
    for (stage, input) in inputs {
        assert_eq!(router.chain_len(stage), 1, "{stage:?}");
        let job = studio.store.enqueue_job(molt_core::jobs::NewJob::stage(song, stage)).unwrap();
        let answer = match router.route(&ctx(song, job, stage), &input).await {
            Routed::Answer(answer) => answer,
            other => panic!("{stage:?}: {other:?}"),
        };
        assert_eq!(answer.provider.name, "studio");
        assert!(!answer.cached);
        match stage {
            Stage::Transcribe => {
                assert!(close(answer.quality.unwrap(), (-0.05f64).exp()), "{:?}", answer.quality);
                assert_eq!(answer.output["text"], "ខ្ញុំស្រលាញ់អូន");
                assert_eq!(answer.provider.model, "whisper-1");
            }
            Stage::Context => {
                assert_eq!(answer.quality, Some(0.9));
                assert_eq!(answer.output["facts"][0]["source"], "Cambodian Rock archive");
            }
            Stage::Critique => assert_eq!(answer.output, json!({"score": 0.8, "issues": []})),
            Stage::Art => {
                assert_eq!(answer.quality, Some(1.0));
                assert_eq!(answer.output["mime"], "image/png");
            }
        }
    }
    // 600 calls a minute: a second critique right away is not held back.
    let job = studio.store.enqueue_job(molt_core::jobs::NewJob::stage(song, Stage::Critique)).unwrap();
    let again = CritiqueInput { lyrics: "another take".into(), ..critique_input() };
    let second = router.route(&ctx(song, job, Stage::Critique), &serde_json::to_value(again).unwrap()).await;
    assert!(matches!(second, Routed::Answer(_)), "{second:?}");
    // One client per provider entry, and its key on every request.
    let seen = fake.seen();
    assert_eq!(seen.len(), 5);
    assert!(seen.iter().all(|s| s.authorization.as_deref() == Some("Bearer sk-test")));
    assert_eq!(studio.scalar("SELECT count(*) FROM cost_ledger WHERE outcome = 'ok'"), 5);
}

#[tokio::test]
async fn bad_chain_entries_and_providers_are_precise_errors() {
    let studio = Studio::new();
    let base = remote_config(&studio, "http://127.0.0.1:9");
    let with = |stage: &str, entries: &[&str]| {
        let mut config = base.clone();
        let entries: Vec<String> = entries.iter().map(|e| e.to_string()).collect();
        match stage {
            "transcribe" => config.pipeline.chains.transcribe = entries,
            "context" => config.pipeline.chains.context = entries,
            "critique" => config.pipeline.chains.critique = entries,
            _ => config.pipeline.chains.art = entries,
        }
        config
    };
    let error = |config: Config| router_for(&studio, &config).err().expect("an error");

    assert_eq!(
        error(with("transcribe", &["nocolon"])),
        "pipeline.chains.transcribe[0]: `nocolon` is not `name:model` (it has no `:`)"
    );
    assert_eq!(
        error(with("context", &["studio:historian-1", ":m"])),
        "pipeline.chains.context[1]: `:m` has an empty provider name (expected `name:model`)"
    );
    assert_eq!(
        error(with("critique", &["studio:"])),
        "pipeline.chains.critique[0]: `studio:` has an empty model (expected `name:model`)"
    );
    assert_eq!(
        error(with("art", &["ghost:m"])),
        "unknown provider `ghost` in pipeline.chains.art: not a [providers.*] entry and not a local provider"
    );
    assert_eq!(
        error(with("art", &["studio:painter-1", "studio:painter-1"])),
        "pipeline.chains.art[1]: `studio:painter-1` is listed twice"
    );
    let mut grpc = base.clone();
    grpc.providers.get_mut("studio").unwrap().kind = "grpc".into();
    assert_eq!(
        error(grpc),
        "providers.studio: kind `grpc` is not supported (the only kind is `openai`, an OpenAI-compatible API)"
    );
    let mut bad_url = base.clone();
    bad_url.providers.get_mut("studio").unwrap().base_url = "ftp://example.org".into();
    let message = error(bad_url);
    assert!(message.starts_with("providers.studio: openai client: base_url must be an http"), "{message}");
    let mut zero = base.clone();
    zero.pipeline.call_timeout_secs = 0;
    assert_eq!(error(zero), "pipeline.call_timeout_secs must be at least 1");

    // The same entries, well formed, build; a local provider after a remote one is only unavailable.
    let mut mixed = with("transcribe", &["studio:whisper-1", "local_whisper:base"]);
    mixed.pipeline.chains.context = vec!["studio:gpt:4o".into()];
    let router = router_for(&studio, &mixed).unwrap();
    assert_eq!(router.chain_len(Stage::Transcribe), 1);
    assert_eq!(router.chain_len(Stage::Context), 1);
}

// ---------------------------------------------------------------- end to end

#[tokio::test]
async fn a_song_goes_through_every_remote_stage_to_review_with_one_ledger_row_each() {
    let studio = Studio::new();
    let fake = FakeOpenAi::start(good_provider).await;
    let config = remote_config(&studio, &fake.url());
    let catalog = Catalog::new(Arc::new(studio.store.clone()), &config);
    let mut staged = catalog.stage().unwrap();
    staged.write_chunk(&molt_media::testing::sine_wav(1.5, 8_000, 1, 262.0)).unwrap();
    let input = SongInput {
        title: Some("ចម្រៀងស្នេហ៍".into()),
        artist: Some("Sinn Sisamouth".into()),
        year: Some("1967".into()),
        language: Some("km".into()),
        ..Default::default()
    };
    let id = catalog.add_song(input, staged, "test").await.unwrap().id;
    // Prices per unit, so the billed units show in micro-USD.
    let now = molt_core::time::now_stamp();
    studio
        .store
        .write(move |c| {
            use molt_store::sqlite::pipeline::set_price;
            set_price(c, "studio", "whisper-1", "audio_second", 100.0, &now)?;
            set_price(c, "studio", "historian-1", "input_token", 2.0, &now)?;
            set_price(c, "studio", "critic-1", "input_token", 3.0, &now)?;
            set_price(c, "studio", "painter-1", "image", 40_000.0, &now)
        })
        .unwrap();

    let store: Arc<dyn PipelineStore> = Arc::new(studio.store.clone());
    let router = build_router(&config, store.clone(), &NoLocalProviders).unwrap();
    let runner = Runner::new(
        store,
        Arc::new(router),
        RunnerConfig {
            lease: Duration::from_secs(60),
            batch: 4,
            owner: "remote-test".into(),
            gate: QualityGate { lyrics_confidence: 0.85, context_relevance: 0.80, critique_score: 0.70 },
            data_dir: config.data_dir.clone(),
        },
    );
    assert_eq!(runner.start_song(id).unwrap(), Some(Stage::Transcribe));
    let mut passes = 0;
    while runner.pass().await.unwrap().claimed > 0 {
        passes += 1;
        assert!(passes <= 10, "the queue did not drain");
    }
    assert_eq!(passes, 4, "one pass per stage");
    assert_eq!(studio.status(id).await, SongStatus::Review);

    let outputs = studio.store.stage_outputs(id).unwrap();
    assert_eq!(outputs.iter().map(|o| o.stage).collect::<Vec<_>>(), Stage::ORDER.to_vec());
    assert!(outputs.iter().all(|o| o.provider == "studio" && !o.flagged));
    assert_eq!(outputs[0].output["language"], "km");
    // The runner decodes the artist's base64 and stores the image content-addressed.
    let sha = outputs[3].output["asset_sha256"].as_str().expect("stored art").to_string();
    let stored = std::fs::read(config.data_dir.join("assets/art").join(format!("{sha}.png"))).unwrap();
    assert_eq!(stored, PNG);

    let ledger: Vec<(String, String, String, f64, i64)> = studio
        .store
        .read(|c| {
            let mut statement = c.prepare(
                "SELECT stage, model, unit_kind, units, micro_usd FROM cost_ledger WHERE outcome = 'ok' ORDER BY id",
            )?;
            let rows = statement.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .unwrap();
    let row = |stage: &str, model: &str, kind: &str, units: f64, micro: i64| {
        (stage.to_string(), model.to_string(), kind.to_string(), units, micro)
    };
    assert_eq!(
        ledger,
        vec![
            row("transcribe", "whisper-1", "audio_second", 1.5, 150),
            row("context", "historian-1", "input_token", 120.0, 240),
            row("critique", "critic-1", "input_token", 90.0, 270),
            row("art", "painter-1", "image", 1.0, 40_000),
        ]
    );
    assert_eq!(studio.scalar("SELECT count(*) FROM cost_ledger"), 4, "no other ledger rows");
    assert_eq!(studio.scalar("SELECT sum(cost_micro_usd) FROM songs"), 40_660);

    // The critic was shown the transcript and the historian's facts; the artist the song's year.
    let seen = fake.seen();
    let critic = seen.iter().find(|s| s.model().as_deref() == Some("critic-1")).unwrap();
    let song: Value = serde_json::from_str(&critic.message(1)).unwrap();
    assert_eq!(song["lyrics"], json!([{"line": 1, "text": "ខ្ញុំស្រលាញ់អូន"}]));
    assert_eq!((song["language"].as_str(), song["duration_secs"].as_f64()), (Some("km"), Some(2.0)));
    assert_eq!(song["facts"][0]["text"], "A 1960s romvong standard.");
    let painter = seen.iter().find(|s| s.path == "/v1/images/generations").unwrap();
    assert!(painter.json.as_ref().unwrap()["prompt"].as_str().unwrap().contains("released in 1967"));
}

#[tokio::test]
async fn a_providers_rate_per_minute_limits_its_calls() {
    let studio = Studio::new();
    let song = studio.songs(1).await[0];
    let fake = FakeOpenAi::start(good_provider).await;
    let mut config = remote_config(&studio, &fake.url());
    config.providers.get_mut("studio").unwrap().rate_per_minute = Some(1);
    let router = router_for(&studio, &config).unwrap();
    let job = studio.store.enqueue_job(molt_core::jobs::NewJob::stage(song, Stage::Art)).unwrap();
    let first = router.route(&ctx(song, job, Stage::Art), &serde_json::to_value(art_input()).unwrap()).await;
    assert!(matches!(first, Routed::Answer(_)), "{first:?}");
    // Another song's art (not a cache hit) within the same minute waits for the next slot.
    let other = ArtInput { title: "another".into(), ..art_input() };
    match router.route(&ctx(song, job, Stage::Art), &serde_json::to_value(other).unwrap()).await {
        Routed::Defer { class, error, .. } => {
            assert_eq!(class, ErrorClass::RateLimited);
            assert!(error.starts_with("studio:painter-1: local rate limit"), "{error}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(fake.seen().len(), 1, "the second call never reached the provider");
}
