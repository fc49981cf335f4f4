//! `jira-sim`: serve a simulated Jira Cloud site on 127.0.0.1.

use clap::Parser;
use jira_sim::{DEFAULT_API_TOKEN, DEFAULT_EMAIL, DatasetConfig, RunningSim, SimConfig};

/// Serve a simulated Jira Cloud site (REST API v3) on 127.0.0.1 for tests, demos and benchmarks.
///
/// The data set is generated deterministically from --seed, so the same flags always serve the
/// same issues. Authenticate with HTTP Basic auth as EMAIL:TOKEN (defaults: sim@example.com /
/// sim-api-token), exactly as with a Jira Cloud API token.
#[derive(Debug, Parser)]
#[command(
    version,
    after_help = "Example:\n  jira-sim --issues 50000 --port 8080\n  curl -u sim@example.com:sim-api-token 'http://127.0.0.1:8080/rest/api/3/search/jql?jql=updated>=0&fields=summary'"
)]
struct Args {
    /// Number of issues on the site.
    #[arg(long, default_value_t = 250)]
    issues: u64,
    /// Number of projects (issues are spread round-robin).
    #[arg(long, default_value_t = 5)]
    projects: u64,
    /// Number of users.
    #[arg(long, default_value_t = 40)]
    users: u64,
    /// Seed of the generated data set.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// API user's IANA time zone: datetimes are rendered and JQL dates read in it.
    #[arg(long, default_value = "America/New_York")]
    time_zone: chrono_tz::Tz,
    /// Email accepted for Basic auth.
    #[arg(long, default_value = DEFAULT_EMAIL)]
    email: String,
    /// API token accepted for Basic auth.
    #[arg(long, default_value = DEFAULT_API_TOKEN)]
    token: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let config = SimConfig {
        data: DatasetConfig {
            seed: a.seed,
            issues: a.issues,
            projects: a.projects.max(1),
            users: a.users.max(1),
            time_zone: a.time_zone,
            ..DatasetConfig::default()
        },
        email: a.email,
        api_token: a.token,
        addr: ([127, 0, 0, 1], a.port).into(),
    };
    let sim = RunningSim::start(config).await?;
    println!("jira-sim serving {} issues at {}", a.issues, sim.base_url());
    println!("credentials: {} / {} (HTTP Basic, like a Jira Cloud API token)", sim.email(), sim.api_token());
    tokio::signal::ctrl_c().await?;
    sim.shutdown().await;
    Ok(())
}
