//! `tfw state prune`: personal states of people who left, not updated for a while. Dry-run
//! by default. "Left" comes from the project's member list (`members/all`, inherited members
//! included): an owner who is no longer a member, or whose account is blocked or deactivated.
//! When GitLab will not give the list (role, older instance), every stale personal state is
//! listed and the output says so. Never your own, a protected, or a locked state; and a
//! state that still tracks resources is not deleted (it is the only handle on them).

use std::time::Duration;

use anyhow::Result;

use crate::backend::gitlab::{ApiError, Member, StateInfo};
use crate::backend::identity::Identity;
use crate::confirm::Ask;
use crate::exit::ExitCode;
use crate::printer::StdoutError;
use crate::problem::Problem;
use crate::project::Project;
use crate::states::delete::{delete, download, report};
use crate::states::document::Summary;
use crate::states::listing::{age, columns, elapsed};
use crate::states::remote::Remote;

pub(crate) struct Options<'a> {
    pub older_than: &'a str,
    pub delete: bool,
    pub yes: bool,
}

#[derive(Debug, PartialEq)]
pub(crate) struct Candidate {
    pub name: String,
    pub owner: Option<String>,
    pub updated_at: String,
    pub why: String,
}

pub(crate) fn run(remote: &Remote, options: &Options) -> Result<ExitCode> {
    let ctx = remote.ctx;
    let printer = &ctx.printer;
    let threshold = humantime::parse_duration(options.older_than).map_err(|err| {
        Problem::error(format!(
            "`--older-than {}` is not a duration: {err}",
            options.older_than
        ))
        .hint("write it like 30d, 12h or 2w")
    })?;
    let states = remote.states()?;
    let spinner = printer.spinner("asking GitLab for the project's members");
    let members = remote.client.project_members();
    drop(spinner);
    let members = match members {
        Ok(members) => Some(members),
        Err(err) => {
            let reason = match err {
                ApiError::Status { code, .. } => format!("GitLab answered {code}"),
                ApiError::Transport(transport) => transport.to_string(),
                ApiError::Unreached(unreached) => unreached.describe().0,
                ApiError::JobToken { what } => {
                    format!("GitLab does not accept CI's job token to {what}")
                }
            };
            printer.warning(&format!(
                "cannot list the project's members ({reason}): tfw cannot tell who left, so every stale personal state is listed"
            ));
            None
        }
    };
    // Your own personal state is never a candidate; "you" is the token's user, as GitLab
    // knows it, not `TF_HTTP_USERNAME`.
    // When GitLab cannot say, the `TF_HTTP_USERNAME`'s state is kept too: keeping is safe.
    let identity = Identity::of(&remote.client, &ctx.settings.env);
    let me = identity
        .username()
        .map(str::to_string)
        .or_else(|| ctx.settings.username());
    let candidates = select(
        &ctx.settings.project,
        &states,
        members.as_deref(),
        me.as_deref(),
        threshold,
    );
    if candidates.is_empty() {
        printer.status(&format!(
            "no personal state of someone who left is older than {}",
            options.older_than
        ));
        return Ok(ExitCode::Success);
    }
    print_table(ctx, &candidates)?;
    if !options.delete {
        printer.status(&format!(
            "{} stale personal state(s); this was a dry run, nothing was deleted",
            candidates.len()
        ));
        printer.hint("`tfw state prune --delete` deletes them (each one backed up first)");
        return Ok(ExitCode::Success);
    }
    Ask {
        command: "tfw state prune --delete",
        action: &format!("delete these {} state(s)", candidates.len()),
    }
    .yes(&ctx.printer, options.yes, "--yes")?;
    let mut failed = 0;
    for candidate in &candidates {
        let name = candidate.name.as_str();
        let outcome = prune_one(remote, name);
        if let Err(err) = outcome {
            printer.failure(&err);
            failed += 1;
        }
    }
    if failed > 0 {
        return Err(Problem::error(format!(
            "{failed} of {} state(s) were not deleted",
            candidates.len()
        ))
        .into());
    }
    Ok(ExitCode::Success)
}

fn prune_one(remote: &Remote, name: &str) -> Result<ExitCode> {
    let bytes = download(remote, name)?;
    let resources = bytes
        .as_deref()
        .and_then(Summary::parse)
        .map_or(0, |s| s.resources);
    if resources > 0 {
        return Err(Problem::error(format!(
            "not deleting `{name}`: it still tracks {resources} resource(s), which deleting the state would leave unmanaged"
        ))
        .hint(format!("destroy them first with `tfw --state {name} destroy`"))
        .into());
    }
    let (backup, outcome) = delete(remote, name, bytes.as_deref())?;
    report(remote, name, backup, outcome)
}

fn print_table(ctx: &crate::context::Context, candidates: &[Candidate]) -> Result<(), StdoutError> {
    let header = ["NAME", "OWNER", "UPDATED", "WHY"]
        .map(String::from)
        .to_vec();
    let rows = candidates.iter().map(|c| {
        vec![
            c.name.clone(),
            c.owner.clone().unwrap_or_else(|| "-".into()),
            age(&c.updated_at).unwrap_or_else(|| c.updated_at.clone()),
            c.why.clone(),
        ]
    });
    ctx.printer
        .lines(columns(std::iter::once(header).chain(rows).collect(), &[]))
}

/// The owner a personal state is named after, by the project's rule (`dev-{username}`).
pub(crate) fn owner_of(project: &Project, name: &str) -> Option<String> {
    let rule = project.file.personal.as_deref().unwrap_or("dev-{username}");
    let (prefix, suffix) = rule.split_once("{username}")?;
    let owner = name.strip_prefix(prefix)?.strip_suffix(suffix)?;
    (!owner.is_empty()).then(|| owner.to_string())
}

/// The stale personal states of people who left (`members: None`: membership unknown).
pub(crate) fn select(
    project: &Project,
    states: &[StateInfo],
    members: Option<&[Member]>,
    me: Option<&str>,
    older_than: Duration,
) -> Vec<Candidate> {
    states
        .iter()
        .filter(|s| project.looks_personal(&s.name) && !project.is_protected(&s.name))
        .filter(|s| me.is_none_or(|me| !project.is_personal(&s.name, Some(me))))
        .filter(|s| s.locked_at.is_none() && s.locked_by.is_none())
        .filter_map(|s| {
            let updated_at = s.updated_at.clone()?;
            if elapsed(&updated_at)? < older_than {
                return None;
            }
            let owner = owner_of(project, &s.name);
            let why = match (members, owner.as_deref()) {
                (None, _) => "membership not checked".to_string(),
                (Some(_), None) => return None,
                (Some(members), Some(owner)) => {
                    match members
                        .iter()
                        .find(|m| m.username.eq_ignore_ascii_case(owner))
                    {
                        None => "not a project member".to_string(),
                        Some(m) => match m.state.as_deref() {
                            None | Some("active") => return None,
                            Some(other) => format!("account {other}"),
                        },
                    }
                }
            };
            Some(Candidate {
                name: s.name.clone(),
                owner,
                updated_at,
                why,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::ProjectFile;

    fn state(name: &str, updated: &str, locked: bool) -> StateInfo {
        serde_json::from_value(serde_json::json!({
            "name": name,
            "updatedAt": updated,
            "lockedAt": if locked { Some(updated) } else { None },
            "lockedByUser": null,
            "latestVersion": null,
        }))
        .unwrap()
    }

    fn member(username: &str, state: &str) -> Member {
        Member {
            username: username.into(),
            state: Some(state.into()),
            access_level: Some(30),
        }
    }

    #[test]
    fn only_stale_personal_states_of_people_who_left() {
        let project = Project::default();
        let old = "2020-01-01T00:00:00Z";
        let new = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        let states = vec![
            state("dev-alice", old, false),
            state("dev-bob", old, false),
            state("dev-carol", old, false),
            state("dev-dave", old, false),
            state("dev-erin", &new, false),
            state("dev-frank", old, true),
            state("staging", old, false),
        ];
        let members = vec![
            member("alice", "active"),
            member("carol", "active"),
            member("dave", "blocked"),
        ];
        let month = Duration::from_secs(30 * 86_400);
        let picked = select(&project, &states, Some(&members), Some("alice"), month);
        let names: Vec<(&str, &str)> = picked
            .iter()
            .map(|c| (c.name.as_str(), c.why.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("dev-bob", "not a project member"),
                ("dev-dave", "account blocked")
            ]
        );
        let unknown = select(&project, &states, None, Some("alice"), month);
        let names: Vec<&str> = unknown.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["dev-bob", "dev-carol", "dev-dave"]);
    }

    #[test]
    fn owner_from_a_custom_rule() {
        let file: ProjectFile = toml::from_str("personal = \"{username}-sandbox\"").unwrap();
        let project = Project {
            file,
            ..Default::default()
        };
        assert_eq!(owner_of(&project, "bob-sandbox").as_deref(), Some("bob"));
        assert_eq!(owner_of(&project, "staging"), None);
    }
}
