//! `jira-sim`: serve a simulated Jira Cloud or Data Center site on 127.0.0.1.

use std::time::Duration;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use jira_sim::{Behaviour, Credentials, DatasetConfig, Flavor, RunningSim, SimConfig, TlsIdentity};

/// Serve a simulated Jira site on 127.0.0.1 for tests, demos and benchmarks.
///
/// The data set is generated from --seed, so the same flags always serve the same issues, and
/// nothing is stored: a million issues need no more memory than ten.
///
/// Default credentials — Cloud: HTTP Basic sim@example.com / sim-api-token (like an API token);
/// OAuth 2.0 client sim-client / sim-client-secret with refresh token sim-refresh-0.
/// Data Center: Bearer PAT sim-pat, or Basic sim / sim-password.
#[derive(Debug, Parser)]
#[command(
    version,
    after_help = "Examples:\
        \n  jira-sim --issues 50000 --port 8080\
        \n  curl -u sim@example.com:sim-api-token \
        'http://127.0.0.1:8080/rest/api/3/search/jql?jql=updated>=0&fields=summary'\
        \n  jira-sim --flavor data-center --rate-limit 10 --search-latency-ms 250"
)]
struct Args {
    /// Jira Cloud (REST v3, enhanced search, OAuth gateway) or Data Center (REST v2).
    #[arg(long, value_enum, default_value_t = FlavorArg::Cloud)]
    flavor: FlavorArg,
    /// Number of issues on the site.
    #[arg(long, default_value_t = 250)]
    issues: u64,
    /// Number of projects (issues are spread round-robin).
    #[arg(long, default_value_t = 5)]
    projects: u64,
    /// Number of users.
    #[arg(long, default_value_t = 40)]
    users: u64,
    /// Number of agile boards (every 7th has a filter not shared with the API user).
    #[arg(long, default_value_t = 8)]
    boards: u64,
    /// Number of custom fields (at least the 13 built-in ones; more cycle through their types).
    #[arg(long, default_value_t = 13, value_parser = clap::value_parser!(u64).range(13..))]
    custom_fields: u64,
    /// Seed of the generated data set.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// API user's IANA time zone: datetimes are rendered and JQL dates read in it.
    #[arg(long, default_value = "America/New_York")]
    time_zone: chrono_tz::Tz,
    /// Serve https with a freshly generated certificate, and write the CA that signed it to this
    /// PEM file (point clients at it, e.g. REQUESTS_CA_BUNDLE).
    #[arg(long, value_name = "CA_PEM_PATH")]
    tls_cert: Option<std::path::PathBuf>,
    /// Email accepted for Cloud Basic auth.
    #[arg(long, default_value = jira_sim::DEFAULT_EMAIL)]
    email: String,
    /// API token accepted for Cloud Basic auth.
    #[arg(long, default_value = jira_sim::DEFAULT_API_TOKEN)]
    token: String,
    /// Requests per second, all endpoints together, above which the site answers 429 with
    /// Retry-After (no RateLimit-Reason).
    #[arg(long)]
    rate_limit: Option<u32>,
    /// Jira Cloud's burst limit: a token bucket per endpoint refilled at this many requests per
    /// second (429 with RateLimit-Reason: jira-burst-based).
    #[arg(long)]
    burst_per_sec: Option<f64>,
    /// The burst bucket's size (Atlassian's "burst buffer").
    #[arg(long, default_value_t = 100)]
    burst_buffer: u32,
    /// Jira Cloud's points quota for OAuth traffic: points per window (one a request).
    #[arg(long)]
    quota_points: Option<u64>,
    /// The quota's window in seconds (an hour on Jira).
    #[arg(long, default_value_t = 3600)]
    quota_window_secs: u64,
    /// Latency added to every API request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Latency added to every issue-search page, in milliseconds (real pages: 200-800).
    #[arg(long, default_value_t = 0)]
    search_latency_ms: u64,
    /// Fraction of API requests answered 500/502/503.
    #[arg(long, default_value_t = 0.0)]
    error_rate: f64,
    /// Fraction of API requests whose connection drops.
    #[arg(long, default_value_t = 0.0)]
    drop_rate: f64,
    /// Fraction of API requests whose body is cut short.
    #[arg(long, default_value_t = 0.0)]
    truncate_rate: f64,
    /// Every Nth issue is under a security level the API user cannot see.
    #[arg(long)]
    hidden_every: Option<u64>,
    /// Hide user email addresses (profile privacy / a token without read:jira-user).
    #[arg(long)]
    no_emails: bool,
    /// Serve Cloud's removed /rest/api/3/search (startAt/total) instead of 410 Gone, for
    /// benchmarking tools that still use it. Real Jira Cloud answers 410.
    #[arg(long)]
    legacy_search: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FlavorArg {
    Cloud,
    DataCenter,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let flavor = match a.flavor {
        FlavorArg::Cloud => Flavor::Cloud,
        FlavorArg::DataCenter => Flavor::DataCenter,
    };
    let config = SimConfig {
        data: DatasetConfig {
            seed: a.seed,
            issues: a.issues,
            projects: a.projects.max(1),
            users: a.users.max(1),
            boards: a.boards,
            time_zone: a.time_zone,
            extra_custom_fields: a.custom_fields - 13,
            ..DatasetConfig::default()
        },
        flavor,
        credentials: Credentials { email: a.email, api_token: a.token, ..Credentials::default() },
        behaviour: Behaviour {
            rate_limit_per_sec: a.rate_limit,
            burst: a.burst_per_sec.map(|per_second| jira_sim::BurstLimit {
                per_second,
                buffer: a.burst_buffer,
                only: Vec::new(),
                others_per_second: 0.0,
            }),
            quota: a.quota_points.map(|points| jira_sim::PointsQuota {
                points,
                window: Duration::from_secs(a.quota_window_secs.max(1)),
                global: false,
            }),
            latency: Duration::from_millis(a.latency_ms),
            search_latency: Duration::from_millis(a.search_latency_ms),
            error_rate: a.error_rate,
            drop_rate: a.drop_rate,
            truncate_rate: a.truncate_rate,
            hidden_issue_every: a.hidden_every,
            user_emails_visible: !a.no_emails,
            legacy_search: a.legacy_search,
            ..Behaviour::default()
        },
        addr: ([127, 0, 0, 1], a.port).into(),
        tls: match &a.tls_cert {
            None => None,
            Some(path) => {
                let identity = TlsIdentity::generate()?;
                std::fs::write(path, identity.ca_pem())
                    .with_context(|| format!("cannot write the CA certificate to {}", path.display()))?;
                Some(identity)
            }
        },
    };
    let sim = RunningSim::start(config).await?;
    if let Some(path) = &a.tls_cert {
        println!("TLS: clients must trust the CA in {}", path.display());
    }
    let c = sim.credentials();
    match flavor {
        Flavor::Cloud => {
            println!("jira-sim (Jira Cloud) serving {} issues at {}", a.issues, sim.base_url());
            println!("credentials: {} / {} (HTTP Basic, like a Jira Cloud API token)", c.email, c.api_token);
            println!(
                "OAuth 2.0: token endpoint {}/oauth/token, client {} / {}, refresh token {}; API via {}",
                sim.base_url(),
                c.oauth.client_id,
                c.oauth.client_secret,
                c.oauth.refresh_token,
                sim.gateway_url()
            );
        }
        Flavor::DataCenter => {
            println!("jira-sim (Jira Data Center) serving {} issues at {}", a.issues, sim.base_url());
            println!("credentials: PAT {} (Bearer), or Basic {} / {}", c.pat, c.username, c.password);
        }
    }
    tokio::signal::ctrl_c().await?;
    sim.shutdown().await;
    Ok(())
}
