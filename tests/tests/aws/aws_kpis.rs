//! What counting the KPIs costs on DynamoDB (moto): each fact (a form's activity, a send, an
//! open, a click, a bounce) is at most one write request however many counters and breakdowns
//! it adds, a redelivery adds nothing, and a year of weekly figures is a handful of queries.

use kindling::app::events::Event;
use kindling::router::Routes;
use kindling_aws::http::handle_api_request;
use kindling_aws::invocation::on_schedule;
use kindling_tests::aws::AwsEnv;

/// Write requests (not items: a transaction is one request).
fn write_requests(env: &AwsEnv) -> usize {
    env.counter
        .requests()
        .iter()
        .filter(|(op, _)| {
            matches!(
                op.as_str(),
                "PutItem" | "UpdateItem" | "DeleteItem" | "TransactWriteItems" | "BatchWriteItem"
            )
        })
        .count()
}

#[tokio::test]
async fn counting_a_fact_costs_at_most_one_write_request_and_a_redelivery_adds_nothing() {
    let Some(env) = AwsEnv::new().await else {
        return;
    };
    let rt = env.runtime().await;
    let k = &rt.kindling;
    let (_, send) = kindling_tests::aws::lead_with_first_mail(&rt).await;
    let keys = kindling::token::SigningKeys::parse(kindling_tests::aws::TEST_SIGNING_KEYS).unwrap();
    use kindling::token::Claim;
    for path in [
        format!("/t/o/{}", keys.sign(&Claim::Open(send.clone()))),
        format!("/t/c/{}", keys.sign(&Claim::Click(send.clone(), 0))),
    ] {
        let res = handle_api_request(
            k,
            Routes::Track,
            kindling_tests::aws::track_request("GET", &path, None),
        )
        .await;
        assert!(res.status().as_u16() < 400, "{path}: {:?}", res.body());
    }
    let activities: Vec<_> = env
        .bus_events()
        .await
        .into_iter()
        .filter_map(|e| {
            match Event::decode(e["detail-type"].as_str()?, &e["detail"].to_string()).ok()? {
                Event::ActivityRecorded(a) => Some(a),
                _ => None,
            }
        })
        .collect();
    let kinds: Vec<&str> = activities.iter().map(|a| a.kind.as_str()).collect();
    for kind in [
        "document_download",
        "email_sent",
        "email_open",
        "email_click",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    let kpis = k.kpis();
    for a in &activities {
        for delivery in ["first", "again"] {
            env.counter.reset();
            kindling::kpis::count_activity(&kpis, a).await.unwrap();
            eprintln!(
                "KPI counting of {} ({delivery}): {} write requests ({} items), {} reads: {:?}",
                a.kind.as_str(),
                write_requests(&env),
                env.counter.writes(),
                env.counter.reads(),
                env.counter.requests()
            );
            assert!(write_requests(&env) <= 1, "{:?}", env.counter.requests());
        }
    }
    let bounce = kindling::deliverability::Feedback {
        id: "fb-1".into(),
        kind: kindling::deliverability::FeedbackKind::SoftBounce,
        recipients: vec![kindling::email::EmailAddress::parse("taro.sato@example.co.jp").unwrap()],
        at: chrono::Utc::now(),
        counts_for_breaker: true,
    };
    for delivery in ["first", "again"] {
        env.counter.reset();
        kindling::kpis::count_feedback(&kpis, &bounce)
            .await
            .unwrap();
        eprintln!(
            "KPI counting of a bounce ({delivery}): {} write requests, {:?}",
            write_requests(&env),
            env.counter.requests()
        );
        assert!(write_requests(&env) <= 1, "{:?}", env.counter.requests());
    }

    // A year by week, with two breakdowns, to today in the program's zone (where the facts'
    // day buckets are: in UTC it is still yesterday for the first hours of Tokyo's day).
    let today = chrono::Utc::now()
        .with_timezone(&k.config.program.default_zone)
        .date_naive();
    let q = kindling::kpis::KpiQuery {
        since: Some((today - chrono::Days::new(364)).to_string()),
        until: Some(today.to_string()),
        period: None,
        by: vec!["sequence".into(), "form".into()],
    };
    env.counter.reset();
    let r = kindling::kpis::kpis(&kpis, &q).await.unwrap();
    eprintln!(
        "A year by week with 2 breakdowns on DynamoDB: {} queries, {:?}",
        env.counter.reads(),
        env.counter.requests()
    );
    assert_eq!(write_requests(&env), 0);
    assert!(
        env.counter.reads() <= 6,
        "the totals, two breakdowns, stages, nurtures, steps: {:?}",
        env.counter.requests()
    );
    // Each fact counted once however often it came.
    let t = &r.totals;
    assert_eq!(t.delivery.sent, 1);
    assert_eq!(t.delivery.bounced_soft, 1);
    assert_eq!((t.reaction.open_hits, t.reaction.click_hits), (1, 1));
    assert_eq!(t.conversion.form_submissions, 1);
    assert_eq!(t.conversion.new_leads, 1);
    assert_eq!(r.breakdowns["form"][0].figures.conversion.new_leads, 1);
    assert_eq!(r.periods.len(), 53);
}

#[tokio::test]
async fn the_weekly_digest_goes_through_ses_once_however_often_send_steps_runs() {
    let Some(env) = AwsEnv::new().await else {
        return;
    };
    let mut rt = env.runtime().await;
    let to = format!("{}@example.jp", kindling_tests::aws::unique("digest"));
    let mut config = (*rt.kindling.config).clone();
    let zone = config.program.default_zone;
    // Due today from midnight in the program's zone: whenever the test runs.
    config.digest = Some(kindling::kpis::config::Digest {
        to: vec![kindling::email::EmailAddress::parse(&to).unwrap()],
        day: chrono::Datelike::weekday(&chrono::Utc::now().with_timezone(&zone).date_naive()),
        at: chrono::NaiveTime::MIN,
    });
    rt.kindling.config = std::sync::Arc::new(config);
    rt.settings.reports = Some(env.report_archive("AKIAREPORTREADER").await);
    let rt = rt.with_reports().await.unwrap();
    let mailer = rt.mailer().await;
    let first = on_schedule(&rt.kindling, &mailer, 10).await.unwrap();
    let first = first.digest.unwrap();
    assert_eq!(first.sent, std::slice::from_ref(&to));
    assert!(first.linked);
    for _ in 0..2 {
        let again = on_schedule(&rt.kindling, &mailer, 10).await.unwrap();
        let again = again.digest.unwrap();
        assert!(again.sent.is_empty() && !again.linked, "no second report");
    }
    let mails: Vec<String> = env
        .sent_mail()
        .into_iter()
        .filter(|(dest, _)| dest.contains(&to))
        .map(|(_, raw)| raw)
        .collect();
    assert_eq!(mails.len(), 1, "one digest through SES");
    assert!(
        mails[0].contains("Subject: =?utf-8?"),
        "{}",
        &mails[0][..400.min(mails[0].len())]
    );
    // The digest links the week's report in the bucket: a GET presigned for seven days with
    // the reader's key (not the function's credentials, which expire within hours).
    let mail = mail_parser::MessageParser::default()
        .parse(mails[0].as_bytes())
        .unwrap();
    let text = mail.body_text(0).unwrap();
    let link = text
        .lines()
        .find(|l| l.starts_with("http"))
        .unwrap_or_else(|| panic!("a report link in {text}"));
    let day = first.day.unwrap();
    let bucket = &rt.settings.reports.as_ref().unwrap().bucket;
    assert!(
        link.contains(&format!("/{bucket}/reports/{day}.html?")),
        "{link}"
    );
    assert!(link.contains("X-Amz-Expires=604800"), "{link}");
    assert!(
        link.contains("X-Amz-Credential=AKIAREPORTREADER%2F"),
        "{link}"
    );
    let path = link.strip_prefix(env.endpoint.as_str()).unwrap();
    let page = kindling_tests::aws::http_get(&env.endpoint, path);
    assert!(
        page.starts_with("<!DOCTYPE html>") && page.contains("<script id=\"kpis\""),
        "{:.300}",
        page
    );
}

/// `GET /admin/report` on the intake function (API Gateway has checked the caller's IAM
/// signature): the page, as HTML with its headers; a bad query is a 400 that writes nothing.
#[tokio::test]
async fn the_report_page_is_served_to_iam_callers_by_intake() {
    let Some(env) = AwsEnv::new().await else {
        return;
    };
    let rt = env.runtime().await;
    let get = |path: &str| {
        let mut req = http::Request::builder()
            .method("GET")
            .uri(path)
            .body(bytes::Bytes::new())
            .unwrap();
        req.extensions_mut().insert(kindling::web::ClientInfo {
            ip: None,
            principal: Some("arn:aws:iam::123456789012:user/marketer".into()),
        });
        kindling::router::handle(&rt.kindling, Routes::Intake, req)
    };
    env.counter.reset();
    let res = get("/admin/report?since=2026-09-01&period=month").await;
    assert_eq!(res.status(), 200);
    let h = res.headers();
    assert_eq!(h["content-type"], "text/html; charset=utf-8");
    assert_eq!(h["cache-control"], "no-store");
    assert!(h["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
    let page = std::str::from_utf8(res.body()).unwrap();
    assert!(page.contains("\"period\":\"month\""), "{:.300}", page);
    for bad in [
        "/admin/report?period=day",
        "/admin/report?since=2026-02-30",
        "/admin/report?by=step",
    ] {
        assert_eq!(get(bad).await.status(), 400, "{bad}");
    }
    assert_eq!(env.counter.writes(), 0, "{:?}", env.counter.requests());
}
