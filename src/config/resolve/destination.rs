//! The `destination` block: the object-store URL and table maintenance.

use url::Url;

use super::Resolver;
use super::SCHEMES;
use crate::config::model::PipelineFile;
use crate::config::pipeline::Destination;

impl Resolver<'_> {
    pub(super) fn destination(&mut self, f: &PipelineFile) -> Option<Destination> {
        let t = &f.destination.url;
        let raw = self.text(t, "destination.url")?;
        if raw.trim().is_empty() {
            self.at(&t.referenced, "`destination.url` is empty", "empty", format!("use {SCHEMES}"));
            return None;
        }
        let url = match Url::parse(&raw) {
            Ok(u) if u.scheme().len() > 1 => u,
            // No scheme (or a Windows drive letter): a local folder.
            _ => {
                let path = self.base_dir.join(&raw);
                let abs = std::path::absolute(&path).unwrap_or(path);
                match Url::from_directory_path(&abs) {
                    Ok(u) => u,
                    Err(()) => {
                        self.at(
                            &t.referenced,
                            format!("`{raw}` is not a usable local path"),
                            "bad path",
                            format!("use {SCHEMES}"),
                        );
                        return None;
                    }
                }
            }
        };
        let d = &f.destination;
        let compact_every = d.compact_every.as_ref().map(|c| c.value).unwrap_or(96);
        let vacuum_retention = match &d.vacuum_retention {
            Some(t) => {
                let raw = self.text(t, "vacuum_retention")?;
                match humantime::parse_duration(raw.trim()) {
                    Ok(r) if r >= std::time::Duration::from_secs(3600) => r,
                    Ok(_) => {
                        self.at(
                            &t.referenced,
                            format!("`vacuum_retention: {raw}` is under an hour"),
                            "too short",
                            "readers still scanning an older version would lose files; use at least `1h` (default `7d`)",
                        );
                        return None;
                    }
                    Err(e) => {
                        self.at(
                            &t.referenced,
                            format!("`vacuum_retention: {raw}` is not a duration: {e}"),
                            "not a duration",
                            "write e.g. `7d` or `48h`",
                        );
                        return None;
                    }
                }
            }
            None => std::time::Duration::from_secs(7 * 24 * 3600),
        };
        match url.scheme() {
            "file" | "s3" | "s3a" | "gs" | "az" | "abfs" | "abfss" | "memory" => {
                Some(Destination { url, compact_every, vacuum_retention })
            }
            other => {
                self.at(
                    &t.referenced,
                    format!("destination scheme `{other}://` is not supported"),
                    "unsupported scheme",
                    format!("use {SCHEMES}"),
                );
                None
            }
        }
    }
}
