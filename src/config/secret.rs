//! Credentials that must never reach a log, a report, an error or `--help`.

use std::fmt;

/// A secret value. `Debug` and `Display` print `***`; the only way to the value is
/// [`Secret::expose`], which makes every use greppable.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String, Option<String>);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into(), None)
    }

    /// Remembers where the value came from (`$JIRA_API_TOKEN`, `file /run/secrets/token`), so an
    /// error about a refused credential can say which one to replace without showing it.
    pub fn from_origin(mut self, origin: impl Into<String>) -> Self {
        self.1 = Some(origin.into());
        self
    }

    pub fn origin(&self) -> Option<&str> {
        self.1.as_deref()
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(format!("{:?}", Some(&s)), "Some(Secret(***))");
        assert_eq!(s.expose(), "hunter2");
        let s = s.from_origin("$JIRA_API_TOKEN");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(s.origin(), Some("$JIRA_API_TOKEN"));
    }
}
