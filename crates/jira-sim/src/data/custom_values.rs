//! Values of the custom fields, one generator per field type: the part of an issue that grows
//! with `extra_custom_fields`, kept apart from the system fields it does not interact with.

use serde_json::{Value, json};

use super::{CustomField, DAY_MS, Dataset, adf};

const SEVERITIES: [(&str, &str); 4] =
    [("10100", "S1 - Critical"), ("10101", "S2 - Major"), ("10102", "S3 - Minor"), ("10103", "S4 - Trivial")];
/// (id, value) of a select option.
type Opt = (&'static str, &'static str);
/// Cascading select: parent options with their children.
const REGIONS: [(&str, &str, [Opt; 2]); 2] = [
    ("10200", "EMEA", [("10201", "Germany"), ("10202", "France")]),
    ("10210", "AMER", [("10211", "USA"), ("10212", "Brazil")]),
];

impl Dataset {
    pub(super) fn custom_value(&self, cf: &CustomField, r: u64, i: u64) -> Value {
        let base = &self.base_url;
        let users = self.config.users.max(1);
        let option = |id: &str, value: &str| {
            json!({
                "self": format!("{base}/rest/api/3/customFieldOption/{id}"), "value": value, "id": id,
            })
        };
        match cf.id {
            10016 => json!([1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 0.5][(r % 7) as usize]),
            10020 => self.issue_sprint(i).unwrap_or(Value::Null),
            10030 => json!(["Platform", "Growth", "Core", "Mobile"][(r % 4) as usize]),
            10031 => json!(self.format_date(self.created_ms(i) + (r % 60) as i64 * DAY_MS)),
            10032 => json!(self.format_datetime(self.updated_ms(i) - (r % 1000) as i64 * 60_000)),
            10033 => {
                let s = SEVERITIES[(r % 4) as usize];
                option(s.0, s.1)
            }
            10034 => adf(&format!("Release note for {}: {}", self.issue_key(i), r % 997)),
            10035 => json!(
                (0..3)
                    .filter(|b| r >> (8 + b) & 1 == 1)
                    .map(|b| option(&(10_300 + b).to_string(), ["API", "UI", "Database"][b as usize]))
                    .collect::<Vec<_>>()
            ),
            10036 => self.user_ref(r % users),
            10037 => json!(format!("https://wiki.example.com/spec/{}", self.issue_key(i))),
            10038 => {
                let (id, value, children) = REGIONS[(r % 2) as usize];
                let child = children[((r >> 4) % 2) as usize];
                let mut v = option(id, value);
                v["child"] = option(child.0, child.1);
                v
            }
            10039 => json!([self.user_ref(r % users), self.user_ref((r >> 16) % users)]),
            _ => json!(["alpha", "beta", "gamma"][..(1 + r % 3) as usize]),
        }
    }
}
