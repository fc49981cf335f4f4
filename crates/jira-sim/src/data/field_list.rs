//! The site's field catalogue (`/field`): which fields exist and their schemas. Issues carry
//! exactly these ids, so generators and the field endpoint read the same list.

use std::borrow::Cow;

use serde_json::{Value, json};

use super::Dataset;
use crate::system_fields::{EXTRA_SYSTEM_FIELDS, SystemField};

/// One custom field of the simulated site: its id, display name and Jira schema.
pub struct CustomField {
    pub id: u64,
    pub name: &'static str,
    pub schema_type: &'static str,
    pub items: Option<&'static str>,
    pub custom: &'static str,
}

/// Jira's type key for the built-in custom field types.
macro_rules! builtin {
    ($short:literal) => {
        concat!("com.atlassian.jira.plugin.system.customfieldtypes:", $short)
    };
}

const fn cf(
    id: u64,
    name: &'static str,
    schema_type: &'static str,
    items: Option<&'static str>,
    custom: &'static str,
) -> CustomField {
    CustomField { id, name, schema_type, items, custom }
}

/// Custom fields of every common type, with the ids and type keys Jira Cloud uses.
pub const CUSTOM_FIELDS: [CustomField; 13] = [
    cf(10016, "Story Points", "number", None, builtin!("float")),
    cf(10020, "Sprint", "array", Some("json"), "com.pyxis.greenhopper.jira:gh-sprint"),
    cf(10030, "Team", "string", None, builtin!("textfield")),
    cf(10031, "Review Date", "date", None, builtin!("datepicker")),
    cf(10032, "Approved At", "datetime", None, builtin!("datetime")),
    cf(10033, "Severity", "option", None, builtin!("select")),
    cf(10034, "Release Notes", "string", None, builtin!("textarea")),
    cf(10035, "Affected Areas", "array", Some("option"), builtin!("multiselect")),
    cf(10036, "Reviewer", "user", None, builtin!("userpicker")),
    cf(10037, "Spec URL", "string", None, builtin!("url")),
    cf(10038, "Region", "option-with-child", None, builtin!("cascadingselect")),
    cf(10039, "Watch Team", "array", Some("user"), builtin!("multiuserpicker")),
    cf(10040, "Tags", "array", Some("string"), builtin!("labels")),
];

/// (id, name, Jira schema type, items)
const SYSTEM_FIELDS: [(&str, &str, &str, Option<&str>); 17] = [
    ("summary", "Summary", "string", None),
    ("description", "Description", "string", None),
    ("status", "Status", "status", None),
    ("priority", "Priority", "priority", None),
    ("issuetype", "Issue Type", "issuetype", None),
    ("project", "Project", "project", None),
    ("assignee", "Assignee", "user", None),
    ("reporter", "Reporter", "user", None),
    ("labels", "Labels", "array", Some("string")),
    ("components", "Components", "array", Some("component")),
    ("fixVersions", "Fix versions", "array", Some("version")),
    ("created", "Created", "datetime", None),
    ("updated", "Updated", "datetime", None),
    ("resolutiondate", "Resolved", "datetime", None),
    ("duedate", "Due date", "date", None),
    ("parent", "Parent", "issuelink", None),
    ("comment", "Comment", "comments-page", None),
];

impl Dataset {
    /// `GET /rest/api/3/field`: system fields then custom fields.
    pub fn fields(&self) -> Vec<Value> {
        let mut out: Vec<Value> = SYSTEM_FIELDS
            .iter()
            .map(|(id, name, ty, items)| {
                let mut schema = json!({"type": ty, "system": id});
                if let Some(items) = items {
                    schema["items"] = json!(items);
                }
                json!({
                    "id": id, "key": id, "name": name, "custom": false, "orderable": true,
                    // As on Jira: comments are not a navigable (issue navigator) column.
                    "navigable": *id != "comment", "searchable": true, "clauseNames": [id], "schema": schema,
                })
            })
            .collect();
        out.extend(self.extra_system_fields().map(|f| f.definition(self.data_center)));
        out.extend(self.custom_fields().map(|(id, name, f)| {
            let mut schema = json!({"type": f.schema_type, "custom": f.custom, "customId": id});
            if let Some(items) = f.items {
                schema["items"] = json!(items);
            }
            json!({
                "id": format!("customfield_{id}"),
                "key": format!("customfield_{id}"),
                "name": name, "custom": true, "orderable": true, "navigable": true,
                "searchable": true,
                "clauseNames": [format!("cf[{id}]"), name],
                "schema": schema,
            })
        }));
        out
    }

    /// Every field id an issue can carry, in `/field` order.
    pub fn field_ids(&self) -> Vec<String> {
        SYSTEM_FIELDS
            .iter()
            .map(|f| f.0.to_string())
            .chain(self.extra_system_fields().filter(|f| f.on_issues).map(|f| f.id.to_string()))
            .chain(self.custom_fields().map(|(id, _, _)| format!("customfield_{id}")))
            .collect()
    }

    /// The system fields past the first 17 that this site's deployment lists.
    fn extra_system_fields(&self) -> impl Iterator<Item = &'static SystemField> + '_ {
        EXTRA_SYSTEM_FIELDS.iter().filter(|f| f.listed_on(self.data_center))
    }

    /// The built-in custom fields, then the extra ones as `(id, name, type template)`.
    pub(super) fn custom_fields(&self) -> impl Iterator<Item = (u64, Cow<'static, str>, &'static CustomField)> + '_ {
        let builtin = CUSTOM_FIELDS.iter().map(|f| (f.id, Cow::Borrowed(f.name), f));
        let extra = (0..self.config.extra_custom_fields).map(|n| {
            let t = &CUSTOM_FIELDS[(n % CUSTOM_FIELDS.len() as u64) as usize];
            (10_500 + n, Cow::Owned(format!("{} {}", t.name, n / CUSTOM_FIELDS.len() as u64 + 2)), t)
        });
        builtin.chain(extra)
    }
}

#[cfg(test)]
mod tests {
    use crate::data::Dataset;

    #[test]
    fn every_field_listed_in_field_endpoint_is_on_issues() {
        let d = Dataset::for_tests(50);
        let fields = d.issue_fields(5);
        for id in d.field_ids() {
            if id != "parent" {
                assert!(fields.contains_key(&id), "{id}");
            }
        }
    }
}
