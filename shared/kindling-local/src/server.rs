//! `kindling serve`: the public HTTP API on loopback, the example site, the bus dispatcher and
//! the step scheduler, all in one process.

use crate::app::LocalApp;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::response::Response;
use bytes::Bytes;
use kindling::http::ClientInfo;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Largest request body read from a socket; the routes apply their own smaller limits.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// Serves on `listener` until Ctrl-C, running the scheduler every `tick`.
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

    let bus_app = app.clone();
    tokio::spawn(async move {
        loop {
            if let Err(e) = bus_app.pump().await {
                tracing::error!(error = %e, "bus dispatch failed");
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    let sched_app = app.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(tick);
        loop {
            every.tick().await;
            match sched_app.tick().await {
                Ok(r) => tracing::info!(
                    sent = r.sent.len(),
                    deferred = r.deferred,
                    stopped = r.stopped,
                    "scheduler run"
                ),
                Err(e) => tracing::error!(error = %e, "scheduler run failed"),
            }
        }
    });

    let router = axum::Router::new().fallback(
        move |ConnectInfo(peer): ConnectInfo<SocketAddr>, req: Request| {
            let app = app.clone();
            let site = site.clone();
            async move { route(&app, site.as_deref(), peer, req).await }
        },
    );
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
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
            let e = kindling::http::ApiError::new(
                http::StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "body too large",
            );
            return to_axum(e.into_response());
        }
    };
    parts.extensions.insert(ClientInfo {
        ip: Some(peer.ip().to_string()),
    });
    let res = app.http(http::Request::from_parts(parts, bytes)).await;
    // Scoring and alerts follow immediately rather than on the dispatcher's next poll.
    if let Err(e) = app.pump().await {
        tracing::error!(error = %e, "bus dispatch failed");
    }
    to_axum(res)
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
