//! The optional access token: with `--auth-token`, every request needs it,
//! as `Authorization: Bearer <token>`, or once as `?token=<token>` in a
//! browser, which then keeps it in a cookie (and drops it from the URL, so a
//! shared link never carries it).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

const COOKIE: &str = "lake_token";

/// Checks the token, if one is configured.
pub async fn require(
    State(token): State<Arc<Option<String>>>,
    req: Request,
    next: Next,
) -> Response {
    let Some(token) = token.as_deref() else {
        return next.run(req).await;
    };
    if presented(req.headers()).is_some_and(|t| same(t.as_bytes(), token.as_bytes())) {
        return next.run(req).await;
    }
    let query = req.uri().query().unwrap_or_default().to_string();
    let in_url = form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "token");
    if in_url.is_some_and(|(_, t)| same(t.as_bytes(), token.as_bytes())) {
        return with_cookie(req.uri().path(), &query, token);
    }
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        "this lake serve needs its access token: send `Authorization: Bearer <token>`, \
         or open the page once with ?token=<token>\n",
    )
        .into_response()
}

/// The token from the Authorization header or the cookie.
fn presented(headers: &HeaderMap) -> Option<String> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string());
    bearer.or_else(|| {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| *k == COOKIE)
            .map(|(_, v)| v.to_string())
    })
}

/// Redirects to the same URL without `token`, setting the cookie.
fn with_cookie(path: &str, query: &str, token: &str) -> Response {
    let rest: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k != "token")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let rest = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(rest)
        .finish();
    let target = if rest.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{rest}")
    };
    let mut response = Redirect::to(&target).into_response();
    let cookie = format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict");
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

/// Compares without returning early on the first different byte.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
