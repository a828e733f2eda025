//! What happens to one owned part (a whole file, or a block's inside) given its three
//! versions: the base the lock recorded, the local text, and the template's new text. Kept
//! apart from the planning around it so that the rules can be read, and tested, in one place:
//! - missing locally: written (restored when the lock knew it);
//! - conflict markers still in the local text: left alone, never merged into (a conflict);
//! - untouched locally, changed upstream: updated;
//! - edited locally, unchanged upstream: kept (drift, for `managed` and `block`);
//! - both changed: 3-way merged; conflicts become markers, never `.rej` files;
//! - present but never recorded: kept as the local version, unless it may be replaced.
//!
//! Lines are compared without their endings, and what is written ends its lines as the local
//! file does, so a CRLF working copy merges line by line like any other.

use super::merge::{Eol, Labels, Merged, has_conflict_markers, merge3, to_lf};
use super::report::FileStatus;

pub(crate) struct Decision {
    /// The new owned text, when it changes.
    pub write: Option<String>,
    pub status: FileStatus,
    pub detail: Option<String>,
    /// Conflict markers are in the file (written now, or left from before).
    pub conflict: bool,
    /// The markers were there before: nothing was merged, the lock keeps its old base.
    pub refused: bool,
    /// Local edits to a part the template owns were kept.
    pub drift: bool,
}

impl Decision {
    fn new(write: Option<String>, status: FileStatus, detail: Option<&str>) -> Self {
        Self {
            write,
            status,
            detail: detail.map(str::to_string),
            conflict: false,
            refused: false,
            drift: false,
        }
    }
}

pub(crate) fn decide(
    base: Option<&str>,
    ours: Option<&str>,
    theirs: &str,
    replace: bool,
    labels: &Labels,
) -> Decision {
    let Some(ours) = ours else {
        let status = match base {
            Some(_) => FileStatus::Restored,
            None => FileStatus::Created,
        };
        return Decision::new(Some(theirs.to_string()), status, None);
    };
    let eol = Eol::of(ours);
    let (ours_lf, theirs_lf) = (to_lf(ours), to_lf(theirs));
    if ours_lf == theirs_lf {
        return Decision::new(None, FileStatus::Unchanged, None);
    }
    if has_conflict_markers(ours.as_bytes()) {
        return Decision {
            conflict: true,
            refused: true,
            ..Decision::new(
                None,
                FileStatus::Conflict,
                Some(
                    "conflict markers from an earlier sync: resolve them first, nothing was merged",
                ),
            )
        };
    }
    let Some(base) = base else {
        if replace {
            return Decision::new(
                Some(eol.apply(theirs)),
                FileStatus::Updated,
                Some("replaced by the template's version"),
            );
        }
        let mut decision = Decision::new(
            None,
            FileStatus::Kept,
            Some("exists and differs from the template: kept as the local version"),
        );
        decision.drift = true;
        return decision;
    };
    let base_lf = to_lf(base);
    if theirs_lf == base_lf {
        let mut decision = Decision::new(None, FileStatus::Kept, Some("edited locally"));
        decision.drift = true;
        return decision;
    }
    if ours_lf == base_lf {
        return Decision::new(Some(eol.apply(theirs)), FileStatus::Updated, None);
    }
    match merge3(&base_lf, &ours_lf, &theirs_lf, labels) {
        Merged::Clean(text) => Decision::new(
            Some(eol.apply(&text)),
            FileStatus::Merged,
            Some("local edits kept"),
        ),
        Merged::Conflict(text) => Decision {
            conflict: true,
            ..Decision::new(
                Some(eol.apply(&text)),
                FileStatus::Conflict,
                Some("resolve the <<<<<<< markers"),
            )
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::merge::tests::LABELS;

    #[test]
    fn the_four_cases_of_a_synced_file() {
        let d = |ours, theirs| decide(Some("a\nb\nc\n"), ours, theirs, false, &LABELS);
        assert_eq!(
            d(Some("a\nb\nc\n"), "a\nB\nc\n").status,
            FileStatus::Updated
        );
        let kept = d(Some("A\nb\nc\n"), "a\nb\nc\n");
        assert_eq!(
            (kept.status, kept.write, kept.drift),
            (FileStatus::Kept, None, true)
        );
        assert_eq!(
            d(Some("A\nb\nc\n"), "a\nb\nC\n").write.as_deref(),
            Some("A\nb\nC\n")
        );
        let conflict = d(Some("a\nmine\nc\n"), "a\ntheirs\nc\n");
        assert!(conflict.conflict);
        assert!(conflict.write.unwrap().contains("<<<<<<< local\nmine\n"));
        assert_eq!(d(None, "x\n").status, FileStatus::Restored);
    }

    #[test]
    fn an_unrecorded_file_is_kept_unless_replaced() {
        assert_eq!(
            decide(None, Some("mine\n"), "t\n", false, &LABELS).status,
            FileStatus::Kept
        );
        assert_eq!(
            decide(None, Some("mine\n"), "t\n", true, &LABELS)
                .write
                .as_deref(),
            Some("t\n")
        );
        assert_eq!(
            decide(None, Some("t\n"), "t\n", false, &LABELS).status,
            FileStatus::Unchanged
        );
    }

    #[test]
    fn crlf_copies_merge_line_by_line_and_stay_crlf() {
        let base = "a\nb\nc\nd\ne\n";
        let ours = "a\r\nB local\r\nc\r\nd\r\ne\r\n";
        let decision = decide(Some(base), Some(ours), "a\nb\nc\nd\nE\n", false, &LABELS);
        assert_eq!(decision.status, FileStatus::Merged);
        assert_eq!(
            decision.write.as_deref(),
            Some("a\r\nB local\r\nc\r\nd\r\nE\r\n")
        );
        let same = decide(
            Some(base),
            Some("a\r\nb\r\nc\r\nd\r\ne\r\n"),
            base,
            false,
            &LABELS,
        );
        assert_eq!(same.status, FileStatus::Unchanged);
    }

    #[test]
    fn markers_are_never_merged_into() {
        let ours = "a\n<<<<<<< local\nx\n=======\ny\n>>>>>>> template 2\n";
        let decision = decide(Some("a\n"), Some(ours), "a\nnew\n", false, &LABELS);
        assert!(decision.refused && decision.conflict && decision.write.is_none());
    }
}
