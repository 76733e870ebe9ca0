//! appliance-status: the status contract and the browser UI.
//!
//! - [`status`]: the document behind `GET /api/status` (plain serde types, compiled to wasm too).
//! - [`api`]: the server functions the UI calls; on the server they read the published document.
//! - [`ui`]: the Leptos components, the overview for the admin and diagnostics for support.

pub mod api;
pub mod chart;
pub mod format;
pub mod status;
pub mod ui;

use leptos::either::Either;
use leptos::prelude::*;

/// The HTML document the server renders around [`App`].
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_content_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                // No favicon request: the appliance has no icon to serve.
                <link rel="icon" href="data:,"/>
                <title>"Appliance status"</title>
                <link rel="stylesheet" id="leptos" href="/pkg/appliance-status.css"/>
                <HydrationScripts options/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The app's own scripts by nonce, its wasm (`'wasm-unsafe-eval'`), and nothing else.
#[cfg(feature = "ssr")]
fn set_content_security_policy() {
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(value) = http::HeaderValue::from_str(&policy) {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}

/// The whole application: one status page with two tabs, at `/`. No client-side router: the page
/// has one path, and the tab lives in its query (`ui::Tab`), which keeps the router's code (and
/// its asynchronous hydration of every view) out of the wasm.
#[component]
pub fn App() -> impl IntoView {
    if ui::request_path().as_deref().is_none_or(|p| p == "/") {
        Either::Left(view! { <ui::StatusPage/> })
    } else {
        #[cfg(feature = "ssr")]
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(http::StatusCode::NOT_FOUND);
        }
        Either::Right(view! { <main class="page"><p>"Page not found."</p></main> })
    }
}
