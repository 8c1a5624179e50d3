//! The figures of a set of counters: the four levels of the KPI tree, each rate beside the
//! counts it comes from. A rate is `None` when nothing was there to divide by.

use super::count::m;
use crate::leads::SalesStatus;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Counters summed over buckets.
pub type Counters = BTreeMap<String, u64>;

/// Adds `from` into `into`.
pub fn sum_into(into: &mut Counters, from: &Counters) {
    for (k, v) in from {
        *into.entry(k.clone()).or_default() += v;
    }
}

/// `n / d` to four places, `None` when `d` is 0.
pub fn rate(n: u64, d: u64) -> Option<f64> {
    (d > 0).then(|| (n as f64 / d as f64 * 10_000.0).round() / 10_000.0)
}

/// Delivery: what went out and what arrived.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub sent: u64,
    pub bounced_hard: u64,
    pub bounced_soft: u64,
    /// Sent less bounced (the denominator of every reaction rate).
    pub delivered: u64,
    pub delivery_rate: Option<f64>,
}

/// Reaction: what people did with the mails; machines' hits are left out of the rates and
/// shown beside them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Reaction {
    /// Mails a person opened (or clicked).
    pub opened: u64,
    pub clicked: u64,
    pub open_rate: Option<f64>,
    pub ctr: Option<f64>,
    pub click_to_open: Option<f64>,
    pub unsubscribed: u64,
    pub unsubscribe_rate: Option<f64>,
    /// Topics left one by one (per topic in the `topic` breakdown), and per delivered mail.
    pub topic_opt_outs: u64,
    pub topic_opt_out_rate: Option<f64>,
    pub complained: u64,
    pub complaint_rate: Option<f64>,
    /// Every open-pixel fetch, and those by machines (privacy proxies, prefetchers).
    pub open_hits: u64,
    pub machine_opens: u64,
    /// Every link hit, and those by security scanners.
    pub click_hits: u64,
    pub scanner_clicks: u64,
}

/// Conversion: leads coming in and moving toward sales.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Conversion {
    pub new_leads: u64,
    /// New leads whose form carried kindling.js's browser id, so their earlier visits count.
    pub new_leads_tracked: u64,
    pub form_submissions: u64,
    pub campaign_visits: u64,
    pub hot_leads: u64,
    /// Hot crossings sales knows of: alerted, or within the re-alert cooldown of an alert.
    pub hot_alerted: u64,
    pub mqls: u64,
    /// Leads sales marked `working`.
    pub sales_accepted: u64,
    pub opportunities: u64,
    /// Opportunities per MQL.
    pub opportunity_rate: Option<f64>,
    /// Leads that reached each sales status.
    pub by_sales_status: BTreeMap<String, u64>,
}

/// The hand-offs to sales: the system's delay (hand-off → alert out) and sales' (alert → first
/// mark), marks in time, reminders and escalations.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FollowUp {
    /// First alerts of hand-offs (hot leads, sales triggers).
    pub alerts: u64,
    /// Mean seconds from the hand-off to its alert going out.
    pub alert_delay_s: Option<f64>,
    /// Hand-offs sales marked.
    pub first_touches: u64,
    /// Mean hours from the alert (or the hand-off) to the first mark.
    pub touch_delay_h: Option<f64>,
    /// Of the first marks, those by the deadline, and their share.
    pub in_time: u64,
    pub in_time_rate: Option<f64>,
    pub reminders: u64,
    pub escalations: u64,
}

/// Final: deals won.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Final {
    pub won: u64,
    /// Won per opportunity.
    pub win_rate: Option<f64>,
    /// By currency, exact (`"1500000"`, `"1234.50"`).
    pub won_amount: BTreeMap<String, String>,
}

/// The KPI tree of some counters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    pub delivery: Delivery,
    pub reaction: Reaction,
    pub conversion: Conversion,
    #[serde(rename = "final")]
    pub fin: Final,
    #[serde(default)]
    pub follow_up: FollowUp,
}

/// `sum / n / unit` to one decimal, `None` without any.
fn mean(sum: u64, n: u64, unit: f64) -> Option<f64> {
    (n > 0).then(|| (sum as f64 / n as f64 / unit * 10.0).round() / 10.0)
}

impl Figures {
    /// The figures of summed counters.
    pub fn of(c: &Counters) -> Figures {
        let g = |k: &str| c.get(k).copied().unwrap_or(0);
        let sent = g(m::SENT);
        let bounced = g(m::BOUNCED_HARD) + g(m::BOUNCED_SOFT);
        let delivered = sent.saturating_sub(bounced);
        let (opened, clicked) = (g(m::OPENED), g(m::CLICKED));
        let status = |s: SalesStatus| g(s.as_str());
        let by_sales_status = SalesStatus::ALL
            .iter()
            .map(|s| (s.as_str().to_owned(), status(*s)))
            .collect();
        let won_amount = c
            .iter()
            .filter_map(|(k, v)| {
                Some((
                    k.strip_prefix(m::WON_AMOUNT)?.to_owned(),
                    crate::leads::hundredths(*v),
                ))
            })
            .collect();
        Figures {
            delivery: Delivery {
                sent,
                bounced_hard: g(m::BOUNCED_HARD),
                bounced_soft: g(m::BOUNCED_SOFT),
                delivered,
                delivery_rate: rate(delivered, sent),
            },
            reaction: Reaction {
                opened,
                clicked,
                open_rate: rate(opened, delivered),
                ctr: rate(clicked, delivered),
                click_to_open: rate(clicked, opened),
                unsubscribed: g(m::UNSUBSCRIBED),
                unsubscribe_rate: rate(g(m::UNSUBSCRIBED), delivered),
                topic_opt_outs: g(m::TOPIC_OPT_OUTS),
                topic_opt_out_rate: rate(g(m::TOPIC_OPT_OUTS), delivered),
                complained: g(m::COMPLAINED),
                complaint_rate: rate(g(m::COMPLAINED), delivered),
                open_hits: g(m::OPEN_HITS),
                machine_opens: g(m::MACHINE_OPENS),
                click_hits: g(m::CLICK_HITS),
                scanner_clicks: g(m::SCANNER_CLICKS),
            },
            conversion: Conversion {
                new_leads: g(m::NEW_LEADS),
                new_leads_tracked: g(m::NEW_LEADS_TRACKED),
                form_submissions: g(m::FORM_SUBMISSIONS),
                campaign_visits: g(m::CAMPAIGN_VISITS),
                hot_leads: g(m::HOT_LEADS),
                hot_alerted: g(m::HOT_ALERTED),
                mqls: g(m::MQL),
                sales_accepted: status(SalesStatus::Working),
                opportunities: status(SalesStatus::Opportunity),
                opportunity_rate: rate(status(SalesStatus::Opportunity), g(m::MQL)),
                by_sales_status,
            },
            fin: Final {
                won: status(SalesStatus::Won),
                win_rate: rate(status(SalesStatus::Won), status(SalesStatus::Opportunity)),
                won_amount,
            },
            follow_up: FollowUp {
                alerts: g(m::HANDOFF_ALERTS),
                alert_delay_s: mean(g(m::ALERT_DELAY_S), g(m::HANDOFF_ALERTS), 1.0),
                first_touches: g(m::FIRST_TOUCHES),
                touch_delay_h: mean(g(m::TOUCH_DELAY_S), g(m::FIRST_TOUCHES), 3600.0),
                in_time: g(m::TOUCHED_IN_TIME),
                in_time_rate: rate(g(m::TOUCHED_IN_TIME), g(m::FIRST_TOUCHES)),
                reminders: g(m::REMINDERS),
                escalations: g(m::ESCALATIONS),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_divide_by_what_was_delivered_and_leave_machines_out() {
        let c: Counters = [
            ("sent", 200),
            ("bounced_hard", 8),
            ("bounced_soft", 2),
            ("opened", 38),
            ("open_hits", 140),
            ("machine_opens", 90),
            ("clicked", 19),
            ("unsubscribed", 1),
            ("mql", 10),
            ("opportunity", 4),
            ("won", 1),
            ("won_amount.JPY", 150_000_000),
            ("won_amount.USD", 123_450),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let f = Figures::of(&c);
        assert_eq!(f.delivery.delivered, 190);
        assert_eq!(f.reaction.open_rate, Some(0.2));
        assert_eq!(f.reaction.ctr, Some(0.1));
        assert_eq!(f.reaction.click_to_open, Some(0.5));
        assert_eq!(f.reaction.unsubscribe_rate, Some(0.0053));
        assert_eq!(f.reaction.machine_opens, 90);
        assert_eq!(f.conversion.opportunity_rate, Some(0.4));
        assert_eq!(f.fin.win_rate, Some(0.25));
        assert_eq!(f.fin.won_amount["JPY"], "1500000");
        assert_eq!(f.fin.won_amount["USD"], "1234.50");
        assert_eq!(Figures::of(&Counters::new()).reaction.open_rate, None);
    }
}
