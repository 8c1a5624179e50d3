//! The local notifier: each alert (sales, support, ops) is appended to `alerts.jsonl` and printed;
//! an alert about a lead with an owner (`[[routing]]`) is also mailed to that rep, into the
//! outbox.

use async_trait::async_trait;
use kindling::alerts::ports::{Alert, Notifier, OpsAlert};
use kindling::email::EmailAddress;
use kindling::error::PortError;
use kindling::sending::ports::{Mailer, OutgoingMail};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

/// Appends alerts as JSON lines to a file; optionally prints them for people.
pub struct JsonlNotifier {
    path: PathBuf,
    print: bool,
    /// Mails an owner's alert to the owner, from this address.
    owners: Option<(Arc<dyn Mailer>, EmailAddress)>,
}

impl JsonlNotifier {
    /// A notifier writing to `path`; `print` also writes a readable alert to stderr.
    pub fn new(path: PathBuf, print: bool) -> Self {
        Self {
            path,
            print,
            owners: None,
        }
    }

    /// Also mails each alert that has an owner to the owner through `mailer`, from `from`.
    pub fn mailing_owners(mut self, mailer: Arc<dyn Mailer>, from: EmailAddress) -> Self {
        self.owners = Some((mailer, from));
        self
    }

    /// The alert as a plain-text mail to its owner.
    async fn mail_owner(&self, alert: &Alert) -> Result<(), PortError> {
        let (Some((mailer, from)), Some(owner)) = (&self.owners, &alert.owner) else {
            return Ok(());
        };
        let addr = |e: &EmailAddress| {
            e.as_str()
                .parse::<lettre::Address>()
                .map_err(|e| PortError::new("alert mail", e))
        };
        let id: String = alert
            .key
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let raw = lettre::Message::builder()
            .from(lettre::message::Mailbox::new(
                Some("Kindling".into()),
                addr(from)?,
            ))
            .to(lettre::message::Mailbox::new(
                owner.name.clone(),
                addr(&owner.email)?,
            ))
            .subject(alert.subject())
            .date(alert.at.into())
            // RFC 3834: a notice from a program, not a person (no auto-replies to it).
            .raw_header(lettre::message::header::HeaderValue::new(
                lettre::message::header::HeaderName::new_from_ascii_str("Auto-Submitted"),
                "auto-generated".to_owned(),
            ))
            .message_id(Some(format!("<alert-{id}@{}>", from.domain())))
            .body(alert.body())
            .map_err(|e| PortError::new("alert mail", e))?
            .formatted();
        let mail = OutgoingMail {
            id: format!("alert_{id}"),
            from: from.clone(),
            to: owner.email.clone(),
            raw,
        };
        mailer
            .send(&mail)
            .await
            .map(|_| ())
            .map_err(|e| PortError::new("alert mail", format!("{e:?}")))
    }

    /// Appends one JSON line and syncs it.
    fn append(&self, json: &impl serde::Serialize) -> Result<(), PortError> {
        let e = |e: std::io::Error| {
            PortError::new("alert log", format!("{}: {e}", self.path.display()))
        };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(e)?;
        }
        let mut line = serde_json::to_string(json).map_err(|x| PortError::new("alert log", x))?;
        line.push('\n');
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(e)?;
        f.write_all(line.as_bytes())
            .and_then(|()| f.sync_data())
            .map_err(e)
    }
}

#[async_trait]
impl Notifier for JsonlNotifier {
    async fn notify(&self, alert: &Alert) -> Result<(), PortError> {
        self.mail_owner(alert).await?;
        self.append(alert)?;
        if self.print {
            eprintln!(
                "\n=== SALES ALERT ===\n{}===================\n",
                alert.body()
            );
        }
        Ok(())
    }

    async fn notify_ops(&self, alert: &OpsAlert) -> Result<(), PortError> {
        self.append(alert)?;
        if self.print {
            eprintln!("\n=== OPS ALERT ===\n{}=================\n", alert.body);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kindling::alerts::ports::AlertOwner;

    #[tokio::test]
    async fn an_owners_alert_is_logged_and_mailed_to_the_owner() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(kindling::testing::ManualClock::new(
            chrono::DateTime::parse_from_rfc3339("2026-12-07T00:00:00Z")
                .unwrap()
                .into(),
        ));
        let outbox = Arc::new(crate::outbox::OutboxMailer::new(
            dir.path().join("outbox"),
            clock,
        ));
        let from = EmailAddress::parse("news@example.jp").unwrap();
        let n =
            JsonlNotifier::new(dir.path().join("alerts.jsonl"), false).mailing_owners(outbox, from);
        let at = chrono::Utc::now();
        let mut alert = Alert {
            key: "hot/L1/1".into(),
            audience: kindling::events::Audience::Sales,
            trigger: None,
            lead_id: kindling::ids::LeadId::new("L1"),
            email: EmailAddress::parse("taro@example.co.jp").unwrap(),
            name: Some("佐藤 太郎".into()),
            company: None,
            title: None,
            score: 55,
            temperature: kindling::leads::Temperature::Hot,
            reasons: vec![],
            at,
            follow_up_by: at,
            owner: Some(AlertOwner {
                id: "tanaka".into(),
                name: Some("田中".into()),
                email: EmailAddress::parse("tanaka@example.jp").unwrap(),
            }),
            follow_up: None,
        };
        n.notify(&alert).await.unwrap();
        alert.owner = None;
        alert.key = "hot/L2/1".into();
        n.notify(&alert).await.unwrap();
        let log = std::fs::read_to_string(dir.path().join("alerts.jsonl")).unwrap();
        assert_eq!(log.lines().count(), 2);
        assert!(log
            .lines()
            .next()
            .unwrap()
            .contains("\"owner\":{\"id\":\"tanaka\""));
        let mails: Vec<_> = std::fs::read_dir(dir.path().join("outbox"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(mails.len(), 1, "only the owned alert is mailed: {mails:?}");
        let raw = std::fs::read_to_string(&mails[0]).unwrap();
        assert!(
            raw.contains("To: =?utf-8?b?") || raw.contains("To: \"田中\""),
            "{raw}"
        );
        assert!(raw.contains("tanaka@example.jp"), "{raw}");
        assert!(raw.contains("Auto-Submitted: auto-generated"), "{raw}");
        assert!(
            raw.contains("For: 田中 <tanaka@example.jp>")
                || raw.contains("Content-Transfer-Encoding"),
            "{raw}"
        );
    }
}
