//! The local mailer: every mail becomes an `.eml` file in the outbox, exactly as SES would get it.
//!
//! A mail file exists whole or not at all: it is written and flushed under a hidden temporary
//! name, then renamed into place (a rename within one directory is atomic). A crash before the
//! rename leaves at most a hidden `.tmp` file, which no reader of `*.eml` sees, and the send is
//! recorded `unknown` by the sender's lease, as with SES.

use async_trait::async_trait;
use kindling::ports::Clock;
use kindling::sending::ports::{MailError, Mailer, OutgoingMail};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Writes mails to `dir` as `{time}_{lead}_{enrollment}_{step}.eml` (a broadcast's:
/// `{time}_{lead}_b_{broadcast}.eml`).
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

/// Writes `bytes` to `dir/name` atomically: to a temporary file in `dir`, flushed to disk, then
/// renamed to `name` unless that exists. `before_rename` runs between the two (the tests make it
/// fail); on any error the temporary file is removed and `name` does not exist.
pub fn write_whole(
    dir: &Path,
    name: &str,
    bytes: &[u8],
    before_rename: impl FnOnce() -> std::io::Result<()>,
) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    before_rename()?;
    let path = dir.join(name);
    tmp.persist_noclobber(&path).map_err(|e| e.error)?;
    // The rename itself is durable once the directory is flushed.
    std::fs::File::open(dir).and_then(|d| d.sync_all())?;
    Ok(path)
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<String, MailError> {
        let name = format!(
            "{}_{}.eml",
            self.clock.now().format("%Y%m%dT%H%M%SZ"),
            mail.id
        );
        write_whole(&self.dir, &name, &mail.raw, || Ok(()))
            .map_err(|e| MailError::Retryable(format!("outbox {name}: {e}")))?;
        Ok(format!("outbox-{}", name.trim_end_matches(".eml")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    #[test]
    fn a_failure_between_writing_and_renaming_leaves_no_mail_under_its_name() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let err = write_whole(dir.path(), "m.eml", b"Subject: x\r\n\r\nbody", || {
            Err(std::io::Error::other("injected: killed before the rename"))
        })
        .expect_err("the injected failure surfaces");
        assert!(err.to_string().contains("injected"));
        assert!(!dir.path().join("m.eml").exists());
        assert_eq!(files(dir.path()), Vec::<String>::new(), "temporary removed");
    }

    #[test]
    fn a_written_mail_is_whole_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path =
            write_whole(dir.path(), "m.eml", b"first", || Ok(())).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(std::fs::read(&path).unwrap_or_default(), b"first");
        assert!(write_whole(dir.path(), "m.eml", b"second", || Ok(())).is_err());
        assert_eq!(std::fs::read(&path).unwrap_or_default(), b"first");
        assert_eq!(files(dir.path()), vec!["m.eml".to_owned()]);
    }
}
