//! The local mailer: every mail becomes an `.eml` file in the outbox, exactly as SES would get it.

use async_trait::async_trait;
use kindling::ports::{Clock, MailError, Mailer, OutgoingMail};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

/// Writes mails to `dir` as `{time}_{lead}_{enrollment}_{step}.eml`.
pub struct OutboxMailer {
    dir: PathBuf,
    clock: Arc<dyn Clock>,
}

impl OutboxMailer {
    /// An outbox in `dir` (created on first send).
    pub fn new(dir: PathBuf, clock: Arc<dyn Clock>) -> Self {
        Self { dir, clock }
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<String, MailError> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| MailError::Retryable(format!("outbox: {e}")))?;
        let k = &mail.key;
        let name = format!(
            "{}_{}_{}_{}.eml",
            self.clock.now().format("%Y%m%dT%H%M%SZ"),
            k.lead_id,
            k.enrollment_id,
            k.step
        );
        let path = self.dir.join(&name);
        let mut f = std::fs::File::create_new(&path)
            .map_err(|e| MailError::Retryable(format!("outbox {name}: {e}")))?;
        f.write_all(&mail.raw)
            .and_then(|()| f.sync_all())
            .map_err(|e| MailError::Retryable(format!("outbox {name}: {e}")))?;
        Ok(format!("outbox-{}", name.trim_end_matches(".eml")))
    }
}
