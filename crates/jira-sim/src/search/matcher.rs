//! Walking the site's visible issues in a query's order is the costly part of a search; both
//! paging models share these walks so that the shortcuts (no sort for the natural and
//! `created` orders, binary search to the first candidate) are written once.

use std::time::Instant;

use crate::data::Dataset;
use crate::jql::{self, SortKey};
use crate::site::{self, Snapshot, State as SiteState};

/// Walks the site's visible issues in a query's order.
pub(super) struct Matcher<'a> {
    pub(super) st: &'a SiteState,
    pub(super) data: &'a Dataset,
    pub(super) query: &'a jql::Query,
    /// The only indices that can match (an `id in (…)` query), if known.
    pub(super) candidates: Option<&'a [u64]>,
    pub(super) now: Instant,
}

/// A position in `updated, id` order: base indices first, then the tail of changed issues.
impl Matcher<'_> {
    pub(super) fn natural(&self) -> bool {
        matches!(
            self.query.order.as_slice(),
            [] | [(SortKey::Updated, true)] | [(SortKey::Updated, true), (SortKey::Id, true)]
        )
    }

    fn matches(&self, s: &Snapshot) -> bool {
        let key = self.st.issue_key(self.data, s.index);
        let pkey = self.data.project_key(self.st.project_of(self.data, s.index));
        let mut view = site::view(self.st, self.data, s, &key, &pkey);
        view.created_ms = self.created(s);
        self.query.matches(&view)
    }

    /// `created` as the index compares it (to the minute with `created_indexed_to_minute`).
    fn created(&self, s: &Snapshot) -> i64 {
        if self.st.behaviour.created_indexed_to_minute {
            s.created_ms.div_euclid(60_000) * 60_000
        } else {
            s.created_ms
        }
    }

    /// The snapshot at natural position `pos` if it is a match.
    fn at(&self, pos: u64, tail: &[Snapshot]) -> Option<Snapshot> {
        let n = self.data.config.issues;
        let s = if pos < n {
            self.st.snapshot(self.data, pos, self.now).filter(|s| s.updated_ms == self.data.updated_ms(pos))?
        } else {
            *tail.get((pos - n) as usize)?
        };
        self.matches(&s).then_some(s)
    }

    /// Up to `limit` matches from natural position `start`, and the position to resume at.
    pub(super) fn page_natural(&self, start: u64, limit: usize) -> (Vec<Snapshot>, Option<u64>) {
        let tail = self.st.tail(self.data, self.now);
        let end = self.data.config.issues + tail.len() as u64;
        let floor = self.query.min_updated().map(|t| first_index_updated_at_or_after(self.data, t)).unwrap_or(0);
        let mut pos = start.max(floor);
        let mut page = Vec::with_capacity(limit.min(1024));
        while pos < end && page.len() < limit {
            page.extend(self.at(pos, &tail));
            pos += 1;
        }
        while pos < end && self.at(pos, &tail).is_none() {
            pos += 1;
        }
        (page, (pos < end).then_some(pos))
    }

    /// Ordered by `created` ascending (ties by key or id): base issues were created in index
    /// order and created issues come after them, so positions are issue indices and an edit
    /// does not move an issue, as on Jira.
    pub(super) fn by_created(&self) -> bool {
        !self.st.behaviour.created_indexed_to_minute
            && matches!(
                self.query.order.as_slice(),
                [(SortKey::Created, true)] | [(SortKey::Created, true), (SortKey::Key | SortKey::Id, true)]
            )
    }

    /// Up to `limit` matches in `created` order from index `start`, and the index to resume at.
    pub(super) fn page_by_created(&self, start: u64, limit: usize) -> (Vec<Snapshot>, Option<u64>) {
        let end = self.st.index_count(self.data);
        let floor = self.query.min_created().map(|t| first_index_created_at_or_after(self.data, t)).unwrap_or(0);
        let mut pos = start.max(floor);
        let visible = |i: u64| self.st.snapshot(self.data, i, self.now).filter(|s| self.matches(s));
        let mut page = Vec::with_capacity(limit.min(1024));
        while pos < end && page.len() < limit {
            page.extend(visible(pos));
            pos += 1;
        }
        while pos < end && visible(pos).is_none() {
            pos += 1;
        }
        (page, (pos < end).then_some(pos))
    }

    /// The indices that can match, in index order.
    fn indices(&self) -> Box<dyn Iterator<Item = u64> + '_> {
        let count = self.st.index_count(self.data);
        match self.candidates {
            Some(c) => Box::new(c.iter().copied().filter(move |i| *i < count)),
            None => Box::new(0..count),
        }
    }

    /// Every match in `order` (for orders other than `updated`).
    pub(super) fn all_sorted(&self, order: &[(SortKey, bool)]) -> Vec<Snapshot> {
        let mut all: Vec<Snapshot> = self
            .indices()
            .filter_map(|i| self.st.snapshot(self.data, i, self.now))
            .filter(|s| self.matches(s))
            .collect();
        let (data, st) = (self.data, self.st);
        all.sort_by(|a, b| {
            for (key, asc) in order {
                let ord = match key {
                    SortKey::Updated => a.updated_ms.cmp(&b.updated_ms),
                    SortKey::Created => self.created(a).cmp(&self.created(b)),
                    // `ORDER BY id` is `ORDER BY key` in Jira (`KeySystemField.getSortFields`:
                    // project key, then key number), not numeric id order.
                    SortKey::Key | SortKey::Id => {
                        jql::key_cmp(&st.issue_key(data, a.index), &st.issue_key(data, b.index))
                    }
                };
                let ord = if *asc { ord } else { ord.reverse() };
                if ord.is_ne() {
                    return ord;
                }
            }
            a.index.cmp(&b.index)
        });
        all
    }

    pub(super) fn count(&self) -> u64 {
        self.indices().filter_map(|i| self.st.snapshot(self.data, i, self.now)).filter(|s| self.matches(s)).count()
            as u64
    }
}

/// The first base issue whose `created` is at least `t` (created issues come after them all).
fn first_index_created_at_or_after(data: &Dataset, t: i64) -> u64 {
    first_index_at_or_after(data, t, Dataset::created_ms)
}

fn first_index_updated_at_or_after(data: &Dataset, t: i64) -> u64 {
    first_index_at_or_after(data, t, Dataset::updated_ms)
}

/// Binary search over an instant that strictly increases with the base issue's index.
fn first_index_at_or_after(data: &Dataset, t: i64, at: fn(&Dataset, u64) -> i64) -> u64 {
    let (mut lo, mut hi) = (0u64, data.config.issues);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if at(data, mid) < t {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_search_finds_the_first_issue_at_or_after() {
        let d = Dataset::for_tests(1000);
        let t = d.updated_ms(400);
        assert_eq!(first_index_updated_at_or_after(&d, t), 400);
        assert_eq!(first_index_updated_at_or_after(&d, t + 1), 401);
        assert_eq!(first_index_updated_at_or_after(&d, i64::MIN), 0);
        assert_eq!(first_index_updated_at_or_after(&d, i64::MAX), 1000);
    }
}
