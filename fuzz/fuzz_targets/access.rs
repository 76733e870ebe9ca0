//! The doors, through the real router on tokio's paused clock: arbitrary `Cookie` and
//! `Authorization` headers on `/api/status`, and an arbitrary login form body (with that cookie)
//! on `POST /login`. Never a panic, never a 5xx, and never access without the token.
#![no_main]

use appliance_status::web::router;
use appliance_status::web::testing::{send, state};
use axum::http::StatusCode;
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;

const TOKEN: &str = "s3cret-fuzz-token";

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\n');
    let (cookie, authorization, form) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    // Header values a client cannot send are refused by the HTTP layer before us.
    let header_ok = |v: &str| axum::http::HeaderValue::from_str(v).is_ok();
    let mut headers = Vec::new();
    if header_ok(cookie) {
        headers.push(("cookie", cookie));
    }
    if header_ok(authorization) {
        headers.push(("authorization", authorization));
    }
    RUNTIME.with(|runtime| {
        runtime.block_on(async {
            let app = router(state(Some(TOKEN), true));
            let api = send(app.clone(), "/api/status", [192, 0, 2, 7], &headers, None).await;
            let knows = authorization == format!("Bearer {TOKEN}");
            match api.status() {
                StatusCode::OK | StatusCode::NOT_MODIFIED => {
                    assert!(knows, "access without the token")
                }
                StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS => {}
                other => panic!("/api/status answered {other}"),
            }
            let cookie_only: Vec<_> = headers
                .iter()
                .copied()
                .filter(|(k, _)| *k == "cookie")
                .collect();
            let login = send(app, "/login", [192, 0, 2, 8], &cookie_only, Some(form)).await;
            let status = login.status();
            assert!(!status.is_server_error(), "POST /login answered {status}");
            if status == StatusCode::SEE_OTHER {
                let fields: HashMap<String, String> =
                    serde_urlencoded::from_str(form).unwrap_or_default();
                assert_eq!(
                    fields.get("token").map(|t| t.trim()),
                    Some(TOKEN),
                    "a login without the token: {form:?}"
                );
            }
        })
    });
});
