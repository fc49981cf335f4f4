//! Where each issue sits: ids, keys and instants are pure functions of the index, chosen so
//! that index order is `updated` order (and `created` order), which search relies on to page
//! without sorting.

use super::{DAY_MS, Dataset, tag};

const MINUTE_MS: i64 = 60_000;

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
    ///
    /// With `imported_at_start`, the first issues share the minute of the first one (spread
    /// evenly over it, still strictly increasing), and later ones stay past that minute.
    pub fn created_ms(&self, i: u64) -> i64 {
        let spread = |i: u64| {
            let step = self.step_ms() * 7 / 5;
            let end = self.config.updated_until.timestamp_millis();
            let start = end - self.step_ms() * self.config.issues as i64 - 180 * DAY_MS;
            start + step * i as i64 + (self.p(tag::AGE, i) % (step as u64 - 1)) as i64
        };
        let imported = self.config.imported_at_start.min(MINUTE_MS as u64 - 1);
        if imported == 0 {
            return spread(i);
        }
        let minute = spread(0).div_euclid(MINUTE_MS) * MINUTE_MS;
        if i < imported {
            minute + (i * (MINUTE_MS as u64 - 1) / imported) as i64
        } else {
            spread(i).max(minute + MINUTE_MS + i as i64)
        }
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

    #[test]
    fn an_imported_start_shares_one_minute_and_created_still_increases() {
        let mut d = Dataset::for_tests(3_000);
        d.config.imported_at_start = 2_500;
        let minute = |i| d.created_ms(i).div_euclid(MINUTE_MS);
        assert_eq!(minute(0), minute(2_499));
        assert!(minute(2_500) > minute(2_499));
        for i in 1..3_000 {
            assert!(d.created_ms(i) > d.created_ms(i - 1), "i={i}");
            assert!(d.created_ms(i) < d.updated_ms(i), "i={i}");
        }
    }
}
