//! Text operations of `tfw sync`, all from the `diffy` crate (a real diff3, no hand-written
//! merging): the 3-way merge of a local file with two template versions, the unified diff of
//! `--dry-run`, and spotting conflict markers a developer left behind.

use diffy::{ConflictStyle, DiffOptions, IncompleteHunkStyle, MergeOptions};

/// How the two template versions are named in conflict markers.
pub(crate) struct Labels<'a> {
    /// The template version the local file was last synced with.
    pub base: &'a str,
    /// The template version being synced to.
    pub theirs: &'a str,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Merged {
    Clean(String),
    /// Merged text with standard conflict markers (`<<<<<<< local` ... `>>>>>>> template …`).
    Conflict(String),
}

pub(crate) fn merge3(base: &str, ours: &str, theirs: &str, labels: &Labels) -> Merged {
    let mut options = MergeOptions::new();
    // diff3 style shows the base too, which is what makes a conflict decidable; the git style
    // for a last line without newline keeps every marker at the start of a line.
    options
        .set_conflict_style(ConflictStyle::Diff3)
        .set_incomplete_hunk_style(IncompleteHunkStyle::Git);
    match options.merge(base, ours, theirs) {
        Ok(text) => Merged::Clean(text),
        Err(text) => Merged::Conflict(relabel(&text, labels)),
    }
}

/// diffy names the sides `ours`/`original`/`theirs`; a developer needs to know which is theirs.
fn relabel(text: &str, labels: &Labels) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        let (body, newline) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        match body {
            "<<<<<<< ours" => out.push_str("<<<<<<< local"),
            "||||||| original" => out.push_str(&format!("||||||| {}", labels.base)),
            ">>>>>>> theirs" => out.push_str(&format!(">>>>>>> {}", labels.theirs)),
            _ => out.push_str(body),
        }
        out.push_str(newline);
    }
    out
}

/// How a file ends its lines. Merges compare lines without their endings, so a CRLF working
/// copy (git's `autocrlf`, an editor) never turns a one-line change into a whole-file conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Eol {
    Lf,
    Crlf,
}

impl Eol {
    /// The ending most lines of `text` use (LF when there is no line ending at all).
    pub(crate) fn of(text: &str) -> Eol {
        let lines = text.matches('\n').count();
        let crlf = text.matches("\r\n").count();
        if lines > 0 && crlf * 2 > lines {
            Eol::Crlf
        } else {
            Eol::Lf
        }
    }

    /// `text` with every line ending in this style.
    pub(crate) fn apply(self, text: &str) -> String {
        let lf = to_lf(text);
        match self {
            Eol::Lf => lf,
            Eol::Crlf => lf.replace('\n', "\r\n"),
        }
    }
}

/// `text` with LF line endings only.
pub(crate) fn to_lf(text: &str) -> String {
    text.replace("\r\n", "\n")
}

/// A conflict left in a file: an opening and a closing marker line.
pub(crate) fn has_conflict_markers(bytes: &[u8]) -> bool {
    let mut open = false;
    for line in bytes.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.starts_with(b"<<<<<<< ") || line == b"<<<<<<<" {
            open = true;
        } else if open && (line.starts_with(b">>>>>>> ") || line == b">>>>>>>") {
            return true;
        }
    }
    false
}

/// A unified diff with git-style names (`/dev/null` for a missing side).
pub(crate) fn unified(path: &str, before: Option<&str>, after: Option<&str>) -> String {
    let mut options = DiffOptions::new();
    options
        .set_original_filename(match before {
            Some(_) => format!("a/{path}"),
            None => "/dev/null".into(),
        })
        .set_modified_filename(match after {
            Some(_) => format!("b/{path}"),
            None => "/dev/null".into(),
        });
    options
        .create_patch(before.unwrap_or(""), after.unwrap_or(""))
        .to_string()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const LABELS: Labels = Labels {
        base: "template 1",
        theirs: "template 2",
    };

    #[test]
    fn edits_to_different_parts_merge_cleanly() {
        let base = "a\nb\nc\nd\ne\n";
        let ours = "a\nB local\nc\nd\ne\n";
        let theirs = "a\nb\nc\nd\nE upstream\n";
        assert_eq!(
            merge3(base, ours, theirs, &LABELS),
            Merged::Clean("a\nB local\nc\nd\nE upstream\n".into())
        );
    }

    #[test]
    fn overlapping_edits_give_labelled_markers() {
        let Merged::Conflict(text) = merge3("a\nb\n", "a\nmine\n", "a\ntheirs\n", &LABELS) else {
            panic!("expected a conflict");
        };
        assert_eq!(
            text,
            "a\n<<<<<<< local\nmine\n||||||| template 1\nb\n=======\ntheirs\n>>>>>>> template 2\n"
        );
        assert!(has_conflict_markers(text.as_bytes()));
    }

    #[test]
    fn line_endings_follow_the_file() {
        assert_eq!(Eol::of("a\r\nb\r\nc\n"), Eol::Crlf);
        assert_eq!(Eol::of("a\r\nb\nc\n"), Eol::Lf);
        assert_eq!(Eol::of("no newline"), Eol::Lf);
        assert_eq!(Eol::Crlf.apply("a\nb\r\n"), "a\r\nb\r\n");
        assert!(has_conflict_markers(b"<<<<<<< local\r\nx\r\n>>>>>>> t\r\n"));
    }

    #[test]
    fn markers_need_both_ends() {
        assert!(!has_conflict_markers(b"title\n=======\n"));
        assert!(!has_conflict_markers(b"<<<<<<< only\n"));
    }

    #[test]
    fn diff_names_files_like_git() {
        let diff = unified("x.txt", Some("a\n"), Some("b\n"));
        assert!(diff.starts_with("--- a/x.txt\n+++ b/x.txt\n"), "{diff}");
        assert!(unified("x", None, Some("b\n")).starts_with("--- /dev/null\n"));
    }
}
