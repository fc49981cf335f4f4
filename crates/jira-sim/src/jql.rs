//! The JQL subset the simulator understands, evaluated the way Jira does.
//!
//! Date literals (`"2024/05/01 13:30"`, `"2024-05-01"`) are wall-clock times in the API user's
//! time zone, which is exactly the trap real extractors fall into; unquoted numbers on date
//! fields are epoch milliseconds. Anything outside the subset is answered with Jira's 400 body.
//!
//! `id`, `key`, `issue` and `issuekey` are one clause, as in Jira: each literal (a number is an
//! issue id, anything else a key) is first looked up as an issue, and a comparison is on key
//! numbers *within that issue's project* — `id > 10500` means "issues of 10500's project with a
//! higher key number", never a numeric comparison of ids. Sources: Jira's
//! `IssueIdClauseQueryFactory` and its unit test `testGreaterThanEqualsWithId` (numeric id 3484
//! becomes `keynumpart_range >= … AND projid = 29`; public copy of Jira 6.3.15 in GitHub
//! `turgaycelik/mysource`), and a measurement on Jira DC 10.4.0 and Cloud in GitHub
//! `kmoneil/jr` `internal/resource/issue/paging_scope_test.go` (`issuekey > "ENG-1"` returns
//! ENG-2…ENG-5 and no ABC issue). See `shared/notes/jql-semantics.md`.

use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

/// What a clause can test on one issue.
pub struct IssueView<'a> {
    pub id: u64,
    pub key: &'a str,
    /// The number part of the key (`ENG-42` → 42).
    pub key_num: u64,
    pub project_key: &'a str,
    pub project_id: u64,
    pub updated_ms: i64,
    pub created_ms: i64,
    /// The status's name (`status = Done`, `status != "In Review"`).
    pub status: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Project,
    /// `status`, by name (case-insensitive) or id, as Jira's status clause takes either.
    Status,
    /// `key`/`issuekey`/`issue`: the issue clause, named as the user wrote it for messages.
    Key,
    /// `id`: the same clause.
    Id,
    Updated,
    Created,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    In,
    NotIn,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Text(String),
    Number(i64),
    /// An instant, already resolved in the user's time zone.
    Instant(i64),
    /// An issue literal resolved by `Query::resolve_issues`: its project and key number.
    Issue {
        project_id: u64,
        key_num: u64,
    },
    /// An issue literal that names no issue the user can see.
    NoIssue,
}

/// An issue literal as written: a number is an issue id, anything else a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssueRef {
    Id(u64),
    Key(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Clause { field: Field, op: Op, values: Vec<ValueSlot> },
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
}

/// A literal of a clause (kept opaque outside this module).
#[derive(Debug, Clone, PartialEq)]
pub struct ValueSlot(Value);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Updated,
    Created,
    Key,
    Id,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub filter: Option<Expr>,
    pub order: Vec<(SortKey, bool)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JqlError(pub String);

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String),
    Op(&'static str),
    LParen,
    RParen,
    Comma,
}

fn tokenize(s: &str) -> Result<Vec<Tok>, JqlError> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => (out.push(Tok::LParen), i += 1).1,
            ')' => (out.push(Tok::RParen), i += 1).1,
            ',' => (out.push(Tok::Comma), i += 1).1,
            '"' | '\'' => {
                let mut j = i + 1;
                let mut text = String::new();
                while j < chars.len() && chars[j] != c {
                    if chars[j] == '\\' && j + 1 < chars.len() {
                        j += 1;
                    }
                    text.push(chars[j]);
                    j += 1;
                }
                if j >= chars.len() {
                    return Err(JqlError(format!(
                        "Error in the JQL Query: The quoted string '{text}' has not been completed. (line 1, character {})",
                        i + 1
                    )));
                }
                out.push(Tok::Quoted(text));
                i = j + 1;
            }
            '=' => (out.push(Tok::Op("=")), i += 1).1,
            '!' | '>' | '<' => {
                let two = chars.get(i + 1) == Some(&'=');
                let op = match (c, two) {
                    ('!', true) => "!=",
                    ('>', true) => ">=",
                    ('<', true) => "<=",
                    ('>', false) => ">",
                    ('<', false) => "<",
                    _ => {
                        return Err(JqlError(format!(
                            "Error in the JQL Query: The character '!' is a reserved JQL character. (line 1, character {})",
                            i + 1
                        )));
                    }
                };
                out.push(Tok::Op(op));
                i += if two { 2 } else { 1 };
            }
            _ => {
                let mut j = i;
                while j < chars.len() && !chars[j].is_whitespace() && !"()=,!<>\"'".contains(chars[j]) {
                    j += 1;
                }
                out.push(Tok::Word(chars[i..j].iter().collect()));
                i = j;
            }
        }
    }
    Ok(out)
}

struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    tz: &'a Tz,
}

fn keyword(t: Option<&Tok>, kw: &str) -> bool {
    matches!(t, Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn at_order_by(&self) -> bool {
        keyword(self.peek(), "order") && keyword(self.toks.get(self.pos + 1), "by")
    }

    fn or(&mut self) -> Result<Expr, JqlError> {
        let mut left = self.and()?;
        while keyword(self.peek(), "or") {
            self.pos += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, JqlError> {
        let mut left = self.unary()?;
        while keyword(self.peek(), "and") {
            self.pos += 1;
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, JqlError> {
        if keyword(self.peek(), "not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let e = self.or()?;
            if self.next() != Some(Tok::RParen) {
                return Err(JqlError("Error in the JQL Query: Expecting ')' before the end of the query.".into()));
            }
            return Ok(e);
        }
        self.clause()
    }

    fn clause(&mut self) -> Result<Expr, JqlError> {
        let name = match self.next() {
            Some(Tok::Word(w)) | Some(Tok::Quoted(w)) => w,
            other => {
                return Err(JqlError(format!(
                    "Error in the JQL Query: Expecting a field name but got '{}'.",
                    describe(other.as_ref())
                )));
            }
        };
        let field = match name.to_ascii_lowercase().as_str() {
            "project" => Field::Project,
            "status" => Field::Status,
            "key" | "issuekey" | "issue" => Field::Key,
            "id" => Field::Id,
            "updated" | "updateddate" => Field::Updated,
            "created" | "createddate" => Field::Created,
            _ => {
                return Err(JqlError(format!(
                    "Field '{name}' does not exist or you do not have permission to view it."
                )));
            }
        };
        let op = match self.next() {
            Some(Tok::Op("=")) => Op::Eq,
            Some(Tok::Op("!=")) => Op::Ne,
            Some(Tok::Op(">")) => Op::Gt,
            Some(Tok::Op(">=")) => Op::Ge,
            Some(Tok::Op("<")) => Op::Lt,
            Some(Tok::Op("<=")) => Op::Le,
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("in") => Op::In,
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("not") && keyword(self.peek(), "in") => {
                self.pos += 1;
                Op::NotIn
            }
            other => {
                return Err(JqlError(format!(
                    "Error in the JQL Query: Expecting operator but got '{}'.",
                    describe(other.as_ref())
                )));
            }
        };
        let values = if matches!(op, Op::In | Op::NotIn) {
            if self.next() != Some(Tok::LParen) {
                return Err(JqlError("Error in the JQL Query: Expecting '(' after 'in'.".into()));
            }
            let mut vals = vec![self.value(field)?];
            loop {
                match self.next() {
                    Some(Tok::Comma) => vals.push(self.value(field)?),
                    Some(Tok::RParen) => break,
                    _ => return Err(JqlError("Error in the JQL Query: Expecting ')' to close the list.".into())),
                }
            }
            vals
        } else {
            vec![self.value(field)?]
        };
        let is_date = matches!(field, Field::Updated | Field::Created);
        if is_date && matches!(op, Op::In | Op::NotIn) {
            return Err(JqlError(format!("The operator '{op:?}' is not supported by the '{name}' field.")));
        }
        if !is_date && matches!(op, Op::Gt | Op::Ge | Op::Lt | Op::Le) && field != Field::Id && field != Field::Key {
            return Err(JqlError(format!("The operator is not supported by the '{name}' field.")));
        }
        Ok(Expr::Clause { field, op, values })
    }

    fn value(&mut self, field: Field) -> Result<ValueSlot, JqlError> {
        let (text, quoted) = match self.next() {
            Some(Tok::Word(w)) => (w, false),
            Some(Tok::Quoted(q)) => (q, true),
            other => {
                return Err(JqlError(format!(
                    "Error in the JQL Query: Expecting either a value, list or function but got '{}'.",
                    describe(other.as_ref())
                )));
            }
        };
        match field {
            Field::Updated | Field::Created => {
                if !quoted && let Ok(ms) = text.parse::<i64>() {
                    return Ok(ValueSlot(Value::Instant(ms)));
                }
                parse_date(&text, self.tz).map(|ms| ValueSlot(Value::Instant(ms))).ok_or_else(|| {
                    JqlError(format!(
                        "Date value '{text}' for field '{}' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'.",
                        if field == Field::Updated { "updated" } else { "created" }
                    ))
                })
            }
            // Either alias takes an id or a key, as Jira's issue clause does.
            Field::Id | Field::Key => match text.parse::<i64>() {
                Ok(n) => Ok(ValueSlot(Value::Number(n))),
                Err(_) => Ok(ValueSlot(Value::Text(text))),
            },
            _ => Ok(ValueSlot(Value::Text(text))),
        }
    }
}

fn describe(t: Option<&Tok>) -> String {
    match t {
        None => "<EOF>".into(),
        Some(Tok::Word(w)) | Some(Tok::Quoted(w)) => w.clone(),
        Some(Tok::Op(o)) => (*o).into(),
        Some(Tok::LParen) => "(".into(),
        Some(Tok::RParen) => ")".into(),
        Some(Tok::Comma) => ",".into(),
    }
}

/// Wall-clock date literal in `tz` → epoch milliseconds (`None` if malformed).
fn parse_date(text: &str, tz: &Tz) -> Option<i64> {
    let norm = text.trim().replace('/', "-");
    let naive = NaiveDateTime::parse_from_str(&norm, "%Y-%m-%d %H:%M")
        .ok()
        .or_else(|| NaiveDate::parse_from_str(&norm, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)))?;
    // A wall-clock time skipped by a DST change does not exist; Jira moves it forward.
    let local = tz
        .from_local_datetime(&naive)
        .earliest()
        .or_else(|| tz.from_local_datetime(&(naive + chrono::Duration::hours(1))).earliest())?;
    Some(local.timestamp_millis())
}

/// Parses `jql` with date literals read in the API user's time zone `tz`.
pub fn parse(jql: &str, tz: &Tz) -> Result<Query, JqlError> {
    let mut p = Parser { toks: tokenize(jql)?, pos: 0, tz };
    let filter = if p.peek().is_none() || p.at_order_by() { None } else { Some(p.or()?) };
    let mut order = Vec::new();
    if p.at_order_by() {
        p.pos += 2;
        loop {
            let key = match p.next() {
                Some(Tok::Word(w)) => match w.to_ascii_lowercase().as_str() {
                    "updated" => SortKey::Updated,
                    "created" => SortKey::Created,
                    "key" | "issuekey" => SortKey::Key,
                    "id" => SortKey::Id,
                    _ => return Err(JqlError(format!("Not able to sort using field '{w}'."))),
                },
                other => {
                    return Err(JqlError(format!(
                        "Error in the JQL Query: Expecting a field name but got '{}'.",
                        describe(other.as_ref())
                    )));
                }
            };
            let mut asc = true;
            if keyword(p.peek(), "asc") {
                p.pos += 1;
            } else if keyword(p.peek(), "desc") {
                p.pos += 1;
                asc = false;
            }
            order.push((key, asc));
            if p.peek() == Some(&Tok::Comma) {
                p.pos += 1;
            } else {
                break;
            }
        }
    }
    if let Some(t) = p.peek() {
        return Err(JqlError(format!(
            "Error in the JQL Query: Expecting either 'OR' or 'AND' but got '{}'.",
            describe(Some(t))
        )));
    }
    Ok(Query { filter, order })
}

impl Query {
    pub fn matches(&self, issue: &IssueView<'_>) -> bool {
        self.filter.as_ref().is_none_or(|e| e.matches(issue))
    }

    /// The smallest `updated` any match can have, when the filter is a conjunction containing
    /// `updated >= t` / `updated > t`: lets search start at that point instead of scanning.
    pub fn min_updated(&self) -> Option<i64> {
        self.lower_bound(Field::Updated)
    }

    /// The smallest `created` any match can have (`created >= t` / `created > t` in a
    /// conjunction).
    pub fn min_created(&self) -> Option<i64> {
        self.lower_bound(Field::Created)
    }

    fn lower_bound(&self, field: Field) -> Option<i64> {
        fn walk(e: &Expr, field: Field) -> Option<i64> {
            match e {
                Expr::Clause { field: f, op: Op::Ge, values } if *f == field => instant(&values[0]),
                Expr::Clause { field: f, op: Op::Gt, values } if *f == field => instant(&values[0]).map(|t| t + 1),
                Expr::And(a, b) => match (walk(a, field), walk(b, field)) {
                    (Some(x), Some(y)) => Some(x.max(y)),
                    (x, y) => x.or(y),
                },
                _ => None,
            }
        }
        self.filter.as_ref().and_then(|e| walk(e, field))
    }

    /// The issue ids a match must be among, when the filter is a conjunction containing
    /// `id in (…)` / `id = n` with numeric literals (before `resolve_issues`): lets search
    /// look at those issues only instead of scanning the site.
    pub fn id_list(&self) -> Option<Vec<u64>> {
        fn walk(e: &Expr) -> Option<Vec<u64>> {
            match e {
                Expr::Clause { field: Field::Id | Field::Key, op: Op::In | Op::Eq, values } => values
                    .iter()
                    .map(|v| match v.0 {
                        Value::Number(n) => u64::try_from(n).ok(),
                        _ => None,
                    })
                    .collect(),
                Expr::And(a, b) => walk(a).or_else(|| walk(b)),
                _ => None,
            }
        }
        self.filter.as_ref().and_then(walk)
    }

    /// Looks every issue literal up with `lookup` (→ project id and key number, `None` when no
    /// visible issue has that id or key) and returns the literals that named none, as Jira's
    /// validation messages word them. Jira resolves literals before it searches; what it does
    /// with unknown ones differs by deployment (the caller decides: Data Center answers 400,
    /// Cloud matches nothing).
    pub fn resolve_issues(&mut self, lookup: &dyn Fn(&IssueRef) -> Option<(u64, u64)>) -> Vec<String> {
        fn walk(e: &mut Expr, lookup: &dyn Fn(&IssueRef) -> Option<(u64, u64)>, unknown: &mut Vec<String>) {
            match e {
                Expr::And(a, b) | Expr::Or(a, b) => {
                    walk(a, lookup, unknown);
                    walk(b, lookup, unknown);
                }
                Expr::Not(a) => walk(a, lookup, unknown),
                Expr::Clause { field: field @ (Field::Id | Field::Key), values, .. } => {
                    for v in values.iter_mut() {
                        let r = match &v.0 {
                            Value::Number(n) => IssueRef::Id(*n as u64),
                            Value::Text(t) => IssueRef::Key(t.to_ascii_uppercase()),
                            _ => continue,
                        };
                        v.0 = match lookup(&r) {
                            Some((project_id, key_num)) => Value::Issue { project_id, key_num },
                            None => {
                                unknown.push(match (&r, *field) {
                                    (IssueRef::Id(n), Field::Id) => {
                                        format!("A value with ID '{n}' does not exist for the field 'id'.")
                                    }
                                    (IssueRef::Id(n), _) => {
                                        format!("An issue with key '{n}' does not exist for field 'key'.")
                                    }
                                    (IssueRef::Key(k), Field::Id) => {
                                        format!("A value with ID '{k}' does not exist for the field 'id'.")
                                    }
                                    (IssueRef::Key(k), _) => {
                                        format!("An issue with key '{k}' does not exist for field 'key'.")
                                    }
                                });
                                Value::NoIssue
                            }
                        };
                    }
                }
                Expr::Clause { .. } => {}
            }
        }
        let mut unknown = Vec::new();
        if let Some(f) = self.filter.as_mut() {
            walk(f, lookup, &mut unknown);
        }
        unknown
    }
}

fn instant(v: &ValueSlot) -> Option<i64> {
    match v.0 {
        Value::Instant(t) => Some(t),
        _ => None,
    }
}

impl Expr {
    fn matches(&self, issue: &IssueView<'_>) -> bool {
        match self {
            Expr::And(a, b) => a.matches(issue) && b.matches(issue),
            Expr::Or(a, b) => a.matches(issue) || b.matches(issue),
            Expr::Not(a) => !a.matches(issue),
            Expr::Clause { field, op, values } => {
                use std::cmp::Ordering::{self, *};
                // `None`: not comparable (another project, an unknown issue, a wrong kind).
                let hit = |v: &ValueSlot| -> Option<Ordering> {
                    match (field, &v.0) {
                        (Field::Project, Value::Text(t)) => (t.eq_ignore_ascii_case(issue.project_key)
                            || t == &issue.project_id.to_string())
                            .then_some(Equal),
                        (Field::Id | Field::Key, Value::Issue { project_id, key_num }) => {
                            (*project_id == issue.project_id).then(|| issue.key_num.cmp(key_num))
                        }
                        // Unresolved literals (a query never passed through `resolve_issues`)
                        // still compare like Jira: by key within the literal's project.
                        (Field::Id | Field::Key, Value::Text(t)) => {
                            let (p, n) = t.rsplit_once('-')?;
                            let n: u64 = n.parse().ok()?;
                            p.eq_ignore_ascii_case(issue.project_key).then(|| issue.key_num.cmp(&n))
                        }
                        (Field::Status, Value::Text(t)) => t.eq_ignore_ascii_case(issue.status).then_some(Equal),
                        (Field::Updated, Value::Instant(t)) => Some(issue.updated_ms.cmp(t)),
                        (Field::Created, Value::Instant(t)) => Some(issue.created_ms.cmp(t)),
                        _ => None,
                    }
                };
                match op {
                    Op::Eq => hit(&values[0]) == Some(Equal),
                    Op::Ne => hit(&values[0]) != Some(Equal),
                    Op::In => values.iter().any(|v| hit(v) == Some(Equal)),
                    Op::NotIn => values.iter().all(|v| hit(v) != Some(Equal)),
                    Op::Gt => hit(&values[0]) == Some(Greater),
                    Op::Ge => matches!(hit(&values[0]), Some(Greater | Equal)),
                    Op::Lt => hit(&values[0]) == Some(Less),
                    Op::Le => matches!(hit(&values[0]), Some(Less | Equal)),
                }
            }
        }
    }
}

/// Issue keys compare by project, then numerically by their number (ENG-9 < ENG-10).
pub fn key_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let split = |k: &str| {
        let (p, n) = k.rsplit_once('-').unwrap_or((k, "0"));
        (p.to_ascii_uppercase(), n.parse::<u64>().unwrap_or(0))
    };
    split(a).cmp(&split(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(updated_ms: i64) -> IssueView<'static> {
        IssueView {
            id: 10005,
            key: "ENG-3",
            key_num: 3,
            project_key: "ENG",
            project_id: 10000,
            updated_ms,
            created_ms: 0,
            status: "In Review",
        }
    }

    const NY: Tz = chrono_tz::America::New_York;

    #[test]
    fn status_matches_by_name_without_case() {
        let q = |jql: &str| parse(jql, &NY).unwrap();
        assert!(q("status != Done").matches(&view(0)));
        assert!(q("status = \"in review\"").matches(&view(0)));
        assert!(!q("status in (Done, \"To Do\")").matches(&view(0)));
        assert!(parse("status > Done", &NY).is_err());
    }

    #[test]
    fn date_literals_are_read_in_the_users_time_zone() {
        // 2024-07-01 09:00 in New York (EDT, UTC-4) is 13:00 UTC.
        let q = parse(r#"updated >= "2024/07/01 09:00""#, &NY).unwrap();
        assert_eq!(q.min_updated(), Some(1_719_838_800_000));
        // In winter the offset is UTC-5.
        let q = parse(r#"updated >= "2024-01-15""#, &NY).unwrap();
        assert_eq!(q.min_updated(), Some(1_705_294_800_000));
    }

    #[test]
    fn single_quoted_date_times_and_lowercase_keywords() {
        // tap-jira's query: the start date as a wall-clock minute in the user's zone.
        let q = parse("updated >= '1999-12-31 19:00' order by updated asc", &NY).unwrap();
        // 1999-12-31 19:00 in New York (EST, UTC-5) is 2000-01-01T00:00Z.
        assert_eq!(q.min_updated(), Some(946_684_800_000));
        assert_eq!(q.order, vec![(SortKey::Updated, true)]);
        let q = parse("project = eng and updated >= '2024/07/01' order by key desc, id", &NY).unwrap();
        assert_eq!(q.order, vec![(SortKey::Key, false), (SortKey::Id, true)]);
        assert!(q.matches(&view(1_719_806_400_000)));
        assert!(!q.matches(&view(1_719_806_399_999)));
    }

    /// ENG is project 10000, OPS 10001: 10001 is OPS-1, 10010 is ENG-3; ENG-2 was deleted.
    fn lookup(r: &IssueRef) -> Option<(u64, u64)> {
        match r {
            IssueRef::Id(10001) => Some((10001, 1)),
            IssueRef::Id(10010) => Some((10000, 3)),
            IssueRef::Key(k) if k == "ENG-3" => Some((10000, 3)),
            _ => None,
        }
    }

    #[test]
    fn relational_operators_compare_key_numbers_within_the_literals_project() {
        // 10010 is ENG-3: `id >= 10010` is ENG-3 and later ENG issues, whatever their ids.
        let mut q = parse("id >= 10010", &NY).unwrap();
        assert!(q.resolve_issues(&lookup).is_empty());
        assert!(q.matches(&view(0)));
        // 10001 is OPS-1: an ENG issue with a larger id is not "greater".
        let mut q = parse("id < 10001 OR id > 10001", &NY).unwrap();
        q.resolve_issues(&lookup);
        assert!(!q.matches(&view(0)));
        let mut q = parse("issuekey > ENG-2 and key <= 'ENG-3'", &NY).unwrap();
        assert_eq!(q.resolve_issues(&lookup), vec!["An issue with key 'ENG-2' does not exist for field 'key'."]);
        assert!(!q.matches(&view(0)), "an unknown literal matches nothing");
        let mut q = parse("id in (10010, 99999) and id != 10001", &NY).unwrap();
        assert_eq!(q.resolve_issues(&lookup), vec!["A value with ID '99999' does not exist for the field 'id'."]);
        assert!(q.matches(&view(0)));
    }

    #[test]
    fn epoch_millis_are_unquoted_numbers() {
        let q = parse("updated > 1000 ORDER BY updated ASC, id ASC", &NY).unwrap();
        assert!(q.matches(&view(1001)));
        assert!(!q.matches(&view(1000)));
        assert_eq!(q.order, vec![(SortKey::Updated, true), (SortKey::Id, true)]);
    }

    #[test]
    fn boolean_structure_and_lists() {
        let q = parse("(project = OPS OR project in (eng, WEB)) AND NOT key = ENG-4", &NY).unwrap();
        assert!(q.matches(&view(0)));
        let q = parse("project = OPS or id = 10006", &NY).unwrap();
        assert!(!q.matches(&view(0)));
        let q = parse("key >= ENG-3 and key < ENG-10", &NY).unwrap();
        assert!(q.matches(&view(0)));
    }

    #[test]
    fn outside_the_subset_is_an_error_like_jiras() {
        let e = parse("assignee = currentUser()", &NY).unwrap_err();
        assert!(e.0.contains("Field 'assignee' does not exist"), "{}", e.0);
        assert!(parse("project = ", &NY).is_err());
        assert!(parse("updated >= \"yesterday\"", &NY).is_err());
        assert!(parse("project = ENG ORDER BY summary", &NY).is_err());
        assert!(parse("project = \"ENG", &NY).is_err());
    }
}
