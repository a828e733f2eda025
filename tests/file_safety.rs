//! Issue "Reliability": every file tfw writes is replaced atomically and keeps its permissions,
//! so a kill -9 at any moment leaves the old file or the new one, never a torn one. The fault
//! hook in `fsutil` (`TFW_TEST_ABORT_AT=<point>:<file>`) aborts tfw mid-write, just before the
//! rename, or just after it, while writing one named file; each file is tried at each point.
//! Then real kill -9s at arbitrary moments, and permissions and symlinks kept by normal runs.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::gitlab::ALICE_TOKEN;
use crate::support::{MAIN_TF, Out, Sandbox, git, wait_with_output};

const POINTS: [&str; 3] = ["mid-write", "before-rename", "after-rename"];

/// One file tfw writes, and the command that writes it.
struct Target {
    name: &'static str,
    /// Relative to the sandbox.
    file: &'static str,
    /// The end of the path that picks this file out at the fault point.
    needle: &'static str,
    args: fn(&Sandbox) -> Vec<String>,
    /// Brings the sandbox to the state just before the command (the file's old version, if
    /// it has one, in place).
    prepare: fn(&Sandbox),
    /// Is this the complete new version?
    is_new: fn(&[u8]) -> bool,
    /// The command withdraws the old version before it starts (a saved plan: a failed plan
    /// must not leave an older one looking like its result), so "no file" is consistent too.
    withdrawn_first: bool,
    /// Running the command again after the kill writes the new version.
    rerun_writes: bool,
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

fn json(bytes: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(bytes).is_ok()
}

fn applied(sandbox: &Sandbox) {
    sandbox.tfw(&["apply", "--auto-approve"]).run().success();
}

fn targets() -> Vec<Target> {
    vec![
        Target {
            name: "plan metadata",
            file: ".tfw/plans/dev-alice.json",
            needle: "plans/dev-alice.json",
            args: |_| strings(&["plan", "--", "-var", "greeting=new"]),
            prepare: |s| {
                s.tfw(&["plan"]).run().success();
            },
            is_new: |b| json(b),
            withdrawn_first: true,
            rerun_writes: true,
        },
        Target {
            name: "init marker",
            file: ".tfw/init.json",
            needle: "init.json",
            args: |_| strings(&["init"]),
            prepare: |s| {
                s.tfw(&["init"]).run().success();
            },
            is_new: |b| json(b),
            withdrawn_first: false,
            rerun_writes: true,
        },
        Target {
            name: "backup before apply",
            file: ".tfw/backups/dev-alice",
            needle: ".tfstate",
            args: |_| strings(&["apply", "--auto-approve", "--", "-var", "greeting=new"]),
            prepare: applied,
            is_new: |_| true,
            withdrawn_first: false,
            rerun_writes: true,
        },
        Target {
            name: "plan report (--json)",
            file: "report.json",
            needle: "report.json",
            args: |_| {
                strings(&[
                    "plan",
                    "--json",
                    "report.json",
                    "--",
                    "-var",
                    "greeting=new",
                ])
            },
            prepare: |s| {
                s.write("report.json", "{\"create\": 41}");
            },
            is_new: |b| json(b) && !String::from_utf8_lossy(b).contains("41"),
            withdrawn_first: false,
            rerun_writes: true,
        },
        Target {
            name: "graph",
            file: "graph.svg",
            needle: "graph.svg",
            args: |_| strings(&["graph"]),
            prepare: |s| {
                s.write("graph.svg", "<svg>old</svg>");
            },
            is_new: |b| String::from_utf8_lossy(b).contains("output.greeting"),
            withdrawn_first: false,
            rerun_writes: true,
        },
        Target {
            name: ".env switched by `tfw use`",
            file: ".env",
            needle: "/.env",
            args: |_| strings(&["use", "feature-x"]),
            prepare: |s| {
                s.tfw(&["--state", "feature-x", "apply", "--auto-approve"])
                    .run()
                    .success();
            },
            is_new: |b| String::from_utf8_lossy(b).contains("TF_STATE_NAME=\"feature-x\""),
            withdrawn_first: false,
            rerun_writes: true,
        },
        Target {
            name: "previous state of `tfw use`",
            file: ".tfw/previous-state",
            needle: "previous-state",
            args: |_| strings(&["use", "feature-x"]),
            prepare: |s| {
                s.tfw(&["--state", "feature-x", "apply", "--auto-approve"])
                    .run()
                    .success();
                s.write(".tfw/previous-state", "older\n");
            },
            is_new: |b| b == b"dev-alice\n",
            withdrawn_first: false,
            rerun_writes: true,
        },
        Target {
            name: "state pull -o",
            file: "pulled.tfstate",
            needle: "pulled.tfstate",
            args: |_| strings(&["state", "pull", "-o", "pulled.tfstate"]),
            prepare: |s| {
                applied(s);
                s.write("pulled.tfstate", "{\"serial\": 0, \"old\": true}");
            },
            is_new: |b| json(b) && !String::from_utf8_lossy(b).contains("\"old\""),
            withdrawn_first: false,
            rerun_writes: true,
        },
        Target {
            name: ".env replaced by `tfw setup --force`",
            file: ".env",
            needle: "/.env",
            args: |s| {
                let url = s.gitlab.url();
                strings(&[
                    "setup",
                    "--force",
                    "--token-stdin",
                    "--url",
                    &url,
                    "--project",
                    "group/infra",
                    "--username",
                    "alice",
                ])
            },
            prepare: |_| {},
            is_new: |b| String::from_utf8_lossy(b).contains("GITLAB_PROJECT"),
            withdrawn_first: false,
            rerun_writes: true,
        },
    ]
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// The file, or for a folder the newest file in it.
fn read_target(path: &Path) -> Option<Vec<u8>> {
    if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                !p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .contains(".tfw-tmp-")
            })
            .collect();
        files.sort();
        return files.last().map(|p| std::fs::read(p).unwrap());
    }
    std::fs::read(path).ok()
}

/// Would `git add -A` skip this file under the team template's `.gitignore`?
fn git_ignores(dir: &Path, file: &Path) -> bool {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/gitignore");
    if !dir.join(".git").exists() {
        git(dir, &["init", "-q"]);
    }
    std::fs::copy(rules, dir.join(".gitignore")).unwrap();
    std::process::Command::new("git")
        .args(["check-ignore", "-q"])
        .arg(file)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .status()
        .unwrap()
        .success()
}

fn leftovers(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() && !path.ends_with(".terraform") {
                stack.push(path);
            } else if entry.file_name().to_string_lossy().contains(".tfw-tmp-") {
                found.push(path);
            }
        }
    }
    found
}

/// The target's command, with the fault point armed when `point` is given.
fn run_target(sandbox: &Sandbox, target: &Target, point: Option<&str>) -> Out {
    let args = (target.args)(sandbox);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cmd = sandbox.tfw(&args);
    if let Some(point) = point {
        cmd = cmd.env("TFW_TEST_ABORT_AT", format!("{point}:{}", target.needle));
    }
    if args.contains(&"--token-stdin") {
        cmd = cmd.stdin(&format!("{ALICE_TOKEN}\n"));
    }
    cmd.run()
}

#[test]
fn a_kill_at_any_write_leaves_the_old_or_the_new_file() {
    let mut tried = 0;
    for target in targets() {
        for point in POINTS {
            let sandbox = Sandbox::new();
            (target.prepare)(&sandbox);
            let path = sandbox.path(target.file);
            // Unusual permissions, to see them kept (a folder's files are new each time).
            if path.is_file() {
                let odd = if target.file.ends_with(".env") {
                    0o600
                } else {
                    0o640
                };
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(odd)).unwrap();
            }
            let old = read_target(&path);
            // A withdrawn file comes back as a new one (mode 0600), not a rewrite.
            let old_mode = (path.is_file() && !target.withdrawn_first).then(|| mode(&path));
            let versions = sandbox.gitlab.versions("42", "dev-alice");

            let out = run_target(&sandbox, &target, Some(point));
            let label = format!("{} at {point}", target.name);
            assert_eq!(
                out.status(),
                None,
                "[{label}] the fault point was never reached:\n{}",
                out.stderr()
            );
            let now = read_target(&path);
            if point == "after-rename" {
                let bytes = now.unwrap_or_else(|| panic!("[{label}] the new file is missing"));
                assert!(
                    (target.is_new)(&bytes),
                    "[{label}] not the new version: {}",
                    String::from_utf8_lossy(&bytes)
                );
            } else if !(target.withdrawn_first && now.is_none()) {
                assert_eq!(
                    now, old,
                    "[{label}] the file changed though its write never finished"
                );
            }
            if let Some(old_mode) = old_mode
                && path.exists()
            {
                assert_eq!(mode(&path), old_mode, "[{label}] permissions changed");
            }
            // A temporary file may be left behind by the kill: never readable by more people
            // than the file it was meant to replace, and, holding a token or a state, ignored
            // by git under the template's rules like the file itself.
            for temp in leftovers(sandbox.dir.path()) {
                let temp_mode = mode(&temp);
                assert_eq!(
                    temp_mode & 0o077 & !old_mode.unwrap_or(0o644),
                    0,
                    "[{label}] {} is mode {temp_mode:o}",
                    temp.display()
                );
                if target.file.ends_with(".env")
                    || target.file.contains("tfstate")
                    || target.file.contains("backups")
                {
                    assert!(
                        git_ignores(sandbox.dir.path(), &temp),
                        "[{label}] {} would be committed",
                        temp.display()
                    );
                }
            }
            if target.name.starts_with("backup") {
                // No backup, no apply: the state on the server is untouched.
                assert_eq!(
                    sandbox.gitlab.versions("42", "dev-alice"),
                    versions,
                    "[{label}]"
                );
                assert!(
                    sandbox.gitlab.lock("42", "dev-alice").is_none(),
                    "[{label}]"
                );
            }
            // And tfw carries on from whatever the kill left.
            let out = run_target(&sandbox, &target, None);
            assert_eq!(
                out.status(),
                Some(0),
                "[{label}] the next run fails:\n{}",
                out.stderr()
            );
            let bytes = read_target(&path).unwrap();
            if target.rerun_writes {
                assert!(
                    (target.is_new)(&bytes),
                    "[{label}] the next run did not write the new version"
                );
            }
            tried += 1;
        }
    }
    assert_eq!(tried, 27);
}

/// A template sync writes the managed files, then the lock last: killed before the lock's
/// rename, the old lock is intact and the next sync finishes the job.
#[test]
fn a_kill_while_syncing_the_template_lock() {
    let sandbox = Sandbox::empty();
    let template = sandbox.path("template");
    std::fs::create_dir_all(&template).unwrap();
    let manifest = |version: &str| {
        format!(
            "version = \"{version}\"\n\n[[file]]\npath = \"ci/pipeline.yml\"\nsource = \"pipeline.yml\"\npolicy = \"managed\"\n"
        )
    };
    std::fs::write(template.join("manifest.toml"), manifest("1")).unwrap();
    std::fs::write(template.join("pipeline.yml"), "stages:\n  - plan\n").unwrap();
    let template_arg = template.to_str().unwrap().to_string();
    sandbox
        .tfw(&["new", "repo", "--template", &template_arg])
        .run()
        .success();
    let repo = sandbox.path("repo");
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "from the template"]);
    let lock = repo.join(".tfw/template.lock");
    std::fs::set_permissions(&lock, std::fs::Permissions::from_mode(0o640)).unwrap();
    let old_lock = std::fs::read(&lock).unwrap();

    std::fs::write(template.join("manifest.toml"), manifest("2")).unwrap();
    std::fs::write(
        template.join("pipeline.yml"),
        "stages:\n  - plan\n  - apply\n",
    )
    .unwrap();
    let repo_arg = repo.to_str().unwrap().to_string();
    for point in POINTS {
        let out = sandbox
            .tfw(&["-C", &repo_arg, "sync", "--allow-dirty"])
            .env("TFW_TEST_ABORT_AT", format!("{point}:template.lock"))
            .run();
        assert_eq!(
            out.status(),
            None,
            "[{point}] never reached:\n{}",
            out.stderr()
        );
        let now = std::fs::read(&lock).unwrap();
        if point == "after-rename" {
            assert!(
                String::from_utf8_lossy(&now).contains("version = \"2\""),
                "{}",
                String::from_utf8_lossy(&now)
            );
        } else {
            assert_eq!(now, old_lock, "[{point}] a torn lock");
        }
        assert_eq!(mode(&lock), 0o640, "[{point}]");
        if point != "after-rename" {
            // Put the old lock back for the next point (the managed file may be new already).
            std::fs::write(&lock, &old_lock).unwrap();
        }
    }
    sandbox
        .tfw(&["-C", &repo_arg, "sync", "--allow-dirty"])
        .run()
        .success();
    sandbox
        .tfw(&["-C", &repo_arg, "sync", "--check"])
        .run()
        .code(0);
}

/// Real kill -9s at moments spread over `tfw plan` and `tfw use`: whatever the moment, every
/// file is whole, and the next commands work.
#[test]
fn kill_9_at_arbitrary_moments() {
    let sandbox = Sandbox::new();
    sandbox
        .tfw(&["--state", "feature-x", "apply", "--auto-approve"])
        .run()
        .success();
    let states = ["feature-x", "dev-alice"];
    for round in 0..16u64 {
        let args: &[&str] = if round % 2 == 0 {
            &["plan"]
        } else {
            &["use", states[(round / 2 % 2) as usize]]
        };
        let child = sandbox.tfw(args).spawn();
        // Spread over the run: 0 ms up to ~450 ms (a plan takes a few hundred ms).
        std::thread::sleep(Duration::from_millis(round * 30));
        // SAFETY: killing the tfw this test started.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGKILL);
        }
        // Killed, or done before the kill, or refused while the terraform an earlier kill
        // left running still runs here (it holds the directory until it ends).
        let out = wait_with_output(child, Duration::from_secs(60));
        let status = out.status();
        assert!(
            matches!(status, None | Some(0))
                || (status == Some(1) && out.stderr().contains("is running in this directory")),
            "[round {round}] {status:?}\n{}",
            out.all()
        );
        let env = sandbox.read(".env");
        assert!(
            states
                .iter()
                .any(|s| env.contains(&format!("TF_STATE_NAME=\"{s}\""))),
            "[round {round}] a torn .env:\n{env}"
        );
        for file in [
            ".tfw/init.json",
            ".tfw/plans/dev-alice.json",
            ".tfw/plans/feature-x.json",
        ] {
            if let Ok(bytes) = std::fs::read(sandbox.path(file)) {
                assert!(json(&bytes), "[round {round}] torn {file}");
            }
        }
    }
    // Whatever state the kills left, the next commands work. A terraform orphaned by the
    // kill may leave its lock: tfw names it as your own and says how to release it, which is
    // what a person would do next, once that terraform has ended.
    crate::support::slow_apply::wait_until_nothing_runs(&sandbox);
    sandbox.tfw(&["use", "dev-alice"]).run().success();
    let plan = sandbox.tfw(&["plan"]).run();
    if plan.status() != Some(0) {
        plan.stderr_has("that is your own lock")
            .stderr_has("tfw state unlock dev-alice");
        sandbox.tfw(&["state", "unlock"]).run().success();
        sandbox.tfw(&["plan"]).run().success();
    }
    sandbox.tfw(&["apply", "--auto-approve"]).run().success();
    assert!(sandbox.gitlab.lock("42", "dev-alice").is_none());
}

/// Normal runs keep a file's mode; a symlinked `.env` stays a symlink because tfw refuses to
/// write through it (path_safety.rs tries every kind of link).
#[test]
fn rewrites_keep_permissions_and_symlinks() {
    let sandbox = Sandbox::new();
    sandbox
        .tfw(&["--state", "feature-x", "apply", "--auto-approve"])
        .run()
        .success();
    // `.env` lives elsewhere, linked into the repository (a common way to share one file).
    let real = sandbox.home.path().join("secrets/infra.env");
    std::fs::create_dir_all(real.parent().unwrap()).unwrap();
    std::fs::rename(sandbox.path(".env"), &real).unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o400)).unwrap();
    let before = std::fs::read(&real).unwrap();
    std::os::unix::fs::symlink(&real, sandbox.path(".env")).unwrap();
    sandbox
        .tfw(&["use", "feature-x"])
        .run()
        .code(1)
        .stderr_has("is a symbolic link to")
        .stderr_has("cp --remove-destination");
    let link = std::fs::symlink_metadata(sandbox.path(".env")).unwrap();
    assert!(link.file_type().is_symlink(), "`.env` was replaced");
    assert_eq!(std::fs::read(&real).unwrap(), before, "written through");
    assert_eq!(mode(&real), 0o400, "the real file keeps its mode");
    std::fs::remove_file(sandbox.path(".env")).unwrap();
    std::fs::rename(&real, sandbox.path(".env")).unwrap();
    std::fs::set_permissions(sandbox.path(".env"), std::fs::Permissions::from_mode(0o600)).unwrap();
    sandbox.tfw(&["use", "feature-x"]).run().success();

    for (file, args, odd) in [
        (".tfw/init.json", &["init"][..], 0o604),
        ("report.json", &["plan", "--json", "report.json"], 0o640),
        ("graph.svg", &["graph"], 0o664),
    ] {
        sandbox.tfw(args).run().success();
        let path = sandbox.path(file);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(odd)).unwrap();
        sandbox.tfw(&["clean"]).run().success();
        sandbox.write(file, "old");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(odd)).unwrap();
        sandbox.tfw(args).run().success();
        assert_ne!(sandbox.read(file), "old", "{file} was rewritten");
        assert_eq!(mode(&path), odd, "{file} keeps its mode");
    }
    // New files holding state or metadata are the owner's alone.
    sandbox
        .tfw(&["apply", "--auto-approve", "--", "-var", "greeting=x"])
        .run()
        .success();
    for entry in std::fs::read_dir(sandbox.path(".tfw/backups/feature-x"))
        .unwrap()
        .flatten()
    {
        assert_eq!(mode(&entry.path()), 0o600);
    }
    sandbox.tfw(&["plan"]).run().success();
    assert_eq!(mode(&sandbox.path(".tfw/plans/feature-x.json")), 0o600);
    let _ = MAIN_TF;
}

/// A `.tfw` that is a symbolic link (or a folder below it that is one) would take plans and
/// state backups, both holding the state in clear, outside the repository: every command that
/// keeps something there refuses, and nothing is written where the link points.
#[test]
fn a_symlinked_tfw_folder_is_refused_and_nothing_lands_where_it_points() {
    let sandbox = Sandbox::new();
    let elsewhere = sandbox.home.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, sandbox.path(".tfw")).unwrap();
    for args in [&["plan"][..], &["apply", "--auto-approve"], &["init"]] {
        sandbox
            .tfw(args)
            .run()
            .code(1)
            .stderr_has("is a symbolic link")
            .stderr_has(".tfw");
    }
    let leaked: Vec<_> = walk(&elsewhere);
    assert!(leaked.is_empty(), "written through the link: {leaked:?}");

    // A link deeper down, where the saved plans go.
    std::fs::remove_file(sandbox.path(".tfw")).unwrap();
    std::fs::create_dir_all(sandbox.path(".tfw")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, sandbox.path(".tfw/plans")).unwrap();
    sandbox
        .tfw(&["plan"])
        .run()
        .code(1)
        .stderr_has("plans` is a symbolic link");
    assert!(walk(&elsewhere).is_empty(), "{:?}", walk(&elsewhere));
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(walk(&path));
        }
        found.push(path);
    }
    found
}
