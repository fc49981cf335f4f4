//! Jira wiki markup → plain text.
//!
//! Data Center (REST v2) sends rich text (descriptions, environment, textarea custom fields,
//! comment bodies) as the wiki markup people typed, where Cloud (v3) sends an ADF tree. Both
//! become the same plain text (see [`super::adf`]), so a column reads alike whichever Jira it
//! came from:
//!
//! - one block (paragraph line, heading, list item, quote, table row) per line, no blank lines;
//!   `\\` line breaks become newlines;
//! - markers are dropped and their words kept: `h1.`–`h6.`, `bq.`, list bullets (`*`, `#`,
//!   `-`, nested `**`, `#*`), `*bold*`, `_italic_`, `-strike-`, `+under+`, `^sup^`, `~sub~`,
//!   `??citation??`, `{{monospace}}`, `{quote}`, `{panel}`, `{color}`, `{anchor}`;
//! - `{code}` and `{noformat}` blocks keep their content verbatim (blank lines and markup-like
//!   characters included) on lines of their own;
//! - table rows are one line each, cells separated by a tab, header or not (`||h||` as `|c|`);
//!   a cell's own line breaks become spaces;
//! - `[text|url]` keeps the text, `[url]` the URL, `[^file]` the file name, `[PROJ-1]` the key;
//!   mentions `[~name]` and `[~accountid:…]` read `@name` / `@…` (ADF mentions read `@Name`);
//! - images (`!file.png!`, `!file.png|thumbnail!`) are dropped, as ADF media has no text;
//! - `----` rules are dropped; `\*` escapes keep the character; emoticons stay as typed.
//!
//! Markup counts only where Jira's renderer would see it: emphasis opens after a space or
//! punctuation and closes before one, so `snake_case_name`, `a*b*c`, dates, flags, URLs and
//! paths are left alone; `[...]` is a link only if it looks like one (`[WARN]` stays).
//!
//! One pass over the text into one `String`; recursion only for the words inside a pair of
//! markers, a link's text or a table cell.

/// Plain text of Jira wiki markup `s`.
pub fn to_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some((at, open, close)) = verbatim_start(rest) {
        lines(&rest[..at], &mut out);
        let body = &rest[at + open..];
        let (body, next) = match body.find(close) {
            Some(end) => (&body[..end], at + open + end + close.len()),
            None => (body, rest.len()),
        };
        verbatim(body, &mut out);
        rest = &rest[next..];
    }
    lines(rest, &mut out);
    out.truncate(out.trim_end().len());
    out
}

/// Where the next `{code…}` or `{noformat…}` block starts in `s`: (offset, length of the opening
/// marker, the closing marker).
fn verbatim_start(s: &str) -> Option<(usize, usize, &'static str)> {
    let mut from = 0;
    while let Some(i) = s[from..].find('{').map(|i| i + from) {
        from = i + 1;
        if i > 0 && s.as_bytes()[i - 1] == b'\\' {
            continue;
        }
        let after = &s[i + 1..];
        let (name, close) = if after.starts_with("code") {
            ("code", "{code}")
        } else if after.starts_with("noformat") {
            ("noformat", "{noformat}")
        } else {
            continue;
        };
        let after = &after[name.len()..];
        let len = match after.as_bytes().first() {
            Some(b'}') => 1,
            Some(b':') => match after.find(['}', '{', '\n']) {
                Some(end) if after.as_bytes()[end] == b'}' => end + 1,
                _ => continue,
            },
            _ => continue,
        };
        return Some((i, 1 + name.len() + len, close));
    }
    None
}

/// A code block's content on lines of its own, as typed (without the line break after the
/// opening marker and the blank end before the closing one).
fn verbatim(body: &str, out: &mut String) {
    let body = body.strip_prefix("\r\n").or_else(|| body.strip_prefix('\n')).unwrap_or(body);
    let body = body.trim_end();
    if body.trim_start().is_empty() {
        return;
    }
    end_line(out);
    for (n, line) in body.split('\n').enumerate() {
        if n > 0 {
            out.push('\n');
        }
        out.push_str(line.strip_suffix('\r').unwrap_or(line));
    }
    out.push('\n');
}

/// Ends the line being written, if any: blocks start on a line of their own, and no line is
/// left blank.
fn end_line(out: &mut String) {
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
}

fn lines(text: &str, out: &mut String) {
    for line in text.split('\n') {
        block(line.trim(), out);
    }
}

/// One line of markup outside code blocks.
fn block(t: &str, out: &mut String) {
    if t.is_empty() || t.len() >= 4 && t.bytes().all(|b| b == b'-') {
        return;
    }
    end_line(out);
    if t.starts_with('|') {
        // Cells are trimmed one by one; an empty last cell keeps its tab, as in ADF.
        table_row(t, out);
    } else {
        let at = out.len();
        inline(block_text(t), out);
        let kept = out[at..].trim_end().len();
        out.truncate(at + kept);
    }
    end_line(out);
}

/// The words of a line after its block marker: heading, quote or list bullet.
fn block_text(t: &str) -> &str {
    let b = t.as_bytes();
    let spaced = |n: usize| b.len() == n || b[n].is_ascii_whitespace();
    let heading = b.len() >= 3 && b[0] == b'h' && (b'1'..=b'6').contains(&b[1]) && b[2] == b'.';
    let marker = if (heading || t.starts_with("bq.")) && spaced(3) {
        3
    } else {
        let bullets = b.iter().take_while(|&&c| c == b'*' || c == b'#').count();
        if bullets > 0 && bullets < b.len() && b[bullets].is_ascii_whitespace() {
            bullets
        } else if b.len() > 1 && b[0] == b'-' && b[1].is_ascii_whitespace() {
            1
        } else {
            0
        }
    };
    t[marker..].trim_start()
}

/// `||head||head||` or `|cell|cell|`: the cells, tab-separated.
fn table_row(t: &str, out: &mut String) {
    let b = t.as_bytes();
    let mut i = 0;
    let mut first = true;
    loop {
        while i < b.len() && b[i] == b'|' {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let end = cell_end(t, i);
        if !first {
            out.push('\t');
        }
        first = false;
        let at = out.len();
        inline(t[i..end].trim(), out);
        let kept = out[at..].trim_end().len();
        out.truncate(at + kept);
        if out[at..].contains('\n') {
            let cell = out[at..].replace('\n', " ");
            out.truncate(at);
            out.push_str(&cell);
        }
        i = end;
    }
}

/// Where the cell starting at `i` ends: the next `|` that is not escaped, in a link or in
/// monospace.
fn cell_end(t: &str, mut i: usize) -> usize {
    let b = t.as_bytes();
    while i < b.len() {
        match b[i] {
            b'|' => return i,
            b'\\' => i += 2,
            b'[' => match t[i + 1..].find(['[', ']']) {
                Some(e) if b[i + 1 + e] == b']' => i += e + 2,
                _ => i += 1,
            },
            b'{' if t[i..].starts_with("{{") => i = t[i + 2..].find("}}").map_or(i + 2, |e| i + 2 + e + 2),
            _ => i += 1,
        }
    }
    b.len()
}

const EMPHASIS: &[u8; 7] = b"*_-+^~?";

/// Per emphasis marker (and, last, for `{{`), a start from which no closing marker was found:
/// nothing after it can close either, so a line of unpaired markers is searched once, not once
/// per marker.
type Dead = [usize; EMPHASIS.len() + 1];

/// Inline markup of one line (or of the words inside a pair of markers).
fn inline(s: &str, out: &mut String) {
    let b = s.as_bytes();
    let mut dead: Dead = [usize::MAX; EMPHASIS.len() + 1];
    let (mut i, mut plain) = (0, 0);
    while i < b.len() {
        let next = match b[i] {
            b'\\' => escape(s, i, out, plain),
            b'{' => brace(s, i, &mut dead[EMPHASIS.len()], out, plain),
            b'[' => link(s, i, out, plain),
            b'!' => image(s, i, out, plain),
            c => match EMPHASIS.iter().position(|&m| m == c) {
                Some(m) => emphasis(s, i, &mut dead[m], out, plain),
                None => None,
            },
        };
        match next {
            Some(n) => (i, plain) = (n, n),
            None => i += 1,
        }
    }
    out.push_str(&s[plain..]);
}

/// `\\` is a line break and `\x` the punctuation character `x`; returns where the text goes on.
fn escape(s: &str, i: usize, out: &mut String, plain: usize) -> Option<usize> {
    let c = *s.as_bytes().get(i + 1)?;
    if !c.is_ascii_punctuation() {
        return None;
    }
    out.push_str(&s[plain..i]);
    out.push(if c == b'\\' { '\n' } else { c as char });
    Some(i + 2)
}

/// `{{monospace}}` keeps its words as written; the markers of known macros go.
fn brace(s: &str, i: usize, dead: &mut usize, out: &mut String, plain: usize) -> Option<usize> {
    let rest = &s[i..];
    if let Some(inner) = rest.strip_prefix("{{") {
        if i >= *dead {
            return None;
        }
        let Some(end) = inner.find("}}") else {
            *dead = i;
            return None;
        };
        if end == 0 {
            return None;
        }
        out.push_str(&s[plain..i]);
        out.push_str(&inner[..end]);
        return Some(i + 2 + end + 2);
    }
    let name_len = rest[1..].bytes().take_while(u8::is_ascii_alphabetic).count();
    let name = &rest[1..1 + name_len];
    let block = match name {
        "quote" | "panel" => true,
        "color" | "anchor" => false,
        _ => return None,
    };
    let len = match rest.as_bytes().get(1 + name_len)? {
        b'}' => 2 + name_len,
        b':' => match rest[1..].find(['{', '}']) {
            Some(e) if rest.as_bytes()[1 + e] == b'}' => e + 2,
            _ => return None,
        },
        _ => return None,
    };
    out.push_str(&s[plain..i]);
    if block {
        end_line(out);
    }
    Some(i + len)
}

/// `[text|url]`, `[url]`, `[~user]`, `[^attachment]`, `[#anchor]`, `[KEY-1]`: what a reader
/// sees of the link. Brackets that are not a link stay.
fn link(s: &str, i: usize, out: &mut String, plain: usize) -> Option<usize> {
    let rest = &s[i + 1..];
    // Links do not nest: a `[` before the `]` means this one is not a link.
    let end = rest.find(['[', ']']).filter(|&e| rest.as_bytes()[e] == b']')?;
    let inner = &rest[..end];
    if inner.is_empty() {
        return None;
    }
    let mention = |out: &mut String, who: &str| {
        out.push('@');
        out.push_str(who.strip_prefix("accountid:").unwrap_or(who));
    };
    if let Some(who) = inner.strip_prefix('~') {
        out.push_str(&s[plain..i]);
        mention(out, who);
    } else if let Some((text, target)) = inner.split_once('|') {
        out.push_str(&s[plain..i]);
        if target.starts_with('~') {
            mention(out, text.trim().trim_start_matches('@'));
        } else if text.trim().is_empty() {
            out.push_str(target.trim());
        } else {
            inline(text.trim(), out);
        }
    } else if let Some(name) = inner.strip_prefix('^').or_else(|| inner.strip_prefix('#')) {
        out.push_str(&s[plain..i]);
        out.push_str(name);
    } else if inner.contains("://") || inner.starts_with("mailto:") || issue_key(inner) {
        out.push_str(&s[plain..i]);
        out.push_str(inner.strip_prefix("mailto:").unwrap_or(inner));
    } else {
        return None;
    }
    Some(i + 1 + end + 1)
}

/// `PROJ-123`: a project key (a capital letter, then capitals, digits or `_`) and a number.
fn issue_key(s: &str) -> bool {
    let Some((project, number)) = s.split_once('-') else { return false };
    let p = project.as_bytes();
    !p.is_empty()
        && p[0].is_ascii_uppercase()
        && p.iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_')
        && !number.is_empty()
        && number.bytes().all(|c| c.is_ascii_digit())
}

/// `!file.png!` or `!file.png|thumbnail!`: dropped, as ADF media has no text either.
fn image(s: &str, i: usize, out: &mut String, plain: usize) -> Option<usize> {
    let b = s.as_bytes();
    if i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'!') {
        return None;
    }
    let rest = &s[i + 1..];
    let end = rest.find('!')?;
    let inner = &rest[..end];
    let name = inner.split('|').next().unwrap_or_default();
    let bounded = |c: Option<&u8>| c.is_none_or(|c| !c.is_ascii_alphanumeric());
    if name.is_empty()
        || name.starts_with(char::is_whitespace)
        || inner.ends_with(char::is_whitespace)
        || !(name.contains('.') || name.contains("://"))
        || !bounded(b.get(i + 1 + end + 1))
    {
        return None;
    }
    out.push_str(&s[plain..i]);
    let next = i + 1 + end + 1;
    // One space where the image stood between two.
    let spaced = i > 0 && b[i - 1].is_ascii_whitespace() && b.get(next).is_some_and(u8::is_ascii_whitespace);
    Some(next + spaced as usize)
}

/// A pair of emphasis markers (`*`, `_`, `-`, `+`, `^`, `~`, `??`) around words: the words. A
/// marker opens after the line's start, a space or punctuation, before a non-space; it closes
/// after a non-space, before the line's end, a space or punctuation. So markers inside words,
/// numbers, paths and URLs are text.
fn emphasis(s: &str, i: usize, dead: &mut usize, out: &mut String, plain: usize) -> Option<usize> {
    let b = s.as_bytes();
    let m = b[i];
    let len = if m == b'?' {
        if b.get(i + 1) != Some(&b'?') {
            return None;
        }
        2
    } else {
        1
    };
    let opens = |p: u8| p.is_ascii_whitespace() || (b"([{'\"|>,;".contains(&p) || EMPHASIS.contains(&p)) && p != m;
    let closes = |n: u8| n.is_ascii_whitespace() || (b".,;:!?)]}'\"|<".contains(&n) || EMPHASIS.contains(&n)) && n != m;
    let first = *b.get(i + len)?;
    if (i > 0 && !opens(b[i - 1])) || first.is_ascii_whitespace() || first == m || first == b')' || i >= *dead {
        return None;
    }
    let mut j = i + len + 1;
    while j + len <= b.len() {
        if b[j] == m
            && (len == 1 || b[j + 1] == m)
            && !b[j - 1].is_ascii_whitespace()
            && b.get(j + len).is_none_or(|&n| closes(n))
        {
            out.push_str(&s[plain..i]);
            inline(&s[i + len..j], out);
            return Some(j + len);
        }
        j += 1;
    }
    *dead = i;
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> String {
        to_text(s)
    }

    #[test]
    fn headings_quotes_and_rules() {
        assert_eq!(t("h1. Title\nh6. Small one\nh7. not a heading"), "Title\nSmall one\nh7. not a heading");
        assert_eq!(t("h2.NoSpace"), "h2.NoSpace");
        assert_eq!(t("bq. Quoted *words*\n----\nafter"), "Quoted words\nafter");
        assert_eq!(t("{quote}\nfirst\n\nsecond\n{quote}\nout"), "first\nsecond\nout");
        assert_eq!(t("{quote}one line{quote}"), "one line");
        assert_eq!(t("--- and -- stay"), "--- and -- stay");
    }

    #[test]
    fn text_effects() {
        assert_eq!(t("*bold* _italic_ -strike- +under+"), "bold italic strike under");
        assert_eq!(t("x^2^ and H~2~O"), "x^2^ and H~2~O", "inside words they are text");
        assert_eq!(t("E = mc ^2^, water is H ~2~ O"), "E = mc 2, water is H 2 O");
        assert_eq!(t("??Someone famous?? said"), "Someone famous said");
        assert_eq!(t("use {{snake_case *raw*}} here"), "use snake_case *raw* here");
        assert_eq!(t("*_bold italic_* and (*see*)"), "bold italic and (see)");
        assert_eq!(t("*Note*: read -this- first."), "Note: read this first.");
        assert_eq!(t("{color:red}red{color} text"), "red text");
    }

    #[test]
    fn code_and_noformat_keep_their_content() {
        let code = "Before\n{code:java}\nint a_b = x*y*z;\n\n// *not bold*\n{code}\nAfter";
        assert_eq!(t(code), "Before\nint a_b = x*y*z;\n\n// *not bold*\nAfter");
        assert_eq!(t("{noformat}\n[~x] h1. raw\n{noformat}"), "[~x] h1. raw");
        assert_eq!(t("{code:title=A.java|borderStyle=solid}a{code}"), "a");
        assert_eq!(t("inline {code}x = 1{code} here"), "inline\nx = 1\nhere");
        assert_eq!(t("{code}\nunclosed *x*"), "unclosed *x*");
        assert_eq!(t("{codes} \\{code} stay"), "{codes} {code} stay");
    }

    #[test]
    fn panels_and_unknown_braces() {
        assert_eq!(t("{panel:title=Notes|borderStyle=dashed}\ninside\n{panel}"), "inside");
        assert_eq!(t("JSON {\"a\": 1} and {0} stay"), "JSON {\"a\": 1} and {0} stay");
        assert_eq!(t("{anchor:top}Top"), "Top");
    }

    #[test]
    fn mentions_and_links() {
        assert_eq!(
            t("ping [~jsmith] and [~accountid:5b10a2844c20165700ede21g]"),
            "ping @jsmith and @5b10a2844c20165700ede21g"
        );
        assert_eq!(t("[Winston Smith|~accountid:abc] woke"), "@Winston Smith woke");
        assert_eq!(
            t("see [the *docs*|https://x.org/a_b_c] or [https://x.org/a_b]"),
            "see the docs or https://x.org/a_b"
        );
        assert_eq!(
            t("mail [mailto:a@b.org], file [^log_1.txt], [#anchor], [ENG-12]"),
            "mail a@b.org, file log_1.txt, anchor, ENG-12"
        );
        assert_eq!(t("[WARN] array[0] [edit 1] [] [a[b]"), "[WARN] array[0] [edit 1] [] [a[b]");
        assert_eq!(t("[|https://x.org]"), "https://x.org");
    }

    #[test]
    fn images_are_dropped() {
        assert_eq!(t("Screen: !image.png! and !shot 1.png|thumbnail! end"), "Screen: and end");
        assert_eq!(t("!https://x.org/a.gif!"), "");
        assert_eq!(t("Wow! Great! (!) !!! !not an image!"), "Wow! Great! (!) !!! !not an image!");
    }

    #[test]
    fn lists() {
        let list = "* one\n** nested *bold*\n# first\n#* mixed\n- dash\n-strike- is not a list\n*bold* is not a list";
        assert_eq!(t(list), "one\nnested bold\nfirst\nmixed\ndash\nstrike is not a list\nbold is not a list");
        assert_eq!(t("#1 priority\n*\n#"), "#1 priority\n*\n#");
    }

    #[test]
    fn tables() {
        let table = "||Name||Link||\n|Ada|[site|https://a.org/x|y]|\n|a\\\\b| |\n| *bold* | [~ada] |";
        assert_eq!(t(table), "Name\tLink\nAda\tsite\na b\t\nbold\t@ada", "an empty last cell still counts");
        assert_eq!(t("|x|{{a|b}}|\\|"), "x\ta|b\t|");
        assert_eq!(t("||Head|cell|no end"), "Head\tcell\tno end");
    }

    #[test]
    fn breaks_escapes_and_emoticons() {
        assert_eq!(t("line\\\\next"), "line\nnext");
        assert_eq!(t("\\*not bold\\* \\[~x\\] C:\\Users\\me"), "*not bold* [~x] C:\\Users\\me");
        assert_eq!(t("Thanks :) (y) (/) (x) :D"), "Thanks :) (y) (/) (x) :D");
        assert_eq!(t("Para one.\r\n\r\nPara two.\r\n"), "Para one.\nPara two.");
        assert_eq!(t("  \n\n  indented  \n"), "indented");
        assert_eq!(t(""), "");
    }

    /// Things that look like markup but are not: they come out exactly as they went in.
    #[test]
    fn text_that_only_looks_like_markup() {
        for s in [
            "snake_case_name and __init__ and _private",
            "a*b*c = 2*3*4",
            "https://example.com/a_b_c/d-e-f?x=1&y=2",
            "/usr/lib/_private_/x and C:\\tmp\\a_b_",
            "2024-01-02 -1 and -2, --verbose -v, x - y - z",
            "1+1 = 2, C++ and +1",
            "~/bin and ~user",
            "What?? Really??",
            "5 * 3 * 2 and a_ b_",
            "price: $5^2 ^ 3",
            "email: first_last@example.com",
        ] {
            assert_eq!(t(s), s);
        }
    }

    /// Many unpaired markers on one line cost one search each, not one per pair of them.
    #[test]
    fn unpaired_markers_are_linear() {
        let line = " *a".repeat(20_000);
        assert_eq!(t(&line), line.trim());
    }

    /// The same description typed on Data Center (wiki markup) and on Cloud (ADF, node shapes as
    /// in Atlassian's ADF reference) reads as the same text. Mentions agree here because the
    /// ADF mention's text is the name the wiki uses; in real data ADF shows the display name.
    #[test]
    fn wiki_and_adf_flatten_alike() {
        use serde_json::json;
        let text = |t: &str| json!({"type": "text", "text": t});
        let marked = |t: &str, m: serde_json::Value| json!({"type": "text", "text": t, "marks": [m]});
        let para = |c: serde_json::Value| json!({"type": "paragraph", "content": c});
        let item = |c: serde_json::Value| json!({"type": "listItem", "content": [para(c)]});
        let cell = |kind: &str, t: serde_json::Value| json!({"type": kind, "attrs": {}, "content": [para(json!([t]))]});
        let adf = json!({"type": "doc", "version": 1, "content": [
            {"type": "heading", "attrs": {"level": 2}, "content": [text("Steps to reproduce")]},
            para(json!([
                text("Open "), marked("ENG-7", json!({"type": "strong"})), text(" in "),
                marked("staging", json!({"type": "em"})), text(", see the "),
                marked("runbook", json!({"type": "link", "attrs": {"href": "https://wiki.example.com/run_book"}})),
                text(" and "), marked("export_all --dry-run", json!({"type": "code"})), text("."),
            ])),
            {"type": "orderedList", "attrs": {"order": 1}, "content": [
                item(json!([text("Sign in")])),
                {"type": "listItem", "content": [
                    para(json!([text("Run the job")])),
                    {"type": "bulletList", "content": [
                        item(json!([marked("old", json!({"type": "strike"})), text(" path")]))
                    ]}
                ]}
            ]},
            {"type": "codeBlock", "attrs": {"language": "java"}, "content": [
                text("Job job = new Job(\"ENG-7\");\n\njob.run(a*b*c);")
            ]},
            {"type": "blockquote", "content": [para(json!([text("It used to work.")]))]},
            {"type": "rule"},
            para(json!([
                text("Ask "),
                {"type": "mention", "attrs": {"id": "5b10a2844c20165700ede21g", "text": "@jsmith", "accessLevel": ""}},
                text(" first"), {"type": "hardBreak"}, text("or "),
                {"type": "inlineCard", "attrs": {"url": "https://status.example.com"}},
            ])),
            {"type": "mediaSingle", "attrs": {"layout": "center"}, "content": [
                {"type": "media", "attrs": {
                    "id": "abc", "type": "file", "collection": "jira-1", "width": 10, "height": 10
                }}
            ]},
            {"type": "table", "attrs": {"isNumberColumnEnabled": false, "layout": "default"}, "content": [
                {"type": "tableRow", "content": [
                    cell("tableHeader", marked("Field", json!({"type": "strong"}))), cell("tableHeader", text("Value"))
                ]},
                {"type": "tableRow", "content": [cell("tableCell", text("Priority")), cell("tableCell", text("High"))]},
                {"type": "tableRow", "content": [
                    cell("tableCell", text("Owner")),
                    {"type": "tableCell", "attrs": {}, "content": [
                        para(json!([{"type": "mention", "attrs": {"id": "x", "text": "@jsmith"}}]))
                    ]}
                ]}
            ]},
            {"type": "panel", "attrs": {"panelType": "info"}, "content": [para(json!([text("Thanks!")]))]}
        ]});
        let wiki = "h2. Steps to reproduce\r\n\r\n\
                    Open *ENG-7* in _staging_, see the [runbook|https://wiki.example.com/run_book] \
                    and {{export_all --dry-run}}.\r\n\r\n# Sign in\r\n# Run the job\r\n#* -old- path\r\n\r\n\
                    {code:java}\r\nJob job = new Job(\"ENG-7\");\r\n\r\njob.run(a*b*c);\r\n{code}\r\n\r\n\
                    bq. It used to work.\r\n----\r\n\
                    Ask [~jsmith] first\\\\or [https://status.example.com]\r\n\r\n\
                    !screenshot.png|thumbnail!\r\n\r\n\
                    ||*Field*||Value||\r\n|Priority|High|\r\n|Owner|[~jsmith]|\r\n\r\n{panel}\r\nThanks!\r\n{panel}";
        let expected = "Steps to reproduce\n\
                        Open ENG-7 in staging, see the runbook and export_all --dry-run.\n\
                        Sign in\nRun the job\nold path\n\
                        Job job = new Job(\"ENG-7\");\n\njob.run(a*b*c);\n\
                        It used to work.\n\
                        Ask @jsmith first\nor https://status.example.com\n\
                        Field\tValue\nPriority\tHigh\nOwner\t@jsmith\n\
                        Thanks!";
        assert_eq!(super::super::adf::to_text(&adf), expected);
        assert_eq!(to_text(wiki), expected);
    }
}
