//! What the demo did, read back from the stores, and the promises it checks.

use super::local_str;
use crate::app::LocalApp;
use anyhow::Context;
use chrono::{DateTime, Utc};
use kindling::alerts::ports::Alert;
use kindling::sending::ledger::SendState;
use serde::Serialize;
use std::path::Path;

/// The machine-readable result.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub leads: Vec<LeadSummary>,
    pub emails_sent: usize,
    pub emails: Vec<MailSummary>,
    pub alerts: Vec<AlertSummary>,
    pub checks: Checks,
    /// The KPI tree of the last 12 weeks at the end (`kindling kpis --json`'s `totals`).
    pub kpis: kindling::kpis::figures::Figures,
    /// `kindling diagnose` at the end.
    pub diagnosis: kindling::admin::diagnose::Diagnosis,
    /// All of `kindling kpis` at the end, as printed.
    #[serde(skip)]
    pub kpi_report: kindling::kpis::KpiReport,
    /// What reached the demo's CRM (with `[crm]`).
    pub crm: Option<super::crm::CrmSummary>,
}

#[derive(Debug, Serialize)]
pub struct LeadSummary {
    pub id: String,
    pub email: String,
    pub time_zone: String,
    pub score: i64,
    pub temperature: String,
    pub emails_received: usize,
    /// Hot-lead alerts.
    pub alerts: usize,
    /// Alerts raised by triggers (sales or support).
    pub trigger_alerts: usize,
    /// Triggers that fired for this lead, with how often.
    pub triggers: Vec<(String, u32)>,
    pub unsubscribed_at: Option<DateTime<Utc>>,
    pub emails_after_unsubscribe: usize,
    /// The segments whose conditions the lead meets when the scenario ends.
    pub segments: Vec<String>,
    /// When it entered each of them (local time), as stored by the rescore that moved it.
    pub segment_entries: Vec<(String, String)>,
    /// Its buying stages, in the order it reached them.
    pub stages: Vec<String>,
    /// The topics it left on the preference page, and when (local time).
    pub topics_left: Vec<(String, String)>,
    /// Mails of a topic it had left when they went out (must be 0).
    pub emails_of_left_topics: usize,
    /// Mails of its other topics after it first left one: what it kept.
    pub emails_after_leaving_a_topic: usize,
}

#[derive(Debug, Serialize)]
pub struct MailSummary {
    pub to: String,
    pub sequence: String,
    pub template: String,
    pub step: u32,
    pub sent_at: DateTime<Utc>,
    pub local_time: String,
    pub in_quiet_hours: bool,
}

#[derive(Debug, Serialize)]
pub struct AlertSummary {
    pub lead_id: String,
    pub email: String,
    pub audience: String,
    pub trigger: Option<String>,
    pub score: i64,
    pub at: DateTime<Utc>,
    /// The rep it went to (`[[routing]]`); `None`: the team.
    pub owner: Option<String>,
    /// `reminder` or `escalation` of a hand-off; `None`: a hot lead or a trigger.
    pub follow_up: Option<kindling::scoring::events::FollowUpKind>,
}

/// The scenario's promises, checked against what was stored.
#[derive(Debug, Serialize)]
pub struct Checks {
    pub hot_leads: usize,
    pub every_hot_lead_alerted_exactly_once: bool,
    /// No (lead, sequence, step) mail went out twice and no trigger fired twice for a lead.
    pub no_retargeting_twice: bool,
    pub no_mail_after_unsubscribe: bool,
    pub no_mail_in_quiet_hours: bool,
    /// Every lead's stored segments (what the index and the lead say) are the ones its
    /// condition gives at the end: event-driven membership did not drift.
    pub segments_stored_as_evaluated: bool,
    /// Every broadcast mail went to a recipient of its frozen audience, once, and every
    /// recipient recorded as sent got exactly one.
    pub broadcasts_to_their_recipients_only: bool,
    /// No lead got a mail of a topic it had left.
    pub no_mail_of_a_left_topic: bool,
}

/// The topic a sent mail belonged to: its sequence's or its broadcast's.
async fn topic_of(
    app: &LocalApp,
    s: &kindling::sending::ledger::SendRecord,
) -> anyhow::Result<Option<kindling::ids::TopicId>> {
    let k = &app.kindling;
    if let Some(seq) = &s.sequence_id {
        return Ok(k
            .config
            .sequences
            .iter()
            .find(|q| q.id == *seq)
            .and_then(|q| q.topic.clone()));
    }
    Ok(match &s.key {
        kindling::message::MessageKey::Broadcast { broadcast_id, .. } => k
            .stores
            .broadcasts
            .get_broadcast(broadcast_id)
            .await?
            .and_then(|b| b.topic),
        kindling::message::MessageKey::Step { .. } => None,
    })
}

pub(super) async fn summarize(app: &LocalApp, alerts: &[Alert]) -> anyhow::Result<Summary> {
    let k = &app.kindling;
    let mut leads = Vec::new();
    let mut emails = Vec::new();
    for id in k.stores.leads.list_lead_ids(None, 1000).await? {
        let lead = k
            .stores
            .leads
            .get_lead(&id)
            .await?
            .context("lead vanished")?;
        let tz = lead.zone(k.config.program.default_zone);
        let sent: Vec<_> = k
            .stores
            .sends
            .sends_of_lead(&id)
            .await?
            .into_iter()
            .filter(|s| s.state == SendState::Sent)
            .collect();
        let mut after_unsubscribe = 0;
        let (mut of_left, mut kept) = (0, 0);
        let first_left = lead.preferences.opted_out.values().min().copied();
        for s in &sent {
            let at = s.sent_at.unwrap_or(s.claimed_at);
            if lead.unsubscribed_at.is_some_and(|u| at > u) {
                after_unsubscribe += 1;
            }
            match topic_of(app, s).await? {
                Some(t) if lead.preferences.opted_out.get(&t).is_some_and(|l| at > *l) => {
                    of_left += 1;
                }
                _ if first_left.is_some_and(|l| at > l) => kept += 1,
                _ => {}
            }
            emails.push(MailSummary {
                to: lead.email.to_string(),
                // A broadcast's mail: its template is `@{broadcast}`.
                sequence: s
                    .sequence_id
                    .as_ref()
                    .map_or_else(|| s.template.to_string(), ToString::to_string),
                template: s.template.to_string(),
                step: s.key.as_step().map_or(0, |(_, step)| step),
                sent_at: at,
                local_time: local_str(at, tz),
                in_quiet_hours: k
                    .config
                    .sending
                    .quiet_hours
                    .contains(at.with_timezone(&tz).time()),
            });
        }
        let segments = kindling::admin::lead_report(k, &kindling::leads::LeadKey::Id(id.clone()))
            .await?
            .map(|r| {
                r.segments
                    .into_iter()
                    .filter(|s| s.holds)
                    .map(|s| s.id.to_string())
                    .collect()
            })
            .unwrap_or_default();
        leads.push(LeadSummary {
            id: id.to_string(),
            email: lead.email.to_string(),
            time_zone: tz.name().to_owned(),
            score: lead.score.total,
            temperature: lead.score.temperature.to_string(),
            emails_received: sent.len(),
            alerts: alerts
                .iter()
                .filter(|a| a.lead_id == id && a.trigger.is_none() && a.follow_up.is_none())
                .count(),
            trigger_alerts: alerts
                .iter()
                .filter(|a| a.lead_id == id && a.trigger.is_some())
                .count(),
            triggers: lead
                .triggers
                .iter()
                .map(|(t, s)| (t.to_string(), s.fired))
                .collect(),
            unsubscribed_at: lead.unsubscribed_at,
            emails_after_unsubscribe: after_unsubscribe,
            segment_entries: lead
                .segments
                .iter()
                .map(|(seg, m)| (seg.to_string(), local_str(m.since, tz)))
                .collect(),
            segments,
            stages: lead
                .stage_changes
                .iter()
                .filter_map(|c| c.to.as_ref().map(ToString::to_string))
                .collect(),
            topics_left: lead
                .preferences
                .opted_out
                .iter()
                .map(|(t, at)| (t.to_string(), local_str(*at, tz)))
                .collect(),
            emails_of_left_topics: of_left,
            emails_after_leaving_a_topic: kept,
        });
    }
    emails.sort_by_key(|m| m.sent_at);
    let mut broadcasts_ok = true;
    for b in k.stores.broadcasts.list_broadcasts().await? {
        let template = format!("@{}", b.id);
        let mails: Vec<&MailSummary> = emails.iter().filter(|m| m.template == template).collect();
        let progress = k.stores.broadcasts.progress(&b.id).await?;
        broadcasts_ok &= progress.sent == mails.len() as u64;
        for m in mails {
            let lead = match kindling::email::EmailAddress::parse(&m.to) {
                Ok(e) => k.stores.leads.find_lead_by_email(&e).await?,
                Err(_) => None,
            };
            let recipient = match lead {
                Some(l) => k.stores.broadcasts.get_recipient(&b.id, &l.id).await?,
                None => None,
            };
            broadcasts_ok &=
                recipient.is_some_and(|r| r.state == kindling::broadcasts::RecipientState::Sent);
        }
    }
    let hot: Vec<_> = leads.iter().filter(|l| l.temperature == "hot").collect();
    let checks = Checks {
        hot_leads: hot.len(),
        every_hot_lead_alerted_exactly_once: hot.iter().all(|l| l.alerts == 1),
        no_retargeting_twice: {
            let mut seen = std::collections::HashSet::new();
            emails
                .iter()
                .all(|m| seen.insert((m.to.clone(), m.sequence.clone(), m.step)))
                && leads
                    .iter()
                    .all(|l| l.triggers.iter().all(|(_, n)| *n == 1))
        },
        no_mail_after_unsubscribe: leads.iter().all(|l| l.emails_after_unsubscribe == 0),
        no_mail_in_quiet_hours: emails.iter().all(|m| !m.in_quiet_hours),
        segments_stored_as_evaluated: leads.iter().all(|l| {
            let mut stored: Vec<&String> = l.segment_entries.iter().map(|(s, _)| s).collect();
            let mut now: Vec<&String> = l.segments.iter().collect();
            stored.sort();
            now.sort();
            stored == now
        }),
        broadcasts_to_their_recipients_only: broadcasts_ok,
        no_mail_of_a_left_topic: leads.iter().all(|l| l.emails_of_left_topics == 0),
    };
    let kpi_report =
        kindling::kpis::kpis(&k.kpis(), &kindling::admin::page::query(None, None, None)).await?;
    let diagnosis = kindling::admin::diagnose::diagnose(k).await?;
    let page = kindling::admin::page::html(&k.config.program, &kpi_report, &diagnosis)?;
    std::fs::write(app.data_dir.join("report.html"), page)?;
    Ok(Summary {
        crm: None,
        diagnosis,
        kpis: kpi_report.totals.clone(),
        kpi_report,
        emails_sent: emails.len(),
        leads,
        emails,
        alerts: alerts
            .iter()
            .map(|a| AlertSummary {
                lead_id: a.lead_id.to_string(),
                email: a.email.to_string(),
                audience: a.audience.as_str().to_owned(),
                trigger: a.trigger.as_ref().map(ToString::to_string),
                score: a.score,
                at: a.at,
                owner: a.owner.as_ref().map(|o| o.id.clone()),
                follow_up: a.follow_up,
            })
            .collect(),
        checks,
    })
}

/// Prints the human summary.
pub fn print_summary(s: &Summary, data_dir: &Path) {
    println!("\nLeads:");
    for l in &s.leads {
        let unsub = l.unsubscribed_at.map(|_| "  unsubscribed").unwrap_or("");
        println!(
            "  {:<26} {:<17} score {:>3} {:<5} mails {}  hot alerts {}{unsub}",
            l.email, l.time_zone, l.score, l.temperature, l.emails_received, l.alerts
        );
        if !l.triggers.is_empty() {
            let fired: Vec<String> = l.triggers.iter().map(|(t, _)| t.clone()).collect();
            println!("  {:<26} triggers fired: {}", "", fired.join(", "));
        }
        if !l.stages.is_empty() {
            println!("  {:<26} stages: {}", "", l.stages.join(" -> "));
        }
        if !l.segment_entries.is_empty() {
            let entries: Vec<String> = l
                .segment_entries
                .iter()
                .map(|(s, at)| format!("{s} (entered {at})"))
                .collect();
            println!("  {:<26} segments: {}", "", entries.join(", "));
        }
    }
    println!(
        "\nMails sent: {} (outbox: {})",
        s.emails_sent,
        data_dir.join("outbox").display()
    );
    println!(
        "Alerts: {} ({} hot, {} from triggers, {} follow-ups; log: {})",
        s.alerts.len(),
        s.alerts
            .iter()
            .filter(|a| a.trigger.is_none() && a.follow_up.is_none())
            .count(),
        s.alerts.iter().filter(|a| a.trigger.is_some()).count(),
        s.alerts.iter().filter(|a| a.follow_up.is_some()).count(),
        data_dir.join("alerts.jsonl").display()
    );
    let c = &s.checks;
    let mark = |b: bool| if b { "yes" } else { "NO" };
    println!("\nChecks:");
    println!(
        "  hot leads: {}; each alerted exactly once: {}",
        c.hot_leads,
        mark(c.every_hot_lead_alerted_exactly_once)
    );
    println!(
        "  no retargeting mail or trigger twice: {}",
        mark(c.no_retargeting_twice)
    );
    println!(
        "  no mail after unsubscribe: {}",
        mark(c.no_mail_after_unsubscribe)
    );
    println!(
        "  no mail in quiet hours (lead's own zone): {}",
        mark(c.no_mail_in_quiet_hours)
    );
    println!(
        "  stored segments match their conditions: {}",
        mark(c.segments_stored_as_evaluated)
    );
    println!(
        "\n{}{}",
        crate::kpi_text::tree(&s.kpi_report),
        crate::kpi_text::targets(&s.kpi_report).trim_end()
    );
    println!("\n{}", crate::kpi_text::diagnosis(&s.diagnosis).trim_end());
    println!(
        "\nReport (opens with no network): {}",
        data_dir.join("report.html").display()
    );
    let d = data_dir.display();
    println!(
        "\nLook closer: the admin commands read this store, and run the same against a `kindling serve` or a deployed stack with --api <url>:"
    );
    for cmd in [
        "lead show sato@kaisha-a.co.jp",
        "segment list",
        "broadcast list",
        "sending",
        "kpis --by sequence,step,form",
        "diagnose",
    ] {
        println!("  kindling {cmd} --data-dir {d}");
    }
}
