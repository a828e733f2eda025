//! Setup without a terminal never asks. With `--token-stdin` the answers come from flags (or
//! from what the environment, an old `.env` and the git remote already say) and the token
//! from standard input, never from argv; they get the wizard's check before anything is
//! written. Without it, the lines to write are printed and the error says how to finish.

use std::io::Read;

use anyhow::Result;

use super::check::{self, Answers, Checked};
use super::guess::{Defaults, normalize_project, normalize_url};
use super::{envfile, state_for, with_secret};
use crate::cli::SetupArgs;
use crate::context::Context;
use crate::printer::Printer;
use crate::problem::Problem;

/// `--token-stdin`: every answer from flags (or what the environment and the repository
/// already say), the token from standard input, the same check; nothing is asked.
pub(super) fn from_flags(
    ctx: &Context,
    args: &SetupArgs,
    defaults: &Defaults,
) -> Result<(Answers, Checked, Printer)> {
    let settings = &ctx.settings;
    let (url, project, username) = known(args, defaults);
    let missing: Vec<&str> = [
        ("--url", url.is_none()),
        ("--project", project.is_none()),
        ("--username", username.is_none()),
    ]
    .into_iter()
    .filter_map(|(flag, missing)| missing.then_some(flag))
    .collect();
    if !missing.is_empty() {
        return Err(Problem::error(format!(
            "`tfw setup --token-stdin` asks nothing, and these are unknown: {}",
            missing
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .hint(format!(
            "pass `{}`",
            flags_example(url.as_deref(), project.as_deref(), username.as_deref())
        ))
        .into());
    }
    let (url, project, username) = (
        url.unwrap_or_default(),
        project.unwrap_or_default(),
        username.unwrap_or_default(),
    );
    for (flag, value, check) in [
        (
            "--url",
            &url,
            check::valid_url as fn(&str) -> Result<(), String>,
        ),
        ("--project", &project, check::valid_project),
        ("--username", &username, check::valid_username),
    ] {
        if let Err(message) = check(value) {
            return Err(Problem::error(format!("`{flag} {value}`: {message}")).into());
        }
    }
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input)?;
    let token = input.lines().next().unwrap_or("").trim().to_string();
    if token.is_empty() {
        return Err(Problem::error("no token on standard input")
            .hint("pipe it in: `printf '%s\\n' \"$TOKEN\" | tfw setup --token-stdin ...`")
            .into());
    }
    let answers = Answers {
        project: normalize_project(&project, &url),
        url,
        username,
        token,
        state: defaults.state.clone(),
    };
    let printer = with_secret(&ctx.printer, &answers.token);
    match check::check(&answers, &state_for(settings, &answers)) {
        Ok(checked) => Ok((answers, checked, printer)),
        // The answers are wrong: the error says which; the file is left as it was.
        Err(failure) => Err(failure.problem.into()),
    }
}

/// No terminal and no `--token-stdin`: the exact lines to write go to stdout (the token as
/// a placeholder, which tfw refuses until replaced), and the error says how to finish.
pub(super) fn print_lines(
    printer: &Printer,
    args: &SetupArgs,
    defaults: &Defaults,
    name: &str,
) -> anyhow::Error {
    let (url, project, username) = known(args, defaults);
    let answers = Answers {
        url: url
            .clone()
            .unwrap_or_else(|| "<your GitLab URL, e.g. https://gitlab.example.com>".into()),
        project: project.clone().unwrap_or_else(|| "<group/project>".into()),
        username: username
            .clone()
            .unwrap_or_else(|| "<your GitLab username>".into()),
        token: "<your GitLab access token, api scope>".into(),
        state: defaults.state.clone(),
    };
    // The kept keys may hold secrets: they are never printed.
    if let Err(err) = printer.out(&envfile::render(&answers, &[])) {
        return err.into();
    }
    Problem::error(format!("no terminal to ask for your GitLab settings: `{name}` was not written"))
        .hint(format!(
            "save the lines above as `{name}` with your token in `TF_HTTP_PASSWORD`, then run `chmod 600 {name}`; or pipe the token in: `printf '%s\\n' \"$TOKEN\" | tfw setup --token-stdin {}`",
            flags_example(url.as_deref(), project.as_deref(), username.as_deref())
        ))
        .into()
}

/// URL, project and username as far as they are known without asking: flags first.
fn known(
    args: &SetupArgs,
    defaults: &Defaults,
) -> (Option<String>, Option<String>, Option<String>) {
    (
        args.url
            .as_deref()
            .map(normalize_url)
            .or_else(|| defaults.url.clone()),
        args.project.clone().or_else(|| defaults.project.clone()),
        args.username.clone().or_else(|| defaults.username.clone()),
    )
}

fn flags_example(url: Option<&str>, project: Option<&str>, username: Option<&str>) -> String {
    format!(
        "--url {} --project {} --username {}",
        url.unwrap_or("https://gitlab.example.com"),
        project.unwrap_or("group/project"),
        username.unwrap_or("YOU")
    )
}
