//! Search pages and the single-issue and bulk-fetch endpoints answer with the same issue
//! shapes; choosing fields and rendering an issue here keeps them identical everywhere.

use serde_json::{Map, Value, json};

use super::Expand;
use crate::data::Dataset;
use crate::site::{Snapshot, State as SiteState};

/// Which fields each returned issue carries.
pub(crate) struct Selection {
    pub(super) fields: Vec<String>,
    pub(super) with_key: bool,
}

pub(crate) fn select(requested: Option<&[String]>, all: &[String], default_all: bool) -> Selection {
    let mut chosen: Vec<String> = Vec::new();
    let mut excluded: Vec<&str> = Vec::new();
    let mut with_key = false;
    let requested = match requested {
        Some(r) => r,
        None if default_all => &["*navigable".to_string()][..],
        None => &["id".to_string()][..],
    };
    for f in requested {
        match f.as_str() {
            "*all" | "*navigable" => chosen.extend(all.iter().cloned()),
            "id" => {}
            "key" => with_key = true,
            f if f.starts_with('-') => excluded.push(&f[1..]),
            // Jira silently ignores fields it does not know.
            f if all.iter().any(|a| a == f) => chosen.push(f.to_string()),
            _ => {}
        }
    }
    let mut seen = std::collections::HashSet::new();
    chosen.retain(|f| !excluded.contains(&f.as_str()) && seen.insert(f.clone()));
    Selection { fields: chosen, with_key }
}

/// How a page renders its issues.
pub(crate) struct Render<'a> {
    /// REST version: `"2"` renders rich text as wiki markup and links into v2.
    pub api: &'a str,
    pub emails: bool,
    /// Cloud's `{"id"}` (plus `key`) shape when no field is selected.
    pub compact: bool,
    pub expand: Expand,
    /// `expand=changelog` returns every history (Data Center) instead of the newest 100.
    pub full_changelog: bool,
}

pub(crate) fn render(st: &SiteState, data: &Dataset, s: &Snapshot, sel: &Selection, how: &Render<'_>) -> Value {
    let id = Dataset::issue_id(s.index).to_string();
    let mut issue = if sel.fields.is_empty() && how.compact {
        let mut v = json!({"id": id});
        if sel.with_key {
            v["key"] = json!(st.issue_key(data, s.index));
        }
        v
    } else {
        let mut all = st.issue_fields(data, s, how.emails);
        let mut fields = Map::new();
        for f in &sel.fields {
            if let Some(v) = all.remove(f) {
                fields.insert(f.clone(), v);
            }
        }
        json!({
            "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
            "id": id,
            "self": format!("{}/rest/api/3/issue/{id}", data.base_url()),
            "key": st.issue_key(data, s.index),
            "fields": fields,
        })
    };
    if how.expand.transitions {
        issue["transitions"] = st.transitions(data, s);
    }
    if how.expand.changelog {
        let cap = (!how.full_changelog).then_some(crate::data::CHANGELOG_PAGE);
        issue["changelog"] = st.changelog(data, s, how.emails, cap);
    }
    if how.api == "2" { crate::data::to_v2(issue, data.base_url()) } else { issue }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::DatasetConfig;

    #[test]
    fn selection_handles_all_exclusions_and_unknown_names() {
        let d = Dataset::new(DatasetConfig::default(), "http://x");
        let all = d.field_ids();
        let s = select(Some(&["*all".into(), "-description".into(), "nope".into()]), &all, false);
        assert!(s.fields.contains(&"summary".to_string()));
        assert!(!s.fields.contains(&"description".to_string()));
        let ids = select(Some(&["id".into(), "key".into()]), &all, false);
        assert!(ids.fields.is_empty() && ids.with_key);
        assert!(select(None, &all, false).fields.is_empty());
        assert_eq!(select(None, &all, true).fields.len(), all.len());
    }
}
