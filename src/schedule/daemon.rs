//! `jirapipe schedule`: many pipelines, each on its own fire times, in one process.
//!
//! Each pipeline has one loop: wait for the fire time, run, repeat. A fire time that comes while
//! the pipeline's previous run is still going is skipped and logged — runs never pile up and
//! never overlap (the lease also keeps other processes out). Fire times are computed from the
//! previous fire time, not from when a run ended, so a schedule never drifts.
//!
//! Stopping has two steps, driven by [`Phase`]: `Draining` takes no new runs and lets running
//! ones finish; `Abandoning` drops them (every table stays at its last commit).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use futures::future::{BoxFuture, LocalBoxFuture};
use tokio::sync::{mpsc, watch};

use super::clock::Clock;
use super::event::{Event, Outcome, SkipReason};
use super::health::Health;
use crate::config::Pipeline;

/// One run of a pipeline, as the daemon starts it. The real one is [`super::LeasedRun`]; tests
/// give one whose runs take as long as they like on a manual clock. Runs need not be `Send`:
/// the daemon drives them all on the thread that awaits [`Daemon::run`].
pub trait Job: 'static {
    /// Runs `pipeline` once; must return soon after `abandon` resolves.
    fn run(&self, pipeline: Arc<Pipeline>, abandon: BoxFuture<'static, ()>) -> LocalBoxFuture<'static, Outcome>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Running,
    /// No new runs; running ones may finish.
    Draining,
    /// Running ones are dropped.
    Abandoning,
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Each run starts after a random delay below this, so many pipelines (or many daemons)
    /// on the same cron do not hit Jira in the same second.
    pub jitter: Duration,
    /// Run every pipeline once at start, then follow the schedule.
    pub once_now: bool,
}

pub struct Daemon {
    pipelines: Vec<Arc<Pipeline>>,
    job: Arc<dyn Job>,
    clock: Arc<dyn Clock>,
    options: Options,
    events: Option<mpsc::UnboundedSender<Event>>,
    health: Option<Arc<Health>>,
}

impl Daemon {
    pub fn new(pipelines: Vec<Pipeline>, job: Arc<dyn Job>, clock: Arc<dyn Clock>, options: Options) -> Self {
        let pipelines = pipelines.into_iter().map(Arc::new).collect();
        Self { pipelines, job, clock, options, events: None, health: None }
    }

    /// Also sends every event to `tx`.
    pub fn with_events(mut self, tx: mpsc::UnboundedSender<Event>) -> Self {
        self.events = Some(tx);
        self
    }

    /// Also tells `health` (behind `/readyz`) what it loads and does.
    pub fn with_health(mut self, health: Arc<Health>) -> Self {
        self.health = Some(health);
        self
    }

    /// Runs until `phase` leaves `Running` and every run has ended, or until no pipeline has a
    /// fire time left.
    pub async fn run(self, phase: watch::Receiver<Phase>) {
        if let Some(h) = &self.health {
            let pipelines: Vec<&Pipeline> = self.pipelines.iter().map(|p| p.as_ref()).collect();
            h.loaded(&pipelines, self.clock.now(), self.options.once_now);
        }
        let loops = self.pipelines.iter().map(|p| self.pipeline_loop(p.clone(), phase.clone()));
        futures::future::join_all(loops).await;
    }

    fn emit(&self, event: Event) {
        match &event {
            Event::Started { pipeline, fire } => tracing::info!(%pipeline, %fire, "run started"),
            Event::Skipped { pipeline, fire, reason: SkipReason::StillRunning } => {
                tracing::warn!(%pipeline, %fire, "fire time skipped: the previous run is still going")
            }
            Event::Skipped { pipeline, fire, reason: SkipReason::Missed } => {
                tracing::warn!(
                    %pipeline,
                    %fire,
                    "fire time missed: the daemon was not awake then (suspend or clock change)"
                )
            }
            Event::Finished { pipeline, fire, outcome } => match outcome {
                Outcome::Succeeded { rows } => tracing::info!(%pipeline, %fire, rows, "run finished"),
                Outcome::Busy(why) => tracing::warn!(%pipeline, %fire, "run skipped: {why}"),
                Outcome::Failed(why) => tracing::error!(%pipeline, %fire, "run failed: {why}"),
                Outcome::Abandoned => {
                    tracing::warn!(%pipeline, %fire, "run abandoned at shutdown; every table stays at its last commit")
                }
            },
        }
        if let Some(h) = &self.health {
            h.observe(&event, self.clock.now());
        }
        if let Some(tx) = &self.events {
            let _ = tx.send(event);
        }
    }

    /// Sleeps until `t`; `false` if the daemon stops taking runs first.
    async fn wait_until(&self, t: DateTime<Utc>, phase: &mut watch::Receiver<Phase>) -> bool {
        if *phase.borrow() != Phase::Running {
            return false;
        }
        let woke = tokio::select! {
            () = self.clock.sleep_until(t) => true,
            _ = phase.wait_for(|p| *p != Phase::Running) => false,
        };
        woke && *phase.borrow() == Phase::Running
    }

    async fn pipeline_loop(&self, pipeline: Arc<Pipeline>, mut phase: watch::Receiver<Phase>) {
        let name = pipeline.name.clone();
        let next_of = |t: DateTime<Utc>| pipeline.schedule.as_ref().and_then(|s| s.next_after(t));
        let mut due = if self.options.once_now { Some(self.clock.now()) } else { next_of(self.clock.now()) };
        while let Some(mut fire) = due {
            if !self.wait_until(fire, &mut phase).await {
                return;
            }
            // Woken late (suspend, clock step): run once, for the latest fire time that passed.
            while let Some(n) = next_of(fire).filter(|n| *n <= self.clock.now()) {
                self.emit(Event::Skipped { pipeline: name.clone(), fire, reason: SkipReason::Missed });
                fire = n;
            }
            if !self.options.jitter.is_zero() {
                let delay = self.options.jitter.mul_f64(fastrand::f64());
                let start = self.clock.now() + TimeDelta::from_std(delay).unwrap_or_default();
                if !self.wait_until(start, &mut phase).await {
                    return;
                }
            }
            self.emit(Event::Started { pipeline: name.clone(), fire });
            let mut abandon_rx = phase.clone();
            let abandon = Box::pin(async move {
                if abandon_rx.wait_for(|p| *p == Phase::Abandoning).await.is_err() {
                    std::future::pending::<()>().await;
                }
            });
            let mut run = self.job.run(pipeline.clone(), abandon);
            let mut next = next_of(fire);
            let outcome = loop {
                let next_fire = async {
                    match next {
                        Some(t) => self.clock.sleep_until(t).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    outcome = &mut run => break outcome,
                    () = next_fire => {
                        let skipped = next.expect("a fire time was awaited");
                        self.emit(Event::Skipped {
                            pipeline: name.clone(),
                            fire: skipped,
                            reason: SkipReason::StillRunning,
                        });
                        next = next_of(skipped);
                    }
                }
            };
            self.emit(Event::Finished { pipeline: name.clone(), fire, outcome });
            due = next;
        }
        tracing::info!(pipeline = %name, "no fire times left");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use chrono::TimeZone;
    use tokio::sync::oneshot;

    use super::*;
    use crate::config::{Vars, load_str};
    use crate::schedule::ManualClock;

    fn pipeline(name: &str, schedule: &str) -> Pipeline {
        let yaml = format!(
            "version: 1\nname: {name}\nsource:\n  site: https://x.atlassian.net\n  auth: {{type: api_token, email: e, token: \"${{T}}\"}}\ndestination:\n  url: memory://\nschedule: {schedule}\nobjects:\n  fields: {{}}\n"
        );
        load_str(&yaml, "p.yaml", std::path::Path::new("."), &Vars::only([("T", "t")])).unwrap()
    }

    /// Runs end when the test says so.
    #[derive(Default)]
    struct Gate {
        pending: Mutex<Vec<oneshot::Sender<Outcome>>>,
    }

    impl Job for Gate {
        fn run(&self, _: Arc<Pipeline>, abandon: BoxFuture<'static, ()>) -> LocalBoxFuture<'static, Outcome> {
            let (tx, rx) = oneshot::channel();
            self.pending.lock().unwrap().push(tx);
            Box::pin(async move {
                tokio::select! {
                    o = rx => o.unwrap_or(Outcome::Abandoned),
                    () = abandon => Outcome::Abandoned,
                }
            })
        }
    }

    impl Gate {
        fn finish_all(&self) {
            for tx in self.pending.lock().unwrap().drain(..) {
                let _ = tx.send(Outcome::Succeeded { rows: 1 });
            }
        }
    }

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, h, m, 0).unwrap()
    }

    struct Harness {
        clock: ManualClock,
        gate: Arc<Gate>,
        phase: watch::Sender<Phase>,
        events: mpsc::UnboundedReceiver<Event>,
        daemon: tokio::task::JoinHandle<()>,
    }

    fn start(pipelines: Vec<Pipeline>, options: Options) -> Harness {
        let clock = ManualClock::new(t(10, 1));
        let gate = Arc::new(Gate::default());
        let (tx, events) = mpsc::unbounded_channel();
        let (phase, rx) = watch::channel(Phase::Running);
        let d = Daemon::new(pipelines, gate.clone(), Arc::new(clock.clone()), options).with_events(tx);
        Harness { clock, gate, phase, events, daemon: tokio::task::spawn_local(d.run(rx)) }
    }

    impl Harness {
        async fn next(&mut self) -> Event {
            tokio::time::timeout(Duration::from_secs(5), self.events.recv()).await.expect("an event").unwrap()
        }

        /// Lets the running job finish, then drains the daemon and waits for it to stop.
        async fn finish_and_drain(mut self) {
            self.gate.finish_all();
            self.next().await;
            self.phase.send_replace(Phase::Draining);
            tokio::time::timeout(Duration::from_secs(5), self.daemon).await.unwrap().unwrap();
        }
    }

    fn started(fire: DateTime<Utc>) -> Event {
        Event::Started { pipeline: "a".into(), fire }
    }

    #[tokio::test]
    async fn a_run_longer_than_the_interval_skips_the_fire_times_it_overlaps() {
        tokio::task::LocalSet::new()
            .run_until(async {
                let mut h = start(vec![pipeline("a", "{cron: \"*/15 * * * *\"}")], Options::default());
                // Let the daemon read the start time before time moves.
                for _ in 0..3 {
                    tokio::task::yield_now().await;
                }
                h.clock.set(t(10, 15));
                assert_eq!(h.next().await, started(t(10, 15)));
                // The run takes 40 minutes: 10:30 and 10:45 come while it goes on.
                h.clock.set(t(10, 40));
                let skipped =
                    Event::Skipped { pipeline: "a".into(), fire: t(10, 30), reason: SkipReason::StillRunning };
                assert_eq!(h.next().await, skipped);
                h.clock.set(t(10, 55));
                assert!(matches!(h.next().await, Event::Skipped { fire, .. } if fire == t(10, 45)));
                h.gate.finish_all();
                let finished = h.next().await;
                assert!(matches!(
                    finished,
                    Event::Finished { fire, outcome: Outcome::Succeeded { .. }, .. } if fire == t(10, 15)
                ));
                // The next run is at the next fire time, not at once.
                h.clock.set(t(10, 59));
                tokio::task::yield_now().await;
                assert!(h.events.try_recv().is_err());
                h.clock.set(t(11, 0));
                assert_eq!(h.next().await, started(t(11, 0)));
                h.finish_and_drain().await;
            })
            .await;
    }

    #[tokio::test]
    async fn once_now_runs_at_start_and_a_late_wake_runs_once_for_the_latest_fire_time() {
        tokio::task::LocalSet::new()
            .run_until(async {
                let mut h =
                    start(vec![pipeline("a", "{every: 30m}")], Options { once_now: true, ..Default::default() });
                assert_eq!(h.next().await, started(t(10, 1)));
                h.gate.finish_all();
                h.next().await;
                // Asleep from 10:01 to 11:40: 10:30 and 11:00 were missed, 11:30 runs.
                h.clock.set(t(11, 40));
                assert!(matches!(
                    h.next().await,
                    Event::Skipped { fire, reason: SkipReason::Missed, .. } if fire == t(10, 30)
                ));
                assert!(matches!(
                    h.next().await,
                    Event::Skipped { fire, reason: SkipReason::Missed, .. } if fire == t(11, 0)
                ));
                assert_eq!(h.next().await, started(t(11, 30)));
                h.finish_and_drain().await;
            })
            .await;
    }

    #[tokio::test]
    async fn draining_lets_the_run_finish_and_abandoning_drops_it() {
        tokio::task::LocalSet::new()
            .run_until(async {
                let pipelines = vec![pipeline("a", "{cron: \"@hourly\"}"), pipeline("b", "{cron: \"@daily\"}")];
                let mut h = start(pipelines, Options { once_now: true, ..Default::default() });
                let mut started_now = [h.next().await, h.next().await].map(|e| matches!(e, Event::Started { .. }));
                started_now.sort();
                assert_eq!(started_now, [true, true]);
                h.phase.send_replace(Phase::Draining);
                tokio::task::yield_now().await;
                assert!(!h.daemon.is_finished(), "running runs may finish");
                h.gate.pending.lock().unwrap().remove(0).send(Outcome::Succeeded { rows: 1 }).unwrap();
                assert!(matches!(h.next().await, Event::Finished { outcome: Outcome::Succeeded { .. }, .. }));
                h.phase.send_replace(Phase::Abandoning);
                assert!(matches!(h.next().await, Event::Finished { outcome: Outcome::Abandoned, .. }));
                tokio::time::timeout(Duration::from_secs(5), h.daemon).await.unwrap().unwrap();
                assert!(h.events.try_recv().is_err(), "nothing started after the stop");
            })
            .await;
    }
}
