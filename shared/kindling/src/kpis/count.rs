//! What each fact adds to the KPI counters: pure functions from an activity, a feedback
//! report, a lead's event or a sales mark to groups of adds, each group counted once per unit
//! ([`crate::ports::Tallies::tally_each_once`]).
//!
//! Every add goes to the totals (series [`TOTALS`]) and to one series per breakdown the fact
//! has ([`Dim`]: `kpi.broadcast`, bucket `d2026-11-30|spring_webinar`), in the day it happened
//! on (the program's zone). A breakdown's values sum to the total for the
//! measures that have it.

use super::period::day_bucket;
use super::Dim;
use crate::activities::classify::Agent;
use crate::activities::{ActivityKind, Attrs};
use crate::ids::LeadId;
use crate::ports::{Add, Once};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// The series of the totals, and the scope of every unit.
pub const TOTALS: &str = "kpi";
/// How long a unit is remembered: longer than any redelivery or late open of a mail.
pub const KEEP_DAYS: i64 = 400;

/// The counters (the names in answers and in storage).
pub mod m {
    pub const SENT: &str = "sent";
    pub const BOUNCED_HARD: &str = "bounced_hard";
    pub const BOUNCED_SOFT: &str = "bounced_soft";
    pub const COMPLAINED: &str = "complained";
    /// Mails a person opened or clicked (each mail once).
    pub const OPENED: &str = "opened";
    /// Every fetch of an open pixel, people's and machines'.
    pub const OPEN_HITS: &str = "open_hits";
    /// Fetches by privacy proxies and prefetchers.
    pub const MACHINE_OPENS: &str = "machine_opens";
    /// Mails a person clicked (each mail once).
    pub const CLICKED: &str = "clicked";
    pub const CLICK_HITS: &str = "click_hits";
    pub const SCANNER_CLICKS: &str = "scanner_clicks";
    pub const UNSUBSCRIBED: &str = "unsubscribed";
    /// Topics left one by one (a lead leaving two topics counts two), in `kpi.topic` by topic.
    pub const TOPIC_OPT_OUTS: &str = "topic_opt_outs";
    pub const FORM_SUBMISSIONS: &str = "form_submissions";
    pub const CAMPAIGN_VISITS: &str = "campaign_visits";
    pub const NEW_LEADS: &str = "new_leads";
    /// New leads whose form carried kindling.js's browser id (their visits count too).
    pub const NEW_LEADS_TRACKED: &str = "new_leads_tracked";
    pub const HOT_LEADS: &str = "hot_leads";
    /// Hot crossings sales knows of: alerted, or within the re-alert cooldown of an alert.
    pub const HOT_ALERTED: &str = "hot_alerted";
    pub const MQL: &str = "mql";
    /// Hand-offs' first alerts (a hot lead, a sales trigger), and the seconds each took to go
    /// out after the hand-off.
    pub const HANDOFF_ALERTS: &str = "handoff_alerts";
    pub const ALERT_DELAY_S: &str = "alert_delay_s";
    /// Sales' first marks after a hand-off, the seconds after its alert, and those in time.
    pub const FIRST_TOUCHES: &str = "first_touches";
    pub const TOUCH_DELAY_S: &str = "touch_delay_s";
    pub const TOUCHED_IN_TIME: &str = "touched_in_time";
    pub const REMINDERS: &str = "reminders";
    pub const ESCALATIONS: &str = "escalations";
    /// Prefix of the won amount per currency: `won_amount.JPY`, in hundredths.
    pub const WON_AMOUNT: &str = "won_amount.";
    /// A stage's entries and exits, and days spent in it (`days.12`), in `kpi.stage`.
    pub const ENTERED: &str = "entered";
    pub const LEFT: &str = "left";
    pub const DAYS: &str = "days.";
}

/// Groups being built for one fact.
#[derive(Debug)]
pub struct Counts {
    zone: Tz,
    pub groups: Vec<Once>,
}

impl Counts {
    pub fn new(zone: Tz) -> Self {
        Counts {
            zone,
            groups: Vec::new(),
        }
    }

    /// A group: `counters` added once for `unit`, at `at`, to the totals and each breakdown.
    pub fn group(
        &mut self,
        unit: String,
        at: DateTime<Utc>,
        counters: &[(&str, u64)],
        dims: &[(Dim, String)],
    ) {
        let mut adds = Vec::new();
        let b = day_bucket(at, self.zone);
        for (c, by) in counters {
            adds.push(add(TOTALS, &b, c, *by));
            for (dim, value) in dims {
                adds.push(add(&dim.series(), &format!("{b}|{value}"), c, *by));
            }
        }
        self.groups.push(Once { unit, adds });
    }

    /// Adds that belong to an existing group (same unit), to one breakdown only.
    pub fn extend(
        &mut self,
        unit: &str,
        at: DateTime<Utc>,
        dim: Dim,
        value: &str,
        counters: &[(String, u64)],
    ) {
        let zone = self.zone;
        let Some(g) = self.groups.iter_mut().find(|g| g.unit == unit) else {
            return;
        };
        let b = day_bucket(at, zone);
        for (c, by) in counters {
            g.adds
                .push(add(&dim.series(), &format!("{b}|{value}"), c, *by));
        }
    }
}

fn add(series: &str, bucket: &str, counter: &str, by: u64) -> Add {
    Add {
        series: series.to_owned(),
        bucket: bucket.to_owned(),
        counter: counter.to_owned(),
        by,
    }
}

/// Who made a hit: a person unless classified otherwise.
pub fn by_person(attrs: &Attrs) -> bool {
    matches!(attrs.agent, None | Some(Agent::Human))
}

/// The mail an activity concerns, as a unit part: `{lead}_{enrollment}_{step}` or
/// `{lead}_b_{broadcast}`.
pub fn message_unit(lead: &LeadId, attrs: &Attrs) -> Option<String> {
    use crate::message::MessageRef;
    Some(match attrs.message_ref()? {
        MessageRef::Step(e, s) => format!("{lead}_{e}_{s}"),
        MessageRef::Broadcast(b) => format!("{lead}_b_{b}"),
    })
}

/// What one activity adds (an open or a click in the period of its mail's send): `mail` holds the breakdowns of the mail it concerns (sequence,
/// step, template, broadcast, topic, segment, stage), `source` those of a form or a campaign.
pub fn activity(
    c: &mut Counts,
    id: &str,
    lead: Option<&LeadId>,
    kind: ActivityKind,
    at: DateTime<Utc>,
    attrs: &Attrs,
    mail: &[(Dim, String)],
) {
    let person = by_person(attrs);
    let message = lead.and_then(|l| message_unit(l, attrs));
    match kind {
        ActivityKind::EmailSent => {
            c.group(format!("sent/{id}"), at, &[(m::SENT, 1)], mail);
        }
        ActivityKind::EmailOpen | ActivityKind::EmailClick => {
            // A mail's reactions count in the period it was sent in, beside its send: a
            // period's rates stay within 100 % and do not depend on the order hits arrive in.
            let at = attrs.sent_at.unwrap_or(at);
            let click = kind == ActivityKind::EmailClick;
            let (hits, machine) = if click {
                (m::CLICK_HITS, m::SCANNER_CLICKS)
            } else {
                (m::OPEN_HITS, m::MACHINE_OPENS)
            };
            let counters: &[(&str, u64)] = if person {
                &[(hits, 1)]
            } else {
                &[(hits, 1), (machine, 1)]
            };
            c.group(format!("hit/{id}"), at, counters, mail);
            if let (true, Some(msg)) = (person, message) {
                c.group(format!("opened/{msg}"), at, &[(m::OPENED, 1)], mail);
                if click {
                    c.group(format!("clicked/{msg}"), at, &[(m::CLICKED, 1)], mail);
                }
            }
        }
        ActivityKind::Unsubscribed => {
            if let Some(l) = lead {
                c.group(format!("unsub/{l}"), at, &[(m::UNSUBSCRIBED, 1)], &[]);
            }
        }
        ActivityKind::TopicLeft => {
            if let Some(t) = &attrs.topic {
                let topic = [(Dim::Topic, t.to_string())];
                c.group(
                    format!("topic_left/{id}"),
                    at,
                    &[(m::TOPIC_OPT_OUTS, 1)],
                    &topic,
                );
            }
        }
        k if k.is_form_submission() => {
            c.group(
                format!("form/{id}"),
                at,
                &[(m::FORM_SUBMISSIONS, 1)],
                &source(attrs),
            );
        }
        ActivityKind::PageView if attrs.utm_campaign.is_some() => {
            c.group(
                format!("visit/{id}"),
                at,
                &[(m::CAMPAIGN_VISITS, 1)],
                &source(attrs),
            );
        }
        _ => {}
    }
}

/// The breakdowns of where a lead came from: its form and its campaign.
pub fn source(attrs: &Attrs) -> Vec<(Dim, String)> {
    let mut out = Vec::new();
    if let Some(f) = &attrs.form_id {
        out.push((Dim::Form, f.to_string()));
    }
    if let Some(c) = &attrs.utm_campaign {
        out.push((Dim::Campaign, c.clone()));
    }
    out
}

/// A new lead, counted once in the period it was created in.
pub fn new_lead(c: &mut Counts, lead: &LeadId, created_at: DateTime<Utc>, attrs: &Attrs) {
    let counters: &[(&str, u64)] = if attrs.visitor_id.is_some() {
        &[(m::NEW_LEADS, 1), (m::NEW_LEADS_TRACKED, 1)]
    } else {
        &[(m::NEW_LEADS, 1)]
    };
    c.group(format!("lead/{lead}"), created_at, counters, &source(attrs));
}
