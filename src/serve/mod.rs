//! `lake serve`: the project's dashboards, lineage, model pages and run
//! history as a local web app, served by the lake binary itself. Pages read
//! an in-memory copy of the dashboards' tables taken at the lake's newest
//! snapshot ([`site`]); a background thread retakes it when the lake moves
//! on, so a reader never holds the lake while a run wants it.

pub mod auth;
pub mod catalog;
pub mod chart;
pub mod dashboard;
pub mod filters;
pub mod lineage;
pub mod pages;
pub mod routes;
pub mod site;
pub mod sql;

use std::net::SocketAddr;
use std::sync::Arc;

use site::{Site, REFRESH_EVERY};

/// Where and how to listen.
pub struct Options {
    /// Address to bind.
    pub addr: SocketAddr,
    /// Token every request must carry, if set.
    pub token: Option<String>,
}

/// Binds, prints the URL as the first line on stdout, and serves until
/// SIGINT or SIGTERM. Fails only when the address cannot be bound.
pub fn serve(site: Site, opts: Options) -> std::io::Result<()> {
    let site = Arc::new(site);
    site.refresh();
    spawn_refresher(site.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(opts.addr).await?;
        let addr = listener.local_addr()?;
        crate::stdoutln!("lake serve: http://{addr}/ (Ctrl-C stops)");
        let app = routes::router(site).layer(axum::middleware::from_fn_with_state(
            Arc::new(opts.token),
            auth::require,
        ));
        axum::serve(listener, app)
            .with_graceful_shutdown(stopped())
            .await
    })
}

/// Retakes the copy every [`REFRESH_EVERY`] for as long as the process lives.
fn spawn_refresher(site: Arc<Site>) {
    std::thread::Builder::new()
        .name("lake-serve-refresh".into())
        .spawn(move || loop {
            std::thread::sleep(REFRESH_EVERY);
            site.refresh();
        })
        .expect("a thread can be started");
}

/// Resolves on Ctrl-C or SIGTERM.
async fn stopped() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
}
