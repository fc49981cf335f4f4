//! Atlassian Document Format → plain text.
//!
//! v3 returns rich text (descriptions, textarea custom fields) as an ADF tree; analysts want the
//! words. Block nodes end with a newline (never a blank line), hard breaks become newlines,
//! mentions and emoji keep their visible text, a table row is one line of tab-separated cells,
//! and media has no text. Data Center's wiki markup becomes the same text (`super::wiki`).
//!
//! The text is written while the tree is read (from the page's JSON text or from a `Value`),
//! instead of building the tree first: descriptions are the largest values of an issue, and
//! parsing them into `Value`s was a tenth of the client's CPU. A node's keys come in any order
//! (Jira's own JSON has `content` before `type`), so what depends on the node's type is settled
//! when its object ends.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::key::Key;

/// Plain text of an ADF document (or of any node).
pub fn to_text(node: &Value) -> String {
    let mut out = String::new();
    Node(&mut out).deserialize(node).expect("a Value is always well-formed");
    trimmed(out)
}

/// Plain text of the ADF document `map` (an object being read), as `to_text` makes it.
pub fn map_text<'de, A: MapAccess<'de>>(map: A) -> Result<String, A::Error> {
    let mut out = String::new();
    Node(&mut out).visit_map(map)?;
    Ok(trimmed(out))
}

fn trimmed(mut out: String) -> String {
    out.truncate(out.trim_end().len());
    out
}

/// Scalars carry no text: the visitors below take them (and lists or objects where they expect
/// neither) as `skip` says, so no shape of JSON is an error.
macro_rules! skip_scalars {
    () => {
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(self.skip())
        }
        skip_scalars!(but_strings);
    };
    (but_strings) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(self.skip())
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(self.skip())
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(self.skip())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(self.skip())
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(self.skip())
        }
    };
}

/// One node, written to the end of `out`. Anything that is not an object writes nothing.
struct Node<'o>(&'o mut String);

impl Node<'_> {
    fn skip(self) {}
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an ADF node")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let out = self.0;
        let start = out.len();
        let mut kind = None;
        let mut text = None;
        let mut attrs = Attrs::default();
        // Where each child's text begins, for the tabs between table cells.
        let mut children = Vec::new();
        while let Some(Key(key)) = map.next_key()? {
            match &*key {
                "type" => kind = map.next_value::<Str>()?.0,
                "text" => text = map.next_value::<Str>()?.0,
                "attrs" => attrs = map.next_value_seed(Attrs::default())?,
                "content" => {
                    // A repeated key counts once, with its last value.
                    out.truncate(start);
                    children = map.next_value_seed(Content { out: &mut *out, starts: Vec::new() })?;
                }
                _ => drop(map.next_value::<IgnoredAny>()?),
            }
        }
        let kind = kind.as_deref().unwrap_or("");
        // The node's own text goes before its children's.
        let own = match kind {
            "text" => text,
            "hardBreak" => Some("\n".into()),
            "mention" | "emoji" | "status" | "date" | "inlineCard" => attrs.text.or(attrs.short_name).or(attrs.url),
            _ => None,
        };
        let own = own.as_deref().unwrap_or("");
        out.insert_str(start, own);
        match kind {
            "tableRow" => {
                for at in children.iter().skip(1).rev() {
                    out.insert(at + own.len(), '\t');
                }
            }
            "tableCell" | "tableHeader" => one_line(out, start),
            _ => {}
        }
        // A block ends its line; an empty one at the start writes none (no leading blank line).
        if matches!(kind, "paragraph" | "heading" | "codeBlock" | "blockquote" | "rule" | "tableRow" | "listItem")
            && !out.is_empty()
            && !out.ends_with('\n')
        {
            out.push('\n');
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        IgnoredAny.visit_seq(seq)?;
        Ok(())
    }

    skip_scalars!();
}

/// A table cell's text, `out[start..]`, on one line: trimmed, its own line breaks (between its
/// paragraphs, list items, hard breaks) made spaces, so a table row is one line of
/// tab-separated cells, as wiki markup's `|a|b|` becomes (see `super::wiki`).
fn one_line(out: &mut String, start: usize) {
    let end = start + out[start..].trim_end().len();
    out.truncate(end);
    let lead = out[start..].len() - out[start..].trim_start().len();
    out.replace_range(start..start + lead, "");
    if out[start..].contains('\n') {
        let cell = out[start..].replace('\n', " ");
        out.replace_range(start.., &cell);
    }
}

/// A node's `content`: its children, written in order. Returns where each child's text
/// begins; anything but a list has no children.
struct Content<'o> {
    out: &'o mut String,
    starts: Vec<usize>,
}

impl Content<'_> {
    fn skip(self) -> Vec<usize> {
        Vec::new()
    }
}

impl<'de> DeserializeSeed<'de> for Content<'_> {
    type Value = Vec<usize>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<usize>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Content<'_> {
    type Value = Vec<usize>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("ADF content")
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Vec<usize>, A::Error> {
        loop {
            let at = self.out.len();
            match seq.next_element_seed(Node(&mut *self.out))? {
                Some(()) => self.starts.push(at),
                None => return Ok(self.starts),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Vec<usize>, A::Error> {
        IgnoredAny.visit_map(map)?;
        Ok(self.skip())
    }

    skip_scalars!();
}

/// The `attrs` an inline node shows; anything but an object shows nothing.
#[derive(Default)]
struct Attrs<'de> {
    text: Option<Cow<'de, str>>,
    short_name: Option<Cow<'de, str>>,
    url: Option<Cow<'de, str>>,
}

impl Attrs<'_> {
    fn skip(self) -> Self {
        self
    }
}

impl<'de> DeserializeSeed<'de> for Attrs<'de> {
    type Value = Attrs<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Attrs<'de> {
    type Value = Attrs<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("ADF attributes")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Self, A::Error> {
        while let Some(Key(key)) = map.next_key()? {
            match &*key {
                "text" => self.text = map.next_value::<Str>()?.0,
                "shortName" => self.short_name = map.next_value::<Str>()?.0,
                "url" => self.url = map.next_value::<Str>()?.0,
                _ => drop(map.next_value::<IgnoredAny>()?),
            }
        }
        Ok(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self, A::Error> {
        IgnoredAny.visit_seq(seq)?;
        Ok(self.skip())
    }

    skip_scalars!();
}

/// A string value, or `None` for a value of any other kind (which is skipped).
struct Str<'de>(Option<Cow<'de, str>>);

impl<'de> de::Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl V {
            fn skip<'a>(self) -> Str<'a> {
                Str(None)
            }
        }
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Str<'de>, E> {
                Ok(Str(Some(Cow::Borrowed(s))))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Str<'de>, E> {
                Ok(Str(Some(Cow::Owned(s.to_owned()))))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Str<'de>, A::Error> {
                IgnoredAny.visit_map(map)?;
                Ok(self.skip())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Str<'de>, A::Error> {
                IgnoredAny.visit_seq(seq)?;
                Ok(self.skip())
            }
            skip_scalars!(but_strings);
        }
        d.deserialize_any(V)
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
        assert_eq!(to_text(&json!({"type": 7, "text": "x", "content": "no"})), "");
        assert_eq!(to_text(&json!({"type": "emoji", "attrs": {"shortName": ":ok:", "text": null}})), ":ok:");
        assert_eq!(to_text(&json!({"type": "inlineCard", "attrs": ["no"]})), "");
    }

    /// Table cells are tab-separated, counting every child (even one that is not a node), and
    /// a node's own text comes before its children's.
    #[test]
    fn table_rows_and_own_text() {
        let row = json!({"type": "tableRow", "content": [
            {"type": "tableCell", "content": [{"type": "text", "text": "a"}]},
            5,
            {"type": "tableCell", "content": [{"type": "text", "text": "c"}]}
        ]});
        assert_eq!(to_text(&json!({"type": "doc", "content": [row, row]})), "a\t\tc\na\t\tc");
        let odd = json!({"type": "text", "text": "own ", "content": [{"type": "text", "text": "child"}]});
        assert_eq!(to_text(&odd), "own child");
    }

    /// Real table cells hold paragraphs: a cell is trimmed and on one line, so a row is one
    /// line of tab-separated cells (an empty last cell keeps its tab), and an empty block at the
    /// start leaves no blank line.
    #[test]
    fn table_cells_with_paragraphs_stay_on_one_line() {
        let p = |t: &str| json!({"type": "paragraph", "content": [{"type": "text", "text": t}]});
        let cell = |c: Value| json!({"type": "tableCell", "attrs": {}, "content": c});
        let doc = json!({"type": "doc", "content": [
            {"type": "paragraph"},
            {"type": "table", "content": [
                {"type": "tableRow", "content": [
                    {"type": "tableHeader", "content": [p(" Name ")]},
                    cell(json!([p("two"), p("lines")])),
                    cell(json!([]))
                ]},
                {"type": "tableRow", "content": [
                    cell(json!([p("a")])),
                    cell(json!([{"type": "bulletList", "content": [
                        {"type": "listItem", "content": [p("x")]}, {"type": "listItem", "content": [p("y")]}
                    ]}])),
                    cell(json!([p("c")]))
                ]}
            ]},
            p("after")
        ]});
        assert_eq!(to_text(&doc), "Name\ttwo lines\t\na\tx y\tc\nafter");
    }

    /// Read from JSON text, keys come in Jira's order (`content` before `type`), and a repeated
    /// key counts once with its last value, as in a `Value`; the text matches `to_text`.
    #[test]
    fn text_in_any_key_order_matches_the_value() {
        let texts = [
            concat!(
                r#"{"content":[{"content":[{"text":"Release note","type":"text"}],"type":"paragraph"},"#,
                r#"{"attrs":{"url":"http://u"},"type":"inlineCard"}],"type":"doc","version":1}"#
            ),
            concat!(
                r#"{"type":"doc","content":[{"type":"text","text":"gone"}],"#,
                r#""content":[{"type":"text","text":"kept"}],"type":"paragraph"}"#
            ),
            concat!(
                r#"{"content":[{"content":[{"type":"text","text":"x\ty"}],"type":"tableCell"},"#,
                r#"{"content":[],"type":"tableCell"}],"type":"tableRow"}"#
            ),
        ];
        for text in texts {
            let mut de = serde_json::Deserializer::from_str(text);
            let streamed = de.deserialize_map(MapText).unwrap();
            let value: Value = serde_json::from_str(text).unwrap();
            assert_eq!(streamed, to_text(&value), "{text}");
        }
        let mut de = serde_json::Deserializer::from_str(texts[1]);
        assert_eq!(de.deserialize_map(MapText).unwrap(), "kept");
    }

    struct MapText;

    impl<'de> Visitor<'de> for MapText {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a document")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<String, A::Error> {
            map_text(map)
        }
    }
}
