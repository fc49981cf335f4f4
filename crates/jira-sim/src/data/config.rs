//! The knobs of a generated site, apart from the generator: tests, the demo and benchmarks
//! build one and hand it over, and everything else is derived from it.

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// Size and identity of a simulated site.
#[derive(Debug, Clone)]
pub struct DatasetConfig {
    pub seed: u64,
    pub issues: u64,
    pub projects: u64,
    pub users: u64,
    pub boards: u64,
    /// IANA time zone of the API user; Jira renders datetimes and evaluates JQL dates in it.
    pub time_zone: Tz,
    /// `updated` of the newest base issue; the rest spread over the year before it.
    pub updated_until: DateTime<Utc>,
    /// Custom fields beyond the built-in 13, cycling through their types (wider issues for
    /// benchmarks). Ids start at 10500, clear of fields added at run time.
    pub extra_custom_fields: u64,
    /// The first this many issues were created within one minute, the first minute of the
    /// site's history: a site seeded by a CSV import, whose importer creates issues one after
    /// another and stamps `created` with the time of the import unless the file maps a
    /// "Date Created" column (only Summary is required: Atlassian, "Importing data from CSV").
    pub imported_at_start: u64,
}

impl Default for DatasetConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            issues: 250,
            projects: 5,
            users: 40,
            boards: 8,
            time_zone: chrono_tz::America::New_York,
            updated_until: Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
            extra_custom_fields: 0,
            imported_at_start: 0,
        }
    }
}
