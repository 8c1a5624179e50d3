//! The local notifier: each alert (sales, support, ops) is appended to `alerts.jsonl` and printed.

use async_trait::async_trait;
use kindling::alerts::ports::{Alert, Notifier, OpsAlert};
use kindling::error::PortError;
use std::io::Write;
use std::path::PathBuf;

/// Appends alerts as JSON lines to a file; optionally prints them for people.
pub struct JsonlNotifier {
    path: PathBuf,
    print: bool,
}

impl JsonlNotifier {
    /// A notifier writing to `path`; `print` also writes a readable alert to stderr.
    pub fn new(path: PathBuf, print: bool) -> Self {
        Self { path, print }
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
