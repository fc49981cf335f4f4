//! Where each issue sits: ids, keys and instants are pure functions of the index, chosen so
//! that index order is `updated` order (and `created` order), which search relies on to page
//! without sorting.

use super::{DAY_MS, Dataset, tag};

impl Dataset {
    /// Issue ids start at 10000 as on a fresh Jira site.
    pub fn issue_id(i: u64) -> u64 {
        10_000 + i
    }

    pub fn index_of_id(&self, id: u64) -> Option<u64> {
        id.checked_sub(10_000).filter(|i| *i < self.config.issues)
    }

    pub fn project_of(&self, i: u64) -> u64 {
        i % self.config.projects
    }

    pub fn issue_key(&self, i: u64) -> String {
        format!("{}-{}", self.project_key(self.project_of(i)), self.key_num(i))
    }

    /// The number part of issue `i`'s key: issues are spread round-robin over the projects in
    /// creation order, so ids interleave across projects as on a real multi-project site.
    pub fn key_num(&self, i: u64) -> u64 {
        i / self.config.projects.max(1) + 1
    }

    /// Spacing of `updated` between consecutive base issues: the site's issues span one year.
    fn step_ms(&self) -> i64 {
        (365 * DAY_MS / self.config.issues.max(1) as i64).max(2)
    }

    /// `updated` of base issue `i`, strictly increasing in `i`.
    pub fn updated_ms(&self, i: u64) -> i64 {
        let step = self.step_ms();
        let end = self.config.updated_until.timestamp_millis();
        let start = end - step * self.config.issues as i64;
        start + step * i as i64 + (self.p(tag::JITTER, i) % (step as u64 - 1)) as i64
    }

    /// `created` of base issue `i`, strictly increasing in `i` as on Jira, where ids are handed
    /// out in creation order. It spans 1.4 times the year of `updated`, starting 180 days
    /// before it, so early issues are about half a year old when last updated and recent ones a
    /// few weeks (always `created < updated`).
    pub fn created_ms(&self, i: u64) -> i64 {
        let step = self.step_ms() * 7 / 5;
        let end = self.config.updated_until.timestamp_millis();
        let start = end - self.step_ms() * self.config.issues as i64 - 180 * DAY_MS;
        start + step * i as i64 + (self.p(tag::AGE, i) % (step as u64 - 1)) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updated_is_strictly_increasing_in_index() {
        for n in [1, 7, 250, 1_000_000] {
            let d = Dataset::for_tests(n);
            let last = n.min(2000);
            for i in 1..last {
                assert!(d.updated_ms(i) > d.updated_ms(i - 1), "n={n} i={i}");
            }
        }
    }
}
