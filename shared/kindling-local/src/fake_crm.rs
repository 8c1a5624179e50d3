//! A CRM on loopback for the demo and the tests: a real HTTP server that takes Kindling's signed
//! webhook and upserts a contact by email, as HubSpot's upsert by email does. It checks each
//! delivery's signature and timestamp (on the clock it is given), keeps the newest version of
//! each contact, and counts deliveries, so a test can show that redelivery makes no second
//! record. It can be stopped (connections refused) and started again on the same port.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use bytes::Bytes;
use kindling::crm::webhook::{self, Secret};
use kindling::ports::Clock;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// One delivery as it arrived.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: Vec<u8>,
    /// Its signature and timestamp verified.
    pub verified: bool,
}

/// What the CRM holds.
#[derive(Debug, Default)]
pub struct Books {
    /// Contacts by email (lower case): the newest upsert of each.
    pub contacts: BTreeMap<String, serde_json::Value>,
    pub deliveries: Vec<Delivery>,
    /// Answer every request with this status instead (a receiver that refuses).
    pub answer: Option<u16>,
}

/// The CRM.
pub struct FakeCrm {
    pub url: String,
    addr: SocketAddr,
    pub books: Arc<Mutex<Books>>,
    secret: Secret,
    clock: Arc<dyn Clock>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

#[derive(Clone)]
struct Shared {
    books: Arc<Mutex<Books>>,
    secret: Secret,
    clock: Arc<dyn Clock>,
}

impl FakeCrm {
    /// Listens on a free loopback port; deliveries must be signed with `secret`.
    pub async fn start(secret: Secret, clock: Arc<dyn Clock>) -> std::io::Result<FakeCrm> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let crm = FakeCrm {
            url: format!("http://{addr}/hooks/kindling"),
            addr,
            books: Arc::default(),
            secret,
            clock,
            task: Mutex::new(None),
        };
        crm.serve(listener);
        Ok(crm)
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let shared = Shared {
            books: self.books.clone(),
            secret: self.secret.clone(),
            clock: self.clock.clone(),
        };
        let app = axum::Router::new()
            .route("/hooks/kindling", post(upsert))
            .with_state(shared);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        *self.task.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
    }

    /// Goes down: the port refuses connections.
    pub async fn stop(&self) {
        let task = self.task.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(t) = task {
            t.abort();
            let _ = t.await;
        }
    }

    /// Comes back on the same port.
    pub async fn restart(&self) -> std::io::Result<()> {
        let listener = tokio::net::TcpListener::bind(self.addr).await?;
        self.serve(listener);
        Ok(())
    }

    /// How many contacts it holds.
    pub fn contacts(&self) -> usize {
        self.books
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contacts
            .len()
    }

    /// The contact of `email`.
    pub fn contact(&self, email: &str) -> Option<serde_json::Value> {
        let books = self.books.lock().unwrap_or_else(|e| e.into_inner());
        books.contacts.get(&email.to_lowercase()).cloned()
    }

    /// Every delivery so far.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.books
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .deliveries
            .clone()
    }

    /// Answers every request with `status` from now on (`None`: upserts again).
    pub fn answer(&self, status: Option<u16>) {
        self.books.lock().unwrap_or_else(|e| e.into_inner()).answer = status;
    }
}

async fn upsert(State(s): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let h = |name: &'static str| headers.get(name).and_then(|v| v.to_str().ok());
    let verified =
        webhook::verify(h, &body, std::slice::from_ref(&s.secret), s.clock.now()).is_ok();
    let mut books = s.books.lock().unwrap_or_else(|e| e.into_inner());
    books.deliveries.push(Delivery {
        id: h(webhook::ID).unwrap_or_default().to_owned(),
        timestamp: h(webhook::TIMESTAMP).unwrap_or_default().to_owned(),
        signature: h(webhook::SIGNATURE).unwrap_or_default().to_owned(),
        body: body.to_vec(),
        verified,
    });
    if let Some(status) = books.answer {
        return StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    }
    if !verified {
        return StatusCode::UNAUTHORIZED;
    }
    let Ok(record) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let Some(email) = record
        .get("email")
        .and_then(|e| e.as_str())
        .map(str::to_lowercase)
    else {
        return StatusCode::BAD_REQUEST;
    };
    let version = |r: &serde_json::Value| r.get("version").and_then(serde_json::Value::as_u64);
    let newer = books
        .contacts
        .get(&email)
        .is_none_or(|old| version(&record) >= version(old));
    if newer {
        books.contacts.insert(email, record);
    }
    StatusCode::OK
}
