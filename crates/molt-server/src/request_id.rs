//! Every request gets an id (or keeps the caller's `x-request-id`), which is
//! echoed in the response and attached to every log line of the request.

use axum::http::{HeaderName, Request};
use std::sync::atomic::{AtomicU64, Ordering};
use tower::layer::util::{Identity, Stack};
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};

pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

#[derive(Clone)]
pub struct NextId {
    prefix: u32,
    counter: std::sync::Arc<AtomicU64>,
}

impl MakeRequestId for NextId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("{:08x}-{n:06}", self.prefix).parse().ok().map(RequestId::new)
    }
}

type Layers<T> = Stack<PropagateRequestIdLayer, Stack<T, Stack<SetRequestIdLayer<NextId>, Identity>>>;

/// Set the id, run `inner` (the trace layer) inside it, and echo it back.
pub fn layers<T>(inner: T) -> ServiceBuilder<Layers<T>> {
    let make = NextId { prefix: rand_prefix(), counter: Default::default() };
    ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(HEADER, make))
        .layer(inner)
        .layer(PropagateRequestIdLayer::new(HEADER))
}

/// Distinguishes restarts of the process in the logs.
fn rand_prefix() -> u32 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0)
        ^ std::process::id()
}

/// The trace span of one request: method, path (never the query, which may carry personal data) and id.
pub fn span<B>(request: &Request<B>) -> tracing::Span {
    let id = request.headers().get(HEADER).and_then(|v| v.to_str().ok()).unwrap_or("-");
    tracing::info_span!("request", id = %id, method = %request.method(), path = %request.uri().path())
}
