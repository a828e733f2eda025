//! Is the state a command is about to write the one the user meant? GitLab creates a state
//! on its first lock or write, so a typo in `--state` or `TF_STATE_NAME` silently starts a
//! new, empty state (and a plan against it proposes to create everything again). Before a
//! plan, apply or destroy, one listing call says whether the state exists; a missing state
//! whose name is close to an existing one is named ("did you mean"), and a first apply says
//! it creates the state. When the listing is not possible (a CI job token, which GraphQL
//! refuses; GitLab unreachable) the check is skipped with a debug line: terraform's own
//! calls will say what is wrong.

use anyhow::Result;

use crate::backend::Backend;
use crate::backend::gitlab::Client;
use crate::confirm::Ask;
use crate::context::Context;
use crate::problem::Problem;
use crate::settings::Origin;

/// What the command is about to do with the state.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Write {
    Plan,
    /// `auto_approve`: `--auto-approve`; `new_state`: `--new-state` (create a state whose
    /// name is close to an existing one, without a terminal).
    Apply {
        auto_approve: bool,
        new_state: bool,
    },
    Destroy,
}

#[derive(Debug, PartialEq)]
pub(crate) enum Existence {
    Exists,
    /// Not on GitLab; `close` is an existing state the name is probably a typo of.
    Missing {
        close: Option<String>,
    },
    /// The listing was not possible: nothing is known.
    Unknown,
}

/// One listing call (GraphQL; a numeric project id is resolved to its path first).
pub(crate) fn existence(ctx: &Context, backend: &Backend) -> Existence {
    let skip = |why: &str| {
        ctx.printer.debug(&format!(
            "not checking whether state `{}` exists: {why}",
            backend.state_name()
        ));
        Existence::Unknown
    };
    if backend.uses_job_token() {
        return skip("GitLab's GraphQL API does not take CI job tokens");
    }
    let spinner = ctx.printer.spinner("looking up the project's states");
    let listed = Client::new(backend).list_states();
    drop(spinner);
    let states = match listed {
        Ok(states) => states,
        Err(err) => return skip(&format!("the listing failed ({err:?})")),
    };
    let name = backend.state_name();
    // GitLab creates a state's record on its first lock, so a plan leaves an empty record:
    // without a version it holds nothing, and is still new for this check.
    if states
        .iter()
        .any(|s| s.name == name && s.latest_version.is_some())
    {
        return Existence::Exists;
    }
    // Only a name someone wrote can be a typo; a personal or CI default is new by design.
    let named = match &backend.state.origin {
        Origin::Flag | Origin::Env | Origin::DotEnv { .. } | Origin::InAddress { .. } => true,
        Origin::Derived { .. } | Origin::TfwToml | Origin::Default => false,
    };
    let close = named
        .then(|| closest(name, states.iter().map(|s| s.name.as_str())))
        .flatten()
        .map(str::to_string);
    Existence::Missing { close }
}

/// The existing name `name` is most likely a typo of: the same but for case, or one or two
/// edits away (one for short names), and not merely another number (`feature-12` is not a
/// typo of `feature-13`).
pub(crate) fn closest<'a>(name: &str, names: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let wanted = name.to_lowercase();
    let digitless = |s: &str| {
        s.chars()
            .filter(|c| !c.is_ascii_digit())
            .collect::<String>()
    };
    let limit = if wanted.chars().count() <= 6 { 1 } else { 2 };
    names
        .filter(|other| *other != name)
        .filter_map(|other| {
            let lower = other.to_lowercase();
            if lower != wanted && digitless(&lower) == digitless(&wanted) {
                return None;
            }
            let distance = strsim::damerau_levenshtein(&wanted, &lower);
            (distance <= limit).then_some((distance, other))
        })
        .min()
        .map(|(_, other)| other)
}

/// What the command does after the check.
#[derive(Debug, PartialEq)]
pub(crate) enum Next {
    Run,
    /// A destroy of a state GitLab does not have: nothing to do, and running terraform
    /// would only create an empty state.
    NothingToDo,
}

/// The check before a write: says, asks or refuses. Costs one listing call. `Plan` only
/// warns: a plan changes nothing, and the apply that follows is checked again.
pub(crate) fn check(ctx: &Context, backend: &Backend, write: Write) -> Result<Next> {
    let Existence::Missing { close } = existence(ctx, backend) else {
        return Ok(Next::Run);
    };
    let state = backend.state_name();
    let printer = &ctx.printer;
    let missing = format!("state `{state}` does not exist on GitLab");
    match (write, close) {
        (Write::Plan, Some(close)) => printer.warning(&format!(
            "{missing}; did you mean `{close}`? This plan is against a new, empty state"
        )),
        (Write::Plan, None) => {
            printer.debug(&format!("{missing} yet: its first apply creates it"));
        }
        (Write::Destroy, Some(close)) => {
            return Err(Problem::error(format!(
                "{missing}; did you mean `{close}`? Nothing was changed"
            ))
            .hint(format!("run `tfw --state {close} destroy`"))
            .into());
        }
        // A cleanup job may destroy what was never created: that is done, not an error.
        (Write::Destroy, None) => {
            printer.status(&format!("{missing}: nothing to destroy"));
            return Ok(Next::NothingToDo);
        }
        (Write::Apply { new_state, .. }, Some(close)) => {
            if printer.interactive() {
                printer.warning(&format!("{missing}; did you mean `{close}`?"));
                ask_create(ctx, state)?;
            } else if new_state {
                printer.status(&format!("Creating the new state `{state}` (--new-state)"));
            } else {
                return Err(Problem::error(format!("{missing}; did you mean `{close}`?"))
                    .hint(format!(
                        "run `tfw --state {close} apply`; if `{state}` is meant to be a new state, add `--new-state`"
                    ))
                    .into());
            }
        }
        // On a terminal without `--auto-approve` the apply's own confirmation follows this
        // line; with it, the creation is still asked. Without a terminal the line stands in
        // the log.
        (Write::Apply { auto_approve, .. }, None) => {
            printer.status(&format!(
                "`{state}` does not exist on GitLab yet: this apply creates it"
            ));
            if auto_approve && printer.interactive() {
                ask_create(ctx, state)?;
            }
        }
    }
    Ok(Next::Run)
}

fn ask_create(ctx: &Context, state: &str) -> Result<()> {
    Ask {
        command: "tfw apply",
        action: &format!("create the new state `{state}`"),
    }
    .yes(&ctx.printer, false, "--new-state")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: &[&str] = &["prod", "staging", "dev-alice", "feature-12", "production"];

    #[test]
    fn typos_are_found() {
        let close = |name| closest(name, NAMES.iter().copied());
        assert_eq!(close("prdo"), Some("prod"));
        assert_eq!(close("Prod"), Some("prod"));
        assert_eq!(close("PROD"), Some("prod"));
        assert_eq!(close("stagign"), Some("staging"));
        assert_eq!(close("dev-alcie"), Some("dev-alice"));
        assert_eq!(close("productoin"), Some("production"));
    }

    #[test]
    fn other_names_are_not_typos() {
        let close = |name| closest(name, NAMES.iter().copied());
        assert_eq!(close("prod"), None, "the name itself");
        assert_eq!(close("feature-13"), None, "another number");
        assert_eq!(close("staging-eu"), None);
        assert_eq!(close("qa"), None);
        assert_eq!(close("dev-bob"), None);
    }
}
