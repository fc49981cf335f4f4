//! Located, actionable configuration errors, rendered with the offending line (miette).

use std::path::PathBuf;

use miette::{Diagnostic, NamedSource, SourceSpan};
use serde_saphyr::Location;

/// One problem in a pipeline file, with where it is and how to fix it.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{file}:{line}:{column}: {message}")]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    #[help]
    pub help: String,
    #[source_code]
    source_code: NamedSource<String>,
    #[label("{label}")]
    span: SourceSpan,
    label: String,
}

/// Why a pipeline file could not be loaded.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum LoadError {
    #[error("cannot read pipeline file {}: {source}", path.display())]
    #[diagnostic(help("check the path; pipeline files are YAML, e.g. pipelines/demo.yaml"))]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{} has {} problem{}", file, errors.len(), if errors.len() == 1 { "" } else { "s" })]
    Invalid {
        file: String,
        #[related]
        errors: Vec<ConfigError>,
    },
}

impl LoadError {
    /// The individual located errors (empty for read failures).
    pub fn errors(&self) -> &[ConfigError] {
        match self {
            LoadError::Read { .. } => &[],
            LoadError::Invalid { errors, .. } => errors,
        }
    }
}

/// The text of one pipeline file, for turning locations into spans.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
}

impl SourceFile {
    /// Byte offset of a 1-based (line, character column) position, clamped to the text.
    fn offset(&self, line: usize, column: usize) -> usize {
        let mut offset = 0;
        for (n, l) in self.text.split_inclusive('\n').enumerate() {
            if n + 1 == line {
                let col = l.char_indices().nth(column.saturating_sub(1)).map(|(i, _)| i).unwrap_or(l.len());
                return offset + col;
            }
            offset += l.len();
        }
        self.text.len()
    }

    /// An error at a YAML location; the label underlines the token that starts there.
    pub fn error_at(
        &self,
        loc: &Location,
        message: impl Into<String>,
        label: impl Into<String>,
        help: impl Into<String>,
    ) -> ConfigError {
        let (line, column) =
            if *loc == Location::UNKNOWN { (1, 1) } else { (loc.line() as usize, loc.column() as usize) };
        let start = self.offset(line, column);
        self.error_span(start, self.token_len(start), message, label, help)
    }

    /// An error over `len` bytes starting at byte `start`.
    pub fn error_span(
        &self,
        start: usize,
        len: usize,
        message: impl Into<String>,
        label: impl Into<String>,
        help: impl Into<String>,
    ) -> ConfigError {
        let start = start.min(self.text.len());
        let before = &self.text[..start];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
        ConfigError {
            file: self.name.clone(),
            line,
            column,
            message: message.into(),
            help: help.into(),
            source_code: NamedSource::new(self.name.clone(), self.text.clone()),
            span: SourceSpan::new(start.into(), len.min(self.text.len() - start)),
            label: label.into(),
        }
    }

    /// Length of the YAML token at `start`: a quoted string, or up to a separator.
    fn token_len(&self, start: usize) -> usize {
        let rest = &self.text[start.min(self.text.len())..];
        let len = match rest.chars().next() {
            Some(q @ ('"' | '\'')) => rest[1..].find(q).map(|i| i + 2).unwrap_or(rest.len()),
            _ => rest.find(['\n', ':', ',', '}', ']', '#']).unwrap_or(rest.len()),
        };
        rest[..len].trim_end().len().max(1)
    }

    /// Byte offset of a value's first character (after any opening quote).
    pub fn value_start(&self, loc: &Location) -> usize {
        let start = self.offset(loc.line() as usize, loc.column() as usize);
        match self.text[start..].chars().next() {
            Some('"' | '\'') => start + 1,
            _ => start,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_positions_agree() {
        let src = SourceFile { name: "p.yaml".into(), text: "a: 1\nbé: \"x y\"\n".into() };
        let e = src.error_span(src.offset(2, 5), 5, "m", "l", "h");
        assert_eq!((e.line, e.column), (2, 5));
        assert_eq!(src.token_len(src.offset(2, 5)), 5);
        assert_eq!(e.to_string(), "p.yaml:2:5: m");
    }
}
