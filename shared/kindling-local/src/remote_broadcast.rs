//! `kindling --api <ApiUrl> broadcast ...`: the same subcommands against a deployed stack's
//! admin API (`/admin/broadcasts`), signed with SigV4, with the same output and exit codes as
//! locally. The signing IAM principal is who acts there (`--by` is sent for the record).

use crate::broadcast_commands::{load_content, parse_at, print_row, print_test, BroadcastCommand};
use anyhow::{anyhow, Context};
use kindling::broadcasts::status::Status;
use kindling::broadcasts::{Audience, Schedule, State};
use kindling_local::remote::Remote;
use serde_json::{json, Value};

/// Runs one subcommand against the API at `api`.
pub async fn run(
    config: &kindling::Config,
    api: &str,
    command: BroadcastCommand,
    by: String,
    json: bool,
) -> anyhow::Result<()> {
    let remote = Remote::new(api).await?;
    let zone = config.program.default_zone;
    let path = |id: &str| format!("/admin/broadcasts/{}", encode(id));
    let act = |id: &str, action: &str| format!("{}/{action}", path(id));
    let by_body = json!({ "by": by });
    let status = match command {
        BroadcastCommand::Create {
            name,
            audience,
            template,
            at,
            local,
            topic,
            id,
            ab,
        } => {
            let audience = audience
                .audience()
                .context("name the audience: --segment <id>, --all or --correct <broadcast>")?;
            parse_at(&at)?;
            let content = content_body(config, &template)?;
            let body = json!({
                "id": id, "name": name, "audience": audience, "content": content,
                "at": at, "local": local, "topic": topic, "ab": ab.spec(), "by": by,
            });
            remote
                .call("POST", "/admin/broadcasts", Some(&body))
                .await?
                .ok()?
        }
        BroadcastCommand::List => {
            let body = remote.call("GET", "/admin/broadcasts", None).await?.ok()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&body["broadcasts"])?);
                return Ok(());
            }
            for row in body["broadcasts"].as_array().into_iter().flatten() {
                let state: State = serde_json::from_value(row["state"].clone())?;
                let schedule: Schedule = serde_json::from_value(row["schedule"].clone())?;
                let audience: Audience = serde_json::from_value(row["audience"].clone())?;
                print_row(
                    row["id"].as_str().unwrap_or_default(),
                    state,
                    &schedule,
                    &audience,
                    row["name"].as_str().unwrap_or_default(),
                );
            }
            return Ok(());
        }
        BroadcastCommand::Show { id } => remote.call("GET", &path(&id), None).await?.ok()?,
        BroadcastCommand::Test { id, to, as_lead } => {
            let body = json!({ "to": to, "as": as_lead, "by": by });
            let answer = remote
                .call("POST", &act(&id, "test-send"), Some(&body))
                .await?
                .ok()?;
            return print_test(&serde_json::from_value(answer)?, json);
        }
        BroadcastCommand::DryRun { id } => post(&remote, &act(&id, "dry-run"), &by_body).await?,
        BroadcastCommand::Approve { id } => post(&remote, &act(&id, "approve"), &by_body).await?,
        BroadcastCommand::Schedule { id } => post(&remote, &act(&id, "schedule"), &by_body).await?,
        BroadcastCommand::Pause { id } => post(&remote, &act(&id, "pause"), &by_body).await?,
        BroadcastCommand::Resume { id } => post(&remote, &act(&id, "resume"), &by_body).await?,
        BroadcastCommand::Confirm { id } => post(&remote, &act(&id, "confirm"), &by_body).await?,
        BroadcastCommand::Cancel { id } => post(&remote, &act(&id, "cancel"), &by_body).await?,
        BroadcastCommand::Edit {
            id,
            name,
            audience,
            template,
            at,
            local,
            topic,
            ab,
            no_ab,
        } => {
            if let Some(a) = &at {
                parse_at(a)?;
            }
            let content = template.map(|t| content_body(config, &t)).transpose()?;
            let mut body = json!({ "name": name, "audience": audience.audience(),
                "content": content, "at": at, "topic": topic, "ab": ab.spec(), "by": by });
            if no_ab {
                body["remove_ab"] = json!(true);
            }
            if at.is_some() {
                body["local"] = json!(local);
            }
            // Absent, not null, is "unchanged".
            if let Some(o) = body.as_object_mut() {
                o.retain(|_, v| !v.is_null());
            }
            post(&remote, &act(&id, "edit"), &body).await?
        }
        BroadcastCommand::Preview { id, lead, raw } => {
            let query: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("lead", &lead)
                .finish();
            let answer = remote
                .call("GET", &format!("{}/preview?{query}", path(&id)), None)
                .await?;
            if !(200..300).contains(&answer.status) {
                answer.ok()?;
                return Ok(());
            }
            if raw {
                use std::io::Write as _;
                std::io::stdout().write_all(&answer.raw)?;
            } else {
                print!("{}", kindling_local::preview::readable(&answer.raw)?);
            }
            return Ok(());
        }
        BroadcastCommand::Run => {
            return Err(anyhow!(
                "on AWS the sender runs every minute (send-steps); `broadcast show` follows it"
            ))
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        let s: Status = serde_json::from_value(status).context("the API's answer")?;
        print!("{}", crate::broadcast_show::show_text(&s, zone));
    }
    Ok(())
}

/// `content` of a create or edit body: a directory's parts, else a template's name (the
/// deployed program's own `templates/`).
fn content_body(config: &kindling::Config, template: &str) -> anyhow::Result<Value> {
    Ok(if std::path::Path::new(template).is_dir() {
        json!({ "parts": load_content(config, template)?.parts })
    } else {
        json!({ "template": template })
    })
}

async fn post(remote: &Remote, path: &str, body: &Value) -> anyhow::Result<Value> {
    remote.call("POST", path, Some(body)).await?.ok()
}

/// A path segment, percent-encoded (ids are letters, digits, `-` and `_`; anything else is
/// the API's to refuse, not the URL's to break).
fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
