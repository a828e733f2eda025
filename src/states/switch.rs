//! Switching the current state, kubectx style: the one value `TF_STATE_NAME` is rewritten in
//! `.env` in place (comments, order, quoting, `export`, CRLF and the file mode kept; atomic
//! write), and the state we came from is remembered in `.tfw/previous-state` for `tfw use -`.
//! Nothing else is needed: the next command sees another address and re-initialises itself
//! with `-reconfigure` (see `session::init`), so no state is ever offered for copying.

use std::path::PathBuf;

use anyhow::Result;

use crate::backend::{decode_segment, encode_segment, parse_address};
use crate::context::Context;
use crate::dotenv::DotEnv;
use crate::problem::{Problem, Problems};
use crate::settings::Settings;

const STATE_KEY: &str = "TF_STATE_NAME";
const ADDRESS_KEY: &str = "TF_HTTP_ADDRESS";
const LOCK_KEYS: [&str; 2] = ["TF_HTTP_LOCK_ADDRESS", "TF_HTTP_UNLOCK_ADDRESS"];

pub(crate) fn previous_path(ctx: &Context) -> PathBuf {
    crate::layout::previous_state(ctx.dir())
}

pub(crate) fn previous(ctx: &Context) -> Option<String> {
    let text = crate::fsutil::read_regular_text(&previous_path(ctx)).ok()?;
    let name = text.trim_end_matches(['\r', '\n']);
    (!name.is_empty()).then(|| name.to_string())
}

/// The state `.env` selects: its `TF_STATE_NAME`, else the state its `TF_HTTP_ADDRESS`
/// names, else the personal state. The shell and `--state` do not count: this is what
/// `tfw use` changes.
pub(crate) fn dotenv_state(settings: &Settings) -> Option<String> {
    let dotenv = settings.dotenv.as_ref()?;
    let in_address = dotenv
        .get(ADDRESS_KEY)
        .and_then(parse_address)
        .map(|parsed| crate::backend::decode_segment(&parsed.last_segment))
        .filter(|name| !name.is_empty());
    match dotenv.get(STATE_KEY) {
        Some(name) => Some(name.to_string()),
        None if in_address.is_some() => in_address,
        None => {
            let username = settings.username()?;
            Some(settings.project.personal_state(&username))
        }
    }
}

pub(crate) enum Switch {
    /// `.env` already selected that state; nothing was written.
    AlreadyThere,
    /// `.env` was rewritten; `from` is the state it selected before, when known.
    Done { from: Option<String> },
}

/// Points `.env` at `name`, remembering where it pointed before.
pub(crate) fn switch(ctx: &Context, name: &str) -> Result<Switch> {
    let settings = &ctx.settings;
    let Some(dotenv) = &settings.dotenv else {
        let problem = settings
            .dotenv_problem
            .clone()
            .map(Problem::from)
            .unwrap_or_else(|| {
                Problem::error(format!("cannot read `{}`", settings.env_file.display()))
            });
        return Err(
            Problem::error(format!("there is no .env to switch: {}", problem.message))
                .hint("run `tfw setup` to write one (in CI, set TF_STATE_NAME in the job instead)")
                .into(),
        );
    };
    let from = dotenv_state(settings);
    if from.as_deref() == Some(name) {
        return Ok(Switch::AlreadyThere);
    }
    let text = edited(dotenv, name)?;
    check(settings, &text, name)?;
    // Checked before `previous-state` is written: a refused `.env` changes nothing at all.
    crate::fsutil::replaceable(&dotenv.path)?;
    // `previous-state` first: a kill between the two writes then leaves `.env` on the old
    // state and `tfw use -` pointing at it (harmless), never `tfw use -` aiming further back.
    if let Some(from) = &from {
        crate::fsutil::write_atomic(&previous_path(ctx), format!("{from}\n").as_bytes(), 0o644)?;
    }
    crate::fsutil::write_atomic(&dotenv.path, text.as_bytes(), 0o600)?;
    Ok(Switch::Done { from })
}

/// `.env`'s text with `TF_STATE_NAME` set to `name`. An address written out literally (not
/// ending in `${TF_STATE_NAME}`) is moved along, and so are literal lock addresses, so the
/// file never names two different states.
pub(crate) fn edited(dotenv: &DotEnv, name: &str) -> Result<String, Problem> {
    let mut text = dotenv.with_value(STATE_KEY, name);
    let Some(old_address) = dotenv.get(ADDRESS_KEY) else {
        return Ok(text);
    };
    let after = DotEnv::parse(&dotenv.path, text.clone())?;
    let Some(new_address) = after.get(ADDRESS_KEY) else {
        return Ok(text);
    };
    let wanted = encode_segment(name);
    let Some(parsed) = parse_address(new_address) else {
        return Ok(text);
    };
    if decode_segment(&parsed.last_segment) == name || new_address != old_address {
        // Substituted from `${TF_STATE_NAME}` (dotenvy did it), or not ours to touch.
        return Ok(text);
    }
    let address = format!("{}{wanted}", parsed.base);
    text = after.with_value(ADDRESS_KEY, &address);
    for key in LOCK_KEYS {
        let current = DotEnv::parse(&dotenv.path, text.clone())?;
        if current.get(key) == Some(&format!("{old_address}/lock")) {
            text = current.with_value(key, &format!("{address}/lock"));
        }
    }
    Ok(text)
}

/// Refuses an edit that would leave `.env` with an error it did not have (a name GitLab
/// cannot take, an address naming another state...). Nothing is written then. The errors of
/// the two validations are compared whole (severity, place, message, hint, kind), never by
/// a part of their wording.
fn check(settings: &Settings, text: &str, name: &str) -> Result<()> {
    let errors = |s: &Settings| -> Vec<Problem> {
        s.backend()
            .1
            .into_iter()
            .filter(Problem::is_error)
            .collect()
    };
    let before = errors(settings);
    let after = Settings {
        dir: settings.dir.clone(),
        env_file: settings.env_file.clone(),
        dotenv: Some(match &settings.dotenv {
            Some(dotenv) => {
                DotEnv::parse(&settings.env_file, text.to_string())?.with_shared_of(dotenv)
            }
            None => DotEnv::parse(&settings.env_file, text.to_string())?,
        }),
        dotenv_problem: None,
        project: settings.project.clone(),
        project_problem: settings.project_problem.clone(),
        env: settings.env.clone(),
        state_flag: None,
        ci: settings.ci,
    };
    let new: Vec<Problem> = errors(&after)
        .into_iter()
        .filter(|p| !before.contains(p))
        .collect();
    if new.is_empty() {
        return Ok(());
    }
    let mut problems = vec![Problem::error(format!(
        "not switching to `{name}`: {} would then be invalid; nothing was changed",
        settings.env_file.display()
    ))];
    problems.extend(new);
    Err(Problems(problems).into())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn parse(text: &str) -> DotEnv {
        DotEnv::parse(Path::new(".env"), text.to_string()).unwrap()
    }

    fn settings(text: &str) -> Settings {
        crate::settings::for_tests(text, &[], None)
    }

    const VALID: &str = "GITLAB_URL=https://g.example.com\nGITLAB_PROJECT=group/infra\nTF_HTTP_USERNAME=alice\nTF_HTTP_PASSWORD=glpat-unit-0123456789abcdef\nTF_STATE_NAME=dev\n";

    #[test]
    fn an_edit_that_adds_an_error_is_refused() {
        let before = settings(VALID);
        let text = edited(before.dotenv.as_ref().unwrap(), " prod").unwrap();
        let err = check(&before, &text, " prod").unwrap_err();
        let problems = err.downcast::<Problems>().unwrap().0;
        assert!(problems[0].message.starts_with("not switching to ` prod`"));
        assert_eq!(problems.len(), 2, "{problems:?}");
        let text = edited(before.dotenv.as_ref().unwrap(), "prod").unwrap();
        check(&before, &text, "prod").unwrap();
    }

    #[test]
    fn an_error_the_file_already_had_does_not_stop_an_edit() {
        let broken = VALID.replace(
            "TF_HTTP_USERNAME=alice\n",
            "TF_HTTP_LOCK_METHOD=LOCK\nTF_HTTP_USERNAME=alice\n",
        );
        let before = settings(&broken);
        assert!(before.backend().1.iter().any(Problem::is_error));
        let text = edited(before.dotenv.as_ref().unwrap(), "prod").unwrap();
        check(&before, &text, "prod").unwrap();
    }

    #[test]
    fn substituted_address_follows_by_itself() {
        let text = "export TF_STATE_NAME=\"dev\"\nexport TF_HTTP_ADDRESS=\"https://g/api/v4/projects/1/terraform/state/${TF_STATE_NAME}\"\n";
        let out = edited(&parse(text), "prod").unwrap();
        assert_eq!(out, text.replace("\"dev\"", "\"prod\""));
    }

    #[test]
    fn literal_addresses_move_along() {
        let text = "TF_STATE_NAME=dev\nTF_HTTP_ADDRESS=https://g/api/v4/projects/1/terraform/state/dev\nTF_HTTP_LOCK_ADDRESS=https://g/api/v4/projects/1/terraform/state/dev/lock\n# end\n";
        let out = edited(&parse(text), "team/x").unwrap();
        assert_eq!(
            out,
            "TF_STATE_NAME=team/x\nTF_HTTP_ADDRESS=https://g/api/v4/projects/1/terraform/state/team%2Fx\nTF_HTTP_LOCK_ADDRESS=https://g/api/v4/projects/1/terraform/state/team%2Fx/lock\n# end\n"
        );
    }
}
