//! `kindling --api <url>` admin commands (`broadcast`, `sending`, `lead`, `segment`) against a stand-in for API Gateway's IAM authorization on
//! loopback: a real HTTP server that recomputes each request's SigV4 signature (aws-sigv4, the
//! test's secret) and refuses any that does not match, then hands the request to a local app as
//! the signer. Output and exit codes are those of the same command run locally.

use bytes::Bytes;
use kindling_local::app::LocalApp;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

const KEY: &str = "AKIDKINDLINGTEST";
const SECRET: &str = "kindling-test-secret-0123456789";
const REGION: &str = "eu-west-1";
const TOKEN: &str = "cli-api-admin-token-0123456789";

use crate::support::shipped as config;

fn kindling(args: &[&str], api: Option<&str>, secret: &str) -> (bool, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kindling"));
    c.arg("--config").arg(config()).args(args);
    c.env_remove("KINDLING_API")
        .env("AWS_ACCESS_KEY_ID", KEY)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_REGION", REGION)
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("KINDLING_USER", "alice");
    if let Some(a) = api {
        c.env("KINDLING_API", a);
    }
    let out = c.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The signature a request must carry, recomputed from what arrived.
fn verify(req: &http::Request<Bytes>) -> Result<(), String> {
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .ok_or("no authorization")?;
    let date = req
        .headers()
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .ok_or("no x-amz-date")?;
    let at = chrono::NaiveDateTime::parse_from_str(date, "%Y%m%dT%H%M%SZ")
        .map_err(|e| e.to_string())?
        .and_utc();
    let identity = aws_credential_types::Credentials::new(KEY, SECRET, None, None, "test").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(REGION)
        .name("execute-api")
        .time(at.into())
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    // The headers the client signed, as they arrived.
    let signed: Vec<&str> = auth
        .split("SignedHeaders=")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .ok_or("no SignedHeaders")?
        .split(';')
        .collect();
    let headers: Vec<(&str, &str)> = req
        .headers()
        .iter()
        .filter(|(k, _)| signed.contains(&k.as_str()) && k.as_str() != "x-amz-date")
        .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
        .collect();
    let host = req
        .headers()
        .get("host")
        .and_then(|v| v.to_str().ok())
        .ok_or("no host")?;
    let uri = format!("http://{host}{}", req.uri());
    let signable = SignableRequest::new(
        req.method().as_str(),
        uri,
        headers.into_iter().filter(|(k, _)| *k != "host"),
        SignableBody::Bytes(req.body()),
    )
    .map_err(|e| e.to_string())?;
    let (_, signature) = sign(signable, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    if auth.ends_with(&format!("Signature={signature}")) {
        Ok(())
    } else {
        Err(format!("signature mismatch: {auth}"))
    }
}

/// API Gateway's part: verify, then call the app as the signer.
async fn gateway(app: Arc<LocalApp>, req: axum::extract::Request) -> axum::response::Response {
    let (mut parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let req = http::Request::from_parts(parts.clone(), body.clone());
    if let Err(why) = verify(&req) {
        return axum::response::Response::builder()
            .status(403)
            .body(axum::body::Body::from(format!(
                r#"{{"message":"Forbidden: {}"}}"#,
                why.replace('"', "'")
            )))
            .unwrap();
    }
    parts
        .headers
        .insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
    parts.extensions.insert(kindling::web::ClientInfo {
        ip: Some("192.0.2.7".into()),
        principal: Some(format!("arn:aws:iam::123456789012:user/{KEY}")),
    });
    let res = app.http(http::Request::from_parts(parts, body)).await;
    let (p, b) = res.into_parts();
    axum::response::Response::from_parts(p, axum::body::Body::from(b))
}

async fn start(data: &Path) -> String {
    let cfg = kindling::Config::load(&config()).unwrap();
    let keys = kindling_local::keys::load_or_create(data).unwrap();
    let mut app = LocalApp::open(
        data,
        cfg,
        keys,
        Arc::new(kindling::system::SystemClock),
        Arc::new(kindling::system::UuidIds),
        false,
    )
    .unwrap();
    app.admin_token = Arc::new(TOKEN.into());
    let app = Arc::new(app);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = axum::Router::new().fallback(move |req| gateway(app.clone(), req));
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

async fn run(
    args: Vec<String>,
    api: Option<String>,
    secret: &'static str,
) -> (bool, String, String) {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        kindling(&args, api.as_deref(), secret)
    })
    .await
    .unwrap()
}

/// The text without the report's "(as of <minute>)", which two runs may straddle.
fn as_of(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("(as of ") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_commands_run_against_the_api_signed_with_the_same_output_as_locally() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("demo");
    let d = data.to_str().unwrap().to_owned();
    let (ok, _, err) = run(args(&["demo", "--data-dir", &d]), None, SECRET).await;
    assert!(ok, "{err}");
    let api = start(&data).await;

    let create = args(&[
        "broadcast",
        "create",
        "--id",
        "remote-nl",
        "--name",
        "December",
        "--all",
        "--template",
        "it_newsletter",
        "--at",
        "2030-12-08 10:00",
        "--local",
        "--topic",
        "newsletter",
        "--ab-subject",
        "B: 12月号のお知らせ",
        "--ab-metric",
        "open",
    ]);
    let (ok, out, err) = run(create, Some(api.clone()), SECRET).await;
    assert!(ok && out.contains("state      draft"), "{out}{err}");
    assert!(
        out.contains("ab         2 cells of 10 % (A, B), judged by opens"),
        "{out}"
    );
    // The signer is who created it, whatever --by said.
    let (ok, json, _) = run(
        args(&["broadcast", "show", "remote-nl", "--json"]),
        Some(api.clone()),
        SECRET,
    )
    .await;
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        v["broadcast"]["created_by"],
        format!("arn:aws:iam::123456789012:user/{KEY}")
    );
    // The same text as the local command prints from the same store.
    let show = args(&["broadcast", "show", "remote-nl"]);
    let (ok, remote, _) = run(show.clone(), Some(api.clone()), SECRET).await;
    assert!(ok);
    let mut local_args = show.clone();
    local_args.extend(args(&["--data-dir", &d]));
    let (ok, local, err) = run(local_args, None, SECRET).await;
    assert!(ok, "{err}");
    assert_eq!(remote, local);
    let (ok, list, _) = run(args(&["broadcast", "list"]), Some(api.clone()), SECRET).await;
    assert!(
        ok && list.contains("remote-nl") && list.contains("draft"),
        "{list}"
    );
    // Edit and preview over the API, as locally.
    let (ok, out, err) = run(
        args(&[
            "broadcast",
            "edit",
            "remote-nl",
            "--name",
            "December (fixed)",
        ]),
        Some(api.clone()),
        SECRET,
    )
    .await;
    assert!(ok && out.contains("December (fixed)"), "{out}{err}");
    let preview = args(&[
        "broadcast",
        "preview",
        "remote-nl",
        "--lead",
        "tanaka@kaisha-b.co.jp",
    ]);
    let (ok, remote, err) = run(preview.clone(), Some(api.clone()), SECRET).await;
    assert!(
        ok && remote.contains("tanaka@kaisha-b.co.jp"),
        "{remote}{err}"
    );
    let mut local_args = preview;
    local_args.extend(args(&["--data-dir", &d]));
    let (ok, local, _) = run(local_args, None, SECRET).await;
    assert!(ok);
    // The same mail but for its Date and MIME boundary (made at each call).
    let no_date = |t: &str| {
        t.lines()
            .filter(|l| !l.starts_with("Date:") && !l.contains("boundary="))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(no_date(&remote), no_date(&local));

    // A move, and a refusal that exits non-zero with the API's message, as locally.
    let (ok, out, _) = run(
        args(&["broadcast", "dry-run", "remote-nl"]),
        Some(api.clone()),
        SECRET,
    )
    .await;
    assert!(ok && out.contains("would send"), "{out}");
    let (ok, _, err) = run(
        args(&["broadcast", "schedule", "remote-nl"]),
        Some(api.clone()),
        SECRET,
    )
    .await;
    assert!(!ok && err.contains("cannot be scheduled"), "{err}");
    let (ok, _, err) = run(
        args(&["broadcast", "show", "nope"]),
        Some(api.clone()),
        SECRET,
    )
    .await;
    assert!(!ok && err.contains("no broadcast nope"), "{err}");

    // A wrong secret does not get past the signature check; nothing is created.
    let (ok, _, err) = run(
        args(&[
            "broadcast",
            "create",
            "--id",
            "forged",
            "--name",
            "x",
            "--all",
            "--template",
            "it_newsletter",
            "--at",
            "2030-12-08 10:00",
            "--topic",
            "newsletter",
        ]),
        Some(api.clone()),
        "not-the-secret",
    )
    .await;
    assert!(!ok && err.contains("HTTP 403"), "{err}");
    let (_, list, _) = run(args(&["broadcast", "list"]), Some(api.clone()), SECRET).await;
    assert!(!list.contains("forged"), "{list}");

    // The breaker's status reads the same over the API; a sales mark goes through it.
    let (ok, remote, err) = run(args(&["sending"]), Some(api.clone()), SECRET).await;
    assert!(ok, "{err}");
    let (ok, local, _) = run(args(&["sending", "--data-dir", &d]), None, SECRET).await;
    assert!(ok);
    assert_eq!(remote, local);
    let (ok, out, err) = run(
        args(&[
            "lead",
            "mark",
            "tanaka@kaisha-b.co.jp",
            "working",
            "--note",
            "call booked",
        ]),
        Some(api.clone()),
        SECRET,
    )
    .await;
    assert!(
        ok && out.trim() == "tanaka@kaisha-b.co.jp marked working",
        "{out}{err}"
    );
    let (ok, shown, _) = run(
        args(&[
            "lead",
            "show",
            "tanaka@kaisha-b.co.jp",
            "--json",
            "--data-dir",
            &d,
        ]),
        None,
        SECRET,
    )
    .await;
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(v["lead"]["sales"]["status"], "working", "{v}");
    let (ok, _, err) = run(
        args(&["lead", "mark", "nobody@example.jp", "working"]),
        Some(api.clone()),
        SECRET,
    )
    .await;
    assert!(!ok && err.contains("no lead nobody@example.jp"), "{err}");

    // The lead report and the segments read the same over the API as from the store.
    for cmd in [
        vec!["lead", "show", "tanaka@kaisha-b.co.jp"],
        vec!["segment", "list"],
        vec!["segment", "show", "it_decision_makers"],
        vec!["segment", "members", "it_decision_makers"],
        vec!["segment", "members", "it_decision_makers", "--json"],
    ] {
        let (ok, remote, err) = run(args(&cmd), Some(api.clone()), SECRET).await;
        assert!(ok, "{cmd:?}: {err}");
        let mut local = args(&cmd);
        local.extend(args(&["--data-dir", &d]));
        let (ok, local, err) = run(local, None, SECRET).await;
        assert!(ok, "{cmd:?}: {err}");
        assert_eq!(as_of(&remote), as_of(&local), "{cmd:?}");
    }
    let (ok, _, err) = run(args(&["segment", "rebuild"]), Some(api), SECRET).await;
    assert!(!ok && err.contains("rebuild_segments"), "{err}");
}
