use super::*;
use crate::activities::log::clean_log;
use crate::activities::{Attrs, Subject};
use crate::config::tests::{errors_of, shipped, shipped_toml};
use crate::email::EmailAddress;
use crate::ids::{EnrollmentId, LeadId};
use crate::leads::{Consent, Profile, SalesMark};
use chrono::TimeZone;
use proptest::prelude::*;

fn t(min: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 1, 0, 0).unwrap() + Duration::minutes(min)
}
const DAY: i64 = 1440;

fn act(id: &str, kind: ActivityKind, min: i64, attrs: Attrs) -> Activity {
    Activity {
        id: ActivityId::new(id),
        subject: Subject::Lead(LeadId::new("L1")),
        kind,
        at: t(min),
        attrs,
    }
}
fn page(id: &str, cat: &str, min: i64) -> Activity {
    let attrs = Attrs {
        page_category: Some(cat.into()),
        ..Attrs::default()
    };
    act(id, ActivityKind::PageView, min, attrs)
}
fn mail(id: &str, kind: ActivityKind, step: u32, min: i64) -> Activity {
    let attrs = Attrs {
        sequence_id: Some("document_followup".into()),
        enrollment_id: Some(EnrollmentId::new("E1")),
        step: Some(step),
        ..Attrs::default()
    };
    act(id, kind, min, attrs)
}

fn lead() -> Lead {
    let mut l = Lead::new(
        LeadId::new("L1"),
        EmailAddress::parse("sato@kaisha-a.co.jp").unwrap(),
        t(0),
    );
    l.profile = Profile {
        industry: Some("製造業".into()),
        title: Some("営業本部長".into()),
        company_size: Some("250名".into()),
        ..Profile::default()
    };
    l
}
fn facts(lead: &Lead) -> Facts<'_> {
    Facts {
        lead,
        total: 40,
        fit: 15,
        engagement: 25,
        temperature: Temperature::Warm,
        mql: false,
        stage: None,
    }
}
fn eval(c: &Cond, lead: &Lead, log: &[Activity], now: i64) -> Verdict {
    c.evaluate(&facts(lead), &clean_log(log, t(now)), t(now))
}
fn pricing(n: u32, days: i64) -> Cond {
    Cond::Did {
        matcher: Matcher {
            kind: ActivityKind::PageView,
            page_category: Some("pricing".into()),
            form_id: None,
            url: None,
        },
        at_least: n,
        within: Some(Duration::days(days)),
    }
}

/// The shipped seed segment.
fn seed() -> Segment {
    shipped()
        .segments
        .into_iter()
        .find(|s| s.id == "manufacturing_managers_pricing")
        .unwrap()
}

#[test]
fn the_seed_segment_takes_a_manufacturing_manager_at_the_third_pricing_view() {
    let seg = seed();
    let l = lead();
    let mut log = vec![page("p1", "pricing", 0), page("p2", "pricing", DAY)];
    let v = seg.evaluate(&facts(&l), &clean_log(&log, t(DAY)), t(DAY));
    assert!(!v.member);
    log.push(page("p3", "pricing", 2 * DAY));
    let v = seg.evaluate(&facts(&l), &clean_log(&log, t(2 * DAY)), t(2 * DAY));
    assert!(v.member);
    assert_eq!(v.evidence, ["p1", "p2", "p3"].map(ActivityId::new));
    // It leaves when the first view is 30 days old, unless another comes.
    assert_eq!(v.changes_at, Some(t(30 * DAY)));
    // A manager in another industry is not in it.
    let mut other = lead();
    other.profile.industry = Some("retail".into());
    assert!(
        !seg.evaluate(&facts(&other), &clean_log(&log, t(2 * DAY)), t(2 * DAY))
            .member
    );
}

#[test]
fn attribute_score_temperature_consent_and_sales_conditions() {
    let mut l = lead();
    let attr = |field, test| Cond::Attr { field, test };
    assert!(
        eval(
            &attr(Field::CompanySize, Test::Between(100, 999)),
            &l,
            &[],
            0
        )
        .member
    );
    assert!(
        !eval(
            &attr(Field::Region, Test::AnyOf(vec!["関東".into()])),
            &l,
            &[],
            0
        )
        .member
    );
    assert!(
        eval(
            &attr(
                Field::EmailDomain,
                Test::AnyOf(vec!["kaisha-a.co.jp".into()])
            ),
            &l,
            &[],
            0
        )
        .member
    );
    let score = |of, at_least, below| Cond::Score {
        of,
        at_least,
        below,
    };
    assert!(eval(&score(Measure::Total, Some(40), None), &l, &[], 0).member);
    assert!(!eval(&score(Measure::Total, None, Some(40)), &l, &[], 0).member);
    assert!(eval(&score(Measure::Fit, Some(10), Some(20)), &l, &[], 0).member);
    assert!(!eval(&score(Measure::Engagement, Some(30), None), &l, &[], 0).member);
    assert!(
        eval(
            &Cond::Temperature(vec![Temperature::Warm, Temperature::Hot]),
            &l,
            &[],
            0
        )
        .member
    );
    assert!(eval(&Cond::Mql(false), &l, &[], 0).member);
    assert!(eval(&Cond::Consent(false), &l, &[], 0).member);
    l.consent = Some(Consent {
        at: t(0),
        form_id: "whitepaper".into(),
        text_version: "v1".into(),
        source_ip: None,
        user_agent: None,
    });
    assert!(eval(&Cond::Consent(true), &l, &[], 0).member);
    l.unsubscribed_at = Some(t(1));
    assert!(!eval(&Cond::Consent(true), &l, &[], 2).member);
    assert!(eval(&Cond::SalesStatus(vec![None]), &l, &[], 0).member);
    l.sales = Some(SalesMark {
        status: SalesStatus::Working,
        at: t(0),
        note: None,
        amount: None,
    });
    assert!(!eval(&Cond::SalesStatus(vec![None]), &l, &[], 0).member);
    assert!(
        eval(
            &Cond::SalesStatus(vec![Some(SalesStatus::Working)]),
            &l,
            &[],
            0
        )
        .member
    );
}

#[test]
fn mail_conditions_count_people_only() {
    let l = lead();
    let sent: Vec<Activity> = (0..3)
        .map(|i| {
            mail(
                &format!("s{i}"),
                ActivityKind::EmailSent,
                i,
                i as i64 * 3 * DAY,
            )
        })
        .collect();
    let unopened = Cond::Unopened(3);
    assert!(eval(&unopened, &l, &sent, 7 * DAY).member);
    assert!(
        !eval(&Cond::Unopened(4), &l, &sent, 7 * DAY).member,
        "only three mails"
    );
    let mut opened = sent.clone();
    opened.push(mail("o1", ActivityKind::EmailOpen, 1, 4 * DAY));
    assert!(!eval(&unopened, &l, &opened, 7 * DAY).member);
    let recent_open = Cond::Engaged {
        clicks: false,
        recent: Recent::Within(Duration::days(7)),
    };
    let v = eval(&recent_open, &l, &opened, 7 * DAY);
    assert!(v.member);
    assert_eq!(v.changes_at, Some(t(11 * DAY)));
    let last_two = Cond::Engaged {
        clicks: false,
        recent: Recent::LastMails(2),
    };
    assert!(eval(&last_two, &l, &opened, 7 * DAY).member);
    let clicked = Cond::Engaged {
        clicks: true,
        recent: Recent::LastMails(3),
    };
    assert!(!eval(&clicked, &l, &opened, 7 * DAY).member);
    // Apple's proxy fetching the images is no open: the cleaned log drops it.
    let mut proxy = sent.clone();
    let mut machine = mail("m1", ActivityKind::EmailOpen, 2, 6 * DAY);
    machine.attrs.agent = Some(crate::activities::classify::Agent::MachineOpen);
    proxy.push(machine);
    assert!(eval(&unopened, &l, &proxy, 7 * DAY).member);
}

#[test]
fn all_any_and_not_combine_answers_evidence_and_recheck_times() {
    let l = lead();
    let log = vec![
        page("p1", "pricing", 0),
        page("p2", "pricing", DAY),
        page("c1", "case_study", 2 * DAY),
    ];
    let case = Cond::Did {
        matcher: Matcher {
            kind: ActivityKind::PageView,
            page_category: Some("case_study".into()),
            form_id: None,
            url: None,
        },
        at_least: 1,
        within: Some(Duration::days(3)),
    };
    let all = Cond::All(vec![pricing(2, 7), case.clone()]);
    let v = eval(&all, &l, &log, 2 * DAY);
    assert!(v.member);
    assert_eq!(v.evidence.len(), 3);
    assert_eq!(
        v.changes_at,
        Some(t(5 * DAY)),
        "the case-study view leaves first"
    );
    let any = Cond::Any(vec![pricing(5, 7), case.clone()]);
    let v = eval(&any, &l, &log, 2 * DAY);
    assert!(v.member);
    assert_eq!(v.evidence, vec![ActivityId::new("c1")]);
    let not = Cond::Not(Box::new(case));
    let v = eval(&not, &l, &log, 2 * DAY);
    assert!(!v.member);
    assert_eq!(v.changes_at, Some(t(5 * DAY)), "and enters when it leaves");
    assert!(eval(&not, &l, &log, 5 * DAY).member);
    // Without a window, an activity counts for ever.
    let ever = Cond::Did {
        matcher: Matcher {
            kind: ActivityKind::PageView,
            page_category: Some("case_study".into()),
            form_id: None,
            url: None,
        },
        at_least: 1,
        within: None,
    };
    let v = eval(&ever, &l, &log, 400 * DAY);
    assert!(v.member && v.changes_at.is_none());
}

#[test]
fn the_shipped_segments_load_and_bad_ones_name_their_line() {
    let c = shipped();
    let ids: Vec<&str> = c.segments.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "manufacturing_managers_pricing",
            "it_decision_makers",
            "warm_stopped_opening"
        ]
    );
    let base = shipped_toml();
    let line = base.lines().count() + 1;
    let bad = |body: &str| errors_of(&format!("{base}\n{body}"));
    let e = bad("[[segments]]\nid = \"x\"\n[segments.when]\nkind = \"page_view\"\npage_category = \"nope\"\n");
    assert!(
        e.iter()
            .any(|e| e.contains(&format!(":{}:", line + 5))
                && e.contains("unknown category \"nope\"")),
        "{e:?}"
    );
    let e =
        bad("[[segments]]\nid = \"x\"\nwhen = { industry = { any_of = [\"a\"] }, mql = true }\n");
    assert!(
        e.iter()
            .any(|e| e.contains("exactly one of") && e.contains("(2 given)")),
        "{e:?}"
    );
    let e = bad("[[segments]]\nid = \"x\"\nwhen = { all = [{ temperature = [\"lukewarm\"] }] }\n");
    assert!(
        e.iter()
            .any(|e| e.contains("\"lukewarm\" is not one of cold, warm or hot")),
        "{e:?}"
    );
    let e = bad("[[segments]]\nid = \"x\"\nwhen = { opened = { within = \"30d\", last = 3 } }\n");
    assert!(e.iter().any(|e| e.contains("not both")), "{e:?}");
    let e = bad("[[segments]]\nid = \"x\"\nwhen = { title = { between = [9, 1] } }\n");
    assert!(
        e.iter().any(|e| e.contains("segments.title: give one of")),
        "{e:?}"
    );
    let e = bad("[[segments]]\nid = \"x\"\nwhen = { page_category = \"pricing\" }\n");
    assert!(e.iter().any(|e| e.contains("go with kind")), "{e:?}");
    let e = bad("[[segments]]\nid = \"x\"\nwhen = { hue = 3 }\n");
    assert!(
        e.iter()
            .any(|e| e.contains(&format!(":{}:", line + 3)) && e.contains("unknown field `hue`")),
        "{e:?}"
    );
    let e = bad("[[segments]]\nid = \"x\"\nwhen = { industry = { anyof = [\"a\"] } }\n");
    assert!(
        e.iter().any(|e| e.contains("unknown field `anyof`")),
        "{e:?}"
    );
    let e = bad("[[segments]]\nid = \"it_decision_makers\"\nwhen = { mql = true }\n");
    assert!(
        e.iter().any(|e| e.contains("duplicate segment id")),
        "{e:?}"
    );
}

fn arb_log() -> impl Strategy<Value = Vec<Activity>> {
    prop::collection::vec((0..4u8, 0..(40 * DAY)), 0..30).prop_map(|xs| {
        xs.into_iter()
            .enumerate()
            .map(|(i, (k, at))| {
                let id = format!("a{i}");
                match k {
                    0 | 1 => page(&id, "pricing", at),
                    2 => page(&id, "case_study", at),
                    _ => mail(&id, ActivityKind::EmailOpen, 0, at),
                }
            })
            .collect()
    })
}

fn arb_cond() -> impl Strategy<Value = Cond> {
    let leaf = prop_oneof![
        (1..5u32, 1..30i64).prop_map(|(n, d)| pricing(n, d)),
        (1..20i64).prop_map(|d| Cond::Engaged {
            clicks: false,
            recent: Recent::Within(Duration::days(d))
        }),
        Just(Cond::Attr {
            field: Field::Industry,
            test: Test::AnyOf(vec!["製造業".into()])
        }),
        Just(Cond::Temperature(vec![Temperature::Hot])),
    ];
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..3).prop_map(Cond::All),
            prop::collection::vec(inner.clone(), 1..3).prop_map(Cond::Any),
            inner.prop_map(|c| Cond::Not(Box::new(c))),
        ]
    })
}

proptest! {
    /// Membership is a function of the set of activities: their order and any duplicates (a
    /// redelivery, even with another timestamp later than the first) change nothing.
    #[test]
    fn membership_ignores_order_and_duplicates(
        log in arb_log(),
        cond in arb_cond(),
        now in 0..(45 * DAY),
        seed in any::<u64>(),
    ) {
        let l = lead();
        let want = eval(&cond, &l, &log, now);
        let mut shuffled = log.clone();
        let n = shuffled.len();
        for i in 0..n {
            let j = (seed as usize).wrapping_mul(i + 7) % n.max(1);
            shuffled.swap(i, j);
        }
        let mut dup: Vec<Activity> = shuffled.iter().take(3).cloned().collect();
        for d in &mut dup {
            d.at += Duration::minutes(5);
        }
        shuffled.extend(dup);
        prop_assert_eq!(eval(&cond, &l, &shuffled, now), want);
    }

    /// A windowed condition keeps its answer until `changes_at` and changes it exactly then,
    /// with no new activity.
    #[test]
    fn a_windowed_answer_changes_exactly_when_its_window_expires(
        log in arb_log(),
        n in 1..4u32,
        days in 1..20i64,
        now in 0..(40 * DAY),
    ) {
        let l = lead();
        let cond = pricing(n, days);
        let v = eval(&cond, &l, &log, now);
        if let Some(at) = v.changes_at {
            prop_assert!(v.member && at > t(now));
            let minute_before = (at - t(0)).num_minutes() - 1;
            prop_assert!(eval(&cond, &l, &log, minute_before).member);
            let at_min = (at - t(0)).num_minutes();
            // The activities after `now` are not there yet at `now`; the expiry is of those the
            // answer at `now` rests on.
            let past: Vec<Activity> = log.iter().filter(|a| a.at <= t(now)).cloned().collect();
            prop_assert!(!eval(&cond, &l, &past, at_min).member);
        } else {
            prop_assert!(!v.member);
        }
    }
}

fn segment(i: usize, when: Cond) -> Segment {
    Segment {
        id: format!("s{i}").into(),
        label: None,
        when,
        definition: serde_json::Value::Null,
    }
}

proptest! {
    /// Membership kept incrementally, as the system keeps it (a rescore when the lead is
    /// created, at each activity and at each recheck a windowed condition asks for, each comparing with what the last one stored),
    /// equals a full evaluation of every segment over the whole log at the end; and each
    /// segment's entries and departures alternate, starting with an entry.
    #[test]
    fn incremental_membership_equals_a_full_evaluation(
        mut log in arb_log(),
        conds in prop::collection::vec(arb_cond(), 1..4),
        end in 0..(45 * DAY),
    ) {
        use super::membership::{plan, Move};
        log.sort_by_key(|a| a.at);
        let segments: Vec<Segment> =
            conds.into_iter().enumerate().map(|(i, c)| segment(i, c)).collect();
        let l = lead();
        let f = facts(&l);
        let end = t(end);
        let mut stored = std::collections::BTreeMap::new();
        let mut moves: Vec<Move> = Vec::new();
        // The lead is rescored when it is created (t(0)), then at each activity and recheck.
        let mut recheck = Some(t(0));
        let mut next = 0;
        loop {
            let activity_at = log.get(next).map(|a| a.at).filter(|at| *at <= end);
            let at = match (activity_at, recheck.filter(|r| *r <= end)) {
                (Some(a), Some(r)) => a.min(r),
                (a, r) => match a.or(r) {
                    Some(x) => x,
                    None => break,
                },
            };
            while log.get(next).is_some_and(|a| a.at <= at) {
                next += 1;
            }
            let seen = clean_log(&log[..next], at);
            let c = plan(&segments, &stored, &f, &seen, at);
            moves.extend(c.moves);
            stored = c.members;
            recheck = c.changes_at.filter(|r| *r > at);
        }
        let full = clean_log(&log[..next], end);
        let want: Vec<&str> = segments
            .iter()
            .filter(|s| s.evaluate(&f, &full, end).member)
            .map(|s| s.id.as_str())
            .collect();
        let got: Vec<&str> = stored.keys().map(|k| k.as_str()).collect();
        prop_assert_eq!(got, want);
        for s in &segments {
            let mine: Vec<bool> = moves
                .iter()
                .filter(|m| m.segment() == &s.id)
                .map(|m| matches!(m, Move::Entered { .. }))
                .collect();
            for (i, entered) in mine.iter().enumerate() {
                prop_assert_eq!(*entered, i % 2 == 0, "{:?}", mine);
            }
        }
    }
}

fn stage(id: &str, when: Cond, fall_back: bool) -> super::stages::Stage {
    super::stages::Stage {
        id: id.into(),
        label: None,
        when,
        fall_back,
    }
}

#[test]
fn a_lead_moves_forward_to_the_furthest_stage_it_meets_with_evidence_and_never_back() {
    use super::stages::next_stage;
    let visit = Cond::Did {
        matcher: Matcher {
            kind: ActivityKind::PageView,
            page_category: None,
            form_id: None,
            url: None,
        },
        at_least: 1,
        within: None,
    };
    let stages = [
        stage("awareness", visit, false),
        stage("consideration", pricing(2, 30), false),
    ];
    let l = lead();
    let f = facts(&l);
    let step = |log: &[Activity], current: Option<&str>, now: i64| {
        let current = current.map(crate::ids::StageId::from);
        next_stage(
            &stages,
            current.as_ref(),
            &f,
            &clean_log(log, t(now)),
            t(now),
        )
    };
    let one = vec![page("p1", "pricing", 0)];
    let c = step(&one, None, 0).unwrap();
    assert_eq!((c.from, c.to.as_deref()), (None, Some("awareness")));
    assert_eq!(c.evidence, vec![ActivityId::new("p1")]);
    assert_eq!(step(&one, Some("awareness"), 0), None, "nothing new");
    let two = vec![page("p1", "pricing", 0), page("p2", "pricing", DAY)];
    let c = step(&two, Some("awareness"), DAY).unwrap();
    assert_eq!(c.to.as_deref(), Some("consideration"));
    assert_eq!(c.evidence.len(), 2);
    // Forty days on the pricing views have left the window: it stays in consideration.
    assert_eq!(step(&two, Some("consideration"), 40 * DAY), None);
    // Unless the stage falls back: then to the furthest earlier stage it still meets.
    let falling = [
        stage("awareness", stages[0].when.clone(), false),
        stage("consideration", pricing(2, 30), true),
    ];
    let back = next_stage(
        &falling,
        Some(&"consideration".into()),
        &f,
        &clean_log(&two, t(40 * DAY)),
        t(40 * DAY),
    )
    .unwrap();
    assert_eq!(back.to.as_deref(), Some("awareness"));
    // A stage that is no longer in the program: the lead takes the furthest it meets.
    assert_eq!(
        step(&two, Some("retired"), DAY).unwrap().to.as_deref(),
        Some("consideration")
    );
}

#[test]
fn the_shipped_stages_are_the_four_of_the_buying_process() {
    let c = shipped();
    let stages: Vec<(&str, Option<&str>)> = c
        .stages
        .iter()
        .map(|s| (s.id.as_str(), s.label.as_deref()))
        .collect();
    assert_eq!(
        stages,
        [
            ("awareness", Some("認知")),
            ("interest", Some("興味")),
            ("consideration", Some("比較検討")),
            ("decision", Some("決定"))
        ]
    );
    let e = errors_of(&format!(
        "{}\n[[stages]]\nid = \"awareness\"\nwhen = {{ mql = true }}\n",
        shipped_toml()
    ));
    assert!(e.iter().any(|e| e.contains("duplicate stage id")), "{e:?}");
}
