//! The per-developer `.env`. Values are parsed by dotenvy (the rules of the team's
//! `source .env`: `export`, quotes, comments, `${VAR}`), never applied to tfw's own process:
//! they become an overlay for the terraform child only. Alongside the values we keep the raw
//! text and the line of every key, so each problem points at file:line and `tfw use` can edit
//! one value in place without disturbing comments, order, quoting or `export` prefixes.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::problem::Problem;

#[derive(Debug, Clone)]
pub struct DotEnv {
    pub path: PathBuf,
    text: String,
    /// Key -> (value, line of its last definition), after dotenvy's substitution.
    values: BTreeMap<String, (String, usize)>,
    /// Non-fatal findings made while reading (duplicates, `export KEY` without a value...).
    pub warnings: Vec<Problem>,
    /// The shared files of the parent folders, nearest first: a key this file lacks comes
    /// from the first that has it. Edits (`with_value`) touch this file only.
    shared: Vec<DotEnv>,
}

impl DotEnv {
    pub fn load(path: &Path) -> Result<Self, Problem> {
        let bytes = std::fs::read(path).map_err(|err| {
            if err.kind() == std::io::ErrorKind::NotFound {
                Problem::error(format!("`{}` does not exist", path.display()))
                    .hint("copy `env.example` to `.env` and fill it in, or run `tfw setup`")
            } else {
                Problem::error(format!("cannot read `{}`: {err}", path.display()))
            }
        })?;
        let text = String::from_utf8(bytes).map_err(|err| {
            let line = line_of_offset(err.as_bytes(), err.utf8_error().valid_up_to());
            Problem::error("the file is not valid UTF-8 text")
                .at(path, Some(line))
                .hint("save `.env` as UTF-8 text; it should hold only KEY=\"value\" lines")
        })?;
        Self::parse(path, text)
    }

    pub fn parse(path: &Path, text: String) -> Result<Self, Problem> {
        let mut warnings = Vec::new();
        let normalized = normalize(&text, path, &mut warnings);
        let mut values = BTreeMap::new();
        let mut seen_lines: BTreeMap<String, usize> = BTreeMap::new();
        // Indexed once: looking each key up in the whole text made a 50 000-line file take
        // minutes (found by tests/dotenv_fuzz.rs).
        // A cursor per key walks its definitions in order: 20 000 repeats of one key were
        // quadratic too.
        let definitions = definition_lines(&normalized);
        let mut cursors: HashMap<&str, usize> = HashMap::new();
        let mut last_line = 0;
        let line_count = normalized.split('\n').count();
        for item in dotenvy::from_read_iter(normalized.as_bytes()) {
            match item {
                Ok((key, value)) => {
                    let line = definitions
                        .get_key_value(key.as_str())
                        .and_then(|(&name, lines)| {
                            let cursor = cursors.entry(name).or_insert(0);
                            while lines.get(*cursor).is_some_and(|line| *line <= last_line) {
                                *cursor += 1;
                            }
                            lines.get(*cursor).copied()
                        })
                        .unwrap_or(last_line + 1)
                        .min(line_count);
                    last_line = line;
                    if let Some(previous) = seen_lines.insert(key.clone(), line) {
                        warnings.push(
                            Problem::warning(format!(
                                "`{key}` is set twice (first on line {previous}); the last value wins"
                            ))
                            .at(path, Some(line))
                            .hint(format!("delete one of the two `{key}` lines")),
                        );
                    }
                    values.insert(key, (value, line));
                }
                Err(dotenvy::Error::LineParse(content, index)) => {
                    let line = locate_parse_error(&normalized, &content, &seen_lines);
                    let first = content.lines().next().unwrap_or("");
                    let mut detail = Vec::new();
                    // Past the first line (an unclosed quote) the position means nothing.
                    if index < first.len() {
                        detail.push(format!("at character {}", index + 1));
                    }
                    if let Some(word) = echoable_word(first) {
                        detail.push(format!("starting `{word}`"));
                    }
                    let detail = if detail.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", detail.join(", "))
                    };
                    return Err(Problem::error(format!("cannot parse this line{detail}"))
                    .at(path, Some(line))
                    .hint("write it as KEY=\"value\" (an `export ` prefix is fine); quote values with spaces"));
                }
                Err(err) => {
                    return Err(
                        Problem::error(format!("cannot read the file: {err}")).at(path, None)
                    );
                }
            }
        }
        Ok(Self {
            path: path.to_path_buf(),
            text,
            values,
            warnings,
            shared: Vec::new(),
        })
    }

    /// The working directory's file when only shared ones exist: empty, and `tfw use`
    /// creates it.
    pub fn absent(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            text: String::new(),
            values: BTreeMap::new(),
            warnings: Vec::new(),
            shared: Vec::new(),
        }
    }

    /// Adds a shared file below this one (and the ones already added).
    pub fn inherit(&mut self, mut shared: DotEnv) {
        self.warnings.append(&mut shared.warnings);
        self.shared.push(shared);
    }

    /// Keeps `other`'s shared files under this one (a re-read of the same file).
    pub fn with_shared_of(mut self, other: &DotEnv) -> Self {
        self.shared = other.shared.clone();
        self
    }

    /// Where `key` is defined: (value, line, file), this file first, then the shared ones.
    fn entry(&self, key: &str) -> Option<(&str, usize, &Path)> {
        std::iter::once(self).chain(&self.shared).find_map(|file| {
            let (value, line) = file.values.get(key)?;
            Some((value.as_str(), *line, file.path.as_path()))
        })
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.entry(key).map(|(value, _, _)| value)
    }

    pub fn line(&self, key: &str) -> Option<usize> {
        self.entry(key).map(|(_, line, _)| line)
    }

    /// The file `key` comes from (this one when it is nowhere).
    pub fn file(&self, key: &str) -> &Path {
        self.entry(key).map_or(&self.path, |(_, _, file)| file)
    }

    /// Every key, merged (the nearest file's value), sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, usize)> {
        let mut merged: BTreeMap<&str, (&str, usize)> = BTreeMap::new();
        for file in std::iter::once(self).chain(&self.shared) {
            for (key, (value, line)) in &file.values {
                merged
                    .entry(key.as_str())
                    .or_insert((value.as_str(), *line));
            }
        }
        merged
            .into_iter()
            .map(|(key, (value, line))| (key, value, line))
    }

    /// This file's own keys, without the shared ones (what rewriting it keeps).
    pub fn own(&self) -> impl Iterator<Item = (&str, &str, usize)> {
        self.values
            .iter()
            .map(|(key, (value, line))| (key.as_str(), value.as_str(), *line))
    }

    /// Every file read that exists: this one (unless absent), then the shared ones.
    pub fn files(&self) -> impl Iterator<Item = &Path> {
        std::iter::once(self)
            .chain(&self.shared)
            .filter(|file| file.path.exists())
            .map(|file| file.path.as_path())
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Returns the file's text with `key` set to `value`: the last definition's value is
    /// replaced in place (keeping `export`, quote style and a trailing comment); a missing key
    /// is appended. Every other byte is kept.
    pub fn with_value(&self, key: &str, value: &str) -> String {
        set_value(&self.text, key, value)
    }
}

/// Makes the text digestible for dotenvy without moving any line: drops a UTF-8 BOM, turns
/// CRLF into LF, and blanks bare `export KEY` lines (valid shell, no value), noting them.
fn normalize(text: &str, path: &Path, warnings: &mut Vec<Problem>) -> String {
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
fn echoable_word(line: &str) -> Option<&str> {
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
fn key_of_line(line: &str) -> Option<(&str, usize)> {
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
fn definition_lines(text: &str) -> HashMap<&str, Vec<usize>> {
    let mut lines: HashMap<&str, Vec<usize>> = HashMap::new();
    for (index, line) in text.split('\n').enumerate() {
        if let Some((key, _)) = key_of_line(line) {
            lines.entry(key).or_default().push(index + 1);
        }
    }
    lines
}

fn locate_parse_error(text: &str, content: &str, seen: &BTreeMap<String, usize>) -> usize {
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

fn line_of_offset(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset].iter().filter(|b| **b == b'\n').count() + 1
}

fn set_value(text: &str, key: &str, value: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<DotEnv, Problem> {
        DotEnv::parse(Path::new(".env"), text.to_string())
    }

    #[test]
    fn reads_the_seed_format() {
        let env = parse(
            "# comment\nexport TF_HTTP_USERNAME=\"alice\"\nexport TF_STATE_NAME=\"dev\"\nexport TF_HTTP_ADDRESS=\"https://x/state/${TF_STATE_NAME}\"\n",
        )
        .unwrap();
        assert_eq!(env.get("TF_HTTP_USERNAME"), Some("alice"));
        assert_eq!(env.line("TF_STATE_NAME"), Some(3));
        assert!(
            env.get("TF_HTTP_ADDRESS")
                .unwrap()
                .starts_with("https://x/state/")
        );
    }

    #[test]
    fn crlf_bom_and_bare_export() {
        let env = parse("\u{feff}A=1\r\nexport B\r\nC=\"x y\"\r\n").unwrap();
        assert_eq!(env.get("A"), Some("1"));
        assert_eq!(env.get("C"), Some("x y"));
        assert_eq!(env.warnings.len(), 1);
        assert_eq!(env.warnings[0].location.as_ref().unwrap().line, Some(2));
    }

    #[test]
    fn duplicates_warn_and_last_wins() {
        let env = parse("A=1\nB=2\nA=3\n").unwrap();
        assert_eq!(env.get("A"), Some("3"));
        assert_eq!(env.line("A"), Some(3));
        assert_eq!(env.warnings.len(), 1);
    }

    #[test]
    fn parse_error_has_a_line() {
        let err = parse("A=1\nB=2\nthis is not valid\n").unwrap_err();
        assert_eq!(err.location.unwrap().line, Some(3));
    }

    #[test]
    fn set_value_keeps_everything_else() {
        let text = "# top\nexport TF_STATE_NAME=\"dev-alice\" # mine\r\nexport X='y'\n";
        let env = parse(text).unwrap();
        let new = env.with_value("TF_STATE_NAME", "staging");
        assert_eq!(
            new,
            "# top\nexport TF_STATE_NAME=\"staging\" # mine\r\nexport X='y'\n"
        );
        let back = parse(&new)
            .unwrap()
            .with_value("TF_STATE_NAME", "dev-alice");
        assert_eq!(back, text);
    }

    #[test]
    fn set_value_unquoted_and_missing() {
        let env = parse("A=one\n").unwrap();
        assert_eq!(env.with_value("A", "two words"), "A=\"two words\"\n");
        assert_eq!(env.with_value("B", "v"), "A=one\nB=\"v\"\n");
    }
}
