//! Why an issue a full listing no longer shows is missing, asked of Jira rather than assumed:
//! search leaves out issues that stopped matching the pipeline's JQL, archived issues and
//! issues the API user lost Browse Projects on, none of which is a delete.
//!
//! For each batch of missing ids, cheapest question first:
//! 1. an unfiltered search (`id in (…)`): found → the issue left the filter;
//! 2. the issue endpoints (Cloud's bulk fetch, Data Center's `GET /issue/{id}`), which read
//!    the stored issue and so still show archived ones: found → archived;
//! 3. for what neither shows, `mypermissions` on the project stored with the row (never the
//!    key's prefix, which `hash: [key]` destroys): the user may browse it → deleted; may not,
//!    or Jira will not say (404, as for a project the user cannot view) → lost access, kept.
//!
//! An admin API user still sees projects it cannot browse in project search, which is why
//! project search is not asked; `mypermissions` answers for the user's own access.

use std::collections::{HashMap, HashSet};

use crate::config::Deployment;
use crate::jira::issues::{BULK_FETCH_MAX, ProjectParam, SEARCH_IDS_MAX};
use crate::jira::{JiraClient, JiraError};
use crate::objects::{Gone, Missing, ObjectError, ProjectRef};

pub(super) async fn explain(client: &JiraClient, missing: &[Missing]) -> Result<Vec<(u64, Gone)>, ObjectError> {
    let mut out = Vec::with_capacity(missing.len());
    let mut unseen: Vec<&Missing> = Vec::new();
    for chunk in missing.chunks(SEARCH_IDS_MAX) {
        let ids: Vec<u64> = chunk.iter().map(|m| m.id).collect();
        let found: HashSet<u64> = client.searchable(&ids).await?.into_iter().collect();
        for m in chunk {
            if found.contains(&m.id) {
                out.push((m.id, Gone::LeftFilter));
            } else {
                unseen.push(m);
            }
        }
    }
    let stored = stored_ids(client, &unseen.iter().map(|m| m.id).collect::<Vec<_>>()).await?;
    let mut access: HashMap<&ProjectRef, bool> = HashMap::new();
    for m in unseen {
        let gone = if stored.contains(&m.id) {
            Gone::Archived
        } else {
            match &m.project {
                Some(p) => {
                    let browse = match access.get(p) {
                        Some(b) => *b,
                        None => {
                            let param = match p {
                                ProjectRef::Id(id) => ProjectParam::Id(id),
                                ProjectRef::Key(key) => ProjectParam::Key(key),
                            };
                            let b = client.may_browse(param).await? == Some(true);
                            access.insert(p, b);
                            b
                        }
                    };
                    if browse { Gone::Deleted } else { Gone::LostAccess }
                }
                // Nothing says which project it was in: keeping it is the safe answer.
                None => Gone::LostAccess,
            }
        };
        out.push((m.id, gone));
    }
    Ok(out)
}

/// Which of `ids` the issue endpoints still return (archived issues included).
async fn stored_ids(client: &JiraClient, ids: &[u64]) -> Result<HashSet<u64>, JiraError> {
    #[derive(serde::Deserialize)]
    struct Id {
        id: String,
    }
    let mut found = HashSet::new();
    match client.deployment() {
        Deployment::Cloud => {
            for chunk in ids.chunks(BULK_FETCH_MAX) {
                let page = client.fetch_by_ids::<Vec<Id>>(chunk, &["id".to_string()], 0).await?;
                found.extend(page.issues.iter().filter_map(|i| i.id.parse::<u64>().ok()));
            }
        }
        // Data Center has no bulk fetch outside search, which hides archived issues.
        Deployment::DataCenter => {
            for &id in ids {
                if client.issue_exists(id).await? {
                    found.insert(id);
                }
            }
        }
    }
    Ok(found)
}
