//! `kindling serve`: the public HTTP API on loopback, the example site, the bus dispatcher and
//! the step scheduler, all in one process.

use crate::app::LocalApp;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::response::Response;
use bytes::Bytes;
use kindling::web::ClientInfo;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Largest request body read from a socket; the routes apply their own smaller limits.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// Serves on `listener` until SIGINT (Ctrl-C) or SIGTERM (service managers, container
/// runtimes), running the scheduler every `tick`; then stops cleanly (see below).
pub async fn serve(
    app: LocalApp,
    listener: tokio::net::TcpListener,
    site: Option<PathBuf>,
    tick: Duration,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "kindling serving");
    eprintln!(
        "Kindling on http://{addr}  (outbox: {}, alerts: {}, admin token: {})",
        app.data_dir.join("outbox").display(),
        app.data_dir.join("alerts.jsonl").display(),
        if std::env::var_os(crate::keys::ADMIN_TOKEN_ENV).is_some() {
            format!("${}", crate::keys::ADMIN_TOKEN_ENV)
        } else {
            crate::keys::admin_token_path(&app.data_dir)
                .display()
                .to_string()
        }
    );

    // Background work stops at a run's end, never inside one: a scheduler run in progress
    // finishes (no claim is left pending), then the store closes when the app is dropped.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let bus_app = app.clone();
    let mut bus_stop = stopped.clone();
    let bus = tokio::spawn(async move {
        loop {
            if let Err(e) = bus_app.pump().await {
                tracing::error!(error = %kindling::error::Report(&e), "bus dispatch failed");
            }
            tokio::select! {
                _ = bus_stop.changed() => break,
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
        }
    });
    let sched_app = app.clone();
    let mut sched_stop = stopped;
    let scheduler = tokio::spawn(async move {
        let mut every = tokio::time::interval(tick);
        loop {
            tokio::select! {
                _ = sched_stop.changed() => break,
                _ = every.tick() => {}
            }
            match sched_app.tick().await {
                Ok(r) => tracing::info!(
                    sent = r.sent(),
                    deferred = u64::from(r.steps.deferred) + r.broadcasts.deferred,
                    stopped = r.steps.stopped,
                    "scheduler run"
                ),
                Err(e) => {
                    tracing::error!(error = %kindling::error::Report(&e), "scheduler run failed")
                }
            }
        }
    });

    let router_app = app.clone();
    let router = axum::Router::new().fallback(
        move |ConnectInfo(peer): ConnectInfo<SocketAddr>, req: Request| {
            let app = router_app.clone();
            let site = site.clone();
            async move { route(&app, site.as_deref(), peer, req).await }
        },
    );
    let signal = shutdown_signal().await?;
    // Stops accepting at the signal and lets requests in flight finish.
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        let name = signal.await;
        tracing::info!(signal = name, "stopping");
        eprintln!("Kindling stopping ({name}): finishing the run in progress");
    })
    .await?;
    let _ = stop.send(true);
    for (what, task) in [("scheduler", scheduler), ("bus", bus)] {
        if let Err(e) = task.await {
            tracing::error!(error = %e, task = what, "background task failed");
        }
    }
    // What the last runs published is delivered before the store closes.
    if let Err(e) = app.pump().await {
        tracing::error!(error = %kindling::error::Report(&e), "bus dispatch failed");
    }
    drop(app);
    eprintln!("Kindling stopped");
    Ok(())
}

async fn route(app: &LocalApp, site: Option<&Path>, peer: SocketAddr, req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    if parts.method == http::Method::GET {
        if let Some(file) = site.and_then(|s| static_file(s, parts.uri.path())) {
            return file;
        }
    }
    let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            let e = kindling::web::ApiError::new(
                http::StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "body too large",
            );
            return to_axum(e.into_response());
        }
    };
    parts.extensions.insert(ClientInfo {
        ip: Some(peer.ip().to_string()),
        ..Default::default()
    });
    let res = app.http(http::Request::from_parts(parts, bytes)).await;
    // Scoring and alerts follow immediately rather than on the dispatcher's next poll.
    if let Err(e) = app.pump().await {
        tracing::error!(error = %kindling::error::Report(&e), "bus dispatch failed");
    }
    to_axum(res)
}

/// A future that completes with the name of the first stop signal received. The handlers are
/// installed before it is returned, so a signal that arrives early is not lost.
#[cfg(unix)]
async fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = &'static str>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        }
    })
}

/// Ctrl-C, where there are no Unix signals.
#[cfg(not(unix))]
async fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = &'static str>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    })
}

fn to_axum(res: http::Response<Bytes>) -> Response {
    let (parts, body) = res.into_parts();
    Response::from_parts(parts, Body::from(body))
}

/// A file of the example site, for `/`, `/x.html`, `/x.css`; never outside `site`.
fn static_file(site: &Path, path: &str) -> Option<Response> {
    let rel = if path == "/" {
        "index.html"
    } else {
        path.trim_start_matches('/')
    };
    if rel
        .split('/')
        .any(|seg| seg.is_empty() || seg.starts_with('.'))
    {
        return None;
    }
    let content_type = match rel.rsplit('.').next()? {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css",
        "pdf" => "application/pdf",
        _ => return None,
    };
    let body = std::fs::read(site.join(rel)).ok()?;
    let mut r = Response::new(Body::from(body));
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    Some(r)
}
