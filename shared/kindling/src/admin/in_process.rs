//! The in-process backend of [`Admin`]: every operation over a running Kindling's stores. The
//! admin routes call it after parsing the request, and the CLI calls it directly when it works on
//! the local store, so a value is checked, and a refusal worded, in one place.

use super::interface::{
    Actor, Admin, AudienceSpec, BroadcastRow, ContentSpec, CreateBroadcast, Created, EditBroadcast,
    MarkLead, Marked, ResumeSending, SegmentPage, TestBroadcast,
};
use super::segments::{
    find_segment, segment_list, segment_view, SegmentSummary, SegmentView, MAX_MEMBERS_PAGE,
    MEMBERS_PAGE,
};
use super::LeadReport;
use crate::app::Kindling;
use crate::broadcasts::config::MAX_TEST_ADDRESSES as MAX_TEST_TO;
use crate::broadcasts::content::{Content, Part};
use crate::broadcasts::lifecycle::{self, NewBroadcast};
use crate::broadcasts::moves::{self, Move};
use crate::broadcasts::status::{status, Status};
use crate::broadcasts::test_send::{TestReport, TestRequest};
use crate::broadcasts::{parse_time, Audience, Schedule};
use crate::deliverability::{Resumed, SendingStatus};
use crate::email::EmailAddress;
use crate::error::{Error, Result};
use crate::ids::{is_valid_id, BroadcastId, SegmentId, TopicId};
use crate::kpis::{KpiQuery, KpiReport};
use crate::leads::{parse_lead_key, LeadKey, SalesStatus};
use crate::names::Named;

/// [`Admin`] over a Kindling in this process.
#[derive(Clone, Copy)]
pub struct InProcess<'a> {
    k: &'a Kindling,
}

impl<'a> InProcess<'a> {
    /// The backend over `k`.
    pub fn new(k: &'a Kindling) -> Self {
        Self { k }
    }
}

/// Longest operator's note.
pub const MAX_NOTE: usize = 500;

/// A lead named by id or address.
pub fn lead_key(raw: &str) -> Result<LeadKey> {
    parse_lead_key(raw)
        .ok_or_else(|| Error::Invalid(format!("{raw:?} is neither a lead id nor an email address")))
}

/// An operator's note: trimmed, none if blank, at most [`MAX_NOTE`] characters.
/// The sync's carrier: `Refused` without `[crm]`, or where this runtime cannot see it.
fn sync_ledger(k: &Kindling) -> Result<&dyn crate::crm::ports::SyncLedger> {
    if k.config.crm.is_none() {
        return Err(Error::Refused(
            "CRM sync is off: the program has no [crm] section".into(),
        ));
    }
    k.sync
        .as_deref()
        .ok_or_else(|| Error::Refused("this runtime cannot see the CRM sync's queue".into()))
}

fn note(raw: Option<&String>) -> Result<Option<String>> {
    let note = raw.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if note.as_ref().is_some_and(|n| n.chars().count() > MAX_NOTE) {
        return Err(Error::Invalid(format!(
            "note: at most {MAX_NOTE} characters"
        )));
    }
    Ok(note)
}

fn broadcast_id(raw: &str) -> Result<BroadcastId> {
    BroadcastId::parse(raw).ok_or_else(|| Error::Invalid(format!("{raw:?} is not a broadcast id")))
}

/// Who acts: required, whoever it is.
fn actor(by: Option<&String>) -> Result<String> {
    by.filter(|b| !b.trim().is_empty())
        .cloned()
        .ok_or_else(|| Error::Invalid("by: who acts is required".into()))
}

fn email(field: &str, raw: &str) -> Result<EmailAddress> {
    EmailAddress::parse(raw)
        .map_err(|_| Error::Invalid(format!("{field}: {raw:?} is not an email address")))
}

fn time(field: &str, raw: &str) -> Result<chrono::NaiveDateTime> {
    parse_time(raw).ok_or_else(|| {
        Error::Invalid(format!(
            "{field}: write a time like \"2026-12-08 10:00\", not {raw:?}"
        ))
    })
}

fn audience(a: &AudienceSpec) -> Result<Audience> {
    Ok(match a {
        AudienceSpec::Segment { segment } => Audience::Segment {
            segment: SegmentId::new(segment.clone()),
        },
        AudienceSpec::All => Audience::All,
        AudienceSpec::RecipientsOf { broadcast } => Audience::RecipientsOf {
            broadcast: BroadcastId::parse(broadcast).ok_or_else(|| {
                Error::Invalid(format!("audience: {broadcast:?} is not a broadcast id"))
            })?,
        },
    })
}

fn topic(t: Option<&String>) -> Result<Option<TopicId>> {
    match t {
        Some(t) if is_valid_id(t) => Ok(Some(TopicId::new(t.clone()))),
        Some(t) => Err(Error::Invalid(format!("topic: {t:?} is not a topic id"))),
        None => Ok(None),
    }
}

impl InProcess<'_> {
    fn content(&self, c: &ContentSpec) -> Result<Content> {
        let content = match (&c.template, &c.parts) {
            (Some(t), None) => Content::from_template(&self.k.config.templates, t),
            (None, Some(parts)) => Ok(Content {
                source: "parts".into(),
                parts: parts
                    .iter()
                    .map(|(l, p)| {
                        let part = Part {
                            txt: p.txt.clone(),
                            html: p.html.clone(),
                        };
                        (l.clone(), part)
                    })
                    .collect(),
            }),
            _ => Err("give exactly one of content.template and content.parts".into()),
        }
        .map_err(|e| Error::Invalid(format!("content: {e}")))?;
        if content.parts.keys().any(|l| {
            l.is_empty()
                || l.len() > 16
                || !l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        }) {
            return Err(Error::Invalid(
                "content.parts: keys are languages such as \"ja\" or \"en\"".into(),
            ));
        }
        Ok(content)
    }

    async fn status(&self, id: &BroadcastId) -> Result<Status> {
        status(&self.k.broadcasts(), id).await
    }
}

#[async_trait::async_trait]
impl Admin for InProcess<'_> {
    async fn lead(&self, lead: &str) -> Result<LeadReport> {
        super::lead_report(self.k, &lead_key(lead)?)
            .await?
            .ok_or_else(|| Error::NotFound(format!("no lead {lead}")))
    }

    async fn mark_lead(&self, lead: &str, mark: &MarkLead) -> Result<Marked> {
        let key = lead_key(lead)?;
        let status = SalesStatus::parse(&mark.status).ok_or_else(|| {
            Error::Invalid(format!(
                "status: {:?} is not one of working, opportunity, won, lost, disqualified",
                mark.status
            ))
        })?;
        let note = note(mark.note.as_ref())?;
        let amount = match (&mark.amount, &mark.currency) {
            (None, None) => None,
            (None, Some(_)) => {
                return Err(Error::Invalid("currency: only with an amount".into()));
            }
            (Some(_), _) if !matches!(status, SalesStatus::Opportunity | SalesStatus::Won) => {
                return Err(Error::Invalid(
                    "amount: only with opportunity or won".into(),
                ));
            }
            (Some(a), c) => Some(
                crate::leads::Money::parse(
                    &a.text(),
                    c.as_deref().unwrap_or(&self.k.config.kpis.currency),
                )
                .map_err(Error::Invalid)?,
            ),
        };
        let lead_now = super::mark_and_rescore(self.k, &key, status, note, amount)
            .await?
            .ok_or_else(|| Error::NotFound(format!("no lead {lead}")))?;
        Ok(Marked {
            lead_id: lead_now.id,
            email: lead_now.email.to_string(),
            sales: lead_now.sales,
        })
    }

    async fn kpis(&self, query: &KpiQuery) -> Result<KpiReport> {
        crate::kpis::kpis(&self.k.kpis(), query).await
    }

    async fn diagnose(&self) -> Result<super::diagnose::Diagnosis> {
        super::diagnose::diagnose(self.k).await
    }

    async fn report(&self, query: &KpiQuery) -> Result<String> {
        super::page::build(self.k, query).await
    }

    async fn sync_status(&self) -> Result<crate::crm::ports::SyncStatus> {
        Ok(sync_ledger(self.k)?.status().await?)
    }

    async fn replay_sync(
        &self,
        replay: &super::interface::ReplaySync,
    ) -> Result<super::interface::Replayed> {
        use crate::crm::ports::Replay;
        let which = match (&replay.id, replay.dead) {
            (Some(id), false) if !id.trim().is_empty() => Replay::One(id.trim().to_owned()),
            (None, true) => Replay::AllDead,
            _ => return Err(Error::Invalid("give one of id or dead".into())),
        };
        let replayed = sync_ledger(self.k)?.replay(&which).await?;
        if replayed.is_empty() {
            if let Replay::One(id) = which {
                return Err(Error::NotFound(format!("no dead upsert {id}")));
            }
        }
        Ok(super::interface::Replayed { replayed })
    }

    async fn sending(&self) -> Result<SendingStatus> {
        crate::deliverability::sending_status(&self.k.deliverability()).await
    }

    async fn resume_sending(&self, resume: &ResumeSending) -> Result<Resumed> {
        let note = note(resume.note.as_ref())?;
        crate::deliverability::resume_sending(&self.k.deliverability(), note).await
    }

    async fn segments(&self) -> Result<Vec<SegmentSummary>> {
        segment_list(self.k).await
    }

    async fn segment(&self, id: &str, page: &SegmentPage) -> Result<SegmentView> {
        let after = page
            .after
            .as_deref()
            .map(|c| c.parse().map_err(|m| Error::Invalid(format!("after: {m}"))))
            .transpose()?;
        let limit = page.limit.unwrap_or(MEMBERS_PAGE);
        if !(1..=MAX_MEMBERS_PAGE).contains(&limit) {
            return Err(Error::Invalid(format!(
                "limit: a whole number from 1 to {MAX_MEMBERS_PAGE}"
            )));
        }
        let Some(s) = find_segment(self.k, id) else {
            let ids: Vec<&str> = self
                .k
                .config
                .segments
                .iter()
                .map(|s| s.id.as_str())
                .collect();
            return Err(Error::NotFound(format!(
                "no segment {id:?} in the program (one of: {})",
                ids.join(", ")
            )));
        };
        segment_view(self.k, s, after.as_ref(), limit).await
    }

    async fn broadcasts(&self) -> Result<Vec<BroadcastRow>> {
        let all = self.k.stores.broadcasts.list_broadcasts().await?;
        Ok(all
            .into_iter()
            .map(|b| BroadcastRow {
                approved: b.approved(),
                id: b.id,
                name: b.name,
                state: b.state,
                audience: b.audience,
                topic: b.topic,
                schedule: b.schedule,
                created_by: b.created_by,
                created_at: b.created_at,
            })
            .collect())
    }

    async fn broadcast(&self, id: &str) -> Result<Status> {
        self.status(&broadcast_id(id)?).await
    }

    async fn create_broadcast(&self, c: &CreateBroadcast) -> Result<Created> {
        let new = NewBroadcast {
            by: actor(c.by.as_ref())?,
            id: c.id.clone(),
            name: c.name.clone(),
            audience: audience(&c.audience)?,
            content: self.content(&c.content)?,
            schedule: Schedule {
                at: time("at", &c.at)?,
                local: c.local,
            },
            topic: topic(c.topic.as_ref())?,
            ab: c.ab.clone(),
        };
        let (b, lint) = lifecycle::create(&self.k.broadcasts(), new).await?;
        Ok(Created {
            status: self.status(&b.id).await?,
            warnings: lint.warnings,
        })
    }

    async fn edit_broadcast(&self, id: &str, e: &EditBroadcast) -> Result<Status> {
        let id = broadcast_id(id)?;
        let by = actor(e.by.as_ref())?;
        if e.local.is_some() && e.at.is_none() {
            return Err(Error::Invalid("local: give it with at".into()));
        }
        if e.remove_ab && e.ab.is_some() {
            return Err(Error::Invalid("give ab or remove_ab, not both".into()));
        }
        let edit = lifecycle::Edit {
            name: e.name.clone(),
            audience: e.audience.as_ref().map(audience).transpose()?,
            content: e.content.as_ref().map(|c| self.content(c)).transpose()?,
            schedule: match &e.at {
                Some(at) => Some(Schedule {
                    at: time("at", at)?,
                    local: e.local.unwrap_or(false),
                }),
                None => None,
            },
            topic: topic(e.topic.as_ref())?,
            ab: if e.remove_ab {
                Some(None)
            } else {
                e.ab.clone().map(Some)
            },
        };
        lifecycle::edit(&self.k.broadcasts(), &id, edit, &by).await?;
        self.status(&id).await
    }

    async fn move_broadcast(&self, id: &str, mv: Move, by: &Actor) -> Result<Status> {
        let id = broadcast_id(id)?;
        let by = actor(by.by.as_ref())?;
        moves::make(&self.k.broadcasts(), &id, mv, &by).await?;
        tracing::info!(broadcast = %id, action = mv.name(), "broadcast moved");
        self.status(&id).await
    }

    async fn preview_broadcast(&self, id: &str, lead: &str) -> Result<Vec<u8>> {
        let id = broadcast_id(id)?;
        let email = email("lead", lead)?;
        let mail = crate::broadcasts::compose::preview(&self.k.broadcasts(), &id, &email).await?;
        Ok(mail.raw)
    }

    async fn test_broadcast(&self, id: &str, t: &TestBroadcast) -> Result<TestReport> {
        let id = broadcast_id(id)?;
        let by = actor(t.by.as_ref())?;
        if t.to.len() > MAX_TEST_TO {
            return Err(Error::Invalid(format!(
                "to: at most {MAX_TEST_TO} addresses"
            )));
        }
        let request = TestRequest {
            to: t.to.iter().map(|a| email("to", a)).collect::<Result<_>>()?,
            as_lead: t.as_lead.as_deref().map(|a| email("as", a)).transpose()?,
        };
        let mailer =
            self.k.test_mailer.as_deref().ok_or_else(|| {
                Error::Refused("this runtime has no mailer for test sends".into())
            })?;
        let report =
            crate::broadcasts::test_send::test_send(&self.k.broadcasts(), mailer, &id, &request)
                .await?;
        tracing::info!(broadcast = %id, by = %by, "test send requested");
        Ok(report)
    }
}
