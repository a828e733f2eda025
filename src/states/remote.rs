//! Every call tfw makes about states goes through `Remote`: a spinner while GitLab thinks, and
//! a failure turned into a message naming the state (401 token, 403 role, 404 project/state).

use anyhow::Result;

use crate::backend::Backend;
use crate::backend::gitlab::{ApiError, ApiResult, Client, StateInfo};
use crate::context::Context;
use crate::problem::Problem;

pub(crate) struct Remote<'a> {
    pub ctx: &'a Context,
    pub backend: Backend,
    pub client: Client,
}

impl<'a> Remote<'a> {
    /// The validated backend of the current settings (warnings printed, errors returned).
    pub(crate) fn new(ctx: &'a Context) -> Result<Self> {
        let backend = ctx.backend()?;
        let client = Client::new(&backend);
        Ok(Self {
            ctx,
            backend,
            client,
        })
    }

    /// The state a command is about: the one named, else the current one.
    pub(crate) fn target(&self, name: Option<&str>) -> String {
        name.unwrap_or(self.backend.state_name()).to_string()
    }

    /// Runs one call under a spinner. `what` is a verb phrase ("list the project's states"):
    /// the spinner says "asking GitLab to {what}", a failure "cannot {what}: <cause>".
    pub(crate) fn call<T>(
        &self,
        state: &str,
        what: &str,
        call: impl FnOnce(&Client) -> ApiResult<T>,
    ) -> Result<T> {
        // A name typed as an argument (`tfw state show NAME`) goes into the request URL: a
        // token pasted there must not travel, as for `--state`.
        if crate::settings::token_like(state, &self.ctx.settings.token_values()) {
            return Err(Problem::error(format!(
                "the state name given {}",
                crate::settings::TOKEN_MESSAGE
            ))
            .hint(crate::settings::TOKEN_HINT)
            .into());
        }
        let spinner = self
            .ctx
            .printer
            .spinner(&format!("asking GitLab to {what}"));
        let result = call(&self.client);
        drop(spinner);
        result.map_err(|err| self.failure(state, what, &err))
    }

    /// A failed call about `state` as the error the user sees: "cannot {what}: <cause>".
    pub(crate) fn failure(&self, state: &str, what: &str, err: &ApiError) -> anyhow::Error {
        err.problem(&format!("cannot {what}"), &self.backend.for_state(state))
            .into()
    }

    /// Every state of the project, sorted by name.
    pub(crate) fn states(&self) -> Result<Vec<StateInfo>> {
        let state = self.backend.state_name().to_string();
        let mut states = self.call(&state, "list the project's states", Client::list_states)?;
        states.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(states)
    }

    /// One state's GraphQL record; an error naming the known states when there is none.
    pub(crate) fn info(&self, name: &str) -> Result<StateInfo> {
        let states = self.states()?;
        let names: Vec<String> = states.iter().map(|s| s.name.clone()).collect();
        if let Some(found) = states.into_iter().find(|s| s.name == name) {
            return Ok(found);
        }
        Err(self.missing(name, &names).into())
    }

    /// GitLab has no state `name` among `known`. GitLab lists no states at all to a Reporter
    /// or Guest, so an empty listing is checked against the token's role: "no states yet"
    /// would name a cause GitLab did not give.
    pub(crate) fn missing(&self, name: &str, known: &[String]) -> Problem {
        if known.is_empty()
            && let Ok(info) = self.client.project_info()
            && let Some(level) = info.access_level.filter(|l| *l < 30)
        {
            return Problem::error(format!(
                "GitLab lists no states of `{}` to this token: its user's role there is {}, and GitLab shows Terraform states only to Developers and up",
                info.path_with_namespace,
                crate::backend::gitlab::role_name(level)
            ))
            .hint("ask a project Maintainer for the Developer role (reading) or Maintainer (changing states)");
        }
        no_such_state(name, known)
    }
}

/// GitLab has no state of that name: say which ones it has, and the nearest one.
pub(crate) fn no_such_state(name: &str, known: &[String]) -> Problem {
    let problem = Problem::error(format!("GitLab has no state `{name}` in this project"));
    match nearest(name, known) {
        Some(near) => problem.hint(format!(
            "did you mean `{near}`? (`tfw state list` shows them all)"
        )),
        None if known.is_empty() => problem.hint("the project has no states yet"),
        None => problem.hint(format!("known states: {}", known.join(", "))),
    }
}

/// The known name closest to `name`, when it is close enough to be a typo.
pub(crate) fn nearest<'k>(name: &str, known: &'k [String]) -> Option<&'k str> {
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(name, k), k.as_str()))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}
