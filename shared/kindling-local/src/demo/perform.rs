//! One step of the scenario, done as a browser or a mail client would: the request it sends.

use super::scenario::{Act, MailRef, Person, Scenario, Unsubscribe};
use crate::app::LocalApp;
use anyhow::{bail, Context};
use bytes::Bytes;
use kindling::email::EmailAddress;
use kindling::message::MessageKey;
use kindling::token::Claim;

pub(super) async fn lead_of(app: &LocalApp, p: &Person) -> anyhow::Result<kindling::leads::Lead> {
    let email = EmailAddress::parse(&p.email)?;
    app.kindling
        .stores
        .leads
        .find_lead_by_email(&email)
        .await?
        .with_context(|| format!("no lead for {}", p.email))
}

async fn message_key(app: &LocalApp, p: &Person, mail: &MailRef) -> anyhow::Result<MessageKey> {
    let lead = lead_of(app, p).await?;
    let enrollments = app
        .kindling
        .stores
        .enrollments
        .enrollments_of_lead(&lead.id)
        .await?;
    let e = enrollments
        .iter()
        .find(|e| e.sequence_id == mail.sequence)
        .with_context(|| format!("{} is not enrolled in {}", p.email, mail.sequence))?;
    Ok(MessageKey::Step {
        lead_id: lead.id.clone(),
        enrollment_id: e.id.clone(),
        step: mail.step,
    })
}

fn request(
    method: &str,
    uri: &str,
    content_type: Option<&str>,
    body: String,
) -> anyhow::Result<http::Request<Bytes>> {
    let mut b = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("user-agent", "Mozilla/5.0 (demo)");
    if let Some(ct) = content_type {
        b = b.header("content-type", ct);
    }
    Ok(b.body(Bytes::from(body))?)
}

pub(super) async fn perform(
    app: &LocalApp,
    scenario: &Scenario,
    p: &Person,
    act: &Act,
) -> anyhow::Result<String> {
    let site = &scenario.site;
    let keys = &app.kindling.keys;
    let now = app.kindling.clock.now();
    let (req, what) = match act {
        Act::Visit(path) => {
            let body = serde_json::json!({
                "visitor_id": p.visitor,
                "events": [{ "id": format!("pv{}", now.timestamp()), "type": "page_view", "url": format!("{site}{path}"), "at": now, "tz": p.zone }]
            });
            (
                request("POST", "/t/events", Some("text/plain"), body.to_string())?,
                format!("visits {path}"),
            )
        }
        Act::StartForm { page: path, form } => {
            let body = serde_json::json!({
                "visitor_id": p.visitor,
                "events": [
                    { "id": format!("pv{}", now.timestamp()), "type": "page_view", "url": format!("{site}{path}"), "at": now, "tz": p.zone },
                    { "id": format!("fs{}", now.timestamp()), "type": "form_start", "form_id": form, "url": format!("{site}{path}"), "at": now }
                ]
            });
            (
                request("POST", "/t/events", Some("text/plain"), body.to_string())?,
                format!("visits {path}, starts form {form} and leaves without sending it"),
            )
        }
        Act::Submit(form) => {
            let optional = [
                ("industry", p.industry.as_deref()),
                ("company_size", p.company_size.as_deref()),
            ];
            let fields = [
                ("email", p.email.as_str()),
                ("name", &p.name),
                ("company", &p.company),
                ("title", &p.title),
                ("time_zone", &p.zone),
                ("language", &p.language),
                ("visitor_id", &p.visitor),
                ("consent", "on"),
            ]
            .into_iter()
            .chain(optional.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))));
            let body = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(fields)
                .finish();
            (
                request(
                    "POST",
                    &format!("/forms/{form}"),
                    Some("application/x-www-form-urlencoded"),
                    body,
                )?,
                format!("submits form {form}"),
            )
        }
        Act::Open(mail) => {
            let step = mail.step;
            let token = keys.sign(&Claim::Open(message_key(app, p, mail).await?));
            (
                request("GET", &format!("/t/o/{token}"), None, String::new())?,
                format!("opens step {step} mail"),
            )
        }
        Act::ProxyOpen(mail) => {
            let step = mail.step;
            let token = keys.sign(&Claim::Open(message_key(app, p, mail).await?));
            let mut req = request("GET", &format!("/t/o/{token}"), None, String::new())?;
            req.headers_mut().insert(
                http::header::USER_AGENT,
                http::HeaderValue::from_static("Mozilla/5.0"),
            );
            req.extensions_mut().insert(kindling::web::ClientInfo {
                ip: Some("17.58.101.3".into()),
                ..Default::default()
            });
            (
                req,
                format!("Apple Mail's privacy proxy fetches step {step} mail's images (machine open: 0 points)"),
            )
        }
        Act::Click {
            sequence,
            step,
            link,
        } => {
            let mail = MailRef {
                sequence: sequence.clone(),
                step: *step,
            };
            let token = keys.sign(&Claim::Click(message_key(app, p, &mail).await?, *link));
            (
                request("GET", &format!("/t/c/{token}"), None, String::new())?,
                format!("clicks link {link} in step {step} mail"),
            )
        }
        Act::LeaveTopics(leave) => {
            let lead = lead_of(app, p).await?;
            let token = keys.sign(&Claim::Unsubscribe(lead.id.clone(), None));
            let mut body = "action=save".to_owned();
            for t in &app.kindling.config.deliverability.topics {
                if !leave.iter().any(|l| *l == *t.id) && !lead.preferences.left(&t.id) {
                    body.push_str(&format!("&topic={}", t.id));
                }
            }
            (
                request(
                    "POST",
                    &format!("/u/{token}"),
                    Some("application/x-www-form-urlencoded"),
                    body,
                )?,
                format!("leaves {} on the preference page", leave.join(", ")),
            )
        }
        Act::Unsubscribe(how) => {
            let token = keys.sign(&Claim::Unsubscribe(lead_of(app, p).await?.id, None));
            if *how == Unsubscribe::Page {
                (
                    request("GET", &format!("/u/{token}"), None, String::new())?,
                    "opens the unsubscribe page (no change)".to_owned(),
                )
            } else {
                let body = "List-Unsubscribe=One-Click".to_owned();
                (
                    request(
                        "POST",
                        &format!("/u/{token}"),
                        Some("application/x-www-form-urlencoded"),
                        body,
                    )?,
                    "unsubscribes (one click)".to_owned(),
                )
            }
        }
    };
    let res = app.http(req).await;
    if !(res.status().is_success() || res.status().is_redirection()) {
        bail!(
            "{} {what}: HTTP {} {}",
            p.email,
            res.status(),
            String::from_utf8_lossy(res.body())
        );
    }
    app.pump().await?;
    let lead = lead_of(app, p).await.ok();
    let now = app.kindling.clock.now();
    let score = lead
        .map(|l| {
            // What this step moved: a stage reached, a segment entered.
            let mut moved = String::new();
            for c in l.stage_changes.iter().filter(|c| c.at == now) {
                if let Some(to) = &c.to {
                    moved.push_str(&format!("  → stage {to}"));
                }
            }
            for (seg, _) in l.segments.iter().filter(|(_, m)| m.since == now) {
                moved.push_str(&format!("  ⊕ segment {seg}"));
            }
            format!("  [score {} {}]{moved}", l.score.total, l.score.temperature)
        })
        .unwrap_or_default();
    Ok(format!("{what} -> {}{score}", res.status().as_u16()))
}
