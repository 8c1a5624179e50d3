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
