//! `tfw completions SHELL` and `tfw man`: generated from the clap definition, so they never
//! drift from the real flags. State names live on GitLab, so no static script can know them:
//! each script is augmented to ask `tfw complete-states` (one name a line) wherever a state
//! name is expected — `tfw use NAME`, `--state NAME`, `tfw state show|versions|pull|unlock|
//! delete NAME` — in the shells that can run a command while completing (bash, zsh, fish,
//! PowerShell). Hidden commands are taken out of every script: clap_complete lists them.

mod man;

use anyhow::Result;
use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::{Cli, CompletionsArgs};
use crate::exit::ExitCode;
use crate::printer::Printer;

/// The id of the positional argument that names a state, in every command that takes one.
const STATE_ARG: &str = "name";
/// The id of the global `--state NAME` flag.
const STATE_FLAG: &str = "state";

pub(super) fn completions(args: &CompletionsArgs, printer: &Printer) -> Result<ExitCode> {
    printer.out(&script(args.shell))?;
    Ok(ExitCode::Success)
}

pub(super) fn man(printer: &Printer) -> Result<ExitCode> {
    printer.out_bytes(&man::render()?)?;
    Ok(ExitCode::Success)
}

/// The completion script for `shell`, hidden commands removed, state names dynamic.
pub(super) fn script(shell: Shell) -> String {
    let mut command = Cli::command();
    let mut bytes = Vec::new();
    clap_complete::generate(shell, &mut command, "tfw", &mut bytes);
    let generated = String::from_utf8(bytes).expect("clap_complete writes UTF-8");
    let shape = Shape::of(&Cli::command());
    let visible = drop_hidden(shell, &generated, &shape.hidden);
    match shell {
        Shell::Bash => bash(&visible, &shape),
        Shell::Zsh => zsh(&visible),
        Shell::Fish => fish(&visible, &shape),
        Shell::PowerShell => powershell(&visible, &shape),
        _ => visible,
    }
}

/// What the augmentations need to know about the command tree.
struct Shape {
    /// Subcommand paths (without `tfw`) whose positional `name` is a state, e.g. `["state", "show"]`.
    state_commands: Vec<Vec<String>>,
    /// Options that take a value, globally or in a state command (their value is never a
    /// subcommand word, and completing it is clap's job).
    value_options: Vec<String>,
    /// Names of hidden subcommands, at any depth.
    hidden: Vec<String>,
}

impl Shape {
    fn of(root: &clap::Command) -> Self {
        let mut shape = Shape {
            state_commands: Vec::new(),
            value_options: Vec::new(),
            hidden: Vec::new(),
        };
        shape.add_value_options(root);
        shape.walk(root, &mut Vec::new());
        shape.value_options.sort();
        shape.value_options.dedup();
        shape
    }

    fn walk(&mut self, command: &clap::Command, path: &mut Vec<String>) {
        for sub in command.get_subcommands() {
            if sub.is_hide_set() {
                self.hidden.push(sub.get_name().to_string());
                continue;
            }
            path.push(sub.get_name().to_string());
            if sub.get_positionals().any(|arg| arg.get_id() == STATE_ARG) {
                self.state_commands.push(path.clone());
                self.add_value_options(sub);
            }
            self.walk(sub, path);
            path.pop();
        }
    }

    fn add_value_options(&mut self, command: &clap::Command) {
        for arg in command.get_arguments() {
            if arg.is_positional() || !arg.get_action().takes_values() {
                continue;
            }
            if let Some(short) = arg.get_short() {
                self.value_options.push(format!("-{short}"));
            }
            if let Some(long) = arg.get_long() {
                self.value_options.push(format!("--{long}"));
            }
        }
    }
}

/// Removes the lines (or words) that offer a hidden subcommand as a candidate.
fn drop_hidden(shell: Shell, script: &str, hidden: &[String]) -> String {
    let mut out = String::with_capacity(script.len());
    for line in script.lines() {
        let trimmed = line.trim_start();
        let offers = |name: &str| match shell {
            Shell::Zsh => trimmed.starts_with(&format!("'{name}:")),
            Shell::Fish => trimmed.contains(&format!("-a \"{name}\"")),
            Shell::PowerShell => trimmed.starts_with(&format!("[CompletionResult]::new('{name}',")),
            Shell::Elvish => trimmed.starts_with(&format!("cand {name} ")),
            _ => false,
        };
        if hidden.iter().any(|name| offers(name)) {
            continue;
        }
        if shell == Shell::Bash && trimmed.starts_with("opts=\"") {
            let mut line = line.to_string();
            for name in hidden {
                line = line
                    .replace(&format!(" {name} "), " ")
                    .replace(&format!(" {name}\""), "\"");
            }
            out.push_str(&line);
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// bash: a wrapper around clap's `_tfw` that answers state names itself and hands every
/// other case to `_tfw` unchanged.
fn bash(script: &str, shape: &Shape) -> String {
    let commands: Vec<String> = shape
        .state_commands
        .iter()
        .map(|path| format!("\"{}\"", path.join(" ")))
        .collect();
    let options = shape.value_options.join("|");
    let wrapper = format!(
        r#"
# State names are not static: `tfw complete-states` prints them, one a line.
_tfw_states() {{
    local states
    states="$(command tfw complete-states 2>/dev/null)"
    COMPREPLY=( $(compgen -W "${{states}}" -- "${{COMP_WORDS[COMP_CWORD]}}") )
}}

_tfw_dynamic() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="" word i
    local -a words=()
    if (( COMP_CWORD > 0 )); then
        prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    fi
    if [[ "${{prev}}" == "--{flag}" ]]; then
        _tfw_states
        return 0
    fi
    for (( i = 1; i < COMP_CWORD; i++ )); do
        word="${{COMP_WORDS[i]}}"
        case "${{word}}" in
            {options}) (( i++ )) ;;
            -*) ;;
            *) words+=("${{word}}") ;;
        esac
    done
    if [[ "${{cur}}" != -* ]]; then
        case "${{prev}}" in
            {options}) ;;
            *)
                case "${{words[*]}}" in
                    {commands})
                        _tfw_states
                        return 0
                        ;;
                esac
                ;;
        esac
    fi
    _tfw "$@"
}}
"#,
        flag = STATE_FLAG,
        commands = commands.join("|"),
    );
    let mut out = String::with_capacity(script.len() + wrapper.len());
    let mut inserted = false;
    for line in script.lines() {
        if !inserted && line.starts_with("if [[ \"${BASH_VERSINFO[0]}\"") {
            out.push_str(wrapper.trim_start());
            out.push('\n');
            inserted = true;
        }
        out.push_str(&line.replace("complete -F _tfw ", "complete -F _tfw_dynamic "));
        out.push('\n');
    }
    if !inserted {
        out.push_str(&wrapper);
        out.push_str("complete -F _tfw_dynamic -o bashdefault -o default tfw\n");
    }
    out
}

/// zsh: the state-name arguments get `_tfw_states` instead of `_default` as their action.
fn zsh(script: &str) -> String {
    const FUNCTION: &str = r#"(( $+functions[_tfw_states] )) ||
_tfw_states() {
    local -a states
    states=(${(f)"$(tfw complete-states 2>/dev/null)"})
    _wanted states expl 'state' compadd -a states
}
"#;
    let flag = format!("'--{STATE_FLAG}=[");
    let positional = [format!("'::{STATE_ARG}"), format!("':{STATE_ARG}")];
    let mut out = String::with_capacity(script.len() + FUNCTION.len());
    for line in script.lines() {
        let trimmed = line.trim_start();
        let names_state = trimmed.starts_with(&flag)
            || positional.iter().any(|p| {
                trimmed.starts_with(&format!("{p}:")) || trimmed.starts_with(&format!("{p} -- "))
            });
        if line.starts_with("if [ \"$funcstack[1]\" = \"_tfw\" ]") {
            out.push_str(FUNCTION);
            out.push('\n');
        }
        match line.strip_suffix(":_default' \\") {
            Some(head) if names_state => {
                out.push_str(head);
                out.push_str(":_tfw_states' \\");
            }
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// fish: extra `complete` lines; fish merges them with clap's.
fn fish(script: &str, shape: &Shape) -> String {
    const STATES: &str = "(tfw complete-states 2>/dev/null)";
    let mut out = script.to_string();
    out.push_str(
        "\n# State names are not static: `tfw complete-states` prints them, one a line.\n",
    );
    out.push_str(&format!(
        "complete -c tfw -l {STATE_FLAG} -x -a \"{STATES}\"\n"
    ));
    for path in &shape.state_commands {
        let condition = match path.as_slice() {
            [command] => format!("__fish_tfw_using_subcommand {command}"),
            [command, rest @ ..] => format!(
                "__fish_tfw_using_subcommand {command}; and __fish_seen_subcommand_from {}",
                rest.join(" ")
            ),
            [] => continue,
        };
        out.push_str(&format!(
            "complete -c tfw -n \"{condition}\" -f -a \"{STATES}\"\n"
        ));
    }
    out
}

/// PowerShell: state names added to the candidates of each state command.
fn powershell(script: &str, shape: &Shape) -> String {
    let blocks: Vec<String> = shape
        .state_commands
        .iter()
        .map(|path| format!("'tfw;{}' {{", path.join(";")))
        .collect();
    let mut out = String::with_capacity(script.len());
    for line in script.lines() {
        out.push_str(line);
        out.push('\n');
        if blocks.iter().any(|block| line.trim() == block) {
            out.push_str(
                "            tfw complete-states 2>$null | ForEach-Object { [CompletionResult]::new($_, $_, [CompletionResultType]::ParameterValue, 'state') }\n",
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_finds_the_state_commands() {
        let shape = Shape::of(&Cli::command());
        let paths: Vec<String> = shape.state_commands.iter().map(|p| p.join(" ")).collect();
        for expected in [
            "use",
            "state show",
            "state versions",
            "state pull",
            "state unlock",
            "state delete",
        ] {
            assert!(
                paths.contains(&expected.to_string()),
                "{expected} missing from {paths:?}"
            );
        }
        assert!(shape.hidden.contains(&"complete-states".to_string()));
        assert!(shape.value_options.contains(&"--state".to_string()));
        assert!(shape.value_options.contains(&"-C".to_string()));
    }

    #[test]
    fn every_shell_asks_for_state_names() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::PowerShell] {
            let text = script(shell);
            assert!(
                text.contains("tfw complete-states"),
                "{shell}: no dynamic state names"
            );
        }
    }

    #[test]
    fn zsh_replaces_every_state_action() {
        let text = script(Shell::Zsh);
        // --state appears once per command; `use` and five `state` subcommands take a name.
        let replaced = text.matches(":_tfw_states' \\").count();
        let flags = text.matches("'--state=[").count();
        assert!(
            replaced >= flags + 6,
            "only {replaced} state actions for {flags} --state flags"
        );
    }

    #[test]
    fn hidden_commands_are_never_offered() {
        for shell in [
            Shell::Bash,
            Shell::Zsh,
            Shell::Fish,
            Shell::PowerShell,
            Shell::Elvish,
        ] {
            let text = script(shell);
            let offered = match shell {
                Shell::Bash => text
                    .lines()
                    .any(|l| l.trim_start().starts_with("opts=") && l.contains(" complete-states")),
                Shell::Zsh => text.contains("'complete-states:"),
                Shell::Fish => text.contains("-a \"complete-states\""),
                Shell::PowerShell => text.contains("[CompletionResult]::new('complete-states'"),
                _ => text.contains("cand complete-states "),
            };
            assert!(
                !offered,
                "{shell} offers the hidden complete-states command"
            );
        }
    }

    #[test]
    fn bash_registers_the_wrapper() {
        let text = script(Shell::Bash);
        assert!(text.contains("complete -F _tfw_dynamic"));
        assert!(!text.contains("complete -F _tfw "));
    }
}
