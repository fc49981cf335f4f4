//! `${VAR}` substitution in pipeline values.
//!
//! Substitution happens on parsed string values, never on the raw YAML text, so a secret that
//! contains `: ` or `#` cannot change the document's structure. `$${` writes a literal `${`.

use std::collections::HashMap;

/// Where `${VAR}` values come from: the process environment, optionally overlaid (the demo
/// injects the simulator's URL and credentials without touching the environment).
#[derive(Debug, Clone, Default)]
pub struct Vars {
    overlay: HashMap<String, String>,
    use_env: bool,
}

impl Vars {
    /// The process environment.
    pub fn from_env() -> Self {
        Self { overlay: HashMap::new(), use_env: true }
    }

    /// Only the given variables (tests).
    pub fn only(vars: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>) -> Self {
        Self { overlay: vars.into_iter().map(|(k, v)| (k.into(), v.into())).collect(), use_env: false }
    }

    /// Adds variables that win over the environment.
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.overlay.insert(name.into(), value.into());
        self
    }

    fn get(&self, name: &str) -> Option<String> {
        self.overlay.get(name).cloned().or_else(|| if self.use_env { std::env::var(name).ok() } else { None })
    }
}

/// Why a value could not be interpolated; `offset` is the byte offset of the `${` in the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterpolateError {
    Missing { name: String, offset: usize },
    Unclosed { offset: usize },
    BadName { name: String, offset: usize },
}

/// Replaces every `${NAME}` in `raw`.
pub fn interpolate(raw: &str, vars: &Vars) -> Result<String, InterpolateError> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    let mut consumed = 0;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos..];
        if let Some(tail) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = tail;
            consumed += pos + 3;
        } else if let Some(body) = after.strip_prefix("${") {
            let offset = consumed + pos;
            let end = body.find('}').ok_or(InterpolateError::Unclosed { offset })?;
            let name = &body[..end];
            let valid = !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(InterpolateError::BadName { name: name.to_string(), offset });
            }
            let value = vars.get(name).ok_or_else(|| InterpolateError::Missing { name: name.to_string(), offset })?;
            out.push_str(&value);
            rest = &body[end + 1..];
            consumed = offset + 2 + end + 1;
        } else {
            out.push('$');
            rest = &after[1..];
            consumed += pos + 1;
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        Vars::only([("A", "1"), ("TOKEN", "s: #x")])
    }

    #[test]
    fn substitutes_and_escapes() {
        assert_eq!(interpolate("x${A}y${A}", &vars()).unwrap(), "x1y1");
        assert_eq!(interpolate("$${A} costs $5", &vars()).unwrap(), "${A} costs $5");
        assert_eq!(interpolate("${TOKEN}", &vars()).unwrap(), "s: #x");
    }

    #[test]
    fn reports_missing_unclosed_and_bad_names_with_offsets() {
        assert_eq!(
            interpolate("ab${NOPE}", &vars()),
            Err(InterpolateError::Missing { name: "NOPE".into(), offset: 2 })
        );
        assert_eq!(interpolate("${A", &vars()), Err(InterpolateError::Unclosed { offset: 0 }));
        assert_eq!(interpolate("${A}${1X}", &vars()), Err(InterpolateError::BadName { name: "1X".into(), offset: 4 }));
    }

    #[test]
    fn environment_is_read_when_asked() {
        // PATH is set in every test environment.
        assert!(interpolate("${PATH}", &Vars::from_env()).is_ok());
        assert!(interpolate("${PATH}", &Vars::only([("X", "y")])).is_err());
    }
}
