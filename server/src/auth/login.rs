//! The login form (no script), `POST /login` and `POST /logout`.

use super::limiter::{try_again_in, Limiter};
use super::sessions::{Login, LOGIN_KEY};
use super::Access;
use axum::extract::{ConnectInfo, Form, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use std::net::SocketAddr;
use tower_sessions::Session;

/// The login form.
#[derive(serde::Deserialize)]
pub struct LoginForm {
    pub token: String,
}

const LOGIN_PAGE: &str = include_str!("../login.html");

fn login_page(status: StatusCode, message: &str) -> Response {
    let notice = if message.is_empty() {
        String::new()
    } else {
        format!(r#"<p class="banner error" role="alert" data-testid="login-error">{message}</p>"#)
    };
    (status, Html(LOGIN_PAGE.replace("{{notice}}", &notice))).into_response()
}

/// `GET /login`.
pub async fn login_form(State(access): State<Access>, session: Session) -> Response {
    if access.open || access.session_valid(&session).await {
        return Redirect::to("/").into_response();
    }
    login_page(StatusCode::OK, "")
}

/// `POST /login`: a correct token starts a session (with a fresh id).
pub async fn login(
    State(access): State<Access>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    session: Session,
    Form(form): Form<LoginForm>,
) -> Response {
    let ip = peer.ip();
    if let Err(wait) = access.limiter.check(ip, access.instant()) {
        tracing::debug!(%ip, "login refused: locked out");
        return login_page(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("Too many failed attempts. {}", try_again_in(wait)),
        );
    }
    match access.tokens.verify(&form.token) {
        Some(generation) => {
            let login = Login {
                generation,
                at: access.clock.now().as_second(),
            };
            if session.cycle_id().await.is_err() || session.insert(LOGIN_KEY, login).await.is_err()
            {
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "sessions are unavailable, try again",
                )
                    .into_response();
            }
            tracing::info!(%ip, "login");
            Redirect::to("/").into_response()
        }
        None => {
            access.limiter.fail(ip, access.instant());
            Limiter::delay().await;
            tracing::info!(%ip, "login failed");
            login_page(StatusCode::UNAUTHORIZED, "That token is not valid.")
        }
    }
}

/// `POST /logout`: ends the session on the server.
pub async fn logout(session: Session) -> Response {
    let _ = session.flush().await;
    Redirect::to("/login").into_response()
}
