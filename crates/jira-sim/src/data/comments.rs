//! Comments are a page of their own inside the issue (`PageOfComments`) and a paged endpoint
//! (`GET /issue/{id}/comment`), with authors and instants inside the issue's lifetime. They are
//! generated one issue at a time, only when asked: an issue's comments are cheap plain specs
//! ([`CommentSpec`]) until a page of them is rendered.

use serde_json::{Value, json};

use super::issues::NOUNS;
use super::{Dataset, adf, tag};

/// Comment ids of base issue `i` are `10_000 + i * COMMENT_STRIDE + k`: unique across the site,
/// interleaved across projects as issue ids are. Threads stay below this many comments.
pub(crate) const COMMENT_STRIDE: u64 = 256;
/// Comments Jira Cloud embeds in the `comment` field (`total` counts all); Data Center embeds
/// every one.
pub(crate) const COMMENT_EMBED_CLOUD: usize = 100;
/// One issue in `LONG_THREAD_EVERY` (by draw) carries a long thread of 101–180 comments, more
/// than Cloud embeds.
const LONG_THREAD_EVERY: u64 = 20;

/// One comment as generated or added: everything but its rendering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CommentSpec {
    pub id: u64,
    /// The issue's index.
    pub issue: u64,
    /// Its number within the issue's thread (body text), from 0.
    pub k: u64,
    pub created: i64,
    pub updated: i64,
    pub author: u64,
    pub update_author: u64,
    /// Restricted to the project role Developers.
    pub restricted: bool,
    /// How many times it was edited while the site ran (shown in its body).
    pub edits: u32,
}

impl Dataset {
    /// How many comments base issue `i` was generated with: most 0–3, one in 20 a long thread
    /// of 101–180, longer than the page Cloud embeds. Issues created at run time: none.
    pub(crate) fn comment_count(&self, i: u64) -> u64 {
        if i >= self.config.issues {
            return 0;
        }
        let r = self.p(tag::COMMENTS, i);
        if r % LONG_THREAD_EVERY == LONG_THREAD_EVERY - 1 {
            return 101 + (r >> 8) % 80;
        }
        match (r >> 16) % 10 {
            0..=3 => 0,
            4..=6 => 1,
            7 | 8 => 2,
            _ => 3,
        }
    }

    /// Comment `k` of base issue `i`: created evenly between the issue's `created` and
    /// `updated` (in order), a fifth of them edited later (still before the issue's `updated`,
    /// sometimes by another user), one in eight restricted to the Developers role.
    pub(crate) fn comment_spec(&self, i: u64, k: u64) -> CommentSpec {
        let n = self.comment_count(i);
        let (c, u) = (self.created_ms(i), self.updated_ms(i));
        let created = c + (u - c) * (k as i64 + 1) / (n as i64 + 1);
        let id = Self::comment_id(i, k);
        let r = self.p(tag::COMMENT, id);
        let users = self.config.users.max(1);
        let author = (self.p(tag::COMMENTS, i) >> 24).wrapping_add(k * 7 + (r >> 40) % 3) % users;
        let edited = r.is_multiple_of(5);
        let updated = if edited { created + (u - created) * ((r >> 8) % 100) as i64 / 100 } else { created };
        let update_author = if edited && (r >> 20).is_multiple_of(4) { (r >> 24) % users } else { author };
        CommentSpec {
            id,
            issue: i,
            k,
            created,
            updated,
            author,
            update_author,
            restricted: (r >> 32).is_multiple_of(8),
            edits: 0,
        }
    }

    pub(crate) fn comment_id(i: u64, k: u64) -> u64 {
        10_000 + i * COMMENT_STRIDE + k
    }

    /// The base issue and number a generated comment id names, if it names one.
    pub(crate) fn comment_of_id(&self, id: u64) -> Option<(u64, u64)> {
        let off = id.checked_sub(10_000)?;
        let (i, k) = (off / COMMENT_STRIDE, off % COMMENT_STRIDE);
        (i < self.config.issues && k < self.comment_count(i)).then_some((i, k))
    }

    /// Every generated comment of issue `i`, oldest first.
    pub(crate) fn comment_specs(&self, i: u64) -> Vec<CommentSpec> {
        (0..self.comment_count(i)).map(|k| self.comment_spec(i, k)).collect()
    }

    /// A comment as v3 renders it (`Comment`): ADF body, `visibility` when restricted,
    /// `jsdPublic` on Cloud only (Data Center's comment bean has no such property).
    pub(crate) fn render_comment(&self, c: &CommentSpec) -> Value {
        let base = &self.base_url;
        let issue_id = Self::issue_id(c.issue);
        let text = self.comment_text(c);
        let mut v = json!({
            "self": format!("{base}/rest/api/3/issue/{issue_id}/comment/{}", c.id),
            "id": c.id.to_string(),
            "author": self.user_ref(c.author), "body": adf(&text), "updateAuthor": self.user_ref(c.update_author),
            "created": self.format_datetime(c.created), "updated": self.format_datetime(c.updated),
        });
        if c.restricted {
            // v3 `Visibility`: for a role, `identifier` is the role's name (spec's example).
            v["visibility"] = json!({"type": "role", "value": "Developers", "identifier": "Developers"});
        }
        if !self.data_center {
            v["jsdPublic"] = json!(true);
        }
        v
    }

    /// A comment's body as plain text.
    pub(crate) fn comment_text(&self, c: &CommentSpec) -> String {
        let r = self.p(tag::COMMENTS, c.issue);
        let noun = NOUNS[((r >> 16) + c.k) as usize % NOUNS.len()];
        let mut text = format!("Comment {} on {}: {noun}", c.k + 1, self.issue_key(c.issue));
        if c.edits > 0 {
            text.push_str(&format!(" [edited {}]", c.edits));
        }
        text
    }

    /// A `PageOfComments` of `comments` (already in order), the first `cap` of them embedded,
    /// `total` counting all, as the `comment` field shows it.
    pub(crate) fn comment_page(&self, i: u64, comments: &[CommentSpec], start: usize, cap: usize) -> Value {
        let page: Vec<Value> = comments.iter().skip(start).take(cap).map(|c| self.render_comment(c)).collect();
        json!({
            "comments": page, "self": format!("{}/rest/api/3/issue/{}/comment", self.base_url, Self::issue_id(i)),
            "maxResults": page.len(), "total": comments.len(), "startAt": start,
        })
    }

    /// The `comment` field of issue `i` as generated: Cloud embeds the oldest 100, Data Center
    /// all of them.
    pub(crate) fn comments(&self, i: u64) -> Value {
        let cap = if self.data_center { usize::MAX } else { COMMENT_EMBED_CLOUD };
        let n = self.comment_count(i);
        let specs: Vec<CommentSpec> = (0..n.min(cap as u64)).map(|k| self.comment_spec(i, k)).collect();
        let mut page = self.comment_page(i, &specs, 0, cap);
        page["total"] = json!(n);
        page
    }
}
