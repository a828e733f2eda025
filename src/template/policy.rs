//! Who owns a template file once it is in a repository, and for `block` files, where the owned
//! part is. The block is found by its marker lines, in the comment syntax of the file's type,
//! so everything around it stays the developer's.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::problem::Problem;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Policy {
    /// Owned by the template: a local edit is drift.
    Managed,
    /// Local edits are kept; template changes are 3-way merged into them.
    Merge,
    /// Only the marked block inside the file is owned.
    Block,
    /// Created when missing, never touched again.
    Once,
}

impl Policy {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Policy::Managed => "managed",
            Policy::Merge => "merge",
            Policy::Block => "block",
            Policy::Once => "once",
        }
    }

    /// Local edits to the owned part count as drift.
    pub(crate) fn edits_are_drift(self) -> bool {
        matches!(self, Policy::Managed | Policy::Block)
    }
}

/// The two marker lines around a managed block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Markers {
    pub begin: String,
    pub end: String,
}

const BEGIN: &str = ">>> tfw managed block (do not edit) >>>";
const END: &str = "<<< tfw managed block <<<";

/// File types whose comments cannot hold a marker line.
pub(crate) fn supports_block(path: &str) -> bool {
    !matches!(extension(path).as_str(), "json")
}

/// Markers in the comment syntax of the file's type (`#` unless the type says otherwise).
pub(crate) fn markers(path: &str) -> Markers {
    let (open, close) = match extension(path).as_str() {
        "md" | "markdown" | "html" | "htm" | "xml" => ("<!-- ", " -->"),
        "rs" | "go" | "js" | "ts" | "c" | "h" | "cpp" | "java" | "kt" | "cs" | "swift" => {
            ("// ", "")
        }
        _ => ("# ", ""),
    };
    Markers {
        begin: format!("{open}{BEGIN}{close}"),
        end: format!("{open}{END}{close}"),
    }
}

fn extension(path: &str) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
        _ => String::new(),
    }
}

/// A file split around its block.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Split<'a> {
    pub before: &'a str,
    pub inner: &'a str,
    pub after: &'a str,
}

/// Finds the first complete block (a begin line, then an end line).
pub(crate) fn find<'a>(text: &'a str, markers: &Markers) -> Option<Split<'a>> {
    let mut offset = 0;
    let mut begin: Option<(usize, usize)> = None;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let trimmed = line.trim();
        match begin {
            None if trimmed == markers.begin => begin = Some((start, offset)),
            Some((begin_start, inner_start)) if trimmed == markers.end => {
                return Some(Split {
                    before: &text[..begin_start],
                    inner: &text[inner_start..start],
                    after: &text[offset..],
                });
            }
            _ => {}
        }
    }
    None
}

/// Which marker line of a block is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Missing {
    Begin,
    End,
}

impl Missing {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Missing::Begin => "begin",
            Missing::End => "end",
        }
    }
}

/// A marker line without its partner: the line of a begin marker whose end was lost (or of
/// an end marker whose begin was), and which one is missing. Appending a second block to such
/// a file would leave the first one's text stranded.
pub(crate) fn broken(text: &str, markers: &Markers) -> Option<(usize, Missing)> {
    let mut open: Option<usize> = None;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed == markers.begin {
            if let Some(start) = open {
                return Some((start, Missing::End));
            }
            open = Some(index + 1);
        } else if trimmed == markers.end {
            match open.take() {
                Some(_) => {}
                None => return Some((index + 1, Missing::Begin)),
            }
        }
    }
    open.map(|start| (start, Missing::End))
}

/// A block whose begin (or end) marker line was lost: appending another block would strand
/// the first one's text, so the developer fixes the marker, keeping their own lines.
/// `at` is where the file is, for the message.
pub(crate) fn check_block(at: &Path, path: &str, text: &str) -> Result<(), Problem> {
    let markers = markers(path);
    let Some((line, missing)) = broken(text, &markers) else {
        return Ok(());
    };
    let (what, fix) = match missing {
        Missing::End => (
            "its managed block starts here but has no end marker",
            format!(
                "add the line `{}` after the block's last line (your text around it stays as it is), then run the command again",
                markers.end
            ),
        ),
        Missing::Begin => (
            "this end marker of the managed block has no begin marker",
            format!(
                "add the line `{}` where the block starts (your text around it stays as it is), then run the command again",
                markers.begin
            ),
        ),
    };
    Err(
        Problem::error(format!("`{path}` has a broken managed block: {what}"))
            .at(at, Some(line))
            .hint(fix),
    )
}

fn with_newline(text: &str, nl: &str) -> String {
    if text.is_empty() || text.ends_with('\n') {
        text.to_string()
    } else {
        format!("{text}{nl}")
    }
}

/// The file with `inner` as its block: replaced in place, or appended after a blank line.
/// Marker lines end like the file's lines.
pub(crate) fn put(file: Option<&str>, markers: &Markers, inner: &str) -> String {
    let nl = match file.map(super::merge::Eol::of) {
        Some(super::merge::Eol::Crlf) => "\r\n",
        _ => "\n",
    };
    let block = format!(
        "{}{nl}{}{}{nl}",
        markers.begin,
        with_newline(inner, nl),
        markers.end
    );
    match file {
        None => block,
        Some(text) => match find(text, markers) {
            Some(split) => format!("{}{block}{}", split.before, split.after),
            None if text.trim().is_empty() => block,
            None => format!("{}{nl}{block}", with_newline(text, nl)),
        },
    }
}

/// The file without its block (and without the blank line `put` added before it).
pub(crate) fn remove(text: &str, markers: &Markers) -> String {
    let Some(split) = find(text, markers) else {
        return text.to_string();
    };
    let before = if split.after.is_empty() {
        split.before.trim_end_matches('\n')
    } else {
        split.before
    };
    let mut out = format!("{before}{}", split.after);
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comment_syntax_follows_the_file_type() {
        assert!(markers(".gitignore").begin.starts_with("# >>>"));
        assert!(markers("docs/README.md").begin.starts_with("<!-- >>>"));
        assert!(markers("docs/README.md").end.ends_with("<<< -->"));
        assert!(markers("main.tf").begin.starts_with("# "));
        assert!(!supports_block("x.json"));
    }

    #[test]
    fn put_appends_then_replaces_in_place() {
        let m = markers(".gitignore");
        let first = put(Some("node_modules/\n"), &m, ".env\n");
        assert_eq!(
            first,
            format!("node_modules/\n\n{}\n.env\n{}\n", m.begin, m.end)
        );
        let edited = format!("{first}mine\n");
        let second = put(Some(&edited), &m, ".env\n.terraform/\n");
        assert_eq!(
            second,
            format!(
                "node_modules/\n\n{}\n.env\n.terraform/\n{}\nmine\n",
                m.begin, m.end
            )
        );
        assert_eq!(find(&second, &m).unwrap().inner, ".env\n.terraform/\n");
    }

    #[test]
    fn put_into_missing_or_unterminated_file() {
        let m = markers("README.md");
        assert_eq!(put(None, &m, "x"), format!("{}\nx\n{}\n", m.begin, m.end));
        assert_eq!(
            put(Some("# Title"), &m, "x\n"),
            format!("# Title\n\n{}\nx\n{}\n", m.begin, m.end)
        );
    }

    #[test]
    fn remove_undoes_put() {
        let m = markers(".gitignore");
        let text = put(Some("a\n"), &m, "b\n");
        assert_eq!(remove(&text, &m), "a\n");
        assert_eq!(remove(&put(None, &m, "b\n"), &m), "");
    }

    #[test]
    fn a_begin_marker_without_end_is_no_block_but_broken() {
        let m = markers(".gitignore");
        let text = format!("mine\n{}\nx\n", m.begin);
        assert_eq!(find(&text, &m), None);
        assert_eq!(broken(&text, &m), Some((2, Missing::End)));
        assert_eq!(
            broken(&format!("a\n{}\n", m.end), &m),
            Some((2, Missing::Begin))
        );
        assert_eq!(broken(&put(Some("a\n"), &m, "b\n"), &m), None);
    }

    #[test]
    fn crlf_files_get_crlf_markers() {
        let m = markers(".gitignore");
        let text = put(Some("a\r\nb\r\n"), &m, "x\r\n");
        assert_eq!(
            text,
            format!("a\r\nb\r\n\r\n{}\r\nx\r\n{}\r\n", m.begin, m.end)
        );
        assert_eq!(find(&text, &m).unwrap().inner, "x\r\n");
    }
}
