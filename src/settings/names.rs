//! The rules a state name keeps, wherever it came from (`--state`, `TF_STATE_NAME`, the end
//! of `TF_HTTP_ADDRESS`, the personal or CI default). The name goes into every request URL,
//! into `.tfw/plans/` file names and into GitLab's listing, so a name with invisible edges,
//! control characters or a credential in it is refused before anything is sent.

use super::secrets::looks_like_token;
use super::{Origin, Settings, Value};
use crate::problem::Problem;

pub(crate) const TOKEN_MESSAGE: &str = "looks like an access token, not a state name: it would be sent in every request URL and written into `.tfw/plans/` file names";
pub(crate) const TOKEN_HINT: &str = "name the state (`dev-alice`, `staging`); the token belongs in TF_HTTP_PASSWORD only, and revoke this one if it was used";

/// The token in use, or anything shaped like a token, as (part of) a name.
pub(crate) fn token_like(name: &str, tokens: &[String]) -> bool {
    tokens.iter().any(|token| name.contains(token.as_str())) || looks_like_token(name)
}

/// What is wrong with a state name, if anything: (message, hint). `tokens` are the values of
/// the credentials in use, refused as names whatever they look like.
pub(crate) fn name_problem(name: &str, tokens: &[String]) -> Option<(String, &'static str)> {
    if name.trim().is_empty() {
        return Some((
            "is empty".into(),
            "set TF_STATE_NAME=\"dev-yourname\", or delete the line to use your personal state",
        ));
    }
    if token_like(name, tokens) {
        return Some((TOKEN_MESSAGE.into(), TOKEN_HINT));
    }
    if name.chars().count() > 255 {
        return Some((
            format!(
                "is {} characters long; GitLab allows at most 255",
                name.chars().count()
            ),
            "choose a shorter TF_STATE_NAME",
        ));
    }
    if name.chars().any(char::is_control) {
        return Some((
            "contains control characters".into(),
            "use letters, digits, `-`, `_` and `.`",
        ));
    }
    if name.trim() != name {
        return Some((
            "starts or ends with whitespace, which would make it another state than the one it shows".into(),
            "remove the spaces around the name",
        ));
    }
    None
}

pub(super) fn check_state_name(settings: &Settings, state: &Value, problems: &mut Vec<Problem>) {
    let Some((what, hint)) = name_problem(&state.value, &settings.token_values()) else {
        return;
    };
    let (subject, key) = match &state.origin {
        Origin::Flag => ("`--state`".to_string(), None),
        Origin::DotEnv { .. } | Origin::Env => ("`TF_STATE_NAME`".to_string(), None),
        Origin::InAddress { .. } => (
            "the state named by `TF_HTTP_ADDRESS`".to_string(),
            Some("TF_HTTP_ADDRESS"),
        ),
        Origin::Derived { .. } => ("the personal state name".to_string(), None),
        Origin::TfwToml => ("`ci_state` in tfw.toml".to_string(), None),
        Origin::Default => ("the state name".to_string(), None),
    };
    let message = format!("{subject} {what}");
    let problem = Problem::error(message).hint(hint);
    problems.push(match (&state.origin, key) {
        (Origin::DotEnv { line, file }, _) => problem.at(file, Some(*line)),
        (_, Some(key)) => settings.at_key(problem, key),
        _ => problem,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_names_pass() {
        for name in ["prod", "dev-alice", "team/dev.eu", "staging_2", "é-state"] {
            assert_eq!(name_problem(name, &[]), None, "{name}");
        }
        assert_eq!(name_problem(&"s".repeat(255), &[]), None);
    }

    #[test]
    fn bad_names_are_refused() {
        let cases = [
            ("", "is empty"),
            ("   ", "is empty"),
            (" prod", "whitespace"),
            ("prod ", "whitespace"),
            ("prod\u{a0}", "whitespace"),
            ("pr\u{7}od", "control characters"),
            ("prod\n", "control characters"),
            ("glpat-aB3dE5fG7hJ9kL1mN3pQ", "access token"),
            ("aB3dE5fG7hJ9kL1mN3pQx", "access token"),
        ];
        for (name, expected) in cases {
            let (message, _) = name_problem(name, &[]).unwrap_or_default();
            assert!(message.contains(expected), "{name:?}: {message}");
        }
        let (message, _) = name_problem(&"s".repeat(256), &[]).unwrap();
        assert!(message.contains("at most 255"), "{message}");
    }

    #[test]
    fn the_token_in_use_is_refused_whatever_it_looks_like() {
        let token = "plainsecretvalue".to_string();
        assert!(name_problem("plainsecretvalue", std::slice::from_ref(&token)).is_some());
        assert!(name_problem("dev-plainsecretvalue", &[token]).is_some());
    }
}
