//! The OpenAPI document, generated from the handlers' annotations so it
//! cannot drift from the code.

use crate::AppState;
use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Molt API", description = "The Molt studio control plane: songs, pipeline and operations."),
    paths(
        crate::health::health,
        crate::health::ready,
        crate::songs::list_songs,
        crate::songs::get_song,
        crate::status::song_status,
        crate::songs::create_song,
        crate::lyrics::export_lyrics,
        crate::lyrics::import_lyrics,
        crate::review::review_queue,
        crate::review::approve,
        crate::review::reject,
        crate::review::set_rights,
        crate::search::search,
        crate::ops::system_status,
        crate::ops::kpis,
    ),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("molt token").build(),
            ),
        );
    }
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/openapi.json", get(|| async { Json(ApiDoc::openapi()) }))
}
