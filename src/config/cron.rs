//! When a pipeline fires: a cron expression in an IANA time zone, or a fixed interval, and the
//! 15-minute floor between two runs.
//!
//! Parsing is the `cron` crate's. It wants a seconds field and numbers days of the week 1–7 from
//! Sunday, so the standard 5-field form is translated (seconds `0`, days 0–7 from Sunday moved
//! up by one) and its 6/7-field forms are taken as they are. The floor is checked on real fire
//! instants over a whole year, because a time zone's DST changes can bring two fire times closer
//! than the expression suggests (`0,50 1 * * *` in New York fires 10 minutes apart on the night
//! clocks go back).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;

/// Runs of a pipeline are never closer than this: a run must have time to finish, and Jira's
/// rate limits make tighter loops pointless.
pub const MIN_INTERVAL: Duration = Duration::from_secs(15 * 60);
const MIN_GAP: TimeDelta = TimeDelta::minutes(15);

/// A year holds every DST change and every month length.
const HORIZON: TimeDelta = TimeDelta::days(366);

/// More than any change of a zone's UTC offset (DST moves clocks by at most two hours). The
/// `cron` crate walks local wall time, which is not monotonic in real time across a change, so
/// fire instants are searched this far around the point of interest.
const OFFSET_SLACK: TimeDelta = TimeDelta::hours(3);

/// When a pipeline runs; checked against the 15-minute floor when the pipeline file is loaded.
#[derive(Debug, Clone)]
pub struct Schedule {
    cadence: Cadence,
    timezone: Tz,
}

/// Two consecutive fire instants.
type FirePair = (DateTime<Utc>, DateTime<Utc>);

#[derive(Debug, Clone)]
enum Cadence {
    /// `expression` as written; `parsed` in the `cron` crate's syntax.
    Cron { expression: String, parsed: Box<cron::Schedule> },
    /// Fires on multiples of the interval since the Unix epoch, so restarts never shift it.
    Every { text: String, interval: TimeDelta },
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScheduleError {
    #[error("`{expression}` is not a valid cron expression: {reason}")]
    Syntax { expression: String, reason: String },
    #[error(
        "`{expression}` fires at {first} and at {second}, only {gap} apart; runs must be at least 15 minutes apart"
    )]
    TooClose { expression: String, first: String, second: String, gap: String, suggestion: String },
    #[error("`{expression}` does not fire within the next year")]
    Never { expression: String },
    #[error("`every: {text}` is not a duration: {reason}")]
    BadInterval { text: String, reason: String },
    #[error("`every: {text}` is shorter than 15 minutes")]
    IntervalTooShort { text: String },
    #[error("`{name}` is not an IANA time zone")]
    UnknownTimeZone { name: String, suggestion: Option<String> },
}

impl ScheduleError {
    /// How to fix it, for the located error in the pipeline file.
    pub fn help(&self) -> String {
        match self {
            ScheduleError::Syntax { .. } => {
                "use 5 fields `minute hour day-of-month month day-of-week` (e.g. `*/15 * * * *`, `0 6 * * 1-5`), 6 or 7 fields with seconds first and an optional year, or @hourly, @daily, @weekly, @monthly, @yearly".into()
            }
            ScheduleError::TooClose { suggestion, .. } => {
                format!("use `{suggestion}` (every 15 minutes, same hours and days), or `every: 15m`")
            }
            ScheduleError::Never { .. } => {
                "check the day and month fields: a pipeline must fire at least once a year".into()
            }
            ScheduleError::BadInterval { .. } => "write a duration such as `15m`, `30m`, `2h` or `1day`".into(),
            ScheduleError::IntervalTooShort { .. } => "use `every: 15m` or longer".into(),
            ScheduleError::UnknownTimeZone { suggestion: Some(s), .. } => {
                format!("did you mean `{s}`? Time zones are IANA names such as `Europe/Berlin` or `UTC`")
            }
            ScheduleError::UnknownTimeZone { suggestion: None, .. } => {
                "use an IANA name such as `UTC`, `Europe/Berlin` or `America/New_York`".into()
            }
        }
    }
}

/// Reads an IANA time zone name.
pub fn parse_timezone(name: &str) -> Result<Tz, ScheduleError> {
    Tz::from_str(name).map_err(|_| {
        let suggestion = chrono_tz::TZ_VARIANTS
            .iter()
            .map(|tz| (strsim::jaro_winkler(&name.to_lowercase(), &tz.name().to_lowercase()), tz.name()))
            .filter(|(score, _)| *score > 0.8)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, n)| n.to_string());
        ScheduleError::UnknownTimeZone { name: name.into(), suggestion }
    })
}

impl Schedule {
    /// A cron expression in `timezone`; syntax only (see [`Schedule::check_floor`]).
    pub fn cron(expression: &str, timezone: Tz) -> Result<Self, ScheduleError> {
        let syntax_error = |reason: String| ScheduleError::Syntax { expression: expression.into(), reason };
        let translated = to_crate_syntax(expression).map_err(syntax_error)?;
        let parsed = ::cron::Schedule::from_str(&translated).map_err(|e| syntax_error(e.to_string()))?;
        Ok(Self { cadence: Cadence::Cron { expression: expression.into(), parsed: Box::new(parsed) }, timezone })
    }

    /// A fixed interval such as `30m`, at least [`MIN_INTERVAL`].
    pub fn every(text: &str) -> Result<Self, ScheduleError> {
        let d = humantime::parse_duration(text)
            .map_err(|e| ScheduleError::BadInterval { text: text.into(), reason: e.to_string() })?;
        if d < MIN_INTERVAL {
            return Err(ScheduleError::IntervalTooShort { text: text.into() });
        }
        let interval = TimeDelta::from_std(d)
            .ok()
            .filter(|i| *i <= TimeDelta::days(3660))
            .ok_or_else(|| ScheduleError::BadInterval { text: text.into(), reason: "longer than ten years".into() })?;
        Ok(Self { cadence: Cadence::Every { text: text.into(), interval }, timezone: Tz::UTC })
    }

    pub fn timezone(&self) -> Tz {
        self.timezone
    }

    /// The first fire time strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match &self.cadence {
            Cadence::Every { interval, .. } => {
                let step = interval.num_milliseconds();
                let n = t.timestamp_millis().div_euclid(step) + 1;
                DateTime::from_timestamp_millis(n.checked_mul(step)?)
            }
            Cadence::Cron { parsed, .. } => {
                let mut best: Option<DateTime<Utc>> = None;
                for x in parsed.after(&(t - OFFSET_SLACK).with_timezone(&self.timezone)) {
                    let x = x.with_timezone(&Utc);
                    if x > t && best.is_none_or(|b| x < b) {
                        best = Some(x);
                    }
                    // Wall time only grows, so nothing later can come before `best` any more.
                    if best.is_some_and(|b| x > b + OFFSET_SLACK) {
                        break;
                    }
                }
                best
            }
        }
    }

    /// The latest fire time at or before `t`, looking back at most a year (a schedule fires at
    /// least yearly or never).
    pub fn last_at_or_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        for days in [1, 8, 32, 367] {
            let Some(mut fire) = self.next_after(t - TimeDelta::days(days)).filter(|f| *f <= t) else { continue };
            while let Some(next) = self.next_after(fire).filter(|f| *f <= t) {
                fire = next;
            }
            return Some(fire);
        }
        None
    }

    /// The gap between the fire time that passed last at `t` and the next one: how often the
    /// pipeline runs around `t` (a cron of working hours runs hourly by day, not at night).
    pub fn interval_around(&self, t: DateTime<Utc>) -> Option<TimeDelta> {
        let next = self.next_after(t)?;
        match self.last_at_or_before(t) {
            Some(last) => Some(next - last),
            // No fire time in the year before: the gap after the next one.
            None => self.next_after(next).map(|n| n - next),
        }
    }

    /// The next `n` fire times after `t`.
    pub fn upcoming(&self, t: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        std::iter::successors(self.next_after(t), |&f| self.next_after(f)).take(n).collect()
    }

    /// Rejects a schedule with two fire times closer than 15 minutes anywhere in the year after
    /// `from`, naming the first such pair and a valid expression to use instead.
    pub fn check_floor(&self, from: DateTime<Utc>) -> Result<(), ScheduleError> {
        let Cadence::Cron { expression, .. } = &self.cadence else { return Ok(()) };
        match self.first_violation(from) {
            Ok(None) => Ok(()),
            Err(()) => Err(ScheduleError::Never { expression: expression.clone() }),
            Ok(Some((first, second))) => Err(ScheduleError::TooClose {
                expression: expression.clone(),
                first: self.format_time(first),
                second: self.format_time(second),
                gap: humantime::format_duration((second - first).to_std().unwrap_or_default()).to_string(),
                suggestion: self.suggestion(from),
            }),
        }
    }

    /// The first two consecutive fire instants less than [`MIN_INTERVAL`] apart; `Err` when it
    /// never fires in the horizon.
    fn first_violation(&self, from: DateTime<Utc>) -> Result<Option<FirePair>, ()> {
        let Cadence::Cron { parsed, .. } = &self.cadence else { return Ok(None) };
        let end = from + HORIZON;
        let mut fires: Vec<DateTime<Utc>> = Vec::new();
        for x in parsed.after(&from.with_timezone(&self.timezone)) {
            let x = x.with_timezone(&Utc);
            // Any two fire instants this close prove a violation; stop before collecting a
            // year of every-second fire times. The pair reported is the true consecutive one.
            if let Some(&prev) = fires.last()
                && (x - prev).abs() < MIN_GAP
            {
                let first = x.min(prev);
                return Ok(Some((first, self.next_after(first).unwrap_or(x.max(prev)))));
            }
            if x > end + OFFSET_SLACK {
                break;
            }
            fires.push(x);
        }
        if fires.is_empty() {
            return Err(());
        }
        fires.sort();
        Ok(fires.windows(2).find(|w| w[1] - w[0] < MIN_GAP).map(|w| (w[0], w[1])))
    }

    /// The same hours and days every 15 minutes, if that is valid here; else `*/15 * * * *`.
    fn suggestion(&self, from: DateTime<Utc>) -> String {
        let Cadence::Cron { expression, .. } = &self.cadence else { return String::new() };
        let fields: Vec<&str> = expression.split_whitespace().collect();
        let same_days = match fields.len() {
            5 => Some(format!("*/15 {}", fields[1..].join(" "))),
            6 | 7 => Some(format!("0 */15 {}", fields[2..].join(" "))),
            _ => None,
        };
        same_days
            .into_iter()
            .chain(["*/15 * * * *".to_string(), "0 * * * *".to_string()])
            .find(|c| Schedule::cron(c, self.timezone).is_ok_and(|s| matches!(s.first_violation(from), Ok(None))))
            .unwrap_or_else(|| "0 * * * *".into())
    }

    /// A fire time in the schedule's zone, with UTC beside it when that differs.
    pub fn format_time(&self, t: DateTime<Utc>) -> String {
        let local = t.with_timezone(&self.timezone);
        if self.timezone == Tz::UTC {
            local.format("%Y-%m-%d %H:%M:%S UTC").to_string()
        } else {
            format!("{} ({})", local.format("%Y-%m-%d %H:%M:%S %Z"), t.format("%H:%M:%S UTC"))
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.cadence {
            Cadence::Cron { expression, .. } => write!(f, "cron `{expression}` in {}", self.timezone),
            Cadence::Every { text, .. } => write!(f, "every {text}"),
        }
    }
}

/// Standard cron (5 fields, aliases) in the `cron` crate's syntax; 6/7 fields pass unchanged.
fn to_crate_syntax(expression: &str) -> Result<String, String> {
    let e = expression.trim();
    if let Some(alias) = e.strip_prefix('@') {
        return match alias.to_ascii_lowercase().as_str() {
            "yearly" | "annually" => Ok("@yearly".into()),
            "monthly" => Ok("@monthly".into()),
            "weekly" => Ok("@weekly".into()),
            "daily" | "midnight" => Ok("@daily".into()),
            "hourly" => Ok("@hourly".into()),
            _ => Err(format!("unknown alias `{e}`")),
        };
    }
    let fields: Vec<&str> = e.split_whitespace().collect();
    match fields.len() {
        5 => Ok(format!("0 {} {} {} {} {}", fields[0], fields[1], fields[2], fields[3], day_of_week(fields[4])?)),
        6 | 7 => Ok(fields.join(" ")),
        n => Err(format!("it has {n} fields")),
    }
}

/// A standard day-of-week field (0–7, 0 and 7 are Sunday) in the crate's numbering (1–7 from
/// Sunday). Names, `*` and `?` mean the same in both and pass unchanged; numeric items are
/// written out as lists, which also covers ranges ending on 7.
fn day_of_week(field: &str) -> Result<String, String> {
    let mut out = Vec::new();
    for item in field.split(',') {
        if item.starts_with(['*', '?']) || item.chars().any(|c| c.is_ascii_alphabetic()) {
            out.push(item.to_string());
            continue;
        }
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().map_err(|_| format!("bad step in day of week `{item}`"))?),
            None => (item, 1),
        };
        let num = |s: &str| match s.parse::<u32>() {
            Ok(n) if n <= 7 => Ok(n),
            _ => Err(format!("day of week `{s}` is not 0-7 (0 and 7 are Sunday)")),
        };
        let (lo, hi) = match range.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None if item.contains('/') => (num(range)?, 7),
            None => (num(range)?, num(range)?),
        };
        if lo > hi || step == 0 {
            return Err(format!("day of week range `{item}` is empty"));
        }
        let mut days: Vec<u32> = (lo..=hi).step_by(step as usize).map(|d| d % 7 + 1).collect();
        days.sort_unstable();
        days.dedup();
        out.extend(days.iter().map(u32::to_string));
    }
    Ok(out.join(","))
}

#[cfg(test)]
mod tests {
    use chrono::{Datelike, TimeZone, Timelike, Weekday};

    use super::*;

    fn from() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 15, 12, 0, 0).unwrap()
    }

    fn cron(e: &str, tz: &str) -> Result<Schedule, ScheduleError> {
        let s = Schedule::cron(e, parse_timezone(tz).unwrap())?;
        s.check_floor(from())?;
        Ok(s)
    }

    #[test]
    fn the_interval_around_a_time_is_the_gap_it_falls_in() {
        let at = |d, h, m| Utc.with_ymd_and_hms(2026, 1, d, h, m, 0).unwrap();
        let s = cron("30 6-18 * * 1-5", "UTC").unwrap();
        // Thursday 15 January: hourly by day, twelve hours at night, 60 hours over the weekend.
        assert_eq!(s.last_at_or_before(at(15, 12, 30)), Some(at(15, 12, 30)));
        assert_eq!(s.interval_around(at(15, 12, 0)), Some(TimeDelta::hours(1)));
        assert_eq!(s.interval_around(at(15, 20, 0)), Some(TimeDelta::hours(12)));
        assert_eq!(s.interval_around(at(17, 12, 0)), Some(TimeDelta::hours(60)));
        let every = Schedule::every("30m").unwrap();
        assert_eq!(every.interval_around(at(15, 12, 10)), Some(TimeDelta::minutes(30)));
        assert_eq!(every.last_at_or_before(at(15, 12, 10)), Some(at(15, 12, 0)));
    }

    #[test]
    fn fifteen_minutes_and_longer_pass() {
        for e in [
            "*/15 * * * *",
            "0,15,30,45 * * * *",
            "0 * * * *",
            "30 6 * * 1-5",
            "@hourly",
            "@daily",
            "@midnight",
            "@weekly",
            "@monthly",
            "@yearly",
            "0 */15 * * * *",
            "0 0 6 * * * 2026-2030",
        ] {
            for tz in ["UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe"] {
                cron(e, tz).unwrap_or_else(|err| panic!("{e} in {tz}: {err}"));
            }
        }
    }

    #[test]
    fn gaps_under_fifteen_minutes_are_rejected_with_the_two_fire_times_and_a_valid_expression() {
        let cases = [
            ("*/10 * * * *", "2026-01-15 12:10:00 UTC", "2026-01-15 12:20:00 UTC", "10m", "*/15 * * * *"),
            ("0,5 * * * *", "2026-01-15 13:00:00 UTC", "2026-01-15 13:05:00 UTC", "5m", "*/15 * * * *"),
            ("* */15 * * * *", "2026-01-15 12:00:01 UTC", "2026-01-15 12:00:02 UTC", "1s", "0 */15 * * * *"),
            ("*/5 9-17 * * 1-5", "2026-01-15 12:05:00 UTC", "2026-01-15 12:10:00 UTC", "5m", "*/15 9-17 * * 1-5"),
        ];
        for (e, first, second, gap, suggestion) in cases {
            let err = cron(e, "UTC").unwrap_err();
            assert_eq!(
                err,
                ScheduleError::TooClose {
                    expression: e.into(),
                    first: first.into(),
                    second: second.into(),
                    gap: gap.into(),
                    suggestion: suggestion.into()
                },
                "{e}"
            );
            cron(suggestion, "UTC").unwrap();
            assert!(err.help().contains(suggestion), "{}", err.help());
        }
    }

    #[test]
    fn a_dst_change_that_brings_fire_times_together_is_rejected() {
        // 01:50 EDT and, an hour of wall time later, 01:00 EST: ten minutes apart.
        let err = cron("0,50 1 * * *", "America/New_York").unwrap_err();
        let ScheduleError::TooClose { first, second, gap, suggestion, .. } = &err else { panic!("{err:?}") };
        assert_eq!(first, "2026-11-01 01:50:00 EDT (05:50:00 UTC)");
        assert_eq!(second, "2026-11-01 01:00:00 EST (06:00:00 UTC)");
        assert_eq!(gap, "10m");
        assert_eq!(suggestion, "*/15 1 * * *");
        // The same expression is fine where clocks do not change.
        cron("0,50 1 * * *", "UTC").unwrap();
    }

    #[test]
    fn next_fire_times_are_increasing_across_dst_changes() {
        let s = cron("*/15 * * * *", "America/New_York").unwrap();
        let start = Utc.with_ymd_and_hms(2026, 11, 1, 4, 0, 0).unwrap();
        let fires = s.upcoming(start, 16);
        let expected: Vec<_> = (1..=16).map(|i| start + TimeDelta::minutes(15 * i)).collect();
        assert_eq!(fires, expected);
        // Spring forward: 02:30 local does not exist that day, so it is skipped.
        let s = cron("30 2 * * *", "America/New_York").unwrap();
        let fires = s.upcoming(Utc.with_ymd_and_hms(2026, 3, 7, 12, 0, 0).unwrap(), 2);
        let local: Vec<_> = fires.iter().map(|f| f.with_timezone(&s.timezone()).naive_local()).collect();
        assert_eq!(local[0].day(), 9);
        assert_eq!((local[0].hour(), local[0].minute()), (2, 30));
    }

    #[test]
    fn days_of_week_follow_standard_cron() {
        let next = |e: &str| cron(e, "UTC").unwrap().next_after(from()).unwrap(); // a Thursday
        assert_eq!(next("0 9 * * 1").weekday(), Weekday::Mon);
        assert_eq!(next("0 9 * * 0").weekday(), Weekday::Sun);
        assert_eq!(next("0 9 * * 7").weekday(), Weekday::Sun);
        assert_eq!(next("0 9 * * MON").weekday(), Weekday::Mon);
        assert_eq!(next("0 9 * * 5-7").weekday(), Weekday::Fri);
        assert_eq!(next("0 9 * * 1-5").weekday(), Weekday::Fri);
        assert_eq!(day_of_week("1-5").unwrap(), "2,3,4,5,6");
        assert_eq!(day_of_week("0/2,6").unwrap(), "1,3,5,7,7");
        assert!(day_of_week("8").is_err());
    }

    #[test]
    fn bad_expressions_zones_and_intervals_are_explained() {
        for e in ["", "* * * *", "61 * * * *", "@often", "*/15 * * * * * * *"] {
            assert!(matches!(Schedule::cron(e, Tz::UTC), Err(ScheduleError::Syntax { .. })), "{e}");
        }
        let never = Schedule::cron("0 0 30 2 *", Tz::UTC).unwrap().check_floor(from());
        assert!(matches!(never, Err(ScheduleError::Never { .. })));
        let err = parse_timezone("Europe/Berlinn").unwrap_err();
        assert!(err.help().contains("`Europe/Berlin`"), "{}", err.help());
        assert!(matches!(Schedule::every("10m"), Err(ScheduleError::IntervalTooShort { .. })));
        assert!(matches!(Schedule::every("often"), Err(ScheduleError::BadInterval { .. })));
    }

    #[test]
    fn intervals_fire_on_multiples_since_the_epoch() {
        let s = Schedule::every("30m").unwrap();
        let t = Utc.with_ymd_and_hms(2026, 1, 15, 12, 10, 0).unwrap();
        assert_eq!(s.next_after(t), Some(Utc.with_ymd_and_hms(2026, 1, 15, 12, 30, 0).unwrap()));
        assert_eq!(s.upcoming(t, 2)[1], Utc.with_ymd_and_hms(2026, 1, 15, 13, 0, 0).unwrap());
        Schedule::every("15m").unwrap();
    }
}
