//! Atlassian Document Format → plain text.
//!
//! v3 returns rich text (descriptions, textarea custom fields) as an ADF tree; analysts want the
//! words. Block nodes end with a newline, hard breaks become newlines, mentions and emoji keep
//! their visible text.

use serde_json::Value;

/// Plain text of an ADF document (or of any node).
pub fn to_text(node: &Value) -> String {
    let mut out = String::new();
    walk(node, &mut out);
    out.trim_end().to_string()
}

fn walk(node: &Value, out: &mut String) {
    let kind = node.get("type").and_then(Value::as_str).unwrap_or("");
    match kind {
        "text" => out.push_str(node.get("text").and_then(Value::as_str).unwrap_or("")),
        "hardBreak" => out.push('\n'),
        "mention" | "emoji" | "status" | "date" | "inlineCard" => {
            let attrs = &node["attrs"];
            let text = attrs["text"].as_str().or(attrs["shortName"].as_str()).or(attrs["url"].as_str()).unwrap_or("");
            out.push_str(text);
        }
        _ => {}
    }
    if let Some(children) = node.get("content").and_then(Value::as_array) {
        for (n, child) in children.iter().enumerate() {
            if n > 0 && kind == "tableRow" {
                out.push('\t');
            }
            walk(child, out);
        }
    }
    if matches!(kind, "paragraph" | "heading" | "codeBlock" | "blockquote" | "rule" | "tableRow" | "listItem")
        && !out.ends_with('\n')
    {
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paragraphs_breaks_and_mentions() {
        let doc = json!({"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [
                {"type": "text", "text": "Hello "},
                {"type": "mention", "attrs": {"id": "1", "text": "@Ada"}},
                {"type": "hardBreak"},
                {"type": "text", "text": "second line"}
            ]},
            {"type": "bulletList", "content": [
                {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "one"}]}]},
                {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "two"}]}]}
            ]}
        ]});
        assert_eq!(to_text(&doc), "Hello @Ada\nsecond line\none\ntwo");
    }

    #[test]
    fn empty_and_odd_nodes() {
        assert_eq!(to_text(&json!({"type": "doc", "content": []})), "");
        assert_eq!(to_text(&json!("not adf")), "");
    }
}
