//! Jira renders every instant in the API user's time zone; keeping that in one place makes the
//! generated issues, the overlay of edits and the server info agree to the character.

use chrono::{TimeZone, Utc};

use super::Dataset;

impl Dataset {
    /// Renders an instant the way Jira does: user's time zone, millis, offset without colon.
    pub fn format_datetime(&self, ms: i64) -> String {
        let utc = Utc.timestamp_millis_opt(ms).single().expect("in range");
        utc.with_timezone(&self.config.time_zone).format("%Y-%m-%dT%H:%M:%S%.3f%z").to_string()
    }

    pub(super) fn format_date(&self, ms: i64) -> String {
        let utc = Utc.timestamp_millis_opt(ms).single().expect("in range");
        utc.with_timezone(&self.config.time_zone).format("%Y-%m-%d").to_string()
    }
}

#[cfg(test)]
mod tests {
    use crate::data::Dataset;

    #[test]
    fn datetimes_use_jira_offset_format() {
        let d = Dataset::for_tests(10);
        let s = d.format_datetime(1_700_000_000_000);
        assert_eq!(s, "2023-11-14T17:13:20.000-0500");
    }
}
