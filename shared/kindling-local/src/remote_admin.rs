//! `kindling --api <ApiUrl> sending ...` and `lead mark`: the breaker and sales marks of a
//! deployed stack through its admin API, signed, with the local output and exit codes.

use crate::commands::{print_resumed, print_sending};
use crate::SendingCommand;
use kindling_local::remote::Remote;
use serde_json::json;

/// `sending` and `sending resume` against the API.
pub async fn sending(api: &str, command: Option<SendingCommand>, json: bool) -> anyhow::Result<()> {
    let remote = Remote::new(api).await?;
    match command {
        None => {
            let body = remote.call("GET", "/admin/sending", None).await?.ok()?;
            print_sending(&serde_json::from_value(body)?, json)
        }
        Some(SendingCommand::Resume { note }) => {
            let body = json!({ "note": note });
            let answer = remote
                .call("POST", "/admin/sending/resume", Some(&body))
                .await?
                .ok()?;
            print_resumed(&serde_json::from_value(answer)?, json)
        }
    }
}

/// `lead mark` against the API.
pub async fn lead_mark(
    api: &str,
    lead: &str,
    status: &str,
    note: Option<String>,
) -> anyhow::Result<()> {
    let remote = Remote::new(api).await?;
    let sales = kindling::leads::SalesStatus::parse(status).ok_or_else(|| {
        anyhow::anyhow!("{status:?} is not one of working, won, lost, disqualified")
    })?;
    let path = format!(
        "/admin/leads/{}/sales",
        form_urlencoded::byte_serialize(lead.as_bytes()).collect::<String>()
    );
    let body = json!({ "status": status, "note": note });
    let answer = remote.call("POST", &path, Some(&body)).await?;
    if answer.status == 404 {
        anyhow::bail!("no lead {lead}");
    }
    let answer = answer.ok()?;
    println!(
        "{} marked {sales:?}",
        answer["email"].as_str().unwrap_or(lead)
    );
    Ok(())
}

/// `lead show` against the API.
pub async fn lead_show(
    config: &kindling::Config,
    api: &str,
    lead: &str,
    json: bool,
) -> anyhow::Result<()> {
    let remote = Remote::new(api).await?;
    let answer = remote.call("GET", &lead_path(lead), None).await?;
    if answer.status == 404 {
        anyhow::bail!("no lead {lead}");
    }
    let report: kindling::admin::LeadReport = serde_json::from_value(answer.ok()?)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!(
            "{}",
            kindling_local::inspect::lead_text(&report, config.program.default_zone)
        );
    }
    Ok(())
}

fn lead_path(lead: &str) -> String {
    format!(
        "/admin/leads/{}",
        form_urlencoded::byte_serialize(lead.as_bytes()).collect::<String>()
    )
}

/// `segment list | show | members` against the API (`rebuild` is the score function's
/// `rebuild_segments` invocation there).
pub async fn segment(
    config: &kindling::Config,
    api: &str,
    command: crate::SegmentCommand,
    json: bool,
) -> anyhow::Result<()> {
    use crate::segment_commands::{print_list, print_members, print_show};
    use crate::SegmentCommand as S;
    let remote = Remote::new(api).await?;
    let zone = config.program.default_zone;
    let path = |id: &str| {
        format!(
            "/admin/segments/{}",
            form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>()
        )
    };
    match command {
        S::List => {
            let body = remote.call("GET", "/admin/segments", None).await?.ok()?;
            let list: Vec<kindling::admin::segments::SegmentSummary> =
                serde_json::from_value(body["segments"].clone())?;
            print_list(&list, json)
        }
        S::Show { segment } => {
            let body = remote
                .call("GET", &format!("{}?limit=1", path(&segment)), None)
                .await?
                .ok()?;
            print_show(&serde_json::from_value(body)?, zone, json)
        }
        S::Members { segment } => {
            let mut all = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let query = match &after {
                    Some(c) => format!(
                        "?limit={}&after={}",
                        kindling::admin::segments::MAX_MEMBERS_PAGE,
                        form_urlencoded::byte_serialize(c.as_bytes()).collect::<String>()
                    ),
                    None => format!("?limit={}", kindling::admin::segments::MAX_MEMBERS_PAGE),
                };
                let body = remote
                    .call("GET", &format!("{}{query}", path(&segment)), None)
                    .await?
                    .ok()?;
                let view: kindling::admin::segments::SegmentView = serde_json::from_value(body)?;
                all.extend(view.members);
                match view.next {
                    Some(c) => after = Some(c),
                    None => break,
                }
            }
            print_members(&all, zone, json)
        }
        S::Rebuild { .. } => anyhow::bail!(
            "on AWS a rebuild is the score function's rebuild_segments invocation (see README: Rescoring on AWS)"
        ),
    }
}
