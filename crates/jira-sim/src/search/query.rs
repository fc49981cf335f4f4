//! Every search endpoint parses and resolves JQL the same way before it pages, so the rules for
//! a query Jira refuses live here once.
//!
//! Issue literals in the JQL are resolved first (`jql::Query::resolve_issues`): on Data Center
//! one that names no issue is a 400 with Jira's message unless `validateQuery=false`; on Cloud
//! it matches nothing (see `shared/notes/jql-semantics.md`).

use std::time::Instant;

use crate::data::Dataset;
use crate::jql;
use crate::site::State as SiteState;

/// Parses JQL in the API user's time zone and resolves its issue literals; `Err` holds Jira's
/// 400 messages. Unknown issue literals are an error only when `strict` (Data Center with
/// validation on); otherwise they match nothing.
pub(super) fn parse(
    st: &SiteState,
    data: &Dataset,
    jql: &str,
    bounded: bool,
    strict: bool,
) -> Result<Parsed, Vec<String>> {
    let mut query = jql::parse(jql, &data.config.time_zone).map_err(|e| vec![e.0])?;
    let ids = query.id_list();
    if bounded && query.filter.is_none() {
        return Err(vec![
            "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.".into(),
        ]);
    }
    let now = Instant::now();
    let unknown = query.resolve_issues(&|r| st.resolve(data, r, now));
    if strict && !unknown.is_empty() {
        return Err(unknown);
    }
    let candidates = ids.map(|ids| {
        let mut v: Vec<u64> = ids.into_iter().filter_map(|id| id.checked_sub(Dataset::issue_id(0))).collect();
        v.sort_unstable();
        v.dedup();
        v
    });
    Ok(Parsed { query, candidates })
}

/// A parsed query and, for an explicit id list, the only issue indices that can match.
pub(super) struct Parsed {
    pub(super) query: jql::Query,
    pub(super) candidates: Option<Vec<u64>>,
}
