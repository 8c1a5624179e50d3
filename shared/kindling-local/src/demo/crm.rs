//! The demo's CRM: a [`FakeCrm`] on loopback that the bus's signed webhook upserts into, as a
//! real one would be; the summary counts its records against the leads.

use crate::app::LocalApp;
use crate::fake_crm::FakeCrm;
use kindling::crm::webhook::Secret;
use serde::Serialize;

/// What reached the CRM.
#[derive(Debug, Default, Serialize)]
pub struct CrmSummary {
    /// Upserts delivered (each change once; a redelivery would count again).
    pub upserts: usize,
    /// Distinct upsert ids among them.
    pub distinct: usize,
    /// Records the CRM holds.
    pub records: usize,
    /// Leads with an address.
    pub leads: usize,
    /// Every delivery's signature and timestamp verified.
    pub signed: bool,
    /// Waiting or dead upserts at the end (must be 0).
    pub undelivered: u64,
    /// One record per lead, each once.
    pub exactly_once: bool,
}

/// Starts the CRM and points the app's webhook at it (when the program has `[crm]`).
pub async fn start(app: LocalApp) -> anyhow::Result<(LocalApp, Option<FakeCrm>)> {
    if app.kindling.config.crm.is_none() {
        return Ok((app, None));
    }
    let secret = Secret::from_bytes(b"kindling-demo-crm-webhook-secret!");
    let clock = app.kindling.clock.clone();
    let crm = FakeCrm::start(secret.clone(), clock.clone()).await?;
    let webhook = crate::crm::Webhook::new(Some(crm.url.clone()), secret, clock);
    Ok((app.with_crm_webhook(webhook), Some(crm)))
}

/// Counts what the CRM holds.
pub async fn summarize(app: &LocalApp, crm: &FakeCrm) -> anyhow::Result<CrmSummary> {
    use kindling::crm::ports::SyncLedger;
    let deliveries = crm.deliveries();
    let ids: std::collections::BTreeSet<_> = deliveries.iter().map(|d| d.id.clone()).collect();
    let status = app.sync.status().await?;
    let leads = app
        .store
        .db()
        .conn()
        .query_row("SELECT count(*) FROM leads", [], |r| r.get::<_, i64>(0))?;
    let leads = usize::try_from(leads).unwrap_or(0);
    let records = crm.contacts();
    Ok(CrmSummary {
        upserts: deliveries.len(),
        distinct: ids.len(),
        records,
        leads,
        signed: deliveries.iter().all(|d| d.verified),
        undelivered: status.backlog.unwrap_or(0) + status.dead,
        exactly_once: records == leads && ids.len() == deliveries.len(),
    })
}

/// The summary's CRM lines.
pub fn print(c: &CrmSummary) {
    let mark = |b: bool| if b { "yes" } else { "NO" };
    println!(
        "\nCRM (a webhook receiver on loopback): {} upserts delivered, signed: {}; {} records for {} leads; undelivered: {}; each change once, one record per lead: {}",
        c.upserts,
        mark(c.signed),
        c.records,
        c.leads,
        c.undelivered,
        mark(c.exactly_once)
    );
}
