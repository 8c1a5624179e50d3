//! The hand-off rule, as written in the program: when a lead goes to sales, who gets it, how
//! long sales has, who hears when nobody follows up, and which mail stops then. `kindling
//! scenario` prints it under the sheet, so the rule marketing and sales agreed on is the one
//! the program runs.

use crate::config::Config;
use crate::events::Audience;
use crate::routing::follow_up::Clock;
use crate::routing::Target;
use crate::sequences::config::ExitGoal;

/// The rule, one line per part.
pub fn handoff_rule(c: &Config) -> Vec<String> {
    let mut out = Vec::new();
    let mut when = vec![format!(
        "it turns hot (score {} or more; alerted unless it was within {} of its last hot alert)",
        c.scoring.thresholds.hot,
        crate::triggers::human(c.alerts.realert_cooldown)
    )];
    let m = &c.scoring.mql;
    let mut mql = vec![format!("total {}", m.min_total)];
    mql.extend(m.min_fit.map(|f| format!("fit {f}")));
    mql.extend(m.min_engagement.map(|e| format!("engagement {e}")));
    when.push(format!("it becomes an MQL ({} or more)", mql.join(", ")));
    let sales: Vec<&str> = c
        .triggers
        .iter()
        .filter(|t| t.alert == Some(Audience::Sales))
        .map(|t| t.id.as_str())
        .collect();
    if !sales.is_empty() {
        when.push(format!("a trigger alerts sales ({})", sales.join(", ")));
    }
    out.push(format!("A lead goes to sales when {}.", when.join("; ")));

    let r = &c.routing;
    if r.rules.is_empty() {
        out.push("Owner: none ([[routing]] has no rule): alerts go to the sales team.".into());
    } else {
        let rules: Vec<String> = r
            .rules
            .iter()
            .map(|rule| {
                let cond = match (&rule.when, &rule.segment) {
                    (None, None) => "any lead".to_owned(),
                    (Some(_), None) => "its condition".to_owned(),
                    (None, Some(s)) => format!("in segment {s}"),
                    (Some(_), Some(s)) => format!("its condition, in segment {s}"),
                };
                let to = match &rule.to {
                    Target::Rep(rep) => format!("rep {rep}"),
                    Target::Team(team) => {
                        let members: Vec<&str> =
                            r.team(team).iter().map(|x| x.id.as_str()).collect();
                        format!("team {team} ({}, in turns)", members.join(", "))
                    }
                };
                format!("{} ({cond}) → {to}", rule.id)
            })
            .collect();
        out.push(format!(
            "Owner: the first [[routing]] rule it meets, once: {}.",
            rules.join("; ")
        ));
    }

    let f = &c.alerts.clock;
    let clock = match f.clock {
        Clock::Hours => format!("{} hours", f.hours),
        Clock::Business { from, to, holidays } => format!(
            "{} business hours ({}–{} of business days, holidays: {})",
            f.hours,
            from.format("%H:%M"),
            to.format("%H:%M"),
            crate::names::Named::name(holidays)
        ),
    };
    let escalate = c
        .alerts
        .escalate_to
        .as_deref()
        .and_then(|id| r.rep(id))
        .map_or_else(
            || "the sales team".to_owned(),
            |rep| match &rep.name {
                Some(n) => format!("{} ({n})", rep.id),
                None => rep.id.clone(),
            },
        );
    out.push(format!(
        "Follow-up: sales marks the lead within {clock}; the owner is reminded at {}% of that; if nobody marked it by then, one escalation goes to {escalate}.",
        (f.remind_at * 100.0).round()
    ));

    let stops = |goal: ExitGoal| -> Vec<&str> {
        c.sequences
            .iter()
            .filter(|s| s.exit_when.contains(&goal))
            .map(|s| s.id.as_str())
            .collect()
    };
    let (hot, marked) = (stops(ExitGoal::BecameHot), stops(ExitGoal::SalesMarked));
    let list = |v: &[&str]| {
        if v.is_empty() {
            "none".to_owned()
        } else {
            v.join(", ")
        }
    };
    out.push(format!(
        "What stops: on turning hot, the sequences {}; once sales marks the lead, the sequences {}.",
        list(&hot),
        list(&marked)
    ));
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_shipped_rule_says_when_who_how_long_and_what_stops() {
        let c = crate::config::Config::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config"),
        )
        .unwrap();
        let lines = super::handoff_rule(&c).join("\n");
        for want in [
            "A lead goes to sales when it turns hot (score 50 or more",
            "a trigger alerts sales (pricing_interest)",
            "large_companies (its condition) → team enterprise (takeda, mori, in turns)",
            "inside_sales (any lead) → rep inoue",
            "within 48 hours; the owner is reminded at 75% of that",
            "one escalation goes to kobayashi (小林 部長)",
            "on turning hot, the sequences document_followup",
            "once sales marks the lead, the sequences document_followup",
        ] {
            assert!(lines.contains(want), "{want}\n{lines}");
        }
    }
}
