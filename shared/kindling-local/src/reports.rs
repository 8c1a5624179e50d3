//! The local report archive ([`ReportArchive`]): the weekly report the digest links, as
//! `<data dir>/reports/<day>.html`, written whole (a temporary file, flushed, then renamed over
//! the page of the same name), linked as a `file://` URL. Nothing expires it: the pages are
//! small and the folder is the user's.

use async_trait::async_trait;
use kindling::error::PortError;
use kindling::kpis::archive::ReportArchive;
use std::io::Write;
use std::path::PathBuf;

/// Reports in a folder.
pub struct FolderReports {
    pub dir: PathBuf,
}

impl FolderReports {
    fn write(&self, name: &str, html: &str) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(&self.dir)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".")
            .suffix(".tmp")
            .tempfile_in(&self.dir)?;
        tmp.write_all(html.as_bytes())?;
        tmp.as_file().sync_all()?;
        let path = self.dir.join(name);
        tmp.persist(&path).map_err(|e| e.error)?;
        std::path::absolute(&path)
    }
}

/// `path` as a `file://` URL, each segment percent-encoded.
fn file_url(path: &std::path::Path) -> String {
    let segments: Vec<String> = path
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(s) => Some(
                form_urlencoded::byte_serialize(s.as_encoded_bytes())
                    .collect::<String>()
                    .replace('+', "%20"),
            ),
            _ => None,
        })
        .collect();
    format!("file:///{}", segments.join("/"))
}

#[async_trait]
impl ReportArchive for FolderReports {
    async fn keep(&self, name: &str, html: &str) -> Result<Option<String>, PortError> {
        if name.contains(['/', '\\']) || name.starts_with('.') {
            return Err(PortError::new(
                "reports",
                format!("not a page name: {name:?}"),
            ));
        }
        let path = self
            .write(name, html)
            .map_err(|e| PortError::caused_by("reports", format!("writing {name}"), e))?;
        Ok(Some(file_url(&path)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_page_is_replaced_whole_and_linked_as_a_file_url() {
        let dir = tempfile::tempdir().unwrap();
        let reports = FolderReports {
            dir: dir.path().join("my reports"),
        };
        let link = reports
            .keep("2026-11-30.html", "old")
            .await
            .unwrap()
            .unwrap();
        reports.keep("2026-11-30.html", "<p>new</p>").await.unwrap();
        let path = dir.path().join("my reports/2026-11-30.html");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "<p>new</p>");
        assert!(link.starts_with("file:///"), "{link}");
        assert!(link.ends_with("/my%20reports/2026-11-30.html"), "{link}");
        let names: Vec<_> = std::fs::read_dir(dir.path().join("my reports"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temporary file is left: {names:?}");
        assert!(reports.keep("../escape.html", "x").await.is_err());
    }
}
