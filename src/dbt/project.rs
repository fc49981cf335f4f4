//! The `analytics/` dbt project, bundled in the binary: `discover --dbt` into an empty folder
//! and the demo write it out, so the project needs no checkout of jirapipe's repository.

/// Every file of the project as (path inside it, content).
macro_rules! bundle {
    ($($path:literal),* $(,)?) => {
        pub const FILES: &[(&str, &str)] = &[$(($path, include_str!(concat!("../../analytics/", $path)))),*];
    };
}

bundle!(
    ".gitignore",
    "README.md",
    "dbt_project.yml",
    "profiles.yml",
    "requirements.txt",
    "macros/jirapipe.sql",
    "models/schema.yml",
    "models/intermediate/int_sprint_membership.sql",
    "models/intermediate/int_status_stays.sql",
    "models/marts/issue_cycle_time.sql",
    "models/marts/issue_daily_history.sql",
    "models/marts/issue_enhanced.sql",
    "models/marts/issue_status_time.sql",
    "models/marts/project_health.sql",
    "models/marts/sprint_report.sql",
    "models/marts/worklog_daily.sql",
);

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Every file of `analytics/` (but what a build or `discover --dbt` leaves there) is bundled.
    #[test]
    fn the_bundle_is_the_whole_project() {
        fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
                if ["generated", "target", "logs", "dbt_packages"].iter().any(|d| rel == *d) {
                    continue;
                }
                if p.is_dir() { walk(root, &p, out) } else { out.push(rel) }
            }
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("analytics");
        let mut on_disk = Vec::new();
        walk(&root, &root, &mut on_disk);
        on_disk.sort();
        let mut bundled: Vec<String> = super::FILES.iter().map(|(p, _)| p.to_string()).collect();
        bundled.sort();
        assert_eq!(bundled, on_disk, "add the file to `bundle!` in src/dbt/project.rs");
    }
}
