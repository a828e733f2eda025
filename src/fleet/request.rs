//! What a fleet sync writes for people: the branch name, the commit message, and the merge
//! request's title and description (the template version, each file's outcome, and for a
//! conflict which files to resolve and how, in a checkout). A hidden marker in the
//! description records which default-branch commit and changes the branch holds, and the
//! commit tfw made: a rerun that would change nothing leaves the branch and the merge request
//! alone, and one that finds commits on the branch it did not make (a team resolving the
//! conflicts there) never resets them away.

use crate::template::report::{FileReport, FileStatus};

/// The marker line a rerun reads back (an HTML comment: GitLab does not render it).
const FINGERPRINT: &str = "<!-- tfw-fleet-sync:";

/// `tfw/template-<version>`, the version made safe for a git ref (`2.1`, `v3`), or the
/// commit's first 8 digits when the template has no version label.
pub(crate) fn branch_name(version: &str, commit: &str) -> String {
    let label: String = match version.trim() {
        "" => commit.chars().take(8).collect(),
        v => v
            .chars()
            .map(|c| match c {
                'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' | '_' => c,
                _ => '-',
            })
            .collect(),
    };
    // git refuses `..`, a trailing `.` and a `.lock` suffix (`git check-ref-format`).
    let label = label.replace("..", "-");
    let label = label.trim_end_matches(['.', '-']).trim_end_matches(".lock");
    format!("tfw/template-{label}")
}

#[derive(Debug, Clone)]
pub(crate) struct Text {
    pub title: String,
    pub description: String,
    pub commit_message: String,
}

/// The conflicting files of a sync (markers written now, or left from before).
pub(crate) fn conflicts(files: &[FileReport]) -> Vec<&str> {
    files
        .iter()
        .filter(|f| f.status == FileStatus::Conflict)
        .map(|f| f.path.as_str())
        .collect()
}

/// `label_from` is the version the project is at, `label_to` the template's.
pub(crate) fn text(
    label_from: &str,
    label_to: &str,
    files: &[FileReport],
    branch: &str,
    default_branch: &str,
) -> Text {
    let conflicted = conflicts(files);
    let draft = match conflicted.is_empty() {
        true => "",
        false => "Draft: ",
    };
    let title = format!("{draft}tfw: update to {label_to}");
    let mut d = format!(
        "Brings this repository from {label_from} to **{label_to}**, with the same 3-way merge as `tfw sync` (local edits kept).\n\n| file | outcome | detail |\n|---|---|---|\n"
    );
    for file in files.iter().filter(|f| f.status != FileStatus::Unchanged) {
        let detail = file.detail.as_deref().unwrap_or("").replace('|', "\\|");
        d.push_str(&format!(
            "| `{}` | {} | {detail} |\n",
            file.path,
            file.status.as_str()
        ));
    }
    if !conflicted.is_empty() {
        let list: Vec<String> = conflicted.iter().map(|p| format!("`{p}`")).collect();
        d.push_str(&format!(
            "\n### Conflicts\n\nConflict markers in {}: the template and this repository changed the same lines (or an earlier merge was committed unresolved, which tfw never merges into). This merge request is a draft until they are resolved:\n\n\
```sh\ngit fetch origin {branch} && git switch {branch}\n# edit the files: keep what is right between <<<<<<< local and >>>>>>> template, drop the markers\ntfw sync --check   # exit 3 while markers remain\ngit commit -am \"Resolve template conflicts\" && git push\n```\n\n\
Then remove `Draft:` from the title. To redo the merge yourself instead: on `{default_branch}`, run `tfw sync` in a checkout, resolve, and push to `{branch}`.\n",
            list.join(", ")
        ));
    }
    d.push_str(
        "\nOpened by `tfw fleet sync`; a rerun updates this merge request instead of opening another.\n",
    );
    let commit_message = format!(
        "tfw: update to {label_to}\n\nFrom {label_from}, by `tfw fleet sync`: {} file(s) changed{}.\n",
        files
            .iter()
            .filter(|f| !matches!(
                f.status,
                FileStatus::Unchanged | FileStatus::Kept | FileStatus::Skipped
            ))
            .count(),
        match conflicted.len() {
            0 => String::new(),
            n => format!(", {n} with conflict markers"),
        }
    );
    Text {
        title,
        description: d,
        commit_message,
    }
}

/// The line that ends a description tfw wrote: the fingerprint of what the branch holds
/// and the commit tfw made on it.
pub(crate) fn marker(fingerprint: &str, commit: &str) -> String {
    format!("{FINGERPRINT} {fingerprint} {commit} -->\n")
}

/// The fingerprint and commit a description's marker records, if tfw wrote it.
pub(crate) fn marker_of(description: &str) -> Option<(&str, Option<&str>)> {
    let start = description.rfind(FINGERPRINT)? + FINGERPRINT.len();
    let inside = description[start..].split("-->").next()?;
    let mut words = inside.split_whitespace();
    Some((words.next()?, words.next()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_names_are_valid_refs() {
        assert_eq!(branch_name("2", "abc"), "tfw/template-2");
        assert_eq!(branch_name("v1.2", "abc"), "tfw/template-v1.2");
        assert_eq!(branch_name("", "0123456789"), "tfw/template-01234567");
        assert_eq!(branch_name("a b..c.", "x"), "tfw/template-a-b-c");
        assert_eq!(branch_name("x.lock", "x"), "tfw/template-x");
    }

    #[test]
    fn conflicts_make_a_draft_that_says_how_to_resolve() {
        let files = vec![
            FileReport::new(
                "a.txt",
                None,
                FileStatus::Merged,
                Some("local edits kept".into()),
            ),
            FileReport::new("b.txt", None, FileStatus::Conflict, None),
        ];
        let t = text(
            "template 1 (11111111)",
            "template 2 (22222222)",
            &files,
            "tfw/template-2",
            "main",
        );
        assert_eq!(t.title, "Draft: tfw: update to template 2 (22222222)");
        assert!(
            t.description
                .contains("| `a.txt` | merged | local edits kept |")
        );
        assert!(t.description.contains("Conflict markers in `b.txt`"));
        assert!(t.description.contains("git fetch origin tfw/template-2"));
        let described = t.description.clone() + &marker("f00d", "c0ffee");
        assert_eq!(marker_of(&described), Some(("f00d", Some("c0ffee"))));
        assert_eq!(marker_of(&t.description), None);
        let clean = text("1", "2", &files[..1], "b", "main");
        assert!(!clean.title.starts_with("Draft"));
        assert!(!clean.description.contains("Conflicts"));
    }
}
