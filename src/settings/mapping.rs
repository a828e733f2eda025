//! A root's own state, mapped in `tfw.toml` (`state = "{root}"`, or a fixed name): it wins
//! over `.env` and the shell, which may only agree with it. A `.env` naming another state
//! than its folder's mapping is how one environment's plan ends up on another's state.

use super::{Origin, Settings, Value, short};
use crate::problem::Problem;

impl Settings {
    /// The state `tfw.toml` maps this root to, with where the mapping was written.
    pub(crate) fn mapped_state(&self) -> Option<Value> {
        let username = self.username();
        let (state, pattern, file) = self.project.mapped_state(username.as_deref())?;
        Some(Value {
            value: state,
            origin: Origin::Derived {
                from: format!("`state = \"{pattern}\"` in {}", file.display()),
            },
        })
    }

    /// `TF_STATE_NAME` (or the state `TF_HTTP_ADDRESS` names) disagreeing with the mapping:
    /// an error naming both files, unless `--state` chose for this one command.
    pub(super) fn check_mapping(&self, problems: &mut Vec<Problem>) {
        if self.state_flag.is_some() {
            return;
        }
        let Some(mapped) = self.mapped_state() else {
            return;
        };
        let named = self
            .lookup("TF_STATE_NAME")
            .map(|value| (value, "TF_STATE_NAME"))
            .or_else(|| {
                self.address_state()
                    .map(|(value, _)| (value, "TF_HTTP_ADDRESS"))
            });
        let Some((named, key)) = named else { return };
        if named.value == mapped.value {
            return;
        }
        let from = match &named.origin {
            Origin::Derived { from } => from.clone(),
            origin => origin.describe(&self.env_file),
        };
        let problem = Problem::error(format!(
            "`{key}` names the state `{}` ({from}), but this root maps to `{}` ({})",
            short(&named.value),
            short(&mapped.value),
            mapped.origin.describe(&self.env_file)
        ))
        .hint(format!(
            "delete `{key}` so the mapping decides, or pass `--state {}` to choose for one command",
            short(&named.value)
        ));
        problems.push(self.at_key(problem, key));
    }
}
