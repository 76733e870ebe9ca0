//! appliance-status: the status contract and the browser UI.
//!
//! - [`status`]: the document behind `GET /api/status` (plain serde types, compiled to wasm too).
//! - [`api`]: the server functions the UI calls; on the server they read the published document.
//! - [`ui`]: the Leptos components, the overview for the admin and diagnostics for support.

pub mod api;
pub mod format;
pub mod status;
pub mod ui;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    StaticSegment,
};

/// The HTML document the server renders around [`App`].
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                // No favicon request: the appliance has no icon to serve.
                <link rel="icon" href="data:,"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The whole application: one status page with two tabs.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/appliance-status.css"/>
        <Title text="Appliance status"/>
        <Router>
            <Routes fallback=|| view! { <main class="page"><p>"Page not found."</p></main> }>
                <Route path=StaticSegment("") view=ui::StatusPage/>
            </Routes>
        </Router>
    }
}
