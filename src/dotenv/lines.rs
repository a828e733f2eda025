//! Physical lines of a `.env`, read the way dotenvy reads them: dotenvy gives values but no
//! line numbers, so the key each line defines, and the line a parse error is on, are found
//! here. A line is never moved: every number points at the file as the user sees it.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::problem::Problem;

/// Makes the text digestible for dotenvy without moving any line: drops a UTF-8 BOM, turns
/// CRLF into LF, and blanks bare `export KEY` lines (valid shell, no value), noting them.
pub(super) fn normalize(text: &str, path: &Path, warnings: &mut Vec<Problem>) -> String {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = String::with_capacity(text.len());
    for (index, raw) in text.split('\n').enumerate() {
        if index > 0 {
            out.push('\n');
        }
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix("export") {
            let name = rest.trim();
            if rest.starts_with(char::is_whitespace) && is_key(name) {
                warnings.push(
                    Problem::warning(format!("`export {name}` has no value and is ignored"))
                        .at(path, Some(index + 1))
                        .hint(format!("write `export {name}=\"...\"` or delete the line")),
                );
                continue;
            }
        }
        out.push_str(line);
    }
    out
}

/// The first word of a broken line, if it is safe to show. Nothing is masked yet when `.env`
/// cannot be parsed, and a broken line may be a pasted token (`glpat-...` alone on its line,
/// found by tests/dotenv_fuzz.rs): only a conventional variable name (upper case, digits,
/// `_`, `.`) is echoed, never anything that could be a secret.
pub(super) fn echoable_word(line: &str) -> Option<&str> {
    let word = line
        .split(|c: char| c.is_whitespace() || c == '=')
        .find(|w| !w.is_empty() && *w != "export")?;
    let conventional =
        is_key(word) && word.len() <= 64 && !word.chars().any(|c| c.is_ascii_lowercase());
    conventional.then_some(word)
}

fn is_key(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// The key a physical line defines, if it is an assignment line, read as dotenvy reads it
/// (the fuzz tests found `export = 1` and `export export=1` read differently before).
pub(super) fn key_of_line(line: &str) -> Option<(&str, usize)> {
    let mut start = line.len() - line.trim_start().len();
    let (mut key, mut end) = key_at(line, start)?;
    // `export` is a prefix, unless it is the key itself (`export=1`, `export = 1`).
    if key == "export" && !line[end..].trim_start().starts_with('=') {
        start = end + (line[end..].len() - line[end..].trim_start().len());
        (key, end) = key_at(line, start)?;
    }
    line[end..]
        .trim_start()
        .starts_with('=')
        .then_some((key, start))
}

/// A key starting at byte `start`, and where it ends.
fn key_at(line: &str, start: usize) -> Option<(&str, usize)> {
    let rest = &line[start..];
    if !rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        return None;
    }
    let len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .unwrap_or(rest.len());
    Some((&rest[..len], start + len))
}

/// Every assignment line of the text, by key: line numbers in ascending order.
pub(super) fn definition_lines(text: &str) -> HashMap<&str, Vec<usize>> {
    let mut lines: HashMap<&str, Vec<usize>> = HashMap::new();
    for (index, line) in text.split('\n').enumerate() {
        if let Some((key, _)) = key_of_line(line) {
            lines.entry(key).or_default().push(index + 1);
        }
    }
    lines
}

pub(super) fn locate_parse_error(
    text: &str,
    content: &str,
    seen: &BTreeMap<String, usize>,
) -> usize {
    let first = content.lines().next().unwrap_or("").trim();
    let after = seen.values().copied().max().unwrap_or(0);
    text.split('\n')
        .enumerate()
        .skip(after)
        .find(|(_, line)| !first.is_empty() && line.trim() == first)
        .or_else(|| {
            text.split('\n')
                .enumerate()
                .find(|(_, line)| !first.is_empty() && line.contains(first))
        })
        .map(|(index, _)| index + 1)
        .unwrap_or(after + 1)
}

pub(super) fn line_of_offset(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset].iter().filter(|b| **b == b'\n').count() + 1
}
