//! Jira's instants and dates in every form it sends them: its own text layout
//! (`2022-12-08T02:22:18.889-0800`), RFC 3339 (`Z`, `+00:00`), and epoch numbers (Cloud's
//! changelog bulk fetch writes a history's `created` as epoch milliseconds).

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};

/// Epoch numbers below this are seconds, at or above it milliseconds. 10^11 seconds is the year
/// 5138 and 10^11 milliseconds is March 1973, before any Jira existed, so no instant Jira can
/// hold reads the same number both ways.
const EPOCH_MILLIS_FROM: f64 = 1e11;

/// An instant as Jira sends it, in microseconds since the epoch: its text forms (see
/// [`parse_jira_datetime`]) or an epoch number — Cloud's changelog bulk fetch sends a history's
/// `created` as epoch milliseconds. Numbers are told apart by size (`EPOCH_MILLIS_FROM`).
pub fn parse_jira_instant(v: &serde_json::Value) -> Option<i64> {
    match v {
        serde_json::Value::String(s) => parse_jira_datetime(s),
        serde_json::Value::Number(n) => epoch_micros(n.as_f64()?),
        _ => None,
    }
}

/// Epoch seconds or milliseconds (told apart by size) → microseconds, `None` when not finite
/// or outside what a timestamp column holds.
pub fn epoch_micros(n: f64) -> Option<i64> {
    if !n.is_finite() {
        return None;
    }
    let us = if n.abs() < EPOCH_MILLIS_FROM { n * 1e6 } else { n * 1e3 };
    // Year 9999 and before year 1, as chrono and the readers take them.
    (-62_135_596_800e6..=253_402_300_799e6).contains(&us).then(|| us.round() as i64)
}

/// Jira's `2022-06-09T16:29:31.871-0700` (offset without colon; also accepts RFC 3339, `Z`,
/// and an all-digit epoch number sent as text) → microseconds since the epoch in UTC. The
/// offset is applied, never dropped.
pub fn parse_jira_datetime(s: &str) -> Option<i64> {
    if !s.is_empty() && s.len() <= 16 && s.bytes().all(|b| b.is_ascii_digit()) {
        return epoch_micros(s.parse::<f64>().ok()?);
    }
    jira_fixed_datetime(s).or_else(|| {
        DateTime::parse_from_rfc3339(s)
            .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z"))
            .ok()
            .map(|d| d.timestamp_micros())
    })
}

/// The one layout Jira writes every instant in, read without a format interpreter: a site has
/// several per issue and chrono's `%`-format parsing was a visible share of a run's CPU.
fn jira_fixed_datetime(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 28 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'.'
    {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |n, c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    let date = NaiveDate::from_ymd_opt(num(0, 4)? as i32, num(5, 7)?, num(8, 10)?)?;
    let time = NaiveTime::from_hms_milli_opt(num(11, 13)?, num(14, 16)?, num(17, 19)?, num(20, 23)?)?;
    let sign = match b[23] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (oh, om) = (num(24, 26)?, num(26, 28)?);
    if om >= 60 {
        return None;
    }
    let offset_s = sign * i64::from(oh * 3600 + om * 60);
    Some(NaiveDateTime::new(date, time).and_utc().timestamp_micros() - offset_s * 1_000_000)
}

/// `YYYY-MM-DD` → days since the epoch.
pub fn parse_jira_date(s: &str) -> Option<i32> {
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    i32::try_from(d.signed_duration_since(NaiveDate::from_ymd_opt(1970, 1, 1)?).num_days()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jira_datetimes_keep_their_offset() {
        let utc = parse_jira_datetime("2022-06-09T23:29:31.871+0000").unwrap();
        assert_eq!(parse_jira_datetime("2022-06-09T16:29:31.871-0700"), Some(utc));
        assert_eq!(parse_jira_datetime("2022-06-09T16:29:31.871-07:00"), Some(utc));
        assert_eq!(utc, 1_654_817_371_871_000);
        assert_eq!(parse_jira_datetime("yesterday"), None);
        assert_eq!(parse_jira_datetime("2022-02-30T16:29:31.871-0700"), None, "no such day");
        assert_eq!(parse_jira_datetime("2022-06-09T16:29:31.871-0760"), None, "no such offset");
        assert_eq!(parse_jira_datetime("2022-06-09T23:29:31.871Z"), Some(utc));
        assert_eq!(parse_jira_datetime("2022-06-09T23:29:31.871+00:00"), Some(utc));
        assert_eq!(parse_jira_datetime("1654817371871"), Some(utc), "epoch milliseconds as text");
    }

    /// Seconds and milliseconds are told apart by size; both name the same instant.
    #[test]
    fn epoch_numbers_are_seconds_or_milliseconds() {
        use serde_json::json;
        let utc = 1_654_817_371_871_000;
        assert_eq!(parse_jira_instant(&json!(1_654_817_371_871u64)), Some(utc));
        assert_eq!(parse_jira_instant(&json!(1_654_817_371.871)), Some(utc));
        assert_eq!(parse_jira_instant(&json!(1_654_817_371)), Some(utc - 871_000));
        assert_eq!(parse_jira_instant(&json!("2022-06-09T16:29:31.871-0700")), Some(utc));
        assert_eq!(parse_jira_instant(&json!(99_999_999_999u64)), Some(99_999_999_999_000_000), "seconds: year 5138");
        assert_eq!(parse_jira_instant(&json!(100_000_000_000u64)), Some(100_000_000_000_000), "milliseconds: 1973");
        assert_eq!(parse_jira_instant(&json!(1e300)), None);
        assert_eq!(parse_jira_instant(&json!(true)), None);
        assert_eq!(parse_jira_instant(&json!(null)), None);
    }

    #[test]
    fn the_fast_datetime_path_agrees_with_chrono() {
        for s in ["2022-06-09T16:29:31.871-0700", "1999-12-31T23:59:59.999+1345", "2024-02-29T00:00:00.000+0000"] {
            let chrono = DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z").unwrap().timestamp_micros();
            assert_eq!(jira_fixed_datetime(s), Some(chrono), "{s}");
        }
        assert_eq!(parse_jira_date("1970-01-03"), Some(2));
        assert_eq!(parse_jira_date("1969-12-31"), Some(-1));
        assert_eq!(parse_jira_date("03/01/1970"), None);
    }
}
