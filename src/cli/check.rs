//! `jirapipe check`: the pipeline's healthcheck, printed as a table with a fix per problem.

use std::path::Path;

use jirapipe::check::{self, CheckReport, Status};
use jirapipe::config::Vars;

use super::{Exit, load};

pub async fn run(file: &Path, json: bool) -> Exit {
    let Some(pipeline) = load(file, &Vars::from_env()) else { return Exit::BadInput };
    let report = check::check(&pipeline, check::probe_retry()).await;
    if json {
        println!("{}", serde_json::to_string_pretty(&report).expect("the report serialises"));
    } else {
        print!("{}", table(&report));
    }
    if report.passed { Exit::Ok } else { Exit::RunFailed }
}

/// The report as a fixed-width table; each problem and its fix on lines of their own under
/// the row, so long messages never stretch the columns.
pub fn table(r: &CheckReport) -> String {
    let mut out = format!("check of pipeline `{}` against {}\n\n", r.pipeline, r.site);
    out.push_str(&format!("{:<9} {:<8} {:>8}  {}\n", "object", "status", "records", "detail"));
    for p in &r.probes {
        let records = p.records.as_deref().unwrap_or("-");
        let detail = p.detail.as_deref().unwrap_or("");
        out.push_str(format!("{:<9} {:<8} {:>8}  {}", p.target, p.status.label(), records, detail).trim_end());
        out.push('\n');
        for f in &p.findings {
            let label = match f.status {
                Status::Fail => "problem",
                Status::Warn => "warning",
                _ => "note",
            };
            out.push_str(&format!(
                "    {label} [{}]: {}\n      fix: {}\n",
                f.diagnosis.code, f.diagnosis.problem, f.diagnosis.fix
            ));
        }
    }
    if let Some(limits) = &r.rate_limits {
        out.push_str(&format!("\nrate limits: {limits}\n"));
    }
    let count = |s: Status| r.probes.iter().flat_map(|p| &p.findings).filter(|f| f.status == s).count();
    let (failed, warned) = (count(Status::Fail), count(Status::Warn));
    out.push_str(&if r.passed {
        format!("\npassed ({warned} warning{})\n", if warned == 1 { "" } else { "s" })
    } else {
        format!(
            "\nFAILED: {failed} problem{} to fix ({warned} warning{})\n",
            if failed == 1 { "" } else { "s" },
            if warned == 1 { "" } else { "s" }
        )
    });
    out
}
