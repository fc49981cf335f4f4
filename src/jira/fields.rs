//! `GET /rest/api/{3|2}/field`: the field catalogue that types every issue column.

use serde::Deserialize;

use super::{JiraClient, JiraError};

/// One field as Jira describes it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FieldDef {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub custom: bool,
    #[serde(default)]
    pub schema: Option<FieldSchema>,
}

/// Jira's `JsonTypeBean`: the value type of a field.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FieldSchema {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub items: Option<String>,
    #[serde(default)]
    pub custom: Option<String>,
    #[serde(default)]
    pub system: Option<String>,
}

impl JiraClient {
    pub async fn fields(&self) -> Result<Vec<FieldDef>, JiraError> {
        self.get(&format!("{}/field", self.api()), &[]).await
    }
}
