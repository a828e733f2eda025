//! What `tfw prompt` prints: the current state, for a shell prompt. It runs before every
//! prompt, so it answers from `.env` and `tfw.toml` alone (the same resolution as every
//! command: `--state` > `TF_STATE_NAME` > personal state) and never asks GitLab, starts a
//! process or looks at the terminal. Outside a tfw root it prints nothing, so one prompt line
//! works in every directory.

use crate::settings::Settings;

/// `.env` keys that only a tfw (or Makefile-flow) repository sets: a `.env` without any of
/// them belongs to another tool, and its directory is not a tfw root.
const ROOT_KEYS: &[&str] = &[
    "TF_STATE_NAME",
    "TF_HTTP_ADDRESS",
    "GITLAB_URL",
    "GITLAB_PROJECT",
];

/// The prompt text, or `None` when the directory is not a tfw root or has no current state.
pub(crate) fn render(settings: &Settings, format: &str, marker: &str) -> Option<String> {
    if !is_root(settings) {
        return None;
    }
    let state = settings.state()?.value;
    if state.trim().is_empty() {
        return None;
    }
    let protected = if settings.project.is_protected(&state) {
        marker
    } else {
        ""
    };
    // One pass over the format: a state named `{protected}` stays a name.
    let mut out = String::new();
    let mut rest = format;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let end = after.find('}').unwrap_or(after.len());
        match &after[..end] {
            "state" => out.push_str(&shell_safe(&state)),
            "protected" => out.push_str(protected),
            other => {
                out.push('{');
                out.push_str(other);
                if end < after.len() {
                    out.push('}');
                }
            }
        }
        rest = after.get(end + 1..).unwrap_or("");
    }
    out.push_str(rest);
    Some(out)
}

fn is_root(settings: &Settings) -> bool {
    settings.project.path.is_some()
        || settings
            .dotenv
            .as_ref()
            .is_some_and(|dotenv| ROOT_KEYS.iter().any(|key| dotenv.get(key).is_some()))
}

/// A state name comes from a file anyone may have written, and zsh (`PROMPT_SUBST`) or a
/// starship format would interpret `%`, `$`, backquotes or backslashes in it: those and
/// control characters print as `?`.
fn shell_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_control() || matches!(c, '%' | '$' | '`' | '\\') {
                '?'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_inject_prompt_escapes() {
        assert_eq!(shell_safe("dev-alice"), "dev-alice");
        assert_eq!(shell_safe("a%F{red}$(x)`y`\\\n"), "a?F{red}?(x)?y???");
    }
}
