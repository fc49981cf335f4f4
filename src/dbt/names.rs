//! Readable column names for the staging model: `customfield_10016` becomes `story_points`
//! from Jira's display name, the fields the models rely on get their role's name whatever the
//! site calls them, and a name two columns would share is made unique with the field's number
//! (and reported), so a site's naming can never make the staging model ambiguous.

use std::collections::HashSet;

use crate::jira::fields::FieldDef;

/// Jira Software's Sprint field.
const SPRINT: &str = "com.pyxis.greenhopper.jira:gh-sprint";
/// Team-managed projects' "Story point estimate".
const STORY_POINT_ESTIMATE: &str = "com.pyxis.greenhopper.jira:jsw-story-points";
const EPIC_LINK: &str = "com.pyxis.greenhopper.jira:gh-epic-link";

/// A column the models read by a fixed name, and the custom field that plays it on this site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub name: &'static str,
    pub field_id: String,
}

/// One column of the staging model: the table's column and the name it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renamed {
    pub column: String,
    pub alias: String,
    /// Jira's display name (custom fields), for the listing and the column's description.
    pub jira_name: Option<String>,
}

/// A column whose readable name was taken: it got `alias` instead of `wanted`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collision {
    pub column: String,
    pub jira_name: String,
    pub wanted: String,
    pub alias: String,
    /// Which column holds `wanted`.
    pub taken_by: String,
}

/// `text` as a lower-case SQL name: letters, digits and single underscores; camelCase split
/// (`fixVersions` → `fix_versions`); a leading digit gets `f_`.
pub fn snake(text: &str) -> String {
    let mut out = String::new();
    let mut previous_lower = false;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && previous_lower {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        } else {
            if !out.ends_with('_') {
                out.push('_');
            }
            previous_lower = false;
        }
    }
    let out = out.trim_matches('_').to_string();
    match out.chars().next() {
        None => "field".into(),
        Some(c) if c.is_ascii_digit() => format!("f_{out}"),
        Some(_) => out,
    }
}

/// The custom fields that play the models' roles: the first Sprint field, the first story
/// point field (Jira Software's estimate, else a number field named Story Points), the Epic
/// Link.
pub fn roles(catalogue: &[FieldDef]) -> Vec<Role> {
    let custom = |f: &&FieldDef, t: &str| f.schema.as_ref().and_then(|s| s.custom.as_deref()) == Some(t);
    let number = |f: &&FieldDef| f.schema.as_ref().is_some_and(|s| s.kind == "number");
    let named = |f: &&FieldDef, names: &[&str]| names.iter().any(|n| f.name.eq_ignore_ascii_case(n));
    let fields: Vec<&FieldDef> = catalogue.iter().filter(|f| f.custom).collect();
    let story = fields
        .iter()
        .find(|f| custom(f, STORY_POINT_ESTIMATE))
        .or_else(|| fields.iter().find(|f| number(f) && named(f, &["Story Points", "Story point estimate"])));
    let mut out = Vec::new();
    if let Some(f) = fields.iter().find(|f| custom(f, SPRINT)) {
        out.push(Role { name: "sprint", field_id: f.id.clone() });
    }
    if let Some(f) = story {
        out.push(Role { name: "story_points", field_id: f.id.clone() });
    }
    if let Some(f) = fields.iter().find(|f| custom(f, EPIC_LINK)) {
        out.push(Role { name: "epic_link", field_id: f.id.clone() });
    }
    out
}

/// The staging names of `columns` (the issues table's, in order): system fields in snake case,
/// roles by their role's name, other custom fields by their display name; a taken name gets the
/// field's number appended, and is reported.
pub fn rename(columns: &[String], catalogue: &[FieldDef], roles: &[Role]) -> (Vec<Renamed>, Vec<Collision>) {
    let jira_name = |c: &str| catalogue.iter().find(|f| f.id == c && f.custom).map(|f| f.name.clone());
    let mut taken: Vec<(String, String)> = Vec::new();
    let mut names: HashSet<String> = HashSet::new();
    let mut out: Vec<Option<Renamed>> = vec![None; columns.len()];
    // System columns first, then the roles, then the other custom fields in the table's order:
    // a custom field never pushes a system column or a role off its name.
    let order = columns
        .iter()
        .enumerate()
        .filter(|(_, c)| jira_name(c).is_none())
        .chain(columns.iter().enumerate().filter(|(_, c)| roles.iter().any(|r| &r.field_id == *c)))
        .chain(
            columns
                .iter()
                .enumerate()
                .filter(|(_, c)| jira_name(c).is_some() && !roles.iter().any(|r| &r.field_id == *c)),
        );
    let mut collisions = Vec::new();
    for (k, column) in order.collect::<Vec<_>>() {
        let name = jira_name(column);
        let wanted = match (roles.iter().find(|r| &r.field_id == column), &name) {
            (Some(r), _) => r.name.to_string(),
            (None, Some(n)) => snake(n),
            (None, None) => snake(column),
        };
        let alias = if names.contains(&wanted) {
            let number = column.strip_prefix("customfield_").unwrap_or(column);
            let mut alias = format!("{wanted}_{number}");
            while names.contains(&alias) {
                alias.push('_');
            }
            let holder = taken.iter().find(|(n, _)| *n == wanted).map(|(_, c)| c.clone()).unwrap_or_default();
            collisions.push(Collision {
                column: column.clone(),
                jira_name: name.clone().unwrap_or_else(|| column.clone()),
                wanted: wanted.clone(),
                alias: alias.clone(),
                taken_by: holder,
            });
            alias
        } else {
            wanted
        };
        names.insert(alias.clone());
        taken.push((alias.clone(), column.clone()));
        out[k] = Some(Renamed { column: column.clone(), alias, jira_name: name });
    }
    (out.into_iter().flatten().collect(), collisions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jira::fields::FieldSchema;

    fn field(id: &str, name: &str, kind: &str, custom: Option<&str>) -> FieldDef {
        FieldDef {
            id: id.into(),
            name: name.into(),
            custom: id.starts_with("customfield_"),
            schema: Some(FieldSchema {
                kind: kind.into(),
                items: None,
                custom: custom.map(String::from),
                system: None,
            }),
        }
    }

    #[test]
    fn names_are_snake_case_sql_names() {
        assert_eq!(snake("Story Points"), "story_points");
        assert_eq!(snake("fixVersions"), "fix_versions");
        assert_eq!(snake("Affected Version/s"), "affected_version_s");
        assert_eq!(snake("  % Done "), "done");
        assert_eq!(snake("2nd reviewer"), "f_2nd_reviewer");
        assert_eq!(snake("???"), "field");
    }

    #[test]
    fn roles_and_collisions_leave_every_name_unique_and_say_which_moved() {
        let catalogue = vec![
            field("labels", "Labels", "array", None),
            field("customfield_1", "Labels", "array", None),
            field("customfield_2", "Story Points", "number", Some("x:float")),
            field("customfield_3", "Story point estimate", "number", Some(STORY_POINT_ESTIMATE)),
            field("customfield_4", "Sprints", "array", Some(SPRINT)),
            field("customfield_5", "Sprint", "string", None),
        ];
        let columns: Vec<String> = [
            "id",
            "key",
            "labels",
            "customfield_1",
            "customfield_2",
            "customfield_3",
            "customfield_4",
            "customfield_5",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let roles = roles(&catalogue);
        assert_eq!(
            roles,
            [
                Role { name: "sprint", field_id: "customfield_4".into() },
                Role { name: "story_points", field_id: "customfield_3".into() },
            ]
        );
        let (renamed, collisions) = rename(&columns, &catalogue, &roles);
        let alias = |c: &str| renamed.iter().find(|r| r.column == c).unwrap().alias.clone();
        assert_eq!(alias("labels"), "labels");
        assert_eq!(alias("customfield_1"), "labels_1");
        assert_eq!(alias("customfield_3"), "story_points");
        assert_eq!(alias("customfield_2"), "story_points_2");
        assert_eq!(alias("customfield_4"), "sprint");
        assert_eq!(alias("customfield_5"), "sprint_5");
        // Columns keep the table's order.
        assert_eq!(renamed.iter().map(|r| r.column.as_str()).collect::<Vec<_>>(), columns);
        let moved: Vec<(&str, &str)> = collisions.iter().map(|c| (c.column.as_str(), c.taken_by.as_str())).collect();
        assert_eq!(
            moved,
            [("customfield_1", "labels"), ("customfield_2", "customfield_3"), ("customfield_5", "customfield_4")]
        );
        let all: HashSet<&String> = renamed.iter().map(|r| &r.alias).collect();
        assert_eq!(all.len(), columns.len());
    }
}
