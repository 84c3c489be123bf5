//! Bearer-token authentication and per-route permission checks.
//!
//! `authenticate` runs on every request and attaches a [`Caller`]: anonymous
//! when there is no token, an error when a token is present but unknown (a bad
//! token is never silently downgraded to anonymous). Each route then declares
//! the [`Permission`] it needs with [`require`], so no route can forget a check.

use crate::error::ApiError;
use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use molt_core::{Permission, Role};

/// Who is making this request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub role: Role,
    /// For the audit log: `token:<name>` or `anonymous`.
    pub actor: String,
    /// The API token's id (keys per-caller rate limits); `None` when anonymous.
    pub token_id: Option<i64>,
}

impl Caller {
    pub fn anonymous() -> Caller {
        Caller { role: Role::Anonymous, actor: "anonymous".into(), token_id: None }
    }

    pub fn check(&self, permission: Permission) -> Result<(), ApiError> {
        if self.role.allows(permission) {
            return Ok(());
        }
        Err(match self.role {
            Role::Anonymous => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "this needs an API token: send `Authorization: Bearer <token>`",
            ),
            role => ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("the {role} role may not do this (needs {})", permission_name(permission)),
            ),
        })
    }
}

fn permission_name(p: Permission) -> String {
    serde_json::to_value(p).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let caller = match request.headers().get(header::AUTHORIZATION) {
        None => Caller::anonymous(),
        Some(value) => {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        "bad_authorization",
                        "expected `Authorization: Bearer <token>`",
                    )
                })?;
            let info =
                state.db.authenticate_token(&molt_catalog::hash_token(token)).await?.ok_or_else(|| {
                    ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        "invalid_token",
                        "the token is unknown or revoked",
                    )
                })?;
            Caller { role: info.role, actor: format!("token:{}", info.name), token_id: Some(info.id) }
        }
    };
    request.extensions_mut().insert(caller);
    Ok(next.run(request).await)
}

/// Route layer: refuse the request unless the caller has `permission`.
pub async fn require(permission: Permission, request: Request, next: Next) -> Result<Response, ApiError> {
    let caller = request.extensions().get::<Caller>().cloned().unwrap_or_else(Caller::anonymous);
    caller.check(permission)?;
    Ok(next.run(request).await)
}
