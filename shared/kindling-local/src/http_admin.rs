//! The HTTP backend of [`Admin`]: each operation as a request to the admin routes of a deployed
//! stack or a `kindling serve` ([`Remote`]), and each answer read back into the same typed value
//! or the same error (kind and message) the in-process backend gives.

use crate::remote::Remote;
use kindling::admin::interface::{
    Actor, Admin, BroadcastRow, CreateBroadcast, Created, EditBroadcast, MarkLead, Marked,
    ResumeSending, SegmentPage, TestBroadcast,
};
use kindling::admin::segments::{SegmentSummary, SegmentView};
use kindling::admin::LeadReport;
use kindling::broadcasts::moves::Move;
use kindling::broadcasts::status::Status;
use kindling::broadcasts::test_send::TestReport;
use kindling::deliverability::{Resumed, SendingStatus};
use kindling::error::PortError;
use kindling::kpis::{KpiQuery, KpiReport};
use kindling::names::Named;
use kindling::{Error, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// [`Admin`] over HTTP.
pub struct HttpAdmin {
    remote: Remote,
}

impl HttpAdmin {
    /// The admin API at `base`: a `kindling serve` with `token`, else a stack signed with SigV4.
    pub async fn connect(base: &str, token: Option<String>) -> anyhow::Result<Self> {
        Ok(Self {
            remote: Remote::new(base, token).await?,
        })
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T> {
        let body = body
            .map(serde_json::to_value)
            .transpose()
            .map_err(|e| Error::Port(PortError::caused_by("admin api", "writing the body", e)))?;
        self.remote
            .call(method, path, body.as_ref())
            .await
            .map_err(|e| Error::Port(PortError::new("admin api", format!("{e:#}"))))?
            .into_result()
    }

    /// A one-time link to the report of a `kindling serve` (`POST /admin/report/link`), whole.
    pub async fn report_link(&self) -> Result<String> {
        #[derive(serde::Deserialize)]
        struct Link {
            url: String,
        }
        let link: Link = self.post("/admin/report/link", &()).await?;
        Ok(format!("{}{}", self.remote.base(), link.url))
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.call("GET", path, None::<&()>).await
    }

    async fn post<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Result<T> {
        self.call("POST", path, Some(body)).await
    }
}

/// `?since=&until=&period=` (and `by=`, comma separated, if `by`) of what `query` sets; empty if
/// nothing.
fn kpi_query(query: &KpiQuery, by: bool) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (name, v) in [
        ("since", &query.since),
        ("until", &query.until),
        ("period", &query.period),
    ] {
        if let Some(v) = v {
            q.append_pair(name, v);
        }
    }
    if by && !query.by.is_empty() {
        q.append_pair("by", &query.by.join(","));
    }
    let q = q.finish();
    if q.is_empty() {
        q
    } else {
        format!("?{q}")
    }
}

/// A path segment, percent-encoded: whatever was typed reaches the backend's checks intact.
fn seg(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[derive(serde::Deserialize)]
struct Segments {
    segments: Vec<SegmentSummary>,
}

#[derive(serde::Deserialize)]
struct Broadcasts {
    broadcasts: Vec<BroadcastRow>,
}

#[async_trait::async_trait]
impl Admin for HttpAdmin {
    async fn lead(&self, lead: &str) -> Result<LeadReport> {
        self.get(&format!("/admin/leads/{}", seg(lead))).await
    }

    async fn mark_lead(&self, lead: &str, mark: &MarkLead) -> Result<Marked> {
        self.post(&format!("/admin/leads/{}/sales", seg(lead)), mark)
            .await
    }

    async fn sending(&self) -> Result<SendingStatus> {
        self.get("/admin/sending").await
    }

    async fn resume_sending(&self, resume: &ResumeSending) -> Result<Resumed> {
        self.post("/admin/sending/resume", resume).await
    }

    async fn segments(&self) -> Result<Vec<SegmentSummary>> {
        Ok(self.get::<Segments>("/admin/segments").await?.segments)
    }

    async fn segment(&self, segment: &str, page: &SegmentPage) -> Result<SegmentView> {
        let query = {
            let mut q = form_urlencoded::Serializer::new(String::new());
            if let Some(a) = &page.after {
                q.append_pair("after", a);
            }
            if let Some(l) = page.limit {
                q.append_pair("limit", &l.to_string());
            }
            q.finish()
        };
        let sep = if query.is_empty() { "" } else { "?" };
        self.get(&format!("/admin/segments/{}{sep}{query}", seg(segment)))
            .await
    }

    async fn kpis(&self, query: &KpiQuery) -> Result<KpiReport> {
        self.get(&format!("/admin/kpis{}", kpi_query(query, true)))
            .await
    }

    async fn diagnose(&self) -> Result<kindling::admin::diagnose::Diagnosis> {
        self.get("/admin/diagnose").await
    }

    async fn report(&self, query: &KpiQuery) -> Result<String> {
        let path = format!("/admin/report{}", kpi_query(query, false));
        let answer = self
            .remote
            .call("GET", &path, None)
            .await
            .map_err(|e| Error::Port(PortError::new("admin api", format!("{e:#}"))))?;
        answer.check()?;
        String::from_utf8(answer.raw)
            .map_err(|e| Error::Port(PortError::caused_by("admin api", "reading the report", e)))
    }

    async fn broadcasts(&self) -> Result<Vec<BroadcastRow>> {
        Ok(self
            .get::<Broadcasts>("/admin/broadcasts")
            .await?
            .broadcasts)
    }

    async fn broadcast(&self, broadcast: &str) -> Result<Status> {
        self.get(&format!("/admin/broadcasts/{}", seg(broadcast)))
            .await
    }

    async fn create_broadcast(&self, create: &CreateBroadcast) -> Result<Created> {
        self.post("/admin/broadcasts", create).await
    }

    async fn edit_broadcast(&self, broadcast: &str, edit: &EditBroadcast) -> Result<Status> {
        self.post(&format!("/admin/broadcasts/{}/edit", seg(broadcast)), edit)
            .await
    }

    async fn move_broadcast(&self, broadcast: &str, mv: Move, by: &Actor) -> Result<Status> {
        let path = format!("/admin/broadcasts/{}/{}", seg(broadcast), mv.name());
        self.post(&path, by).await
    }

    async fn preview_broadcast(&self, broadcast: &str, lead: &str) -> Result<Vec<u8>> {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("lead", lead)
            .finish();
        let path = format!("/admin/broadcasts/{}/preview?{query}", seg(broadcast));
        let answer = self
            .remote
            .call("GET", &path, None)
            .await
            .map_err(|e| Error::Port(PortError::new("admin api", format!("{e:#}"))))?;
        answer.check()?;
        Ok(answer.raw)
    }

    async fn test_broadcast(&self, broadcast: &str, test: &TestBroadcast) -> Result<TestReport> {
        self.post(
            &format!("/admin/broadcasts/{}/test-send", seg(broadcast)),
            test,
        )
        .await
    }

    async fn sync_status(&self) -> Result<kindling::crm::ports::SyncStatus> {
        self.get("/admin/sync").await
    }

    async fn replay_sync(
        &self,
        replay: &kindling::admin::interface::ReplaySync,
    ) -> Result<kindling::admin::interface::Replayed> {
        self.post("/admin/sync/replay", replay).await
    }
}
