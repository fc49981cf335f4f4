//! Users are referenced from many fields (assignee, reporter, comment authors, user pickers);
//! generating them by number here keeps every reference to user `u` identical.

use serde_json::{Value, json};

use super::{Dataset, avatar_urls, tag};

const FIRST: [&str; 10] =
    ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Linus"];
const LAST: [&str; 10] =
    ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton", "Torvalds"];

impl Dataset {
    pub fn user_account_id(&self, u: u64) -> String {
        format!("{:012x}{:012x}", 0x5b10_a284_4c20u64 + u, self.p(tag::USER, u) & 0xffff_ffff_ffff)
    }

    pub fn user(&self, u: u64) -> Value {
        let app = u % 25 == 24;
        let first = FIRST[(u % 10) as usize];
        let last = LAST[((u / 10) % 10) as usize];
        let mut user = json!({
            "self": format!("{}/rest/api/3/user?accountId={}", self.base_url, self.user_account_id(u)),
            "accountId": self.user_account_id(u),
            "accountType": if app { "app" } else { "atlassian" },
            "avatarUrls": avatar_urls(&self.base_url, "user", u),
            "displayName": if app { format!("Automation bot {u}") } else { format!("{first} {last} {u}") },
            "active": Self::user_active(u),
            "timeZone": self.config.time_zone.name(),
            "locale": "en_US",
        });
        if !app {
            user["emailAddress"] = json!(format!("{}.{}{}@example.com", first.to_lowercase(), last.to_lowercase(), u));
        }
        user
    }

    /// Every 10th user is inactive.
    pub fn user_active(u: u64) -> bool {
        u % 10 != 9
    }

    pub(crate) fn user_ref(&self, u: u64) -> Value {
        let mut user = self.user(u);
        if let Some(obj) = user.as_object_mut() {
            obj.remove("locale");
        }
        user
    }
}
