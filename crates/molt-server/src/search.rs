//! `GET /api/v1/search?q=…&limit=…`: song search. The rules (tiers, limits,
//! query checks) live in `molt-search`; this only reads the request.
//!
//! The query string is decoded here, byte for byte, so that invalid UTF-8 is
//! refused with its offset instead of being replaced silently. The caller's
//! tier comes from its token's role (no token: anonymous); the rate-limit key
//! is its token, else its address as the connection reports it (a proxy in
//! front makes every client one address: give each its own token there).

use crate::auth::Caller;
use crate::error::ApiError;
use crate::AppState;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use molt_search::{Requester, SearchError, SearchResponse, Tier};
use std::net::SocketAddr;

/// The query parameters, for the OpenAPI document.
#[derive(Debug, utoipa::IntoParams)]
#[allow(dead_code)]
pub struct SearchParams {
    /// The query: Khmer (a lyric fragment, with or without spaces), romanised, or a description.
    q: String,
    /// Most results (default 10; at most 10 anonymous and free, 50 premium, 100 staff).
    limit: Option<usize>,
}

/// The answer's shape (SOP), for the OpenAPI document.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct SearchAnswer {
    query: String,
    results: Vec<SearchHit>,
    response_time_ms: u64,
    /// Only when there are no results: spelling and romanisation variants,
    /// near matches, popular songs. Absent otherwise.
    suggestions: Option<Vec<molt_search::Suggestion>>,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct SearchHit {
    song_id: i64,
    title: String,
    artist: String,
    /// 0..1: 1 is first in every ranking that ran (words, substrings, vectors).
    match_score: f64,
    /// The matched part between « and ».
    snippet: String,
    /// HTML-escaped, the matched part in <mark>.
    snippet_html: String,
    title_latin: Option<String>,
    /// Which rankings found it: words, substring, vector.
    matched: Vec<String>,
    /// Staff only.
    status: Option<String>,
    /// Premium and staff: the full lyrics.
    lyrics: Option<String>,
    /// Premium and staff: formats of /api/v1/songs/{id}/lyrics for this song.
    lyrics_formats: Option<Vec<String>>,
}

/// Search songs. Anonymous and free callers get published songs with snippets
/// (10 results at most); premium callers also the full lyrics; staff every song.
/// Rate-limited per token (or client address) by tier: 429 with `Retry-After`.
#[utoipa::path(get, path = "/api/v1/search", params(SearchParams),
    responses((status = 200, body = SearchAnswer), (status = 400, body = crate::error::ErrorBody),
        (status = 429, body = crate::error::ErrorBody, headers(("Retry-After" = u64, description = "seconds"))),
        (status = 503, body = crate::error::ErrorBody)),
    security((), ("bearer" = [])))]
pub async fn search(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<SearchResponse>, Response> {
    let Some(service) = state.search.clone() else {
        let error = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "search_unavailable",
            "search is not set up on this server",
        );
        return Err(error.into_response());
    };
    let key = match (caller.token_id, peer) {
        (Some(id), _) => format!("token:{id}"),
        (None, Some(Extension(ConnectInfo(addr)))) => format!("ip:{}", addr.ip()),
        (None, None) => "ip:unknown".to_string(),
    };
    let who = Requester::new(Tier::of_role(caller.role), Some(key));
    let params = parse_params(raw.as_deref().unwrap_or_default()).map_err(IntoResponse::into_response)?;
    // Searches are mostly CPU work: a few per core at once (a search also
    // waits for its query-log commit). Without the limit every waiting
    // request holds a blocking thread (up to 512) that competes for the same
    // cores and read connections.
    let _slot = search_slots()
        .acquire()
        .await
        .map_err(|e| ApiError::internal("the search slots are closed", e).into_response())?;
    let answer = tokio::task::spawn_blocking(move || {
        let q = params.q.unwrap_or_default();
        service.search_bytes(&who, &q, params.limit)
    })
    .await
    .map_err(|e| ApiError::internal("the search task failed", e).into_response())?;
    answer.map(Json).map_err(error_response)
}

/// Searches running at once in this process: four per core.
fn search_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        tokio::sync::Semaphore::new(4 * cores)
    })
}

#[derive(Debug, Default)]
struct Params {
    q: Option<Vec<u8>>,
    limit: Option<usize>,
}

/// `q` as raw bytes (percent-decoded, `+` as space) and `limit`.
fn parse_params(raw: &str) -> Result<Params, ApiError> {
    let mut params = Params::default();
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        match name {
            "q" => params.q = Some(percent_decode(value)),
            "limit" => {
                let text = String::from_utf8(percent_decode(value)).unwrap_or_default();
                let limit = text.trim().parse::<usize>().map_err(|_| {
                    ApiError::bad_request("invalid_limit", "limit must be a whole number of results")
                })?;
                params.limit = Some(limit);
            }
            _ => {}
        }
    }
    Ok(params)
}

fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn error_response(e: SearchError) -> Response {
    match e {
        SearchError::RateLimited { retry_after_secs } => {
            let mut response =
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, e.code(), e.to_string()).into_response();
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            response
        }
        SearchError::Store(inner) => ApiError::from(inner).into_response(),
        other => ApiError::bad_request(other.code(), other.to_string()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_decode_to_bytes() {
        let p = parse_params("q=%E1%9E%85+a%2Bb&limit=3&x=1").unwrap();
        assert_eq!(p.q.unwrap(), "ច a+b".as_bytes());
        assert_eq!(p.limit, Some(3));
        assert_eq!(parse_params("q=%FF%zz%4").unwrap().q.unwrap(), b"\xff%zz%4");
        assert!(parse_params("limit=ten").is_err());
        assert!(parse_params("").unwrap().q.is_none());
    }
}
