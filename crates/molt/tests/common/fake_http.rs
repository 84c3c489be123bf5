//! A fake HTTP receiver on 127.0.0.1 (the Telegram Bot API, a webhook): it
//! records every request and answers `{"ok":true,"result":{}}` with the
//! status it is told (200 by default).

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Response, Uri};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
pub struct Fake {
    pub hits: Arc<Mutex<Vec<(String, HeaderMap, Bytes)>>>,
    pub status: Arc<Mutex<u16>>,
}

impl Fake {
    pub fn paths(&self) -> Vec<String> {
        self.hits.lock().unwrap().iter().map(|h| h.0.clone()).collect()
    }
    pub fn set_status(&self, status: u16) {
        *self.status.lock().unwrap() = status;
    }
}

async fn handle(State(fake): State<Fake>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response<Body> {
    fake.hits.lock().unwrap().push((uri.path().to_string(), headers, body));
    let status = match *fake.status.lock().unwrap() {
        0 => 200,
        s => s,
    };
    Response::builder().status(status).body(Body::from(r#"{"ok":true,"result":{}}"#)).unwrap()
}

pub fn serve(rt: &tokio::runtime::Runtime, fake: &Fake) -> SocketAddr {
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(handle).with_state(fake.clone());
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}
