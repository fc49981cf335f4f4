//! Keyed hashing of personal data (HMAC-SHA256, hex).
//!
//! Why keyed: an email address or a display name has little entropy, so a bare SHA-256 of it is
//! reversed by hashing a list of candidate names (a dictionary attack) in seconds. With a
//! secret key, nobody without the key can compute the hash of a guess. The same key gives the
//! same hash in every run and every table, so hashed values still join and count distinct.

use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

use super::columns::ColumnType;

/// A path into a record: `assignee.emailAddress`, `watchers[].emailAddress`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskPath {
    pub text: String,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Segment {
    name: String,
    /// `name[]`: the path continues into every element of a list.
    each: bool,
}

impl MaskPath {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut segments = Vec::new();
        for part in text.split('.') {
            let (name, each) = match part.strip_suffix("[]") {
                Some(n) => (n, true),
                None => (part, false),
            };
            if name.is_empty() || name.contains(['[', ']', ' ']) {
                return Err(format!(
                    "`{text}` is not a field path; write e.g. `assignee.emailAddress` or `watchers[].emailAddress`"
                ));
            }
            segments.push(Segment { name: name.to_string(), each });
        }
        Ok(Self { text: text.to_string(), segments })
    }

    /// The column the path starts at.
    pub fn column(&self) -> &str {
        &self.segments[0].name
    }
}

/// Hashes values with one secret key.
#[derive(Clone)]
pub struct Masker {
    key: Vec<u8>,
}

impl Masker {
    pub fn new(key: &str) -> Self {
        Self { key: key.as_bytes().to_vec() }
    }

    pub fn hash(&self, value: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Replaces what `path` reaches in `record` (a map of column → value) by its hash. Nulls and
    /// missing values stay as they are.
    pub fn apply(&self, record: &mut serde_json::Map<String, Value>, path: &MaskPath) {
        if let Some(v) = record.get_mut(path.column()) {
            self.apply_to_column(v, path);
        }
    }

    /// Replaces what `path` reaches in `v`, the value of the column the path starts at.
    pub fn apply_to_column(&self, v: &mut Value, path: &MaskPath) {
        self.walk(v, &path.segments[0], &path.segments[1..]);
    }

    fn walk(&self, v: &mut Value, seg: &Segment, rest: &[Segment]) {
        if seg.each {
            if let Value::Array(items) = v {
                for item in items {
                    self.descend(item, rest);
                }
            }
        } else {
            self.descend(v, rest);
        }
    }

    fn descend(&self, v: &mut Value, rest: &[Segment]) {
        match rest.split_first() {
            None => self.leaf(v),
            Some((next, tail)) => {
                if let Some(child) = v.as_object_mut().and_then(|o| o.get_mut(&next.name)) {
                    self.walk(child, next, tail);
                }
            }
        }
    }

    fn leaf(&self, v: &mut Value) {
        match v {
            Value::Null => {}
            Value::String(s) => *v = Value::String(self.hash(s)),
            Value::Array(items) => items.iter_mut().for_each(|i| self.leaf(i)),
            other => *other = Value::String(self.hash(&other.to_string())),
        }
    }
}

/// The column type once `path` (below the column) is hashed: the hashed leaf becomes text.
pub fn masked_type(ty: &ColumnType, path: &MaskPath) -> Result<ColumnType, String> {
    fn go(ty: &ColumnType, seg: &Segment, rest: &[Segment], path: &str) -> Result<ColumnType, String> {
        let ty = match (ty, seg.each) {
            (ColumnType::List(inner), true) => return Ok(ColumnType::List(Box::new(below(inner, rest, path)?))),
            (ColumnType::Json, _) => return Ok(ColumnType::Json),
            (_, true) => return Err(format!("`{}[]` in `{path}` is not a list", seg.name)),
            (ty, false) => ty,
        };
        below(ty, rest, path)
    }
    fn below(ty: &ColumnType, rest: &[Segment], path: &str) -> Result<ColumnType, String> {
        match rest.split_first() {
            None => Ok(match ty {
                ColumnType::List(_) => ColumnType::List(Box::new(ColumnType::Text)),
                ColumnType::Json => ColumnType::Json,
                _ => ColumnType::Text,
            }),
            Some((next, tail)) => match ty {
                ColumnType::Struct(fields) => {
                    let mut fields = fields.clone();
                    let Some(f) = fields.iter_mut().find(|(n, _)| *n == next.name) else {
                        let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
                        return Err(format!(
                            "`{}` in `{path}` is not a field here; fields: {}",
                            next.name,
                            names.join(", ")
                        ));
                    };
                    f.1 = go(&f.1, next, tail, path)?;
                    Ok(ColumnType::Struct(fields))
                }
                ColumnType::Json => Ok(ColumnType::Json),
                ColumnType::List(_) => Err(format!("`{path}` reaches a list: write `name[].field`")),
                _ => Err(format!("`{path}` goes below a value that has no fields")),
            },
        }
    }
    go(ty, &path.segments[0], &path.segments[1..], &path.text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hmac_matches_the_rfc_4231_vector_and_depends_on_the_key() {
        // RFC 4231 test case 2.
        let m = Masker::new("Jefe");
        assert_eq!(
            m.hash("what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_ne!(Masker::new("other").hash("a@b.c"), m.hash("a@b.c"));
        assert_eq!(m.hash("a@b.c"), Masker::new("Jefe").hash("a@b.c"), "deterministic");
    }

    #[test]
    fn paths_reach_into_structs_and_lists_and_leave_nulls() {
        let m = Masker::new("k");
        let mut rec = json!({
            "assignee": {"emailAddress": "a@x.io", "displayName": "A"},
            "watchers": [{"emailAddress": "b@x.io"}, {"emailAddress": null}],
            "reporter": null,
        })
        .as_object()
        .unwrap()
        .clone();
        for p in ["assignee.emailAddress", "watchers[].emailAddress", "reporter.emailAddress"] {
            m.apply(&mut rec, &MaskPath::parse(p).unwrap());
        }
        assert_eq!(rec["assignee"]["emailAddress"], json!(m.hash("a@x.io")));
        assert_eq!(rec["assignee"]["displayName"], "A");
        assert_eq!(rec["watchers"][0]["emailAddress"], json!(m.hash("b@x.io")));
        assert_eq!(rec["watchers"][1]["emailAddress"], Value::Null);
        assert_eq!(rec["reporter"], Value::Null);
    }

    #[test]
    fn masked_types_turn_the_leaf_into_text_and_reject_wrong_paths() {
        let user =
            ColumnType::Struct(vec![("emailAddress".into(), ColumnType::Text), ("active".into(), ColumnType::Bool)]);
        let p = MaskPath::parse("reviewer.active").unwrap();
        let ColumnType::Struct(f) = masked_type(&user, &p).unwrap() else { panic!() };
        assert_eq!(f[1], ("active".to_string(), ColumnType::Text));
        let e = masked_type(&user, &MaskPath::parse("reviewer.email").unwrap()).unwrap_err();
        assert!(e.contains("emailAddress"), "{e}");
        let list = ColumnType::List(Box::new(user));
        assert!(masked_type(&list, &MaskPath::parse("team[].emailAddress").unwrap()).is_ok());
        assert!(masked_type(&list, &MaskPath::parse("team.emailAddress").unwrap()).is_err());
        assert!(MaskPath::parse("a..b").is_err());
    }
}
