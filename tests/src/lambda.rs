//! A Lambda Runtime API emulator: runs a function binary as Lambda would (the same environment
//! variables, the same `/next` long poll, `/response` and `/error`), so tests drive the real
//! release-built functions, and init time (process start to the first `/next`) can be measured.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, Notify};

#[derive(Default)]
struct Shared {
    queue: Mutex<VecDeque<(String, Value)>>,
    ready: Notify,
    waiting: Mutex<HashMap<String, oneshot::Sender<Result<Value, Value>>>>,
    first_next: Mutex<Option<Instant>>,
    first_next_seen: Notify,
    init_error: Mutex<Option<Value>>,
}

async fn next(State(s): State<Arc<Shared>>) -> (HeaderMap, String) {
    {
        let mut first = s.first_next.lock().unwrap();
        if first.is_none() {
            *first = Some(Instant::now());
            s.first_next_seen.notify_waiters();
        }
    }
    loop {
        let notified = s.ready.notified();
        if let Some((id, payload)) = s.queue.lock().unwrap().pop_front() {
            let mut h = HeaderMap::new();
            let deadline = chrono::Utc::now().timestamp_millis() + 30_000;
            h.insert("lambda-runtime-aws-request-id", id.parse().unwrap());
            h.insert(
                "lambda-runtime-deadline-ms",
                deadline.to_string().parse().unwrap(),
            );
            h.insert(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:test"
                    .parse()
                    .unwrap(),
            );
            h.insert(
                "lambda-runtime-trace-id",
                "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1"
                    .parse()
                    .unwrap(),
            );
            h.insert("content-type", "application/json".parse().unwrap());
            return (h, payload.to_string());
        }
        notified.await;
    }
}

fn finish(s: &Shared, id: &str, r: Result<Value, Value>) -> StatusCode {
    if let Some(tx) = s.waiting.lock().unwrap().remove(id) {
        let _ = tx.send(r);
    }
    StatusCode::ACCEPTED
}

async fn response(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: String,
) -> StatusCode {
    finish(
        &s,
        &id,
        Ok(serde_json::from_str(&body).unwrap_or(Value::String(body))),
    )
}

async fn error(State(s): State<Arc<Shared>>, Path(id): Path<String>, body: String) -> StatusCode {
    finish(
        &s,
        &id,
        Err(serde_json::from_str(&body).unwrap_or(Value::String(body))),
    )
}

async fn init_error(State(s): State<Arc<Shared>>, body: String) -> StatusCode {
    *s.init_error.lock().unwrap() =
        Some(serde_json::from_str(&body).unwrap_or(Value::String(body)));
    StatusCode::ACCEPTED
}

/// The six functions, named as everywhere else (package, binary, construct, events/ folder).
pub const FUNCTIONS: [&str; 6] = [
    "track",
    "intake",
    "score",
    "send-steps",
    "notify",
    "feedback",
];

/// The hello-world baseline for init-time figures (`bench/hello-lambda`).
pub const HELLO: &str = "hello-lambda";

/// One function process with its own runtime API.
pub struct Function {
    pub name: String,
    shared: Arc<Shared>,
    child: Child,
    started: Instant,
    counter: Mutex<u64>,
}

/// The `bootstrap` that `cargo lambda build --release` made for `function`
/// (`<target dir>/lambda/<function>/bootstrap`, `make build-lambdas`): the file the stack
/// deploys. The target directory is `make`'s `KINDLING_TARGET_DIR` (what `cargo metadata` says),
/// else `CARGO_TARGET_DIR` (relative to the workspace), else `target/`.
pub fn bootstrap(function: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    std::env::var_os("KINDLING_TARGET_DIR")
        .or_else(|| std::env::var_os("CARGO_TARGET_DIR"))
        .map_or_else(|| root.join("target"), |t| root.join(t))
        .join("lambda")
        .join(function)
        .join("bootstrap")
}

impl Function {
    /// Starts the [`bootstrap`] of function `binary` with the Lambda environment plus `env`.
    pub async fn start(binary: &str, env: &[(String, String)]) -> Function {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let path = bootstrap(binary);
        assert!(
            path.exists(),
            "{} is not built: run `make build-lambdas` (make test does)",
            path.display()
        );
        let started = Instant::now();
        let child = Command::new(&path)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", binary)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{binary}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/21/[$LATEST]test")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .env("AWS_LAMBDA_LOG_LEVEL", "INFO")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_MAX_ATTEMPTS", "1")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        Function {
            name: binary.to_owned(),
            shared,
            child,
            started,
            counter: Mutex::new(0),
        }
    }

    /// Time from process start to its first `/next` request.
    pub async fn init_time(&self) -> Duration {
        loop {
            let seen = self.shared.first_next_seen.notified();
            if let Some(t) = *self.shared.first_next.lock().unwrap() {
                return t - self.started;
            }
            if let Some(e) = self.shared.init_error.lock().unwrap().clone() {
                panic!("{} failed to initialize: {e}", self.name);
            }
            let _ = tokio::time::timeout(Duration::from_millis(50), seen).await;
        }
    }

    /// Invokes the function once: `Ok(response)` or `Err(error document)`.
    pub async fn invoke(&self, payload: Value) -> Result<Value, Value> {
        let id = {
            let mut c = self.counter.lock().unwrap();
            *c += 1;
            format!("req-{}-{c}", self.name)
        };
        let (tx, rx) = oneshot::channel();
        self.shared.waiting.lock().unwrap().insert(id.clone(), tx);
        self.shared.queue.lock().unwrap().push_back((id, payload));
        self.shared.ready.notify_waiters();
        match tokio::time::timeout(Duration::from_secs(30), rx).await {
            Ok(Ok(r)) => r,
            _ => panic!(
                "{} did not answer within 30 s (init error: {:?})",
                self.name,
                self.shared.init_error.lock().unwrap()
            ),
        }
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
