//! The `schedule` block: cron or interval, time zone, and the 15-minute floor.

use super::Resolver;
use crate::config::model::PipelineFile;
use crate::config::pipeline::Schedule;

impl Resolver<'_> {
    /// Parses `cron` or `every` and checks the 15-minute floor over the coming year.
    pub(super) fn schedule(&mut self, f: &PipelineFile) -> Option<Option<Schedule>> {
        let Some(s) = &f.schedule else { return Some(None) };
        let timezone = match &s.timezone {
            Some(t) => {
                let name = self.text(t, "schedule.timezone")?;
                match crate::config::cron::parse_timezone(&name) {
                    Ok(tz) => tz,
                    Err(e) => {
                        self.at(&t.referenced, e.to_string(), "unknown time zone", e.help());
                        return None;
                    }
                }
            }
            None => chrono_tz::Tz::UTC,
        };
        let (text, parsed) = match (&s.cron, &s.every) {
            (Some(_), Some(e)) => {
                self.at(
                    &e.referenced,
                    "`schedule` has both `cron` and `every`",
                    "second schedule",
                    "keep exactly one of `cron` and `every`",
                );
                return None;
            }
            (None, None) => {
                let loc = s.timezone.as_ref().map(|t| t.referenced).unwrap_or(f.name.referenced);
                self.at(
                    &loc,
                    "`schedule` needs `cron` or `every`",
                    "schedule",
                    "add `cron: \"*/15 * * * *\"` or `every: 30m`, or remove `schedule`",
                );
                return None;
            }
            (Some(c), None) => {
                let expression = self.text(c, "schedule.cron")?;
                let parsed = Schedule::cron(&expression, timezone).and_then(|s| {
                    s.check_floor(chrono::Utc::now())?;
                    Ok(s)
                });
                (c, parsed)
            }
            (None, Some(e)) => {
                if let Some(t) = &s.timezone {
                    self.at(
                        &t.referenced,
                        "`timezone` applies to `cron` only",
                        "not used by `every`",
                        "remove `timezone`: an interval runs every so often whatever the zone",
                    );
                    return None;
                }
                (e, Schedule::every(&self.text(e, "schedule.every")?))
            }
        };
        match parsed {
            Ok(schedule) => Some(Some(schedule)),
            Err(e) => {
                let label = match e {
                    crate::config::cron::ScheduleError::TooClose { .. } => "runs too close together",
                    _ => "invalid schedule",
                };
                self.at(&text.referenced, e.to_string(), label, e.help());
                None
            }
        }
    }
}
