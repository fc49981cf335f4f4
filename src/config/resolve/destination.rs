//! The `destination` block: the object-store URL and table maintenance.

use url::Url;

use super::Resolver;
use super::SCHEMES;
use std::time::Duration;

use crate::config::model::{PipelineFile, Text};
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
        let retry_timeout = self.duration_in(
            &d.retry_timeout,
            "retry_timeout",
            (1, 3600),
            Duration::from_secs(180),
            "`retry_timeout: 3m`",
        )?;
        let request_timeout = self.duration_in(
            &d.request_timeout,
            "request_timeout",
            (1, 600),
            Duration::from_secs(30),
            "`request_timeout: 30s`",
        )?;
        match url.scheme() {
            "file" | "s3" | "s3a" | "gs" | "az" | "abfs" | "abfss" | "memory" => {
                Some(Destination { url, compact_every, vacuum_retention, retry_timeout, request_timeout })
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

impl Resolver<'_> {
    /// A duration key between `secs.0` and `secs.1` seconds; `example` is shown in the fix.
    pub(super) fn duration_in(
        &mut self,
        value: &Option<Text>,
        key: &str,
        secs: (u64, u64),
        default: Duration,
        example: &str,
    ) -> Option<Duration> {
        let Some(t) = value else { return Some(default) };
        let raw = self.text(t, key)?;
        let range = |s: u64| humantime::format_duration(Duration::from_secs(s)).to_string();
        match humantime::parse_duration(raw.trim()) {
            Ok(d) if d.as_secs() >= secs.0 && d.as_secs() <= secs.1 => Some(d),
            Ok(_) => {
                self.at(
                    &t.referenced,
                    format!("`{key}: {raw}` is out of range ({} to {})", range(secs.0), range(secs.1)),
                    "out of range",
                    format!("use e.g. {example}"),
                );
                None
            }
            Err(e) => {
                self.at(
                    &t.referenced,
                    format!("`{key}: {raw}` is not a duration: {e}"),
                    "not a duration",
                    format!("write e.g. {example}"),
                );
                None
            }
        }
    }
}
