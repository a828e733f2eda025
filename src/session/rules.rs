//! What a terraform command line will do to a state, decided before it runs: whether an
//! `exec` subcommand writes the state, whether a write skips the state lock, and whether the
//! root module keeps its state on GitLab at all (`backend "http"`).

use std::path::Path;

use crate::backend::Backend;
use crate::problem::Problem;
use crate::settings::Settings;

/// Subcommands (with their sub-subcommand) that never write a state. Everything else is
/// treated as a write: an unknown or future subcommand is assumed to change the state.
fn reads_only(args: &[String]) -> bool {
    let words = command_words(args);
    let flags = || {
        args.iter()
            .map(String::as_str)
            .filter(|a| a.starts_with('-'))
    };
    match words.as_slice() {
        [] => flags().all(|f| matches!(f, "-version" | "--version" | "-help" | "--help" | "-h")),
        ["init", ..] => !flags().any(|f| {
            let name = f.trim_start_matches('-');
            name.starts_with("migrate-state") || name.starts_with("force-copy")
        }),
        ["state", sub, ..] => matches!(*sub, "list" | "show" | "pull"),
        ["workspace", sub, ..] => matches!(*sub, "list" | "show"),
        [first, ..] => matches!(
            *first,
            "version"
                | "fmt"
                | "validate"
                | "show"
                | "output"
                | "graph"
                | "providers"
                | "console"
                | "plan"
                | "get"
                | "help"
                | "metadata"
                | "modules"
                | "login"
                | "logout"
        ),
    }
}

/// Whether `terraform ARGS` may change the state (`apply`, `import`, `state rm`, ...).
pub(crate) fn writes_state(args: &[String]) -> bool {
    !reads_only(args)
}

/// `-lock=false` in any spelling Go's flag package accepts (`-lock=0`, `--lock=FALSE`...).
pub(crate) fn skips_lock(args: &[String]) -> bool {
    args.iter().any(|arg| {
        arg.trim_start_matches('-')
            .strip_prefix("lock=")
            .is_some_and(|v| matches!(v, "false" | "FALSE" | "False" | "f" | "F" | "0"))
            && arg.starts_with('-')
    })
}

/// Where a write would get `-lock=false`: its own arguments (`None` source), or terraform's
/// `TF_CLI_ARGS` / `TF_CLI_ARGS_<command>` from the shell or `.env` (the variable's name).
/// `command` is the terraform subcommand that writes (`apply`, `state rm`...).
pub(crate) fn lock_skipped(
    settings: &Settings,
    command: &[&str],
    args: &[String],
) -> Option<Option<String>> {
    if skips_lock(args) {
        return Some(None);
    }
    let mut keys = vec!["TF_CLI_ARGS".to_string()];
    if let Some(first) = command.first() {
        keys.push(format!("TF_CLI_ARGS_{first}"));
        if let Some(second) = command.get(1) {
            keys.push(format!("TF_CLI_ARGS_{first}_{second}"));
        }
    }
    keys.into_iter().find_map(|key| {
        let value = settings.lookup(&key)?.value;
        let words: Vec<String> = value.split_whitespace().map(String::from).collect();
        skips_lock(&words).then_some(Some(key))
    })
}

/// The subcommand words of an `exec` line (`state rm`), for [`lock_skipped`].
pub(crate) fn command_words(args: &[String]) -> Vec<&str> {
    args.iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with('-'))
        .take(2)
        .collect()
}

/// Refuses a state write that would skip the lock on a shared state, wherever the
/// `-lock=false` comes from: the write's own arguments, tfw.toml's `[args] apply` (for an
/// apply of a saved plan), or `TF_CLI_ARGS*`. Every write path calls this one check, so a
/// new source of arguments cannot slip past one command's copy of it.
pub(crate) fn refuse_unlocked_write(
    settings: &Settings,
    backend: &Backend,
    command: &[&str],
    args: &[String],
    what: &str,
) -> Result<(), Problem> {
    let state = backend.state_name();
    if settings
        .project
        .is_personal(state, Some(&backend.username.value))
    {
        return Ok(());
    }
    if command.first() == Some(&"apply") && skips_lock(&settings.project.file.args.apply) {
        return Err(unlocked_write(state, what, Some("tfw.toml [args] apply")));
    }
    match lock_skipped(settings, command, args) {
        Some(source) => Err(unlocked_write(state, what, source.as_deref())),
        None => Ok(()),
    }
}

/// The refusal of a state write without the lock on a shared state.
fn unlocked_write(state: &str, what: &str, source: Option<&str>) -> Problem {
    let source = source.map_or(String::new(), |key| format!(" (from `{key}`)"));
    Problem::error(format!(
        "{what} with `-lock=false`{source} on shared state `{state}`: refused, nothing was changed"
    ))
    .hint("only plans may skip the state lock; without it another run could write `{state}` at the same time. Drop `-lock=false` (a stale lock is released with `tfw state unlock`)".replace("{state}", state))
}

/// Refuses a `TF_DATA_DIR` (shell or `.env`) other than the root's `.terraform/`: terraform
/// keeps there the backend init configured, address included, and tfw checks what
/// `.terraform/` was initialised for. Another folder (another root's, with a
/// `-backend-config` address) would send the writes to a state nobody checked.
pub(crate) fn refuse_moved_data_dir(settings: &Settings) -> Result<(), Problem> {
    let Some(value) = settings.lookup("TF_DATA_DIR") else {
        return Ok(());
    };
    let here = settings.dir.join(".terraform");
    let given = Path::new(&value.value);
    let resolved = if given.is_absolute() {
        given.to_path_buf()
    } else {
        settings.dir.join(given)
    };
    let same = resolved.components().eq(here.components())
        || std::fs::canonicalize(&resolved)
            .is_ok_and(|r| std::fs::canonicalize(&here).is_ok_and(|h| r == h));
    if same {
        return Ok(());
    }
    let origin = value.origin.describe(&settings.env_file);
    Err(Problem::error(format!(
        "`TF_DATA_DIR` ({origin}) moves terraform's working data out of `.terraform/`, where tfw checks which state this directory was initialised for: refused, nothing was run"
    ))
    .hint("unset `TF_DATA_DIR` (tfw keeps every root's data in its own `.terraform/`); to work in another root use `tfw -C DIR`"))
}

/// Refuses terraform's `-chdir=` in `exec` arguments: terraform would run another folder's
/// configuration and `.terraform/` (its own backend block, its own init) while tfw judged and
/// backed up this root's state. `tfw -C DIR exec` is the way, with every check there.
pub(crate) fn refuse_chdir(args: &[String]) -> Result<(), Problem> {
    let Some(arg) = args
        .iter()
        .find(|a| a.trim_start_matches('-').starts_with("chdir") && a.starts_with('-'))
    else {
        return Ok(());
    };
    Err(Problem::error(format!(
        "`{arg}` would run terraform in another folder than the one tfw checked: refused, nothing was run"
    ))
    .hint("use `tfw -C DIR exec -- ...` instead: tfw then reads that folder's `.env` and `tfw.toml` and checks its backend"))
}

/// Refuses `-out` among a plan's extra arguments (the command line's or tfw.toml's `[args]`):
/// Go's flag package lets the last one win, so terraform would write the plan, the whole
/// state in clear, wherever it names (outside the repository, mode 0644), and tfw's own
/// plan file would be missing.
pub(crate) fn refuse_plan_out(args: &[String]) -> Result<(), Problem> {
    let Some(arg) = args.iter().find(|a| {
        let name = a.trim_start_matches('-');
        a.starts_with('-') && (name == "out" || name.starts_with("out="))
    }) else {
        return Ok(());
    };
    Err(Problem::error(format!(
        "`{arg}`: tfw saves the plan itself in `.tfw/plans/` (private, applied by `tfw apply`): refused, nothing was run"
    ))
    .hint("drop `-out`; `tfw plan --json FILE` writes a report, and `.tfw/plans/` is the CI artifact"))
}

/// `Ok` when a `*.tf` or `*.tf.json` file of the root module declares `backend "http"`;
/// otherwise the refusal naming the file to add it to. Comments are skipped, so a
/// commented-out block does not count.
pub(crate) fn require_http_backend(dir: &Path) -> Result<(), Problem> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let mut with_terraform_block = None;
    for path in &files {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        if declares_http_backend(&name, &text) {
            return Ok(());
        }
        if with_terraform_block.is_none()
            && name.ends_with(".tf")
            && strip_comments(&text)
                .split(|c: char| c.is_whitespace() || c == '{')
                .any(|w| w == "terraform")
        {
            with_terraform_block = Some(name.into_owned());
        }
    }
    let hint = match with_terraform_block {
        Some(file) => format!(
            "add `backend \"http\" {{}}` inside the `terraform {{ }}` block of `{file}` (tfw fills in the address), then run `tfw init`"
        ),
        None => "create `backend.tf` with `terraform { backend \"http\" {} }` (tfw fills in the address), then run `tfw init`".to_string(),
    };
    Err(Problem::error(format!(
        "no `backend \"http\"` block in the root module `{}`: terraform would keep the state in a local `terraform.tfstate`, not on GitLab; nothing was run",
        dir.display()
    ))
    .hint(hint))
}

/// Whether one `*.tf` or `*.tf.json` file's text declares `backend "http"` (comments
/// skipped). Root discovery reads every such file of a repository: the text is searched for
/// `backend` before anything else is done with it.
pub(crate) fn declares_http_backend(name: &str, text: &str) -> bool {
    if !text.contains("backend") {
        return false;
    }
    if name.ends_with(".tf.json") {
        let Ok(json) = serde_json::from_str::<serde_json::Value>(text) else {
            return false;
        };
        let blocks = match &json["terraform"] {
            serde_json::Value::Array(list) => list.clone(),
            other => vec![other.clone()],
        };
        blocks.iter().any(|b| !b["backend"]["http"].is_null())
    } else if name.ends_with(".tf") {
        let code = strip_comments(text);
        let words: Vec<&str> = code
            .split(|c: char| c.is_whitespace() || c == '{')
            .filter(|w| !w.is_empty())
            .collect();
        words.windows(2).any(|w| w == ["backend", "\"http\""])
    } else {
        false
    }
}

/// HCL without `#`, `//` and `/* */` comments (strings are not parsed: good enough to find
/// a block header, which never sits inside a string).
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("/*") {
            rest = after.find("*/").map_or("", |end| &after[end + 2..]);
            out.push(' ');
        } else if rest.starts_with('#') || rest.starts_with("//") {
            rest = rest.find('\n').map_or("", |end| &rest[end..]);
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn tells_writes_from_reads() {
        for write in [
            "apply -auto-approve",
            "destroy",
            "import a.b id",
            "state rm a.b",
            "state mv a b",
            "state push errored.tfstate",
            "state replace-provider a b",
            "taint a.b",
            "untaint a.b",
            "force-unlock 123",
            "refresh",
            "init -migrate-state",
            "init -force-copy",
            "something-new",
        ] {
            assert!(writes_state(&args(write)), "{write}");
        }
        for read in [
            "state list",
            "state show a.b",
            "state pull",
            "output -json",
            "show",
            "plan -destroy",
            "version",
            "-version",
            "init -upgrade",
            "console",
            "providers",
            "graph",
        ] {
            assert!(!writes_state(&args(read)), "{read}");
        }
    }

    #[test]
    fn finds_lock_false_in_every_spelling() {
        for on in ["-lock=false", "--lock=false", "-lock=0", "-lock=F"] {
            assert!(skips_lock(&args(&format!("apply {on}"))), "{on}");
        }
        for off in ["-lock=true", "-lock", "-lock-timeout=0s", "lock=false"] {
            assert!(!skips_lock(&args(&format!("apply {off}"))), "{off}");
        }
    }

    #[test]
    fn finds_the_http_backend() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        write("main.tf", "terraform {\n  # backend \"http\" {}\n}\n");
        let err = require_http_backend(dir.path()).unwrap_err();
        assert!(
            err.hint.as_deref().unwrap().contains("`main.tf`"),
            "{err:?}"
        );
        write("main.tf", "terraform {\n  /* no */ backend \"http\"{}\n}\n");
        assert!(require_http_backend(dir.path()).is_ok());
        std::fs::remove_file(dir.path().join("main.tf")).unwrap();
        write("x.tf", "resource \"a\" \"b\" {}\n");
        let err = require_http_backend(dir.path()).unwrap_err();
        assert!(err.hint.as_deref().unwrap().contains("backend.tf"));
        write("b.tf.json", r#"{"terraform": {"backend": {"http": {}}}}"#);
        assert!(require_http_backend(dir.path()).is_ok());
    }
}
