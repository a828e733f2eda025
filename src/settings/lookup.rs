//! Where each value comes from: the process environment first, then `.env`, and the state
//! with its own precedence (flag, `TF_STATE_NAME`, CI default, personal state).

use std::path::Path;

use super::Settings;
use crate::origin::{Origin, Value};
use crate::problem::Problem;

impl Settings {
    /// A key's value: process environment first, then `.env`. Empty counts as unset, as
    /// terraform treats its `TF_HTTP_*` variables.
    pub(crate) fn lookup(&self, key: &str) -> Option<Value> {
        if let Some(value) = self.env.get(key).filter(|v| !v.is_empty()) {
            return Some(Value {
                value: value.clone(),
                origin: Origin::Env,
            });
        }
        let dotenv = self.dotenv.as_ref()?;
        let value = dotenv.get(key).filter(|v| !v.is_empty())?;
        Some(Value {
            value: value.to_string(),
            origin: Origin::DotEnv {
                line: dotenv.line(key).unwrap_or(0),
                file: dotenv.file(key).to_path_buf(),
            },
        })
    }

    pub(super) fn dotenv_line(&self, key: &str) -> Option<usize> {
        self.dotenv.as_ref().and_then(|d| d.line(key))
    }

    pub(super) fn at_key(&self, problem: Problem, key: &str) -> Problem {
        match self.dotenv_line(key) {
            Some(line) if !self.env.contains_key(key) => {
                problem.at(self.dotenv_file(key), Some(line))
            }
            _ => problem,
        }
    }

    /// The `.env` file that defines `key` (the working directory's when none does).
    pub(super) fn dotenv_file(&self, key: &str) -> &Path {
        self.dotenv.as_ref().map_or(&self.env_file, |d| d.file(key))
    }

    /// The state `TF_HTTP_ADDRESS` names (its last segment, decoded), with the origin of the
    /// address itself. `None` without an address, or one that is not a state address.
    pub(crate) fn address_state(&self) -> Option<(Value, Origin)> {
        let address = self.lookup("TF_HTTP_ADDRESS")?;
        let parsed = crate::backend::parse_address(&address.value)?;
        let name = crate::backend::decode_segment(&parsed.last_segment);
        if name.is_empty() {
            return None;
        }
        let value = Value {
            value: name,
            origin: Origin::InAddress {
                from: format!(
                    "TF_HTTP_ADDRESS at {}",
                    address.origin.describe(&self.env_file)
                ),
            },
        };
        Some((value, address.origin))
    }

    fn address_names_unreadable_state(&self) -> bool {
        self.lookup("TF_HTTP_ADDRESS").is_some_and(|address| {
            crate::backend::parse_address(&address.value)
                .is_none_or(|parsed| !parsed.last_segment.is_empty())
        })
    }

    pub(crate) fn username(&self) -> Option<String> {
        self.lookup("TF_HTTP_USERNAME").map(|v| v.value)
    }

    /// The state: `--state` > what names one in the shell (`TF_STATE_NAME`, then the last
    /// segment of `TF_HTTP_ADDRESS`) > the same in `.env` > CI default > personal. A
    /// Makefile-era `.env` names its state only in `TF_HTTP_ADDRESS`: that is the state, never
    /// the personal one (which applies only when nothing names a state).
    pub fn state(&self) -> Option<Value> {
        if let Some(flag) = &self.state_flag {
            return Some(Value {
                value: flag.clone(),
                origin: Origin::Flag,
            });
        }
        // The root's mapping decides; anything naming another state is an error of its own.
        if let Some(mapped) = self.mapped_state() {
            return Some(mapped);
        }
        let named = self.lookup("TF_STATE_NAME");
        let from_address = self.address_state();
        match (named, from_address) {
            (Some(named), Some((address, Origin::Env))) if named.origin != Origin::Env => {
                return Some(address);
            }
            (Some(named), _) => return Some(named),
            (None, Some((address, _))) => return Some(address),
            // An address tfw cannot read names no state it could trust: its own error says
            // what is wrong, and no personal state stands in for the one it meant.
            (None, None) if self.address_names_unreadable_state() => return None,
            (None, None) => {}
        }
        // Written but empty is a mistake to report, not a request for the default.
        if let Some(dotenv) = &self.dotenv
            && dotenv.get("TF_STATE_NAME") == Some("")
            && !self.env.contains_key("TF_STATE_NAME")
        {
            return Some(Value {
                value: String::new(),
                origin: Origin::DotEnv {
                    line: dotenv.line("TF_STATE_NAME").unwrap_or(0),
                    file: dotenv.file("TF_STATE_NAME").to_path_buf(),
                },
            });
        }
        if self.ci && self.dotenv.is_none() {
            return Some(match &self.project.file.ci_state {
                Some(name) => Value {
                    value: name.clone(),
                    origin: Origin::TfwToml,
                },
                None => Value {
                    value: "gitlab-ci".into(),
                    origin: Origin::Default,
                },
            });
        }
        let username = self.username()?;
        Some(Value {
            value: self.project.personal_state(&username),
            origin: Origin::Derived {
                from: "TF_HTTP_USERNAME (personal state)".into(),
            },
        })
    }

    pub(super) fn missing(&self, key: &str, example: &str) -> Problem {
        let problem = match self.lookup(key) {
            Some(_) => Problem::error(format!("`{key}` is empty")),
            None if self.dotenv.as_ref().and_then(|d| d.get(key)).is_some() => {
                Problem::error(format!("`{key}` is empty"))
            }
            None => Problem::error(format!("`{key}` is missing")),
        };
        let problem = match self.dotenv_line(key) {
            Some(line) => problem.at(self.dotenv_file(key), Some(line)),
            None => problem.at(&self.env_file, None),
        };
        problem.hint(format!(
            "add `{key}=\"{example}\"` to {}",
            self.env_file_name()
        ))
    }

    pub(super) fn env_file_name(&self) -> String {
        self.env_file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| ".env".into())
    }
}

#[cfg(test)]
mod tests {
    use super::super::for_tests;

    const ADDRESS: &str = "https://g.example.com/api/v4/projects/42/terraform/state";

    fn state(dotenv: &str, env: &[(&str, &str)], flag: Option<&str>) -> (String, String) {
        let settings = for_tests(dotenv, env, flag);
        let state = settings.state().expect("a state");
        (state.value, state.origin.describe(&settings.env_file))
    }

    #[test]
    fn the_address_names_the_state_when_nothing_else_does() {
        let dotenv = format!("TF_HTTP_USERNAME=alice\nTF_HTTP_ADDRESS={ADDRESS}/shared\n");
        let (name, from) = state(&dotenv, &[], None);
        assert_eq!(name, "shared");
        assert_eq!(
            from,
            "derived from TF_HTTP_ADDRESS at /nonexistent/tfw-unit/.env:2"
        );
        // Told apart from the other derived names by its kind, not by that description.
        let settings = for_tests(&dotenv, &[], None);
        let origin = settings.state().expect("a state").origin;
        assert!(
            matches!(origin, crate::origin::Origin::InAddress { .. }),
            "{origin:?}"
        );
        assert_eq!(
            serde_json::to_value(&origin).unwrap()["kind"],
            "derived",
            "`tfw env --json` shows it as before"
        );
        // Encoded names are decoded.
        let dotenv = format!("TF_HTTP_USERNAME=alice\nTF_HTTP_ADDRESS={ADDRESS}/team%2Fdev\n");
        assert_eq!(state(&dotenv, &[], None).0, "team/dev");
    }

    #[test]
    fn precedence_flag_shell_then_dotenv_then_personal() {
        let dotenv = format!(
            "TF_HTTP_USERNAME=alice\nTF_STATE_NAME=from-dotenv\nTF_HTTP_ADDRESS={ADDRESS}/from-dotenv\n"
        );
        assert_eq!(state(&dotenv, &[], Some("flag")).0, "flag");
        assert_eq!(
            state(&dotenv, &[("TF_STATE_NAME", "shell")], None).0,
            "shell"
        );
        let shell_address = format!("{ADDRESS}/shell-address");
        assert_eq!(
            state(&dotenv, &[("TF_HTTP_ADDRESS", &shell_address)], None).0,
            "shell-address",
            "the shell's address wins over .env's TF_STATE_NAME"
        );
        assert_eq!(state(&dotenv, &[], None).0, "from-dotenv");
        let (name, from) = state("TF_HTTP_USERNAME=alice\n", &[], None);
        assert_eq!(name, "dev-alice");
        assert!(from.contains("personal state"), "{from}");
    }

    #[test]
    fn an_unreadable_address_names_no_state_and_no_personal_one() {
        let settings = for_tests(
            "TF_HTTP_USERNAME=alice\nTF_HTTP_ADDRESS=https://g.example.com/state/x\n",
            &[],
            None,
        );
        assert_eq!(settings.state(), None);
        // An address ending in `/state/` (an empty `${TF_STATE_NAME}`) names nothing.
        let dotenv = format!("TF_HTTP_USERNAME=alice\nTF_HTTP_ADDRESS={ADDRESS}/\n");
        assert_eq!(state(&dotenv, &[], None).0, "dev-alice");
    }
}
