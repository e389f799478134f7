//! URLs to pages. Handlers run the (blocking) DuckDB reads on tokio's
//! blocking pool; every failure is a page with a status, never a panic.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use minijinja::Value;

use super::catalog::{lineage_page, model_page, runs_page};
use super::dashboard::{find_dashboard, page, PageError};
use super::pages::{error, render};
use super::site::Site;

/// Every page of the app.
pub fn router(site: Arc<Site>) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/dashboards/{dashboard}", get(first_tab))
        .route("/dashboards/{dashboard}/{tab}", get(dashboard))
        .route("/lineage", get(lineage))
        .route("/models/{name}", get(model))
        .route("/runs", get(runs))
        .route("/health", get(|| async { "ok" }))
        .fallback(not_found)
        .with_state(site)
}

/// Runs page building off the async threads.
async fn blocking<F>(site: Arc<Site>, build: F) -> Response
where
    F: FnOnce(&Site) -> Result<Response, PageError> + Send + 'static,
{
    let s = site.clone();
    match tokio::task::spawn_blocking(move || build(&s)).await {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => failure(&site, e),
        Err(e) => failure(
            &site,
            PageError::Unavailable(format!("the page failed: {e}")),
        ),
    }
}

/// A page's data as a template value.
fn page_value<T: serde::Serialize>(page: &T) -> Value {
    Value::from(minijinja::value::Serde(page))
}

fn failure(site: &Site, e: PageError) -> Response {
    let (status, heading, message) = match e {
        PageError::BadRequest(m) => (StatusCode::BAD_REQUEST, "Bad request", m),
        PageError::NotFound(m) => (StatusCode::NOT_FOUND, "Not found", m),
        PageError::Unavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, "Not ready", m),
    };
    let mut response = (status, Html(error(site, heading, &message))).into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert("retry-after", axum::http::HeaderValue::from_static("2"));
    }
    response
}

async fn home(State(site): State<Arc<Site>>) -> Response {
    let first = site
        .dashboards
        .iter()
        .find_map(|d| Some((d, d.tabs.first()?)));
    match first {
        Some((d, tab)) => {
            Redirect::to(&format!("/dashboards/{}/{}", d.name, tab.name)).into_response()
        }
        None => Redirect::to("/lineage").into_response(),
    }
}

async fn first_tab(
    State(site): State<Arc<Site>>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let d = match find_dashboard(&site, &name) {
        Ok(d) => d,
        Err(e) => return failure(&site, e),
    };
    let Some(tab) = d.tabs.first() else {
        return failure(
            &site,
            PageError::NotFound(format!("dashboard `{name}` has no tabs")),
        );
    };
    let query = query.map(|q| format!("?{q}")).unwrap_or_default();
    Redirect::to(&format!("/dashboards/{name}/{}{query}", tab.name)).into_response()
}

async fn dashboard(
    State(site): State<Arc<Site>>,
    Path((name, tab)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    blocking(site, move |site| {
        let p = page(site, &name, &tab, query.as_deref().unwrap_or_default())?;
        let title = format!("{} · {}", p.title, tab);
        let reset = format!("/dashboards/{name}/{tab}");
        let extra = minijinja::context! { reset };
        Ok(Html(render(
            site,
            "dashboard.html",
            &title,
            page_value(&p),
            extra,
        ))
        .into_response())
    })
    .await
}

async fn lineage(State(site): State<Arc<Site>>, RawQuery(query): RawQuery) -> Response {
    blocking(site, move |site| {
        // A selector's `+` is a graph operator, not a form-encoded space:
        // `?select=stage+` means `stage+`, as typed.
        let query = query.unwrap_or_default().replace('+', "%2B");
        let select = form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "select")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let p = lineage_page(site, &select)?;
        Ok(Html(render(
            site,
            "lineage.html",
            "Lineage",
            page_value(&p),
            Value::UNDEFINED,
        ))
        .into_response())
    })
    .await
}

async fn model(State(site): State<Arc<Site>>, Path(name): Path<String>) -> Response {
    blocking(site, move |site| {
        let p = model_page(site, &name)?;
        Ok(Html(render(
            site,
            "model.html",
            &name,
            page_value(&p),
            Value::UNDEFINED,
        ))
        .into_response())
    })
    .await
}

async fn runs(State(site): State<Arc<Site>>, RawQuery(query): RawQuery) -> Response {
    blocking(site, move |site| {
        let pick = match form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .find(|(k, _)| k == "run")
        {
            None => 0,
            Some((_, v)) => v.parse().map_err(|_| {
                PageError::BadRequest(format!("`run={v}` is not a run number (0 is the newest)"))
            })?,
        };
        let p = runs_page(site, pick);
        Ok(Html(render(
            site,
            "runs.html",
            "Runs",
            page_value(&p),
            Value::UNDEFINED,
        ))
        .into_response())
    })
    .await
}

async fn not_found(State(site): State<Arc<Site>>, uri: axum::http::Uri) -> Response {
    let path: String = uri.path().chars().take(200).collect();
    failure(
        &site,
        PageError::NotFound(format!(
            "no page at {path}; pages: /dashboards, /lineage, /models/<name>, /runs"
        )),
    )
}
