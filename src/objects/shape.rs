//! An object's columns with the pipeline's `hash` masks applied.

use serde_json::Value;

use super::ObjectError;
use crate::transform::columns::Column;
use crate::transform::mask::{MaskPath, Masker, masked_type};

/// An object's columns with its masks applied: hashed paths become text columns.
#[derive(Clone)]
pub struct Shape {
    pub columns: Vec<Column>,
    masks: Vec<MaskPath>,
    masker: Option<Masker>,
    /// Counts rows as they are converted (a hidden bar when progress is off).
    pub progress: indicatif::ProgressBar,
}

impl Shape {
    /// Checks every `hash` path against the columns (`id` never; the column must be selected).
    pub fn new(
        object: &'static str,
        mut columns: Vec<Column>,
        hash: &[String],
        masker: Option<&Masker>,
    ) -> Result<Self, ObjectError> {
        let mut masks = Vec::new();
        for text in hash {
            let bad = |message: String| ObjectError::BadHash { object, message };
            let path = MaskPath::parse(text).map_err(bad)?;
            let Some(col) = columns.iter_mut().find(|c| c.name == path.column()) else {
                return Err(bad(format!(
                    "`{text}` starts at `{}`, which is not a column of this table; hash a selected field (columns: {})",
                    path.column(),
                    columns
                        .iter()
                        .map(|c| c.name.as_str())
                        .filter(|n| !n.starts_with('_'))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            };
            if col.name == "id" || col.name.starts_with('_') {
                return Err(bad(format!("`{text}`: `{}` cannot be hashed", col.name)));
            }
            col.ty = masked_type(&col.ty, &path).map_err(bad)?;
            masks.push(path);
        }
        let masker = if masks.is_empty() { None } else { masker.cloned() };
        if !masks.is_empty() && masker.is_none() {
            return Err(ObjectError::BadHash { object, message: "no `masking.key` is configured".into() });
        }
        Ok(Self { columns, masks, masker, progress: indicatif::ProgressBar::hidden() })
    }

    /// Hashes the masked paths of `record` (column name → value) in place.
    pub fn mask(&self, record: &mut serde_json::Map<String, Value>) {
        if let Some(m) = &self.masker {
            for p in &self.masks {
                m.apply(record, p);
            }
        }
    }

    /// Whether values of `column` are hashed (somewhere below it).
    pub fn is_masked(&self, column: &str) -> bool {
        self.masker.is_some() && self.masks.iter().any(|p| p.column() == column)
    }

    /// `v`, the value of `column`, with its masked paths hashed.
    pub fn mask_value(&self, column: &str, mut v: Value) -> Value {
        if let Some(m) = &self.masker {
            for p in self.masks.iter().filter(|p| p.column() == column) {
                m.apply_to_column(&mut v, p);
            }
        }
        v
    }
}
