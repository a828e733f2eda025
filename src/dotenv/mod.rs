//! The per-developer `.env`. Values are parsed by dotenvy (the rules of the team's
//! `source .env`: `export`, quotes, comments, `${VAR}`), never applied to tfw's own process:
//! they become an overlay for the terraform child only. Alongside the values we keep the raw
//! text and the line of every key, so each problem points at file:line and `tfw use` can edit
//! one value in place without disturbing comments, order, quoting or `export` prefixes.
//! `lines.rs` reads physical lines as dotenvy does (which key a line defines, where a parse
//! error is); `edit.rs` rewrites one value in place.

mod edit;
mod lines;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::problem::Problem;

use edit::set_value;
use lines::{definition_lines, echoable_word, line_of_offset, locate_parse_error, normalize};

/// Why a `.env` was not read. A missing file is an ordinary state (the shell or CI may hold
/// every value); an unreadable or unparsable one is an error even then. Callers match on the
/// variant, never on the message.
#[derive(Debug, Clone)]
pub enum LoadError {
    Missing(Problem),
    Broken(Problem),
}

impl LoadError {
    pub fn problem(&self) -> &Problem {
        match self {
            Self::Missing(problem) | Self::Broken(problem) => problem,
        }
    }
}

impl From<LoadError> for Problem {
    fn from(err: LoadError) -> Self {
        match err {
            LoadError::Missing(problem) | LoadError::Broken(problem) => problem,
        }
    }
}

#[derive(Debug, Clone)]
pub struct DotEnv {
    pub(crate) path: PathBuf,
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
    pub fn load(path: &Path) -> Result<Self, LoadError> {
        // Never `std::fs::read`: a `.env` that is (or links to) a FIFO would hang every command.
        let bytes = crate::fsutil::read_regular(path).map_err(|err| {
            if err.kind() == std::io::ErrorKind::NotFound {
                LoadError::Missing(
                    Problem::error(format!("`{}` does not exist", path.display()))
                        .hint("copy `env.example` to `.env` and fill it in, or run `tfw setup`"),
                )
            } else if err.kind() == std::io::ErrorKind::InvalidInput {
                LoadError::Broken(
                    Problem::error(format!("cannot read `{}`: {err}", path.display())).hint(
                        format!(
                            "tfw reads its settings from a regular file only: move `{}` away and run `tfw setup`, or copy `env.example` there",
                            path.display()
                        ),
                    ),
                )
            } else {
                LoadError::Broken(Problem::error(format!(
                    "cannot read `{}`: {err}",
                    path.display()
                )))
            }
        })?;
        let text = String::from_utf8(bytes).map_err(|err| {
            let line = line_of_offset(err.as_bytes(), err.utf8_error().valid_up_to());
            LoadError::Broken(
                Problem::error("the file is not valid UTF-8 text")
                    .at(path, Some(line))
                    .hint("save `.env` as UTF-8 text; it should hold only KEY=\"value\" lines"),
            )
        })?;
        Self::parse(path, text).map_err(LoadError::Broken)
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
    pub(crate) fn absent(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            text: String::new(),
            values: BTreeMap::new(),
            warnings: Vec::new(),
            shared: Vec::new(),
        }
    }

    /// Adds a shared file below this one (and the ones already added).
    pub(crate) fn inherit(&mut self, mut shared: DotEnv) {
        self.warnings.append(&mut shared.warnings);
        self.shared.push(shared);
    }

    /// Keeps `other`'s shared files under this one (a re-read of the same file).
    pub(crate) fn with_shared_of(mut self, other: &DotEnv) -> Self {
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
    pub(crate) fn file(&self, key: &str) -> &Path {
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
    pub(crate) fn own(&self) -> impl Iterator<Item = (&str, &str, usize)> {
        self.values
            .iter()
            .map(|(key, (value, line))| (key.as_str(), value.as_str(), *line))
    }

    /// Every file read that exists: this one (unless absent), then the shared ones.
    pub(crate) fn files(&self) -> impl Iterator<Item = &Path> {
        std::iter::once(self)
            .chain(&self.shared)
            .filter(|file| file.path.exists())
            .map(|file| file.path.as_path())
    }

    /// Returns the file's text with `key` set to `value`: the last definition's value is
    /// replaced in place (keeping `export`, quote style and a trailing comment); a missing key
    /// is appended. Every other byte is kept.
    pub(crate) fn with_value(&self, key: &str, value: &str) -> String {
        set_value(&self.text, key, value)
    }
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
