//! A fake OpenAI-compatible server (axum on 127.0.0.1:0) whose answers a test
//! scripts with a closure over the request it received. It records every request.

#![allow(dead_code)]

use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// One multipart field of a request.
#[derive(Debug, Clone)]
pub struct Part {
    pub name: String,
    pub file_name: Option<String>,
    pub data: Vec<u8>,
}

/// A request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub authorization: Option<String>,
    /// The JSON body, for JSON requests.
    pub json: Option<Value>,
    /// The fields, for multipart requests.
    pub parts: Vec<Part>,
}

impl Seen {
    pub fn text_part(&self, name: &str) -> Option<String> {
        self.parts.iter().find(|p| p.name == name).map(|p| String::from_utf8(p.data.clone()).unwrap())
    }

    /// The chat request's model, or the multipart `model` field.
    pub fn model(&self) -> Option<String> {
        self.json
            .as_ref()
            .and_then(|j| j["model"].as_str().map(str::to_string))
            .or_else(|| self.text_part("model"))
    }

    /// A chat request's message `i`'s content.
    pub fn message(&self, i: usize) -> String {
        self.json.as_ref().unwrap()["messages"][i]["content"].as_str().unwrap().to_string()
    }
}

/// What the fake answers.
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(body: Value) -> Reply {
        Reply { status: 200, body: body.to_string().into_bytes() }
    }

    pub fn status(status: u16, body: &str) -> Reply {
        Reply { status, body: body.as_bytes().to_vec() }
    }
}

type Handler = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

#[derive(Clone)]
struct Shared {
    handler: Handler,
    seen: Arc<Mutex<Vec<Seen>>>,
}

pub struct FakeOpenAi {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeOpenAi {
    pub async fn start(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> FakeOpenAi {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let shared = Shared { handler: Arc::new(handler), seen: seen.clone() };
        let app = axum::Router::new().fallback(handle).with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeOpenAi { addr, seen }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn header(request: &Request, name: &str) -> Option<String> {
    request.headers().get(name).map(|v| v.to_str().unwrap().to_string())
}

async fn handle(State(shared): State<Shared>, request: Request) -> Response {
    let path = request.uri().path().to_string();
    let authorization = header(&request, "authorization");
    let content_type = header(&request, "content-type").unwrap_or_default();
    let mut seen = Seen { path, authorization, json: None, parts: vec![] };
    if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(request, &()).await.unwrap();
        while let Some(field) = multipart.next_field().await.unwrap() {
            let name = field.name().unwrap_or_default().to_string();
            let file_name = field.file_name().map(str::to_string);
            let data = field.bytes().await.unwrap().to_vec();
            seen.parts.push(Part { name, file_name, data });
        }
    } else {
        let body = axum::body::to_bytes(request.into_body(), usize::MAX).await.unwrap();
        seen.json = serde_json::from_slice(&body).ok();
    }
    let reply = (shared.handler)(&seen);
    shared.seen.lock().unwrap().push(seen);
    let mut response = Response::new(axum::body::Body::from(reply.body));
    *response.status_mut() = StatusCode::from_u16(reply.status).unwrap();
    response.headers_mut().insert("content-type", "application/json".parse().unwrap());
    response.into_response()
}

/// A chat completion whose first choice says `content`.
pub fn chat_reply(content: &str, prompt_tokens: u64, completion_tokens: u64) -> Reply {
    Reply::json(serde_json::json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "fake",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens}
    }))
}

/// An images reply carrying `bytes` as `b64_json`.
pub fn image_reply(bytes: &[u8]) -> Reply {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    Reply::json(serde_json::json!({"created": 1, "data": [{"b64_json": encoded}]}))
}
