//! The OpenAPI document's frame: title, description, the bearer scheme and the problem schema.
//! The paths come from each handler's `#[utoipa::path]`, gathered by the router.

use utoipa::Modify;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::error::Problem;

/// The document, served at `/api/v1/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Forewarn",
        description = "Predictive maintenance: assets and their telemetry, findings, tickets with their parts, dispatch and service levels, webhooks. Reads are open; writes need `Authorization: Bearer <token>` (`forewarn token create`) with a role that allows them. Errors are RFC 9457 problem documents."
    ),
    modifiers(&Bearer),
    components(schemas(Problem))
)]
pub struct ApiDoc;

/// Declares the bearer token scheme the write operations name.
struct Bearer;

impl Modify for Bearer {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("fw_<64 hex>")
                    .build(),
            ),
        );
    }
}
