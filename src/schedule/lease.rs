//! A lease in the destination so that two processes, on one machine or many, never run the same
//! pipeline at once.
//!
//! The lease is a sequence of small JSON records, `{destination}/_jirapipe/lease/{pipeline}/
//! {generation}.json`; the newest generation is the lease. Every change — taking it, renewing it,
//! releasing it — writes the *next* generation with a create-if-absent put
//! (`PutMode::Create`), so of two processes racing for the same generation exactly one wins, on
//! every store: S3 and Azure (`If-None-Match: *`; on Azure a Put Blob, not a blob lease), GCS
//! (`x-goog-if-generation-match: 0`), the local file system (a hard link that fails if the name
//! exists) and memory — the same put Delta commits rely on (docs/destinations.md). A single
//! record renewed with `PutMode::Update` would need a compare-and-swap that the local file
//! system does not offer; a new name each time needs none.
//!
//! A holder renews every `ttl / 5`. A crashed holder stops renewing and its record expires
//! after `ttl`; the next taker writes the following generation. A holder that finds its next
//! generation already written, or that could not renew before its own expiry, has lost the lease
//! and must stop. Expiry compares wall clocks of different machines: keep them in sync (NTP) to
//! well under the TTL.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use deltalake::logstore::object_store::path::Path;
use deltalake::logstore::object_store::{self, ObjectStore, ObjectStoreExt, PutMode, PutPayload};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};

use super::clock::Clock;

/// Long enough to ride out a slow object store, short enough that a crashed holder does not
/// block the next fire time (15 minutes away at the closest).
pub const DEFAULT_TTL: Duration = Duration::from_secs(5 * 60);

/// Older generations kept besides the newest, so a holder that was paused for a while finds
/// its successor's record instead of a free name.
const KEEP_GENERATIONS: u64 = 2;

/// Who holds a lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub host: String,
    pub pid: u32,
    /// Unique per acquisition: tells two runs of one process apart.
    pub lease_id: String,
}

impl Holder {
    /// This process, with a fresh lease id.
    pub fn this_process() -> Self {
        Self {
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            pid: std::process::id(),
            lease_id: uuid::Uuid::now_v7().to_string(),
        }
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "host {} pid {} (lease {})", self.host, self.pid, self.lease_id)
    }
}

/// One generation of the lease, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRecord {
    pub pipeline: String,
    pub generation: u64,
    pub holder: Holder,
    pub acquired_at: DateTime<Utc>,
    pub renewed_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Set when the holder let go; the lease is then free at once.
    pub released_at: Option<DateTime<Utc>>,
}

impl LeaseRecord {
    fn held_at(&self, now: DateTime<Utc>) -> bool {
        self.released_at.is_none() && self.expires_at > now
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error(
        "pipeline `{}` is already running: {} holds its lease since {} (it expires at {} unless renewed)",
        .0.pipeline,
        .0.holder,
        .0.acquired_at.format("%Y-%m-%d %H:%M:%S UTC"),
        .0.expires_at.format("%Y-%m-%d %H:%M:%S UTC")
    )]
    Busy(Box<LeaseRecord>),
    #[error("lost the lease of pipeline `{pipeline}`: {reason}")]
    Lost { pipeline: String, reason: String },
    #[error(
        "lease {path}: {source}. Fix: check that the destination is reachable and writable (credentials, bucket policy, free space)"
    )]
    Store { path: String, source: Box<object_store::Error> },
    #[error("lease {path} is not a jirapipe lease record: {source}")]
    Corrupt { path: String, source: serde_json::Error },
    #[error("cannot open the destination {url} for the lease: {reason}")]
    Destination { url: String, reason: String },
}

/// The lease of one pipeline in one destination.
#[derive(Debug, Clone)]
pub struct LeaseLock {
    store: Arc<dyn ObjectStore>,
    /// The destination's URL, so that errors name the place, not a path only the store knows.
    place: String,
    dir: Path,
    pipeline: String,
    ttl: TimeDelta,
    clock: Arc<dyn Clock>,
}

impl LeaseLock {
    pub fn new(store: Arc<dyn ObjectStore>, pipeline: &str, ttl: Duration, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            place: String::new(),
            dir: Path::from_iter(["_jirapipe", "lease", pipeline]),
            pipeline: pipeline.into(),
            ttl: TimeDelta::from_std(ttl).unwrap_or(TimeDelta::MAX / 2),
            clock,
        }
    }

    /// The lease under `destination`, reached with the same object store and settings (the
    /// `AWS_*`, `GOOGLE_*`, `AZURE_*` environment) as the tables.
    pub fn for_destination(
        destination: &crate::config::Destination,
        pipeline: &str,
        ttl: Duration,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, LeaseError> {
        let options = destination.storage_options();
        let destination = &destination.url;
        let err = |reason: String| LeaseError::Destination { url: destination.to_string(), reason };
        crate::table::register_stores();
        if destination.scheme() == "file" {
            // The local store refuses a prefix that does not exist yet.
            let path = destination.to_file_path().map_err(|()| err("not a local path".into()))?;
            std::fs::create_dir_all(&path).map_err(|e| err(e.to_string()))?;
        }
        let store = deltalake::logstore::store_for(destination, options).map_err(|e| err(e.to_string()))?;
        let mut place = destination.to_string();
        if !place.ends_with('/') {
            place.push('/');
        }
        Ok(Self { place, ..Self::new(store, pipeline, ttl, clock) })
    }

    pub fn ttl(&self) -> Duration {
        self.ttl.to_std().unwrap_or_default()
    }

    fn path(&self, generation: u64) -> Path {
        self.dir.clone().join(format!("{generation:020}.json"))
    }

    /// `path` in the destination, as errors name it.
    fn named(&self, path: &Path) -> String {
        format!("{}{path}", self.place)
    }

    fn store_err(&self, path: &Path) -> impl FnOnce(object_store::Error) -> LeaseError {
        let path = self.named(path);
        move |e| LeaseError::Store { path, source: Box::new(e) }
    }

    /// Generation numbers present, oldest first.
    async fn generations(&self) -> Result<Vec<u64>, LeaseError> {
        let metas: Vec<_> = self.store.list(Some(&self.dir)).try_collect().await.map_err(self.store_err(&self.dir))?;
        let mut gens: Vec<u64> =
            metas.iter().filter_map(|m| m.location.filename()?.strip_suffix(".json")?.parse().ok()).collect();
        gens.sort_unstable();
        Ok(gens)
    }

    /// The newest record, if any: who holds (or last held) the lease.
    pub async fn current(&self) -> Result<Option<LeaseRecord>, LeaseError> {
        // A holder may delete old generations between our list and our read; list again.
        for _ in 0..5 {
            let Some(&newest) = self.generations().await?.last() else { return Ok(None) };
            let path = self.path(newest);
            match self.store.get(&path).await {
                Ok(got) => {
                    let bytes = got.bytes().await.map_err(self.store_err(&path))?;
                    let record = serde_json::from_slice(&bytes)
                        .map_err(|source| LeaseError::Corrupt { path: self.named(&path), source })?;
                    return Ok(Some(record));
                }
                Err(object_store::Error::NotFound { .. }) => continue,
                Err(e) => return Err(self.store_err(&path)(e)),
            }
        }
        Err(LeaseError::Lost {
            pipeline: self.pipeline.clone(),
            reason: "the lease changes faster than it can be read".into(),
        })
    }

    /// Writes `record` as its generation if nobody has; `false` if somebody has.
    async fn create(&self, record: &LeaseRecord) -> Result<bool, LeaseError> {
        let path = self.path(record.generation);
        let body = serde_json::to_vec_pretty(record).expect("lease records serialize");
        match self.store.put_opts(&path, PutPayload::from(body), PutMode::Create.into()).await {
            Ok(_) => {
                self.prune(record.generation).await;
                Ok(true)
            }
            Err(object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. }) => Ok(false),
            Err(e) => Err(self.store_err(&path)(e)),
        }
    }

    /// Deletes generations older than the ones kept; best effort, the next write retries.
    async fn prune(&self, newest: u64) {
        let Ok(gens) = self.generations().await else { return };
        for g in gens.into_iter().filter(|g| g + KEEP_GENERATIONS < newest) {
            if let Err(e) = self.store.delete(&self.path(g)).await {
                tracing::debug!(pipeline = %self.pipeline, generation = g, error = %e, "old lease record not deleted");
            }
        }
    }

    /// Takes the lease for `holder`, or says who has it.
    pub async fn acquire(&self, holder: Holder) -> Result<Lease, LeaseError> {
        loop {
            let current = self.current().await?;
            let now = self.clock.now();
            if let Some(c) = &current {
                if c.held_at(now) {
                    return Err(LeaseError::Busy(Box::new(c.clone())));
                }
                if c.released_at.is_none() {
                    tracing::warn!(
                        pipeline = %self.pipeline,
                        "taking over the lease of {} which expired at {} without being released (a crashed or stopped run)",
                        c.holder, c.expires_at
                    );
                }
            }
            let record = LeaseRecord {
                pipeline: self.pipeline.clone(),
                generation: current.map_or(1, |c| c.generation + 1),
                holder: holder.clone(),
                acquired_at: now,
                renewed_at: now,
                expires_at: now + self.ttl,
                released_at: None,
            };
            // Lost a race for this generation: look again (the winner now holds it).
            if self.create(&record).await? {
                tracing::debug!(pipeline = %self.pipeline, generation = record.generation, "lease taken");
                return Ok(Lease { lock: self.clone(), record });
            }
        }
    }
}

/// A lease this process holds. Drop without `release` (a crash) and it expires after the TTL.
#[derive(Debug)]
pub struct Lease {
    lock: LeaseLock,
    record: LeaseRecord,
}

impl Lease {
    pub fn record(&self) -> &LeaseRecord {
        &self.record
    }

    fn lost(&self, reason: impl Into<String>) -> LeaseError {
        LeaseError::Lost { pipeline: self.lock.pipeline.clone(), reason: reason.into() }
    }

    /// Writes the next generation with a later expiry.
    pub async fn renew(&mut self) -> Result<(), LeaseError> {
        let now = self.lock.clock.now();
        if now >= self.record.expires_at {
            return Err(self.lost(format!("it expired at {} before it could be renewed", self.record.expires_at)));
        }
        let next = LeaseRecord {
            generation: self.record.generation + 1,
            renewed_at: now,
            expires_at: now + self.lock.ttl,
            ..self.record.clone()
        };
        if self.lock.create(&next).await? {
            self.record = next;
            Ok(())
        } else {
            let by = match self.lock.current().await {
                Ok(Some(c)) => c.holder.to_string(),
                _ => "another process".into(),
            };
            Err(self.lost(format!("{by} took it over")))
        }
    }

    /// Lets go, so the next run need not wait for the expiry.
    pub async fn release(mut self) -> Result<(), LeaseError> {
        let now = self.lock.clock.now();
        let next = LeaseRecord {
            generation: self.record.generation + 1,
            expires_at: now,
            released_at: Some(now),
            ..self.record.clone()
        };
        if self.lock.create(&next).await? {
            self.record = next;
            Ok(())
        } else {
            Err(self.lost("another process took it over before it was released"))
        }
    }

    /// Runs `work` while renewing the lease every `ttl / 5`. `Err` when the lease is lost: the
    /// work is then dropped, which leaves every table at its last commit.
    pub async fn hold<F: Future>(&mut self, work: F) -> Result<F::Output, LeaseError> {
        let heartbeat = (self.lock.ttl() / 5).max(Duration::from_millis(100));
        let mut work = std::pin::pin!(work);
        loop {
            tokio::select! {
                out = &mut work => return Ok(out),
                () = tokio::time::sleep(heartbeat) => match self.renew().await {
                    Ok(()) => {}
                    Err(e @ LeaseError::Lost { .. }) => return Err(e),
                    // Storage hiccup: try again at the next beat; `renew` gives up at the expiry.
                    Err(e) => {
                        tracing::warn!(pipeline = %self.lock.pipeline, error = %e, "lease renewal failed; retrying")
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use deltalake::logstore::object_store::local::LocalFileSystem;
    use deltalake::logstore::object_store::memory::InMemory;

    use super::*;
    use crate::schedule::clock::ManualClock;

    fn holder(name: &str) -> Holder {
        Holder { host: name.into(), pid: 1, lease_id: name.into() }
    }

    fn lock(store: Arc<dyn ObjectStore>, clock: &ManualClock) -> LeaseLock {
        LeaseLock::new(store, "acme", Duration::from_secs(60), Arc::new(clock.clone()))
    }

    #[tokio::test]
    async fn a_held_lease_names_its_holder_and_a_released_one_is_free() {
        let clock = ManualClock::new(Utc::now());
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let a = lock(store.clone(), &clock);
        let lease = a.acquire(holder("a")).await.unwrap();
        let err = lock(store.clone(), &clock).acquire(holder("b")).await.unwrap_err();
        let LeaseError::Busy(record) = &err else { panic!("{err}") };
        assert_eq!(record.holder, holder("a"));
        assert!(err.to_string().contains("host a pid 1"), "{err}");
        lease.release().await.unwrap();
        let b = lock(store.clone(), &clock).acquire(holder("b")).await.unwrap();
        assert_eq!(b.record().holder, holder("b"));
        assert_eq!(b.record().generation, 3);
    }

    #[tokio::test]
    async fn an_expired_lease_is_taken_over_and_its_old_holder_learns_it_lost() {
        let clock = ManualClock::new(Utc::now());
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let mut a = lock(store.clone(), &clock).acquire(holder("a")).await.unwrap();
        clock.advance(TimeDelta::seconds(30));
        a.renew().await.unwrap();
        clock.advance(TimeDelta::seconds(59));
        assert!(matches!(lock(store.clone(), &clock).acquire(holder("b")).await, Err(LeaseError::Busy(_))));
        clock.advance(TimeDelta::seconds(2));
        let mut b = lock(store.clone(), &clock).acquire(holder("b")).await.unwrap();
        // `a` wakes up late: its renewal must fail whatever its own clock says.
        assert!(matches!(a.renew().await, Err(LeaseError::Lost { .. })));
        b.renew().await.unwrap();
        let mut a2 = Lease {
            lock: a.lock.clone(),
            record: LeaseRecord { expires_at: clock.now() + TimeDelta::hours(1), ..a.record.clone() },
        };
        let err = a2.renew().await.unwrap_err();
        assert!(err.to_string().contains("host b"), "{err}");
    }

    #[tokio::test]
    async fn old_generations_are_pruned() {
        let clock = ManualClock::new(Utc::now());
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let l = lock(store.clone(), &clock);
        let mut lease = l.acquire(holder("a")).await.unwrap();
        for _ in 0..10 {
            lease.renew().await.unwrap();
        }
        assert_eq!(l.generations().await.unwrap(), vec![9, 10, 11]);
    }

    /// Sixteen racers on the local file system, where `PutMode::Update` does not exist: one wins.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn exactly_one_of_many_racers_wins_on_the_local_file_system() {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(Utc::now());
        let store: Arc<dyn ObjectStore> = Arc::new(LocalFileSystem::new_with_prefix(dir.path()).unwrap());
        for round in 0..3 {
            let racers = (0..16).map(|i| {
                let l = lock(store.clone(), &clock);
                tokio::spawn(async move { l.acquire(holder(&format!("r{i}"))).await })
            });
            let results: Vec<_> = futures::future::join_all(racers).await.into_iter().map(Result::unwrap).collect();
            let winners: Vec<Lease> = results.into_iter().filter_map(Result::ok).collect();
            assert_eq!(winners.len(), 1, "round {round}");
            // The file names its holder.
            let text = std::fs::read_to_string(
                dir.path().join(format!("_jirapipe/lease/acme/{:020}.json", winners[0].record().generation)),
            )
            .unwrap();
            assert!(text.contains(&winners[0].record().holder.host), "{text}");
            clock.advance(TimeDelta::seconds(61));
        }
    }
}
