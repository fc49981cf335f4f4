//! Whether the daemon keeps its pipelines on time, for `/readyz`: ready once pipelines are
//! loaded and while none is overdue by more than one interval.
//!
//! A pipeline is due at its first fire time after it was loaded (or at once with `--run-now`),
//! then at the first fire time after the last run that *completed* — succeeded or failed: the
//! daemon did its part. It is overdue once a whole interval has passed since it was due without
//! such a run: a run hung (its lease still renewed), another process holding the lease run
//! after run (each run here ends `busy`), or the daemon's loop stuck. A failing pipeline is not
//! overdue; the alerts on `jirapipe_last_run_succeeded` and the last success say that.

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};

use super::event::{Event, Outcome};
use crate::config::{Pipeline, Schedule};

#[derive(Debug)]
struct Tracked {
    schedule: Option<Schedule>,
    /// When the pipeline was loaded, or the fire time of its last completed run.
    since: DateTime<Utc>,
    /// `since` is itself a due time (loaded with `--run-now`) rather than the time after which
    /// the next fire time is due.
    due_at_since: bool,
    /// When the last completed run ended.
    completed: Option<DateTime<Utc>>,
}

impl Tracked {
    /// When the pipeline was due to run, and the interval of slack after it.
    fn due(&self) -> Option<(DateTime<Utc>, TimeDelta)> {
        let s = self.schedule.as_ref()?;
        let due = if self.due_at_since { self.since } else { s.next_after(self.since)? };
        Some((due, s.interval_around(due)?))
    }
}

/// The daemon's pipelines and how far along each is; fed by the daemon's events.
#[derive(Debug, Default)]
pub struct Health {
    pipelines: Mutex<Option<BTreeMap<String, Tracked>>>,
}

/// The answer of `/readyz`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    pub ready: bool,
    /// One line per pipeline (or why nothing is loaded).
    pub lines: Vec<String>,
}

impl Health {
    pub fn new() -> Self {
        Self::default()
    }

    /// The daemon starts with `pipelines` at `now`; `run_now` when each runs at once.
    pub fn loaded(&self, pipelines: &[&Pipeline], now: DateTime<Utc>, run_now: bool) {
        let tracked = pipelines
            .iter()
            .map(|p| {
                let t = Tracked { schedule: p.schedule.clone(), since: now, due_at_since: run_now, completed: None };
                (p.name.clone(), t)
            })
            .collect();
        *self.pipelines.lock().expect("health lock") = Some(tracked);
    }

    /// What the daemon did.
    pub fn observe(&self, event: &Event, now: DateTime<Utc>) {
        let Event::Finished { pipeline, fire, outcome: Outcome::Succeeded { .. } | Outcome::Failed(_) } = event else {
            return;
        };
        let mut guard = self.pipelines.lock().expect("health lock");
        if let Some(t) = guard.as_mut().and_then(|m| m.get_mut(pipeline)) {
            // A run started early (`--run-now`) is for the fire time before it at the latest.
            t.since = (*fire).max(t.since);
            t.due_at_since = false;
            t.completed = Some(now);
        }
    }

    pub fn readiness(&self, now: DateTime<Utc>) -> Readiness {
        let guard = self.pipelines.lock().expect("health lock");
        let Some(pipelines) = guard.as_ref().filter(|m| !m.is_empty()) else {
            return Readiness { ready: false, lines: vec!["no pipelines loaded yet".into()] };
        };
        let mut ready = true;
        let mut lines = Vec::new();
        for (name, t) in pipelines {
            let last =
                t.completed.map_or_else(|| "no run completed yet".to_string(), |c| format!("last run ended {c}"));
            let line = match t.due() {
                None => format!("{name}: ok, no fire time left; {last}"),
                Some((due, slack)) if now > due + slack => {
                    ready = false;
                    let late = humantime::format_duration((now - due).to_std().unwrap_or_default());
                    format!(
                        "{name}: overdue: due at {due}, {late} ago, more than one interval ({}) without a completed \
                         run (a run still going, or another process holding the lease); {last}",
                        humantime::format_duration(slack.to_std().unwrap_or_default())
                    )
                }
                Some((due, _)) => format!("{name}: ok, next due at {due}; {last}"),
            };
            lines.push(line);
        }
        Readiness { ready, lines }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::config::{Vars, load_str};

    fn pipeline() -> Pipeline {
        let yaml = concat!(
            "version: 1\nname: a\n",
            "source:\n  site: https://x.atlassian.net\n  auth: {type: api_token, email: e, token: \"${T}\"}\n",
            "destination:\n  url: memory://\nschedule: {every: 15m}\nobjects:\n  fields: {}\n",
        );
        load_str(yaml, "p.yaml", std::path::Path::new("."), &Vars::only([("T", "t")])).unwrap()
    }

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, h, m, 0).unwrap()
    }

    #[test]
    fn overdue_after_one_interval_past_the_due_time_without_a_completed_run() {
        let h = Health::new();
        assert!(!h.readiness(t(10, 0)).ready, "nothing loaded");
        let p = pipeline();
        h.loaded(&[&p], t(10, 1), false);
        assert!(h.readiness(t(10, 30)).ready, "due 10:15, one interval of slack");
        let late = h.readiness(t(10, 31));
        assert!(!late.ready && late.lines[0].contains("overdue: due at 2026-03-02 10:15:00 UTC"), "{late:?}");
        // Another process held the lease: a busy run is not a completed one.
        let busy = Outcome::Busy("held".into());
        h.observe(&Event::Finished { pipeline: "a".into(), fire: t(10, 30), outcome: busy }, t(10, 30));
        assert!(!h.readiness(t(10, 31)).ready);
        let ok = Outcome::Succeeded { rows: 1 };
        h.observe(&Event::Finished { pipeline: "a".into(), fire: t(10, 45), outcome: ok }, t(10, 46));
        assert!(h.readiness(t(11, 15)).ready);
        assert!(!h.readiness(t(11, 16)).ready);
    }
}
