//! The wizard on a terminal: asks only what the flags did not say, offers what is already
//! known as the default, checks with GitLab, and after a refusal lets the person correct any
//! one answer, the one the refusal is about offered first (a mistyped token never means
//! retyping the URL, and a wrong URL or username behind a 401 can still be fixed).

use anyhow::Result;

use super::check::{self, Answers, Checked, Field};
use super::guess::{Defaults, normalize_project, normalize_url};
use super::{shown, state_for, with_secret};
use crate::cli::SetupArgs;
use crate::context::Context;
use crate::printer::Printer;
use crate::problem::Problem;

/// The wizard: asks what the flags did not say, checks, names what is wrong, asks again.
pub(super) fn ask(
    ctx: &Context,
    args: &SetupArgs,
    defaults: &Defaults,
) -> Result<(Answers, Checked, Printer)> {
    let settings = &ctx.settings;
    ctx.printer.status(
        "tfw needs your GitLab URL, the project, your username and an access token; they go to `.env`, readable by you alone",
    );
    let mut answers = Answers {
        url: args.url.as_deref().map(normalize_url).unwrap_or_default(),
        project: args.project.clone().unwrap_or_default(),
        username: args.username.clone().unwrap_or_default(),
        token: String::new(),
        state: defaults.state.clone(),
    };
    answers.project = normalize_project(&answers.project, &answers.url);
    let mut ask_url = args.url.is_none();
    let mut ask_project = args.project.is_none();
    let mut ask_username = args.username.is_none();
    let mut ask_token = true;
    let mut keep_token = defaults.token.clone();
    loop {
        if ask_url {
            let default = non_empty(&answers.url).or(defaults.url.as_deref());
            answers.url = normalize_url(&prompt("GitLab URL", default, check::valid_url)?);
        }
        if ask_project {
            let default = non_empty(&answers.project).or(defaults.project.as_deref());
            let raw = prompt(
                "Project (group/project or numeric id)",
                default,
                check::valid_project,
            )?;
            answers.project = normalize_project(&raw, &answers.url);
        }
        if ask_username {
            let default = non_empty(&answers.username).or(defaults.username.as_deref());
            answers.username = prompt("GitLab username", default, check::valid_username)?;
        }
        if ask_token {
            if keep_token.is_none() {
                ctx.printer.note(&format!(
                    "create a token with the `api` scope at {}",
                    check::token_page(&answers.url)
                ));
            }
            answers.token = prompt_token(keep_token.as_deref())?;
        }
        let printer = with_secret(&ctx.printer, &answers.token);
        let spinner = printer.spinner("checking with GitLab");
        let result = check::check(&answers, &state_for(settings, &answers));
        drop(spinner);
        let failure = match result {
            Ok(checked) => return Ok((answers, checked, printer)),
            Err(failure) => failure,
        };
        printer.problem(&failure.problem);
        let Some(field) = correct_which(failure.field)? else {
            return Err(Problem::error(format!(
                "nothing was written to `{}`",
                shown(settings, &settings.env_file)
            ))
            .into());
        };
        (ask_url, ask_project, ask_username, ask_token) = match field {
            Field::Url => (true, false, false, false),
            Field::Project => (false, true, false, false),
            Field::Account => (false, false, true, false),
            Field::Token => (false, false, false, true),
        };
        if ask_token {
            // The token just refused is no default to keep.
            keep_token = None;
        }
    }
}

/// Which answer to correct, the one the refusal is about first; `None`: stop (Esc or the
/// last choice).
fn correct_which(suggested: Field) -> Result<Option<Field>> {
    let choices = [
        (Field::Token, "the access token"),
        (Field::Account, "the username"),
        (Field::Url, "the GitLab URL"),
        (Field::Project, "the project"),
    ];
    let mut items: Vec<String> = choices.iter().map(|(_, label)| label.to_string()).collect();
    items.push("none: stop, write nothing".into());
    // An account that may not read states is the token's (GitLab goes by the token, not the
    // username typed): the token comes first then too.
    let default = choices
        .iter()
        .position(|(field, _)| *field == suggested && suggested != Field::Account)
        .unwrap_or(0);
    // The prompt and its rows, the cursor on the line below: all cleared on Ctrl-C.
    crate::screen::drawn(items.len() + 2);
    let picked = dialoguer::Select::new()
        .with_prompt("Correct which answer? (Enter: the one suggested; Esc: stop)")
        .items(&items)
        .default(default)
        .interact_opt()
        .map_err(interrupted)?;
    crate::screen::drawn(0);
    Ok(picked.and_then(|index| choices.get(index).map(|(field, _)| *field)))
}

fn prompt(
    label: &str,
    default: Option<&str>,
    validate: fn(&str) -> Result<(), String>,
) -> Result<String> {
    let mut input = dialoguer::Input::<String>::new().with_prompt(label);
    if let Some(default) = default {
        input = input.default(default.to_string());
    }
    let answer = input
        .validate_with(|value: &String| validate(value))
        .interact_text()
        .map_err(interrupted)?;
    Ok(answer.trim().to_string())
}

fn prompt_token(keep: Option<&str>) -> Result<String> {
    let label = match keep {
        Some(_) => "Access token (hidden; Enter keeps the current one)",
        None => "Access token (hidden)",
    };
    let token = dialoguer::Password::new()
        .with_prompt(label)
        .allow_empty_password(keep.is_some())
        .interact()
        .map_err(interrupted)?;
    let token = token.trim();
    Ok(match keep {
        Some(kept) if token.is_empty() => kept.to_string(),
        _ => token.to_string(),
    })
}

fn non_empty(value: &str) -> Option<&str> {
    (!value.is_empty()).then_some(value)
}

/// A prompt ended by Ctrl-C or a closed terminal: stop quietly, as a shell would.
pub(super) fn interrupted(_: dialoguer::Error) -> anyhow::Error {
    crate::screen::question_ended()
}
