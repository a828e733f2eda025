//! One value of a `.env` rewritten in place (`tfw use`): the last definition's value is
//! replaced keeping `export`, the quote style and a trailing comment; every other byte stays.

use super::lines::key_of_line;

pub(super) fn set_value(text: &str, key: &str, value: &str) -> String {
    let crlf = text.contains("\r\n");
    let lines: Vec<&str> = text.split('\n').collect();
    let target = lines
        .iter()
        .enumerate()
        .filter(|(_, line)| key_of_line(line).is_some_and(|(k, _)| k == key))
        .map(|(index, _)| index)
        .next_back();
    match target {
        Some(index) => {
            let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            out[index] = rewrite_line(lines[index], value);
            out.join("\n")
        }
        None => {
            let export = lines.iter().any(|l| l.trim_start().starts_with("export "));
            let eol = if crlf { "\r\n" } else { "\n" };
            let mut out = text.to_string();
            if !out.is_empty() && !out.ends_with('\n') {
                out.push_str(eol);
            }
            let prefix = if export { "export " } else { "" };
            out.push_str(&format!("{prefix}{key}=\"{}\"{eol}", escape_double(value)));
            out
        }
    }
}

fn rewrite_line(line: &str, value: &str) -> String {
    let (body, cr) = match line.strip_suffix('\r') {
        Some(body) => (body, "\r"),
        None => (line, ""),
    };
    let eq = body.find('=').expect("an assignment line has '='");
    let head = &body[..=eq];
    let rest = &body[eq + 1..];
    let lead_len = rest.len() - rest.trim_start().len();
    let (lead, rest) = rest.split_at(lead_len);
    let (new_value, tail) = if let Some(inner) = rest.strip_prefix('"') {
        let end = closing_double_quote(inner).unwrap_or(inner.len());
        let tail = inner.get(end + 1..).unwrap_or("");
        (format!("\"{}\"", escape_double(value)), tail)
    } else if let Some(inner) = rest.strip_prefix('\'') {
        let end = inner.find('\'').unwrap_or(inner.len());
        let tail = inner.get(end + 1..).unwrap_or("");
        if value.contains('\'') {
            (format!("\"{}\"", escape_double(value)), tail)
        } else {
            (format!("'{value}'"), tail)
        }
    } else {
        let end = rest
            .find(" #")
            .or_else(|| rest.find("\t#"))
            .unwrap_or(rest.len());
        let tail = &rest[end..];
        let plain = value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@%+,".contains(c));
        if plain && !value.is_empty() {
            (value.to_string(), tail)
        } else {
            (format!("\"{}\"", escape_double(value)), tail)
        }
    };
    format!("{head}{lead}{new_value}{tail}{cr}")
}

fn closing_double_quote(inner: &str) -> Option<usize> {
    let mut escaped = false;
    for (index, c) in inner.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some(index),
            _ => escaped = false,
        }
    }
    None
}

fn escape_double(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('$', "\\$")
}
