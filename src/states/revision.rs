//! The two sides `tfw state diff` compares: a version GitLab keeps (by serial, or the
//! latest), a local file (a backup in `.tfw/backups/`), or the state the current saved plan
//! would leave. Each side is read and flattened here, and every way it can be missing or
//! unreadable is an error that names the side.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Serialize;

use crate::problem::Problem;
use crate::session::{Root, Session};
use crate::states::remote::Remote;
use crate::states::snapshot::Snapshot;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Revision {
    Latest,
    Serial(u64),
    Plan,
    File(PathBuf),
}

impl Revision {
    /// `latest`, `plan`, a serial, or a path (has a `/`, or ends in `.tfstate`/`.json`);
    /// `None` for anything else, which is then a state name.
    pub(crate) fn parse(text: &str) -> Option<Revision> {
        match text {
            "latest" => Some(Revision::Latest),
            "plan" => Some(Revision::Plan),
            _ if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => {
                text.parse().ok().map(Revision::Serial)
            }
            _ if text.contains('/') || text.ends_with(".tfstate") || text.ends_with(".json") => {
                Some(Revision::File(PathBuf::from(text)))
            }
            _ => None,
        }
    }
}

/// One side of a diff, as `--json` shows it (stable field names, see docs/states.md).
#[derive(Debug, Serialize)]
pub(crate) struct Side {
    /// `version`, `backup`, `file` or `plan`.
    pub kind: &'static str,
    /// For people: `version 7 (latest)`, `backup .tfw/backups/...`, `saved plan`.
    pub label: String,
    pub serial: Option<u64>,
    pub lineage: Option<String>,
    pub terraform_version: Option<String>,
    pub resources: usize,
    #[serde(skip)]
    pub snapshot: Snapshot,
}

impl Side {
    fn new(kind: &'static str, label: String, snapshot: Snapshot) -> Side {
        Side {
            kind,
            label,
            serial: snapshot.serial,
            lineage: snapshot.lineage.clone(),
            terraform_version: snapshot.terraform_version.clone(),
            resources: snapshot.resource_count(),
            snapshot,
        }
    }
}

pub(crate) fn load(remote: &Remote, state: &str, revision: &Revision) -> Result<Side> {
    match revision {
        Revision::Latest => latest(remote, state),
        Revision::Serial(serial) => {
            let bytes = remote
                .call(
                    state,
                    &format!("download version {serial} of `{state}`"),
                    |c| c.get_version(state, *serial),
                )?
                .ok_or_else(|| missing_version(state, *serial))?;
            let snapshot = parse(&bytes, &format!("version {serial} of `{state}`"))?;
            Ok(Side::new("version", format!("version {serial}"), snapshot))
        }
        Revision::File(path) => file(remote, path),
        Revision::Plan => plan(remote, state),
    }
}

pub(crate) fn latest(remote: &Remote, state: &str) -> Result<Side> {
    let bytes = crate::states::delete::download(remote, state)?.ok_or_else(|| {
        Problem::error(format!("GitLab holds no data for state `{state}`"))
            .hint("`tfw state list` shows the states that exist")
    })?;
    latest_of(state, &bytes)
}

/// The latest version, or an empty state when GitLab has none yet (a plan for a new state
/// is then all additions).
pub(crate) fn latest_or_empty(remote: &Remote, state: &str) -> Result<Side> {
    match crate::states::delete::download(remote, state)? {
        Some(bytes) => latest_of(state, &bytes),
        None => Ok(Side::new(
            "version",
            "no state yet".into(),
            Snapshot::default(),
        )),
    }
}

fn latest_of(state: &str, bytes: &[u8]) -> Result<Side> {
    let snapshot = parse(bytes, &format!("the latest version of `{state}`"))?;
    let label = match snapshot.serial {
        Some(serial) => format!("version {serial} (latest)"),
        None => "latest".into(),
    };
    Ok(Side::new("version", label, snapshot))
}

/// The newest version below `serial`, probing at most `GAPS` serials down.
pub(crate) fn previous(remote: &Remote, state: &str, serial: u64) -> Result<Side> {
    let lowest = serial.saturating_sub(crate::states::versions::GAPS);
    for below in (lowest..serial).rev() {
        let bytes = remote.call(
            state,
            &format!("download version {below} of `{state}`"),
            |c| c.get_version(state, below),
        )?;
        if let Some(bytes) = bytes {
            let snapshot = parse(&bytes, &format!("version {below} of `{state}`"))?;
            return Ok(Side::new("version", format!("version {below}"), snapshot));
        }
    }
    Err(Problem::error(format!(
        "GitLab has no version of `{state}` older than serial {serial} (probed down to {lowest})"
    ))
    .hint(format!(
        "compare with a backup instead: `tfw state diff {state} .tfw/backups/{}/FILE`",
        crate::backend::encode_segment(state)
    ))
    .into())
}

pub(crate) fn missing_version(state: &str, serial: u64) -> Problem {
    let problem = Problem::error(format!("GitLab has no version {serial} of state `{state}`"));
    if state.contains('.') {
        // GitLab's versions route does not match a name with a dot (its state routes do).
        return problem.hint("GitLab's versions route does not match state names that contain a dot; compare a backup instead (`.tfw/backups/`)");
    }
    problem.hint(format!(
        "`tfw state history {state}` lists the versions GitLab keeps"
    ))
}

fn parse(bytes: &[u8], what: &str) -> Result<Snapshot> {
    Snapshot::from_state(bytes).map_err(|reason| {
        Problem::error(format!("{what} is not a state tfw can read: {reason}"))
            .hint("`tfw state pull --serial N -o FILE` downloads it as GitLab stored it")
            .into()
    })
}

fn file(remote: &Remote, path: &Path) -> Result<Side> {
    let full = remote.ctx.dir().join(path);
    let bytes = std::fs::read(&full).map_err(|err| {
        Problem::error(format!("cannot read `{}`: {err}", path.display()))
            .hint("backups are in .tfw/backups/<state>/; `ls .tfw/backups/*` lists them")
    })?;
    let snapshot = parse(&bytes, &format!("`{}`", path.display()))?;
    let kind = if crate::states::restore::backup_folder_state(path).is_some() {
        "backup"
    } else {
        "file"
    };
    Ok(Side::new(
        kind,
        format!("{kind} {}", path.display()),
        snapshot,
    ))
}

/// What the saved plan of `state` would leave: `show -json` of the plan file.
fn plan(remote: &Remote, state: &str) -> Result<Side> {
    let ctx = remote.ctx;
    let files = crate::plans::files_for(ctx.dir(), state);
    let meta = files.load_meta().ok_or_else(|| {
        Problem::error(format!("there is no saved plan for `{state}`"))
            .hint(format!("`tfw --state {state} plan` saves one"))
    })?;
    let backend = remote.backend.for_state(state);
    // Showing a plan runs terraform in this directory (and may init it): the session's way.
    let session = Session::with_backend(ctx, backend, Root::Any)?;
    session.init_if_needed()?;
    let shown = session.show_json(&files.plan).map_err(|_| {
        Problem::error(format!(
            "cannot read the saved plan of `{state}` (`show -json` failed)"
        ))
        .hint("run `tfw plan` again, with -v to see more")
    })?;
    let snapshot = Snapshot::from_plan(&shown).map_err(|reason| {
        Problem::error(format!("cannot read the saved plan of `{state}`: {reason}"))
    })?;
    Ok(Side::new(
        "plan",
        format!("saved plan ({})", meta.created),
        snapshot,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revisions_and_names() {
        assert_eq!(Revision::parse("41"), Some(Revision::Serial(41)));
        assert_eq!(Revision::parse("latest"), Some(Revision::Latest));
        assert_eq!(Revision::parse("plan"), Some(Revision::Plan));
        assert_eq!(
            Revision::parse(".tfw/backups/prod/1.tfstate"),
            Some(Revision::File(".tfw/backups/prod/1.tfstate".into()))
        );
        assert_eq!(Revision::parse("staging"), None);
        assert_eq!(Revision::parse("dev-alice"), None);
        assert_eq!(Revision::parse("-1"), None);
    }
}
