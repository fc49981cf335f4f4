//! Data Center changelog items name their field but carry no `fieldId` (Cloud added it): a
//! system field by its changelog name — mostly its id (`status`, `assignee`), a few by a name of
//! their own (`Fix Version`, `Component`, `Link`) — and a custom field by its display name as it
//! was when the change was made. Without ids, `field_id` would not join to the `fields` table
//! and status intervals (`field_id == "status"`) would find nothing, so the ids are filled in
//! from the site's `/field` catalogue before any row is made. Items that already have one
//! (Cloud) are left alone.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use crate::jira::fields::FieldDef;

/// System fields whose changelog name is not their id, as recorded Jira Server/DC responses
/// show them (the simulator's README, "Data Center changelog items", cites the recordings),
/// with the id Cloud puts in `fieldId`.
const SYSTEM_NAMES: [(&str, &str); 5] = [
    ("Fix Version", "fixVersions"),
    ("Version", "versions"),
    ("Component", "components"),
    ("Link", "issuelinks"),
    ("Attachment", "attachment"),
];

/// System fields Jira writes under their id. Listed so that the objects that do not read the
/// catalogue (status intervals) still resolve them; the catalogue adds every other system id.
const SYSTEM_IDS: [&str; 16] = [
    "status",
    "assignee",
    "reporter",
    "summary",
    "description",
    "priority",
    "resolution",
    "issuetype",
    "duedate",
    "environment",
    "labels",
    "project",
    "security",
    "timeoriginalestimate",
    "timeestimate",
    "timespent",
];

/// System changelog names that Cloud, too, sends without a `fieldId` (recorded Cloud items:
/// `WorklogId` in 2025, `IssueParentAssociation`, `Key`): no field of the catalogue holds them
/// (an issue's key, its workflow scheme, a worklog's id or time, a deleted comment, a
/// team-managed parent), so they stay without one here as well, to look alike on both.
const NO_FIELD: [&str; 6] = ["Key", "Workflow", "WorklogId", "WorklogTimeSpent", "Comment", "IssueParentAssociation"];

/// Changelog field names → field ids for one site.
pub(crate) struct FieldIds {
    ids: HashMap<String, String>,
    /// Custom field names that name no field, or several: ids unknown.
    custom_by_name: HashMap<String, Vec<String>>,
}

/// Names that could not be told apart or found, for the run's warning.
#[derive(Debug, Default)]
pub(crate) struct Unresolved {
    pub ambiguous: BTreeSet<String>,
    pub unknown: BTreeSet<String>,
}

impl FieldIds {
    pub(crate) fn new(catalogue: &[FieldDef]) -> Self {
        let mut ids: HashMap<String, String> =
            catalogue.iter().filter(|d| !d.custom).map(|d| (d.id.clone(), d.id.clone())).collect();
        for (name, id) in SYSTEM_NAMES.into_iter().chain(SYSTEM_IDS.map(|id| (id, id))) {
            ids.entry(name.to_string()).or_insert_with(|| id.to_string());
        }
        let mut custom_by_name: HashMap<String, Vec<String>> = HashMap::new();
        for d in catalogue.iter().filter(|d| d.custom) {
            custom_by_name.entry(d.name.clone()).or_default().push(d.id.clone());
        }
        Self { ids, custom_by_name }
    }

    /// Fills in `fieldId` of every item of `histories` that has none. A name that names no
    /// field, or several custom fields, keeps the name as its id and is noted in `unresolved`.
    pub(crate) fn fill(&self, histories: &mut [Value], unresolved: &mut Unresolved) {
        let items = histories.iter_mut().filter_map(|h| h.get_mut("items")?.as_array_mut()).flatten();
        for item in items {
            let Some(obj) = item.as_object_mut() else { continue };
            if obj.get("fieldId").is_some_and(|v| !v.is_null()) {
                continue;
            }
            let Some(name) = obj.get("field").and_then(Value::as_str).map(str::to_string) else { continue };
            let custom = obj.get("fieldtype").and_then(Value::as_str) == Some("custom");
            let id = match self.resolve(&name, custom) {
                Resolved::Id(id) => id,
                Resolved::NoField => continue,
                Resolved::Ambiguous => {
                    unresolved.ambiguous.insert(name.clone());
                    name
                }
                Resolved::Unknown => {
                    unresolved.unknown.insert(name.clone());
                    name
                }
            };
            obj.insert("fieldId".into(), Value::String(id));
        }
    }

    fn resolve(&self, name: &str, custom: bool) -> Resolved {
        if !custom {
            if NO_FIELD.contains(&name) {
                return Resolved::NoField;
            }
            if let Some(id) = self.ids.get(name) {
                return Resolved::Id(id.clone());
            }
        }
        // A `jira` item whose name is no system field's may still be a custom field's (Jira
        // Software's Rank and Epic Link are written as `custom`, but apps vary).
        match self.custom_by_name.get(name).map(Vec::as_slice) {
            Some([id]) => Resolved::Id(id.clone()),
            Some([_, _, ..]) => Resolved::Ambiguous,
            _ => Resolved::Unknown,
        }
    }
}

enum Resolved {
    Id(String),
    NoField,
    Ambiguous,
    Unknown,
}

impl Unresolved {
    pub(crate) fn is_empty(&self) -> bool {
        self.ambiguous.is_empty() && self.unknown.is_empty()
    }

    pub(crate) fn merge(&mut self, other: Unresolved) {
        self.ambiguous.extend(other.ambiguous);
        self.unknown.extend(other.unknown);
    }

    /// One line for the run report: which names kept their name as `field_id`, and why.
    pub(crate) fn message(&self) -> String {
        let list = |s: &BTreeSet<String>| s.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
        let mut parts = Vec::new();
        if !self.ambiguous.is_empty() {
            parts.push(format!("several custom fields are named {}", list(&self.ambiguous)));
        }
        if !self.unknown.is_empty() {
            parts.push(format!("no field is named {} (renamed or deleted since the change?)", list(&self.unknown)));
        }
        format!(
            "Data Center changelog items name their field without its id; {}, so those rows keep the name as `field_id`",
            parts.join("; ")
        )
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn def(id: &str, name: &str, custom: bool) -> FieldDef {
        FieldDef { id: id.into(), name: name.into(), custom, schema: None }
    }

    fn catalogue() -> Vec<FieldDef> {
        vec![
            def("status", "Status", false),
            def("assignee", "Assignee", false),
            def("fixVersions", "Fix Version/s", false),
            def("components", "Component/s", false),
            def("customfield_10020", "Sprint", true),
            def("customfield_10016", "Story Points", true),
            def("customfield_10100", "Team", true),
            def("customfield_10101", "Team", true),
        ]
    }

    fn ids_of(items: Value) -> (Vec<Value>, Unresolved) {
        let mut histories = vec![json!({"id": "1", "items": items})];
        let mut unresolved = Unresolved::default();
        FieldIds::new(&catalogue()).fill(&mut histories, &mut unresolved);
        let ids = histories[0]["items"].as_array().unwrap().iter().map(|i| i["fieldId"].clone()).collect();
        (ids, unresolved)
    }

    /// Items as recorded from Jira Server (field, fieldtype, from/to; no `fieldId`).
    #[test]
    fn data_center_names_become_the_ids_cloud_sends() {
        let (ids, unresolved) = ids_of(json!([
            {"field": "status", "fieldtype": "jira", "from": "10038", "to": "3"},
            {"field": "Fix Version", "fieldtype": "jira", "from": null, "to": "75171"},
            {"field": "Component", "fieldtype": "jira", "from": null, "to": "10001"},
            {"field": "Sprint", "fieldtype": "custom", "from": "", "to": "12"},
            {"field": "Story Points", "fieldtype": "custom", "from": null, "to": "3"},
            {"field": "Key", "fieldtype": "jira", "fromString": "A-1", "toString": "B-1"},
        ]));
        assert_eq!(
            ids,
            [
                json!("status"),
                json!("fixVersions"),
                json!("components"),
                json!("customfield_10020"),
                json!("customfield_10016"),
                Value::Null
            ]
        );
        assert!(unresolved.is_empty(), "{unresolved:?}");
    }

    #[test]
    fn without_a_catalogue_system_fields_still_resolve() {
        let mut histories = vec![json!({"items": [{"field": "status", "fieldtype": "jira"}, {"field": "Link"}]})];
        let mut unresolved = Unresolved::default();
        FieldIds::new(&[]).fill(&mut histories, &mut unresolved);
        assert_eq!(histories[0]["items"][0]["fieldId"], "status");
        assert_eq!(histories[0]["items"][1]["fieldId"], "issuelinks");
        assert!(unresolved.is_empty());
    }

    #[test]
    fn an_id_already_sent_is_kept() {
        let (ids, _) = ids_of(json!([{"field": "Sprint", "fieldtype": "custom", "fieldId": "customfield_99"}]));
        assert_eq!(ids, [json!("customfield_99")]);
    }

    #[test]
    fn a_shared_or_unknown_custom_name_keeps_the_name_and_is_reported() {
        let (ids, unresolved) = ids_of(json!([
            {"field": "Team", "fieldtype": "custom", "to": "x"},
            {"field": "Old Name", "fieldtype": "custom", "to": "y"},
        ]));
        assert_eq!(ids, [json!("Team"), json!("Old Name")]);
        assert_eq!(unresolved.ambiguous.iter().collect::<Vec<_>>(), ["Team"]);
        assert_eq!(unresolved.unknown.iter().collect::<Vec<_>>(), ["Old Name"]);
        let m = unresolved.message();
        assert!(m.contains("several custom fields are named `Team`") && m.contains("`Old Name`"), "{m}");
    }
}
