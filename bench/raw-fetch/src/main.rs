//! The benchmark's floor: the least work any client must do to read a Jira Cloud site — the same
//! endpoints and pages as jirapipe over the same HTTP stack (an ids-only listing, then bulk
//! fetches of 100 ids), one request at a time, bodies read and dropped, with only the paging
//! fields parsed. jirapipe's CPU is compared against this.

use std::time::Instant;

use anyhow::{Context, bail};
use clap::Parser;
use serde::Deserialize;
use serde::de::IgnoredAny;

#[derive(Debug, Parser)]
struct Args {
    /// Site URL, e.g. https://127.0.0.1:8443
    #[arg(long)]
    site: String,
    #[arg(long, env = "JIRA_EMAIL")]
    email: String,
    #[arg(long, env = "JIRA_API_TOKEN", hide_env_values = true)]
    token: String,
    /// PEM file of a CA to trust (the simulator's generated one).
    #[arg(long)]
    ca_certificate: Option<std::path::PathBuf>,
    /// The listing JQL (jirapipe's: creation order, no id comparisons).
    #[arg(long, default_value = "updated >= 0 ORDER BY created ASC, key ASC")]
    jql: String,
}

/// Only the paging fields; serde skips everything else without building it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    is_last: Option<bool>,
    #[serde(default)]
    values: Vec<Board>,
    #[serde(default)]
    issues: Vec<IgnoredAny>,
}

/// The ids of an ids-only listing page.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Listing {
    next_page_token: Option<String>,
    issues: Vec<Listed>,
}

#[derive(Deserialize)]
struct Listed {
    id: String,
}

/// Projects carry string ids, boards numbers.
#[derive(Deserialize)]
struct Board {
    id: serde_json::Value,
}

struct Fetcher {
    http: reqwest::Client,
    site: String,
    email: String,
    token: String,
    requests: u64,
    bytes: u64,
}

impl Fetcher {
    async fn get(&mut self, path: &str, query: &[(&str, String)]) -> anyhow::Result<bytes::Bytes> {
        let req = self.http.get(format!("{}{path}", self.site)).query(query);
        self.send("GET", path, req).await
    }

    async fn post(&mut self, path: &str, json: &serde_json::Value) -> anyhow::Result<bytes::Bytes> {
        let req = self.http.post(format!("{}{path}", self.site)).json(json);
        self.send("POST", path, req).await
    }

    async fn send(&mut self, method: &str, path: &str, req: reqwest::RequestBuilder) -> anyhow::Result<bytes::Bytes> {
        let resp =
            req.basic_auth(&self.email, Some(&self.token)).send().await.with_context(|| format!("{method} {path}"))?;
        self.requests += 1;
        let status = resp.status();
        let body = resp.bytes().await?;
        if !status.is_success() {
            bail!("{method} {path}: {status}: {}", String::from_utf8_lossy(&body[..body.len().min(300)]));
        }
        self.bytes += body.len() as u64;
        Ok(body)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let mut builder = reqwest::Client::builder().gzip(true);
    if let Some(path) = &a.ca_certificate {
        let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        builder = builder.add_root_certificate(reqwest::Certificate::from_pem(&pem)?);
    }
    let mut f = Fetcher {
        http: builder.build()?,
        site: a.site.trim_end_matches('/').to_string(),
        email: a.email,
        token: a.token,
        requests: 0,
        bytes: 0,
    };
    let started = Instant::now();

    f.get("/rest/api/3/field", &[]).await?;
    let mut start = 0;
    loop {
        let body = f
            .get("/rest/api/3/project/search", &[("startAt", start.to_string()), ("maxResults", "100".into())])
            .await?;
        let page: Page = serde_json::from_slice(&body)?;
        start += 100;
        if page.is_last != Some(false) {
            break;
        }
    }
    let mut start = 0;
    loop {
        let body =
            f.get("/rest/api/3/users/search", &[("startAt", start.to_string()), ("maxResults", "1000".into())]).await?;
        let n = serde_json::from_slice::<Vec<IgnoredAny>>(&body)?.len();
        start += 1000;
        if n < 1000 {
            break;
        }
    }
    let mut start = 0;
    let mut boards = Vec::new();
    loop {
        let body =
            f.get("/rest/agile/1.0/board", &[("startAt", start.to_string()), ("maxResults", "50".into())]).await?;
        let page: Page = serde_json::from_slice(&body)?;
        boards.extend(page.values.iter().map(|b| b.id.to_string()));
        start += 50;
        if page.is_last != Some(false) {
            break;
        }
    }
    for id in boards {
        // Boards whose filter is not shared answer 403, as they do for jirapipe.
        let _ = f.get(&format!("/rest/agile/1.0/board/{id}/configuration"), &[]).await;
    }
    // jirapipe's requests: the ids-only listing, then bulk fetches of 100 ids.
    let mut ids = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut q = vec![("jql", a.jql.clone()), ("fields", "id".to_string()), ("maxResults", "5000".into())];
        if let Some(t) = token.take() {
            q.push(("nextPageToken", t));
        }
        let body = f.get("/rest/api/3/search/jql", &q).await?;
        let page: Listing = serde_json::from_slice(&body)?;
        ids.extend(page.issues.into_iter().map(|i| i.id));
        match page.next_page_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    let mut issues = 0u64;
    for batch in ids.chunks(100) {
        let body = f
            .post("/rest/api/3/issue/bulkfetch", &serde_json::json!({"issueIdsOrKeys": batch, "fields": ["*all"]}))
            .await?;
        let page: Page = serde_json::from_slice(&body)?;
        issues += page.issues.len() as u64;
    }
    println!(
        "{{\"issues\": {issues}, \"requests\": {}, \"bytes\": {}, \"seconds\": {:.3}}}",
        f.requests,
        f.bytes,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
