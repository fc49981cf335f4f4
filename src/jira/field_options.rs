//! The options of select-type custom fields. Cloud keeps options per context: a field's
//! contexts (`field/{id}/context`) and each one's options (`…/context/{id}/option`), both
//! `PageBean`s and for Jira administrators only. Data Center lists a field's options whole
//! (`customFields/{number}/options`), paged by a `page` number whose first value its
//! reference does not give.

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::Value;

use super::planning::Paged;
use super::{JiraClient, JiraError};

/// Contexts a page: `getContextsForField`'s default.
const CONTEXT_PAGE: u64 = 50;
/// Options a page: `getOptionsForContext`'s default.
const OPTION_PAGE: u64 = 100;
/// Data Center options a page.
const DC_OPTION_PAGE: u64 = 100;

/// The custom field types whose values are options: single, multi and cascading select, radio
/// buttons and checkboxes (the types the v3 "Issue custom field options" group serves).
pub fn has_options(custom_type: &str) -> bool {
    let short = custom_type.rsplit(':').next().unwrap_or_default();
    matches!(short, "select" | "multiselect" | "cascadingselect" | "radiobuttons" | "multicheckboxes")
}

#[derive(Deserialize)]
struct DcOptions {
    #[serde(default)]
    options: Vec<Value>,
    #[serde(default)]
    total: Option<u64>,
}

impl JiraClient {
    /// Cloud: the contexts of custom field `field` (`customfield_10033`).
    pub fn field_contexts(&self, field: &str) -> Paged<'_> {
        Paged::new(self, format!("rest/api/3/field/{field}/context"), Some(CONTEXT_PAGE))
    }

    /// Cloud: the options of context `context` of `field`, parents before cascading children.
    pub fn context_options(&self, field: &str, context: &str) -> Paged<'_> {
        Paged::new(self, format!("rest/api/3/field/{field}/context/{context}/option"), Some(OPTION_PAGE))
    }

    /// Data Center: every option of custom field number `field` in every context
    /// (`useAllContexts=true`), in Jira's order.
    ///
    /// Pages are asked for from 0 on and options kept by id, so both ways of counting pages
    /// read everything: counted from 0, page 0 is the first; counted from 1, page 0 is either
    /// the first page again or empty. The walk ends when `total` options are in, and fails
    /// rather than loop when a later page brings nothing new.
    pub async fn data_center_field_options(&self, field: &str) -> Result<Vec<Value>, JiraError> {
        let path = format!("rest/api/2/customFields/{field}/options");
        let mut seen = HashSet::new();
        let mut all = Vec::new();
        let mut page: u64 = 0;
        loop {
            let query = [
                ("useAllContexts", "true".to_string()),
                ("maxResults", DC_OPTION_PAGE.to_string()),
                ("page", page.to_string()),
            ];
            let got: DcOptions = self.get(&path, &query).await?;
            let total = got.total.unwrap_or(0);
            let before = all.len();
            for o in got.options {
                if seen.insert(o["id"].to_string()) {
                    all.push(o);
                }
            }
            if all.len() as u64 >= total {
                return Ok(all);
            }
            // Pages 0 and 1 may repeat or skip (see above); past them every page must bring news.
            if all.len() == before && page >= 1 {
                let message = format!(
                    "page {page} brought no new option after {} of the {total} Jira counts: the list cannot be paged",
                    all.len()
                );
                return Err(JiraError::Decode { endpoint: path, message });
            }
            page += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_types_have_options_others_do_not() {
        let t = |s: &str| has_options(&format!("com.atlassian.jira.plugin.system.customfieldtypes:{s}"));
        assert!(t("select") && t("multiselect") && t("cascadingselect") && t("radiobuttons") && t("multicheckboxes"));
        assert!(!t("float") && !t("multiuserpicker") && !t("labels"));
        assert!(!has_options("com.pyxis.greenhopper.jira:gh-sprint"));
    }
}
