//! Comments are a page of their own inside the issue (`PageOfComments`), with authors and
//! instants inside the issue's lifetime; generating them apart keeps that bookkeeping out of
//! the field generator.

use serde_json::{Value, json};

use super::issues::NOUNS;
use super::{Dataset, adf, tag};

impl Dataset {
    /// The `comment` field (`PageOfComments`): none, one or two comments between `created` and
    /// `updated` (`span`), by the issue's index. `None`: no comments (issues created at run time).
    pub(crate) fn comments(&self, i: u64, span: Option<(i64, i64)>) -> Value {
        let base = &self.base_url;
        let id = Self::issue_id(i);
        let r = self.p(tag::COMMENTS, i);
        let n = match (span, r % 6) {
            (None, _) => 0,
            (_, 0..=2) => 0,
            (_, 3 | 4) => 1,
            _ => 2,
        };
        let (created, updated) = span.unwrap_or_default();
        let users = self.config.users.max(1);
        let key = self.issue_key(i);
        let comments: Vec<Value> = (0..n)
            .map(|k| {
                let cid = 10_000 + i * 2 + k;
                let at = self.format_datetime(created + (updated - created) * (k as i64 + 1) / (n as i64 + 1));
                let author = self.user_ref(((r >> 8) + k) % users);
                json!({
                    "self": format!("{base}/rest/api/3/issue/{id}/comment/{cid}"),
                    "id": cid.to_string(),
                    "author": author, "updateAuthor": author,
                    "body": adf(&format!("Comment {} on {}: {}", k + 1, key, NOUNS[((r >> 16) + k) as usize % 8])),
                    "created": at, "updated": at, "jsdPublic": true,
                })
            })
            .collect();
        json!({
            "comments": comments, "self": format!("{base}/rest/api/3/issue/{id}/comment"),
            "maxResults": n, "total": n, "startAt": 0,
        })
    }
}
