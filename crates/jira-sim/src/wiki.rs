//! Rich text: a realistic ADF description, and ADF as the wiki markup REST v2 returns.
//!
//! Cloud's v3 API returns rich text as Atlassian Document Format; Data Center (and Cloud's v2)
//! returns wiki markup strings. [`rich_doc`] builds a description with the nodes people really
//! use — heading, marks, a link, lists, a code block, a mention, a table, an image — in the node
//! shapes of Atlassian's ADF reference
//! (<https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/>, e.g. the
//! mention node at `…/document/nodes/mention`: `{"type":"mention","attrs":{"id":…,"text":"@Name"}}`).
//! [`adf_to_wiki`] writes any ADF document as Jira's text formatting notation
//! (<https://jira.atlassian.com/secure/WikiRendererHelpAction.jspa?section=all>): `h2. `,
//! `*bold*`, `_italic_`, `[text|url]`, `* item`, `# item`, `{code:java}…{code}`, `[~username]`,
//! `||head||` / `|cell|`, `!file.png|thumbnail!`, paragraphs separated by a blank line.
//!
//! Mentions become `[~username]` as Data Center stores them, the username being what the
//! Data Center user endpoints call the user (`username`); Cloud's own v2 writes
//! `[~accountid:…]` instead, which the simulator does not distinguish.

use serde_json::{Value, json};

/// A description as a person would write it on Cloud: `key` and `summary` of the issue, and a
/// mention of the user `account_id` shown as `display_name`.
pub fn rich_doc(key: &str, summary: &str, account_id: &str, display_name: &str) -> Value {
    let text = |t: &str| json!({"type": "text", "text": t});
    let marked = |t: &str, mark: Value| json!({"type": "text", "text": t, "marks": [mark]});
    let para = |content: Value| json!({"type": "paragraph", "content": content});
    let item = |content: Value| json!({"type": "listItem", "content": [para(content)]});
    let cell = |kind: &str, t: &str| json!({"type": kind, "attrs": {}, "content": [para(json!([text(t)]))]});
    let row = |kind: &str, a: &str, b: &str| json!({"type": "tableRow", "content": [cell(kind, a), cell(kind, b)]});
    json!({"type": "doc", "version": 1, "content": [
        {"type": "heading", "attrs": {"level": 2}, "content": [text("Steps to reproduce")]},
        para(json!([
            text("Open "), marked(key, json!({"type": "strong"})), text(" in the "),
            marked("staging", json!({"type": "em"})), text(" environment and follow the "),
            marked(
                "runbook",
                json!({"type": "link", "attrs": {"href": format!("https://wiki.example.com/runbook/{key}")}}),
            ),
            text("."),
        ])),
        {"type": "orderedList", "attrs": {"order": 1}, "content": [
            item(json!([text("Sign in as a reporter")])),
            item(json!([text("Run "), marked("export_all --dry-run", json!({"type": "code"}))])),
        ]},
        {"type": "bulletList", "content": [
            item(json!([text("Expected: the export finishes")])),
            item(json!([text("Actual: it stops at 50%")])),
        ]},
        {"type": "codeBlock", "attrs": {"language": "java"}, "content": [
            text(&format!("ExportJob job = new ExportJob(\"{key}\");\njob.run();"))
        ]},
        {"type": "mediaSingle", "attrs": {"layout": "center"}, "content": [
            {"type": "media", "attrs": {"type": "file", "id": "6e7c8a1f-3b1d-4c52-9d55-2f1a0b9c7e10", "collection": "",
                                        "alt": "screenshot.png", "width": 1280, "height": 720}}
        ]},
        para(json!([
            text("Assigned to "),
            {"type": "mention", "attrs": {"id": account_id, "text": format!("@{display_name}"), "accessLevel": ""}},
            text(" for triage."),
        ])),
        {"type": "table", "attrs": {"isNumberColumnEnabled": false, "layout": "default"}, "content": [
            row("tableHeader", "Field", "Value"),
            row("tableCell", "Summary", summary),
        ]},
    ]})
}

impl crate::Dataset {
    /// Issue `i`'s rich description (every 7th issue with one): [`rich_doc`] mentioning its
    /// reporter `reporter`.
    pub(crate) fn rich_description(&self, i: u64, summary: &str, reporter: u64) -> Value {
        let who = self.user(reporter);
        let field = |k: &str| who[k].as_str().unwrap_or_default().to_string();
        rich_doc(&self.issue_key(i), summary, &field("accountId"), &field("displayName"))
    }
}

/// What Data Center calls the user shown as `display_name` (`Ada Lovelace 3` → `ada.lovelace.3`).
pub fn username(display_name: &str) -> String {
    display_name.trim_start_matches('@').to_lowercase().replace(' ', ".")
}

/// An ADF document as wiki markup, the way REST v2 returns rich text; anything else unchanged.
pub fn adf_to_wiki(v: Value) -> Value {
    if v.get("type").and_then(Value::as_str) != Some("doc") {
        return v;
    }
    let mut out = String::new();
    blocks(content(&v), &mut out);
    Value::String(out.trim_end().to_string())
}

fn content(n: &Value) -> &[Value] {
    n.get("content").and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn kind(n: &Value) -> &str {
    n.get("type").and_then(Value::as_str).unwrap_or_default()
}

fn attr<'a>(n: &'a Value, key: &str) -> Option<&'a str> {
    n.get("attrs")?.get(key)?.as_str()
}

/// Block nodes, each followed by a blank line as Jira's editor saves paragraphs.
fn blocks(nodes: &[Value], out: &mut String) {
    for n in nodes {
        let at = out.len();
        block(n, out);
        if out.len() > at {
            out.push_str("\n\n");
        }
    }
}

fn block(n: &Value, out: &mut String) {
    match kind(n) {
        "paragraph" => inlines(content(n), out),
        "heading" => {
            let level = n.get("attrs").and_then(|a| a.get("level")).and_then(Value::as_u64).unwrap_or(1).clamp(1, 6);
            out.push_str(&format!("h{level}. "));
            inlines(content(n), out);
        }
        "bulletList" | "orderedList" => list(n, "", out),
        "codeBlock" => {
            match attr(n, "language") {
                Some(lang) if !lang.is_empty() => out.push_str(&format!("{{code:{lang}}}\n")),
                _ => out.push_str("{code}\n"),
            }
            for t in content(n) {
                out.push_str(t.get("text").and_then(Value::as_str).unwrap_or_default());
            }
            out.push_str("\n{code}");
        }
        "blockquote" if content(n).len() == 1 && kind(&content(n)[0]) == "paragraph" => {
            out.push_str("bq. ");
            inlines(content(&content(n)[0]), out);
        }
        "blockquote" | "panel" => {
            let name = if kind(n) == "panel" { "panel" } else { "quote" };
            out.push_str(&format!("{{{name}}}\n"));
            blocks(content(n), out);
            out.truncate(out.trim_end().len());
            out.push_str(&format!("\n{{{name}}}"));
        }
        "rule" => out.push_str("----"),
        "table" => {
            for (r, row) in content(n).iter().enumerate() {
                if r > 0 {
                    out.push('\n');
                }
                let mut sep = "|";
                for c in content(row) {
                    sep = if kind(c) == "tableHeader" { "||" } else { "|" };
                    out.push_str(sep);
                    let at = out.len();
                    cell(c, out);
                    if out.len() == at {
                        out.push(' ');
                    }
                }
                out.push_str(sep);
            }
        }
        "mediaSingle" | "mediaGroup" => {
            for m in content(n) {
                let name = attr(m, "alt").map(str::to_string).or_else(|| attr(m, "id").map(|id| format!("{id}.png")));
                if let Some(name) = name {
                    out.push_str(&format!("!{name}|thumbnail!"));
                }
            }
        }
        _ => inlines(content(n), out),
    }
}

/// A list, nested lists extending the bullet (`#*`), one item a line.
fn list(n: &Value, prefix: &str, out: &mut String) {
    let prefix = format!("{prefix}{}", if kind(n) == "orderedList" { '#' } else { '*' });
    for item in content(n) {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&prefix);
        out.push(' ');
        let mut first = true;
        for c in content(item) {
            match kind(c) {
                "bulletList" | "orderedList" => list(c, &prefix, out),
                _ => {
                    if !first {
                        out.push(' ');
                    }
                    inlines(content(c), out);
                }
            }
            first = false;
        }
    }
}

/// A table cell's paragraphs on its one line.
fn cell(c: &Value, out: &mut String) {
    for (k, p) in content(c).iter().enumerate() {
        if k > 0 {
            out.push(' ');
        }
        inlines(content(p), out);
    }
}

fn inlines(nodes: &[Value], out: &mut String) {
    for n in nodes {
        inline(n, out);
    }
}

fn inline(n: &Value, out: &mut String) {
    match kind(n) {
        "text" => text(n, out),
        "hardBreak" => out.push_str("\\\\"),
        "mention" => match attr(n, "text") {
            Some(shown) => out.push_str(&format!("[~{}]", username(shown))),
            None => out.push_str(&format!("[~accountid:{}]", attr(n, "id").unwrap_or_default())),
        },
        "emoji" => out.push_str(attr(n, "text").or_else(|| attr(n, "shortName")).unwrap_or_default()),
        "inlineCard" => out.push_str(&format!("[{}]", attr(n, "url").unwrap_or_default())),
        "date" | "status" => out.push_str(attr(n, "text").unwrap_or_default()),
        _ => inlines(content(n), out),
    }
}

/// A text node with its marks; spaces stay outside the markers, which Jira needs to see them.
fn text(n: &Value, out: &mut String) {
    let t = n.get("text").and_then(Value::as_str).unwrap_or_default();
    let core = t.trim();
    let marks: Vec<&Value> = n.get("marks").and_then(Value::as_array).map(|m| m.iter().collect()).unwrap_or_default();
    if core.is_empty() || marks.is_empty() {
        return escaped(t, out);
    }
    out.push_str(&t[..t.len() - t.trim_start().len()]);
    let mut s = String::new();
    if marks.iter().any(|m| kind(m) == "code") {
        s = format!("{{{{{core}}}}}");
    } else {
        escaped(core, &mut s);
    }
    let mut link = None;
    for m in &marks {
        s = match kind(m) {
            "strong" => format!("*{s}*"),
            "em" => format!("_{s}_"),
            "strike" => format!("-{s}-"),
            "underline" => format!("+{s}+"),
            "subsup" if attr(m, "type") == Some("sub") => format!("~{s}~"),
            "subsup" => format!("^{s}^"),
            "textColor" => format!("{{color:{}}}{s}{{color}}", attr(m, "color").unwrap_or("black")),
            "link" => {
                link = attr(m, "href");
                s
            }
            _ => s,
        };
    }
    match link {
        Some(href) => out.push_str(&format!("[{s}|{href}]")),
        None => out.push_str(&s),
    }
    out.push_str(&t[t.trim_end().len()..]);
}

/// Text with the characters that would start a link, a macro or a table cell escaped.
fn escaped(t: &str, out: &mut String) {
    for c in t.chars() {
        if matches!(c, '[' | ']' | '{' | '}' | '|') {
            out.push('\\');
        }
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rich_description_as_wiki_markup() {
        let doc = rich_doc("ENG-7", "Fix export job (ENG-7) [edit 1]", "5b10a2844c20", "Ada Lovelace 3");
        let wiki = adf_to_wiki(doc);
        let expected = "h2. Steps to reproduce\n\n\
            Open *ENG-7* in the _staging_ environment and follow the \
            [runbook|https://wiki.example.com/runbook/ENG-7].\n\n\
            # Sign in as a reporter\n# Run {{export_all --dry-run}}\n\n\
            * Expected: the export finishes\n* Actual: it stops at 50%\n\n\
            {code:java}\nExportJob job = new ExportJob(\"ENG-7\");\njob.run();\n{code}\n\n\
            !screenshot.png|thumbnail!\n\n\
            Assigned to [~ada.lovelace.3] for triage.\n\n\
            ||Field||Value||\n|Summary|Fix export job (ENG-7) \\[edit 1\\]|";
        assert_eq!(wiki, Value::String(expected.into()));
    }

    #[test]
    fn rich_doc_uses_adf_node_shapes() {
        let doc = rich_doc("ENG-7", "s", "acc-1", "Ada");
        let kinds: Vec<&str> = content(&doc).iter().map(kind).collect();
        assert_eq!(
            kinds,
            ["heading", "paragraph", "orderedList", "bulletList", "codeBlock", "mediaSingle", "paragraph", "table"]
        );
        let mention = &content(&content(&doc)[6])[1];
        assert_eq!(mention["attrs"]["id"], "acc-1");
        assert_eq!(mention["attrs"]["text"], "@Ada", "a mention's text starts with @");
        assert_eq!(doc["version"], 1);
    }

    #[test]
    fn other_nodes_and_marks() {
        let doc = json!({"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [
                {"type": "text", "text": " padded ", "marks": [
                    {"type": "strong"}, {"type": "link", "attrs": {"href": "http://x"}}
                ]},
                {"type": "text", "text": "a|b"},
                {"type": "hardBreak"},
                {"type": "text", "text": "2", "marks": [{"type": "subsup", "attrs": {"type": "sup"}}]},
                {"type": "mention", "attrs": {"id": "abc"}},
                {"type": "emoji", "attrs": {"shortName": ":smile:"}},
                {"type": "inlineCard", "attrs": {"url": "http://card"}}
            ]},
            {"type": "bulletList", "content": [{"type": "listItem", "content": [
                {"type": "paragraph", "content": [{"type": "text", "text": "outer"}]},
                {"type": "orderedList", "content": [{"type": "listItem", "content": [
                    {"type": "paragraph", "content": [{"type": "text", "text": "inner"}]}]}]}
            ]}]},
            {"type": "blockquote", "content": [
                {"type": "paragraph", "content": [{"type": "text", "text": "one"}]},
                {"type": "paragraph", "content": [{"type": "text", "text": "two"}]}
            ]},
            {"type": "rule"},
            {"type": "panel", "attrs": {"panelType": "info"}, "content": [
                {"type": "paragraph", "content": [
                    {"type": "text", "text": "note", "marks": [{"type": "textColor", "attrs": {"color": "#ff0000"}}]}
                ]}
            ]},
            {"type": "codeBlock", "content": [{"type": "text", "text": "raw [x]"}]}
        ]});
        let expected = " [*padded*|http://x] a\\|b\\\\^2^[~accountid:abc]:smile:[http://card]\n\n\
            * outer\n*# inner\n\n{quote}\none\n\ntwo\n{quote}\n\n----\n\n\
            {panel}\n{color:#ff0000}note{color}\n{panel}\n\n{code}\nraw [x]\n{code}";
        assert_eq!(adf_to_wiki(doc), Value::String(expected.into()));
    }

    #[test]
    fn plain_paragraphs_and_non_documents() {
        let doc = json!({"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "Steps to reproduce for X."}]}
        ]});
        assert_eq!(adf_to_wiki(doc), json!("Steps to reproduce for X."));
        assert_eq!(adf_to_wiki(json!({"a": 1})), json!({"a": 1}));
        assert_eq!(adf_to_wiki(json!("text")), json!("text"));
        assert_eq!(username("@Automation bot 24"), "automation.bot.24");
    }
}
