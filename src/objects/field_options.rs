//! The `field_options` table: the options of every select-type custom field (single, multi
//! and cascading select, radio buttons, checkboxes), so the option ids issues carry join to a
//! value, to whether the option is still offered, and (cascading) to its parent. Cloud keeps
//! options per context, so each row says whose; Data Center lists a field's options whole.
//!
//! Cloud lets only Jira administrators read contexts and options: for anyone else the object
//! is skipped with a warning (as sprints are on a site without Jira Software), not the run.

use futures::future::BoxFuture;
use serde_json::{Map, Value, json};

use super::dimension::row_of;
use super::per_project::text;
use super::{Concern, Job, Object, ObjectError, Outcome, Probed, Rows, RunStamp, col};
use crate::config::{Deployment, ObjectConfig, ObjectKind};
use crate::jira::field_options::has_options;
use crate::jira::fields::FieldDef;
use crate::jira::{JiraClient, JiraError, Rejection};
use crate::report::{Diagnosis, Warning};
use crate::transform::columns::{Column, ColumnType};

pub struct FieldOptions;

/// What to tell a user who may not read contexts and options.
const ADMIN_FIX: &str = "Cloud lets only Jira administrators (global permission *Administer Jira*) read custom field \
                         contexts and options, with the OAuth scope `manage:jira-configuration` or the granular \
                         `read:field:jira`, `read:custom-field-contextual-configuration:jira` and \
                         `read:field.option:jira`: run the pipeline as such a user, or remove `field_options`";

/// What to tell about fields whose options answered 404.
const MISSING_FIX: &str = "a field deleted during the run needs nothing; on Data Center, the options listing \
                           (`/rest/api/2/customFields/{id}/options`) needs a release that has it: upgrade, or \
                           remove `field_options`";

impl Object for FieldOptions {
    fn kind(&self) -> ObjectKind {
        ObjectKind::FieldOptions
    }

    fn columns(&self, _: &[FieldDef]) -> Vec<Column> {
        let mut cols = vec![
            col("id", ColumnType::Text),
            col("field_id", ColumnType::Text),
            col("field_name", ColumnType::Text),
            col("value", ColumnType::Text),
            col("disabled", ColumnType::Bool),
            // Cascading selects: the option this one is a child of.
            col("parent_id", ColumnType::Text),
            // Order within its context (Cloud) or field (Data Center), as Jira shows them.
            col("position", ColumnType::Int),
            // Cloud only: the context the option belongs to.
            col("context_id", ColumnType::Text),
            col("context_name", ColumnType::Text),
            col("context_is_global", ColumnType::Bool),
            col("context_is_any_issue_type", ColumnType::Bool),
        ];
        cols.extend(RunStamp::columns());
        cols
    }

    /// Which custom fields have options comes from the catalogue.
    fn needs_catalogue(&self) -> bool {
        true
    }

    fn oauth_scope(&self) -> &'static str {
        "manage:jira-configuration"
    }

    fn extract<'a>(&'a self, job: Job<'a>) -> BoxFuture<'a, Result<Outcome, ObjectError>> {
        Box::pin(extract(job))
    }

    fn diagnose(&self, err: &JiraError) -> Option<(Concern, Diagnosis)> {
        refused(err).then(|| {
            let problem = format!("custom field options cannot be read by this user: {err}");
            (Concern::Warn, Diagnosis::new("field-options-admin-only", problem, ADMIN_FIX))
        })
    }

    /// The options of the first select-type field (`+` when the site has more such fields).
    fn probe<'a>(&'a self, client: &'a JiraClient, _: &'a ObjectConfig) -> BoxFuture<'a, Result<Probed, JiraError>> {
        Box::pin(async move {
            let catalogue = client.fields().await?;
            let fields: Vec<&FieldDef> = catalogue.iter().filter(|f| is_select(f)).collect();
            let Some(first) = fields.first() else {
                return Ok(Probed { records: Some("0".into()), ..Probed::default() });
            };
            let n = options_of(client, first).await?.len();
            Ok(Probed { records: Some(format!("{n}{}", if fields.len() > 1 { "+" } else { "" })), ..Probed::default() })
        })
    }
}

/// A 403, or an OAuth token without the scope: the user may not read options at all.
fn refused(err: &JiraError) -> bool {
    matches!(err, JiraError::Forbidden { .. } | JiraError::Unauthorized { reason: Rejection::Scope, .. })
}

fn is_select(f: &FieldDef) -> bool {
    f.custom && f.schema.as_ref().and_then(|s| s.custom.as_deref()).is_some_and(has_options)
}

/// Every option of `field` as rows (context columns filled on Cloud).
async fn options_of(client: &JiraClient, field: &FieldDef) -> Result<Vec<Map<String, Value>>, JiraError> {
    let mut rows = Vec::new();
    match client.deployment() {
        Deployment::Cloud => {
            let mut contexts = client.field_contexts(&field.id);
            while let Some(page) = contexts.next().await? {
                for c in page {
                    let context = text(&c["id"]);
                    let mut options = client.context_options(&field.id, context.as_str().unwrap_or_default());
                    let mut position = 0;
                    while let Some(page) = options.next().await? {
                        for o in page {
                            let mut row = base_row(field, &o, text(&o["optionId"]), position);
                            row.insert("context_id".into(), context.clone());
                            row.insert("context_name".into(), c["name"].clone());
                            row.insert("context_is_global".into(), c["isGlobalContext"].clone());
                            row.insert("context_is_any_issue_type".into(), c["isAnyIssueType"].clone());
                            rows.push(row);
                            position += 1;
                        }
                    }
                }
            }
        }
        Deployment::DataCenter => {
            // The field's number: Data Center's resource takes `10033`, not `customfield_10033`.
            let number = field.id.strip_prefix("customfield_").unwrap_or(&field.id);
            let options = client.data_center_field_options(number).await?;
            // A cascading parent names its children (`childrenIds`); a child does not name it.
            let parent_of = |id: &Value| {
                options
                    .iter()
                    .find(|p| p["childrenIds"].as_array().is_some_and(|c| c.contains(id)))
                    .map(|p| text(&p["id"]))
            };
            for (position, o) in options.iter().enumerate() {
                rows.push(base_row(field, o, parent_of(&o["id"]).unwrap_or(Value::Null), position as i64));
            }
        }
    }
    Ok(rows)
}

fn base_row(field: &FieldDef, o: &Value, parent: Value, position: i64) -> Map<String, Value> {
    row_of(json!({
        "id": text(&o["id"]), "field_id": field.id, "field_name": field.name, "value": o["value"],
        "disabled": o["disabled"], "parent_id": parent, "position": position,
    }))
}

async fn extract(job: Job<'_>) -> Result<Outcome, ObjectError> {
    let Job { client, catalogue, shape, stamp, tx, .. } = job;
    let mut rows = Rows::new(shape, &tx);
    let mut missing = Vec::new();
    for field in catalogue.iter().filter(|f| is_select(f)) {
        let options = match options_of(client, field).await {
            Ok(o) => o,
            Err(e) if refused(&e) => {
                return Ok(rows.into_outcome(Outcome {
                    skipped: 1,
                    warnings: vec![Warning {
                        message: format!("custom field options were not read: {e}"),
                        fix: ADMIN_FIX.into(),
                    }],
                    ..Outcome::default()
                }));
            }
            // The field was deleted since the catalogue was read, or (Data Center) the version
            // has no option listing.
            Err(JiraError::Status { status: 404, .. }) => {
                missing.push(field.id.clone());
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        for mut row in options {
            shape.mask(&mut row);
            let id = row.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
            let record = Value::Object(row);
            rows.push(&id, &record, |c| stamp.column(c).or_else(|| record.get(c))).await?;
        }
    }
    rows.flush().await?;
    let mut warnings = Vec::new();
    if !missing.is_empty() {
        let (n, fields) = (missing.len(), missing.join(", "));
        warnings.push(Warning {
            message: format!("the options of {n} field(s) could not be read (HTTP 404): {fields}"),
            fix: MISSING_FIX.into(),
        });
    }
    Ok(rows.into_outcome(Outcome { skipped: missing.len(), warnings, ..Outcome::default() }))
}
