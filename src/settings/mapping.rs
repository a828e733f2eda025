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
            Origin::Derived { from } | Origin::InAddress { from } => from.clone(),
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use tempfile::TempDir;

    use super::super::Settings;

    /// A repository with `tfw.toml` at its root and `.env` in `envs/prod` (the folder lives
    /// as long as the settings that read it).
    fn root(
        toml: &str,
        dotenv: &str,
        env: &[(&str, &str)],
        flag: Option<&str>,
    ) -> (TempDir, Settings) {
        let temp = tempfile::tempdir().unwrap();
        let repo = temp.path();
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        std::fs::create_dir_all(repo.join("envs/prod")).unwrap();
        std::fs::write(repo.join("tfw.toml"), toml).unwrap();
        std::fs::write(repo.join("envs/prod/.env"), dotenv).unwrap();
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let settings = Settings::load_in(
            repo.join("envs/prod"),
            None,
            flag.map(str::to_string),
            env,
            false,
        );
        (temp, settings)
    }

    fn mismatch(settings: &Settings) -> Vec<String> {
        let mut problems = Vec::new();
        settings.check_mapping(&mut problems);
        problems.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn the_pattern_names_the_state_after_the_folder_or_the_user() {
        let (_repo, settings) = root("state = \"{root}\"\n", "", &[], None);
        let mapped = settings.mapped_state().expect("a mapping");
        assert_eq!(mapped.value, "prod");
        let (_repo, settings) = root(
            "state = \"{path}-{user}\"\n",
            "TF_HTTP_USERNAME=alice\n",
            &[],
            None,
        );
        assert_eq!(settings.mapped_state().unwrap().value, "envs-prod-alice");
        // `{user}` without a user name maps nothing rather than a state named `prod-`.
        let (_repo, settings) = root("state = \"{root}-{user}\"\n", "", &[], None);
        assert_eq!(settings.mapped_state(), None);
    }

    #[test]
    fn a_dotenv_naming_another_state_is_an_error_naming_both_files() {
        let (_repo, settings) = root("state = \"{root}\"\n", "TF_STATE_NAME=staging\n", &[], None);
        let found = mismatch(&settings);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("`staging`") && found[0].contains("maps to `prod`"),
            "{found:?}"
        );
        assert!(
            found[0].contains("tfw.toml"),
            "the mapping's file: {found:?}"
        );
        assert!(
            found[0].contains("envs/prod/.env"),
            "the .env's path: {found:?}"
        );
    }

    #[test]
    fn the_shell_and_an_address_are_held_to_the_mapping_too() {
        let (_repo, settings) = root(
            "state = \"{root}\"\n",
            "",
            &[("TF_STATE_NAME", "staging")],
            None,
        );
        assert_eq!(mismatch(&settings).len(), 1);
        let address =
            "TF_HTTP_ADDRESS=https://g.example.com/api/v4/projects/42/terraform/state/staging\n";
        let (_repo, settings) = root("state = \"{root}\"\n", address, &[], None);
        let found = mismatch(&settings);
        assert!(
            found.len() == 1 && found[0].contains("TF_HTTP_ADDRESS"),
            "{found:?}"
        );
    }

    #[test]
    fn agreeing_or_choosing_with_the_flag_is_no_problem() {
        let (_repo, settings) = root("state = \"{root}\"\n", "TF_STATE_NAME=prod\n", &[], None);
        assert!(mismatch(&settings).is_empty());
        let (_repo, settings) = root(
            "state = \"{root}\"\n",
            "TF_STATE_NAME=staging\n",
            &[],
            Some("staging"),
        );
        assert!(
            mismatch(&settings).is_empty(),
            "`--state` chooses for one command"
        );
        let (_repo, settings) = root("", "TF_STATE_NAME=staging\n", &[], None);
        assert!(
            mismatch(&settings).is_empty(),
            "no mapping, nothing to disagree with"
        );
    }
}
