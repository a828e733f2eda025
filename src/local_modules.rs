//! The local modules a root calls, read from its configuration as terraform reads it:
//! `module "x" { source = "../../modules/net" }` (and the `*.tf.json` form), where a local
//! source is one starting with `./` or `../`. Followed transitively, so `tfw --changed`
//! selects a root when a module its module calls changed. Registry and git sources are
//! versioned elsewhere and are not followed. Only the files' text is read (no terraform,
//! no `.terraform/modules`), so it works before `init` and costs milliseconds.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

/// One `module` block with a local source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Call {
    /// The folder it names, lexically resolved (`..` removed), below `base` or not at all.
    pub dir: PathBuf,
    /// Where the `source` is written: the file and its line.
    pub file: PathBuf,
    pub line: usize,
}

/// Every local module `root` calls, directly or through other modules, each with the
/// chain of calls that leads to it (the root's own call first). Modules outside `base` (the
/// repository) are left out: they are not part of its history.
pub(crate) fn called(root: &Path, base: &Path) -> BTreeMap<PathBuf, Vec<Call>> {
    let mut found: BTreeMap<PathBuf, Vec<Call>> = BTreeMap::new();
    let mut pending: Vec<(PathBuf, Vec<Call>)> = vec![(root.to_path_buf(), Vec::new())];
    let mut seen = BTreeSet::from([root.to_path_buf()]);
    while let Some((dir, chain)) = pending.pop() {
        for call in calls_in(&dir) {
            if !call.dir.starts_with(base) || !seen.insert(call.dir.clone()) {
                continue;
            }
            let mut next = chain.clone();
            next.push(call.clone());
            found.insert(call.dir.clone(), next.clone());
            pending.push((call.dir, next));
        }
    }
    found
}

/// The local module calls in one folder's `*.tf` and `*.tf.json` files, in file order.
pub(crate) fn calls_in(dir: &Path) -> Vec<Call> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name.ends_with(".tf") || name.ends_with(".tf.json")
        })
        .collect();
    files.sort();
    let mut calls = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let sources = if file.to_string_lossy().ends_with(".json") {
            json_sources(&text)
        } else {
            hcl_sources(&text)
        };
        for (source, line) in sources {
            if source.starts_with("./") || source.starts_with("../") {
                calls.push(Call {
                    dir: normalize(&dir.join(&source)),
                    file: file.clone(),
                    line,
                });
            }
        }
    }
    calls
}

/// `source = "..."` at the top level of each top-level `module "NAME" { }` block, with its
/// line. Comments are skipped and braces inside strings ignored.
fn hcl_sources(text: &str) -> Vec<(String, usize)> {
    if !text.contains("module") {
        return Vec::new();
    }
    let tokens = tokens(text);
    let mut out = Vec::new();
    let mut depth = 0usize;
    // The depth at which the current module block's attributes sit.
    let mut module_body: Option<usize> = None;
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i].0 {
            Token::Open => {
                depth += 1;
            }
            Token::Close => {
                depth = depth.saturating_sub(1);
                if module_body.is_some_and(|d| depth < d) {
                    module_body = None;
                }
            }
            Token::Word(word) if depth == 0 && word == "module" => {
                if let (Some((Token::Str(_), _)), Some((Token::Open, _))) =
                    (tokens.get(i + 1), tokens.get(i + 2))
                {
                    module_body = Some(1);
                    depth = 1;
                    i += 3;
                    continue;
                }
            }
            Token::Word(word) if module_body == Some(depth) && word == "source" => {
                if let (Some((Token::Equals, _)), Some((Token::Str(value), line))) =
                    (tokens.get(i + 1), tokens.get(i + 2))
                {
                    out.push((value.clone(), *line));
                    i += 3;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}

#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Open,
    Close,
    Equals,
}

/// Just enough of HCL's lexer: words, plain strings (a string holding `${` is kept as it
/// is), braces, `=`; comments dropped; each token with its line.
fn tokens(text: &str) -> Vec<(Token, usize)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '\n' => line += 1,
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            '/' if next == Some('/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            '/' if next == Some('*') => {
                i += 2;
                while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
                i += 2;
                continue;
            }
            '"' => {
                let start = line;
                let mut value = String::new();
                i += 1;
                while i < chars.len() && chars[i] != '"' && chars[i] != '\n' {
                    if chars[i] == '\\' && i + 1 < chars.len() {
                        i += 1;
                    }
                    value.push(chars[i]);
                    i += 1;
                }
                out.push((Token::Str(value), start));
            }
            '{' => out.push((Token::Open, line)),
            '}' => out.push((Token::Close, line)),
            '=' if next != Some('=') && next != Some('>') => out.push((Token::Equals, line)),
            c if c.is_alphanumeric() || c == '_' => {
                let mut word = String::new();
                while i < chars.len() && (chars[i].is_alphanumeric() || "_-".contains(chars[i])) {
                    word.push(chars[i]);
                    i += 1;
                }
                out.push((Token::Word(word), line));
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// `{"module": {"net": {"source": "../modules/net"}}}` (or a list of such objects); line 1,
/// as serde does not keep positions.
fn json_sources(text: &str) -> Vec<(String, usize)> {
    let Ok(json) = serde_json::from_str::<serde_json::Value>(text) else {
        return Vec::new();
    };
    let blocks = match &json["module"] {
        serde_json::Value::Array(list) => list.clone(),
        other => vec![other.clone()],
    };
    let mut out = Vec::new();
    for block in &blocks {
        for (_, module) in block.as_object().into_iter().flatten() {
            let modules = match module {
                serde_json::Value::Array(list) => list.clone(),
                other => vec![other.clone()],
            };
            for one in modules {
                if let Some(source) = one["source"].as_str() {
                    out.push((source.to_string(), 1));
                }
            }
        }
    }
    out
}

/// `a/b/../c/./d` as `a/c/d`, without touching the file system (a module folder may be
/// missing, and a link must not lead out of the repository unnoticed).
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// `to` as seen from `from` (`../../modules/net`), both lexically normalized.
pub(crate) fn relative(from: &Path, to: &Path) -> String {
    let (from, to) = (normalize(from), normalize(to));
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_string(); from.len() - common];
    parts.extend(
        to[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_local_sources_of_top_level_module_blocks() {
        let text = r#"
# module "commented" { source = "./nope" }
module "net" {
  source = "../../modules/net"   // the network
  cidr   = "10.0.0.0/16"
  tags   = { source = "./not-this-one" }
}
/* module "x" { source = "./also-not" } */
resource "x" "y" {
  module = "no"
}
module "vpc" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "5.0.0"
}
module "app" { source = "./app" }
"#;
        assert_eq!(
            hcl_sources(text),
            [
                ("../../modules/net".to_string(), 4),
                ("terraform-aws-modules/vpc/aws".to_string(), 13),
                ("./app".to_string(), 16)
            ]
        );
        let json = r#"{"module": {"net": {"source": "../modules/net"}, "r": {"source": "x/y/z"}}}"#;
        assert_eq!(json_sources(json).len(), 2);
    }

    #[test]
    fn names_a_module_from_its_root() {
        assert_eq!(
            relative(Path::new("/r/envs/prod"), Path::new("/r/modules/net")),
            "../../modules/net"
        );
        assert_eq!(relative(Path::new("/r/a"), Path::new("/r/a/b")), "b");
    }

    #[test]
    fn follows_calls_transitively_and_stays_in_the_repository() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        let write = |path: &str, text: &str| {
            let path = base.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write(
            "envs/prod/main.tf",
            "module \"app\" {\n  source = \"../../modules/app\"\n}\nmodule \"out\" {\n  source = \"../../../elsewhere\"\n}\n",
        );
        write(
            "modules/app/main.tf",
            "module \"net\" {\n  source = \"../net\"\n}\n",
        );
        write(
            "modules/net/main.tf",
            "module \"app\" {\n  source = \"../app\"\n}\n",
        );
        let found = called(&base.join("envs/prod"), base);
        let names: Vec<String> = found
            .keys()
            .map(|p| p.strip_prefix(base).unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["modules/app", "modules/net"]);
        let chain = &found[&base.join("modules/net")];
        assert_eq!(chain.len(), 2);
        assert_eq!(chain[0].file, base.join("envs/prod/main.tf"));
        assert_eq!(chain[0].line, 2);
        assert_eq!(chain[1].file, base.join("modules/app/main.tf"));
    }
}
