//! The audit of paths and links, continued (path_safety.rs has `.env`): `tfw clean` removes
//! terraform's and tfw's own files only, never through a link nor in a folder that is no
//! root; root discovery never follows a link out of the repository nor loops on one, and a
//! pattern or `--changed` ref cannot point it elsewhere; template manifests cannot name two
//! paths one case-insensitive file system would take for one, nor `tfw new` write through
//! a link.

use std::os::unix::fs::symlink;
use std::time::Duration;

use crate::support::{MAIN_TF, Sandbox, git};
use crate::templates::{read, write};

#[test]
fn clean_never_follows_nor_removes_a_link_and_keeps_what_git_tracks() {
    let sandbox = Sandbox::new();
    let elsewhere = sandbox.home.path().join("elsewhere");
    write(&elsewhere.join("cache/provider"), "a provider\n");
    write(&elsewhere.join("keep.tfplan"), "mine\n");
    // Inside `.terraform`, a link to somewhere else (terraform's plugin cache does this).
    sandbox.write(".terraform/terraform.tfstate", "{}");
    symlink(
        elsewhere.join("cache"),
        sandbox.path(".terraform/providers"),
    )
    .unwrap();
    sandbox.write("crash.log", "boom");
    sandbox.tfw(&["clean"]).run().success();
    assert!(!sandbox.path(".terraform").exists() && !sandbox.path("crash.log").exists());
    assert_eq!(read(&elsewhere.join("cache/provider")), "a provider\n");

    // Links at the working files' names: left alone, each named.
    symlink(elsewhere.join("cache"), sandbox.path(".terraform")).unwrap();
    symlink(elsewhere.join("keep.tfplan"), sandbox.path("x.tfplan")).unwrap();
    symlink(elsewhere.join("gone.svg"), sandbox.path("graph.svg")).unwrap();
    sandbox.write("crash.log", "boom");
    sandbox
        .tfw(&["clean"])
        .run()
        .success()
        .stderr_has("left `.terraform` alone: `.terraform` is a symbolic link to")
        .stderr_has("left `x.tfplan` alone")
        .stderr_has("left `graph.svg` alone")
        .stderr_has("Removed `crash.log`");
    for link in [".terraform", "x.tfplan", "graph.svg"] {
        let meta = std::fs::symlink_metadata(sandbox.path(link)).unwrap();
        assert!(meta.file_type().is_symlink(), "{link} was removed");
    }
    assert_eq!(read(&elsewhere.join("cache/provider")), "a provider\n");
    assert_eq!(read(&elsewhere.join("keep.tfplan")), "mine\n");

    // A committed `graph.svg` is documentation, not a leftover.
    std::fs::remove_file(sandbox.path("graph.svg")).unwrap();
    sandbox.write("graph.svg", "<svg>the team's diagram</svg>");
    git(sandbox.dir.path(), &["init", "-q"]);
    git(sandbox.dir.path(), &["add", "graph.svg"]);
    git(sandbox.dir.path(), &["commit", "-q", "-m", "diagram"]);
    sandbox
        .tfw(&["clean"])
        .run()
        .success()
        .stderr_has("left `graph.svg` alone: git tracks it");
    assert_eq!(sandbox.read("graph.svg"), "<svg>the team's diagram</svg>");
}

#[test]
fn clean_in_a_folder_that_is_no_root_removes_nothing() {
    let sandbox = Sandbox::new();
    let home = sandbox.home.path();
    for name in ["crash.log", "notes.tfplan", "graph.svg", "graph.dot"] {
        write(&home.join(name), "somebody's\n");
    }
    write(&home.join(".terraform/x"), "somebody's\n");
    let home_arg = home.to_str().unwrap();
    for args in [
        &["-C", home_arg, "clean"][..],
        &["-C", home_arg, "clean", "--dry-run"],
    ] {
        sandbox
            .tfw(args)
            .run()
            .code(1)
            .stderr_has("holds no terraform configuration")
            .stderr_has("nothing was removed")
            .stderr_has("tfw -C ROOT clean");
    }
    for name in [
        "crash.log",
        "notes.tfplan",
        "graph.svg",
        "graph.dot",
        ".terraform/x",
    ] {
        assert_eq!(read(&home.join(name)), "somebody's\n", "{name}");
    }
    assert!(!home.join(".tfw").exists(), "no run lock created there");
}

/// A git repository with one real root, a link back to itself (a loop), a link to a folder
/// outside holding a root, and `tfw.toml` naming neither.
fn linked_repo() -> Sandbox {
    let sandbox = Sandbox::empty();
    git(sandbox.dir.path(), &["init", "-q"]);
    sandbox.write("envs/prod/main.tf", MAIN_TF);
    let outside = sandbox.home.path().join("outside");
    write(&outside.join("main.tf"), MAIN_TF);
    symlink(".", sandbox.path("loop")).unwrap();
    symlink("..", sandbox.path("envs/up")).unwrap();
    symlink(&outside, sandbox.path("envs/outside")).unwrap();
    sandbox
}

#[test]
fn root_discovery_never_follows_a_link_out_nor_loops() {
    let sandbox = linked_repo();
    let out = sandbox
        .tfw(&["roots", "--json", "--offline"])
        .timeout(Duration::from_secs(60))
        .run();
    // Exit 1: the root has no `.env`, which is not what this test is about.
    out.code(1);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let roots: Vec<&str> = json["roots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["root"].as_str().unwrap())
        .collect();
    assert_eq!(roots, ["envs/prod"], "{}", out.stdout);
    // Patterns only choose among those roots: `..` or an absolute path matches none.
    let outside = sandbox.home.path().join("outside");
    for pattern in ["../*", "envs/outside", outside.to_str().unwrap(), "/*"] {
        sandbox
            .tfw(&["roots", "--offline", "--roots", pattern])
            .run()
            .code(1)
            .stderr_has("matches no root")
            .stderr_has("the roots are: envs/prod");
    }
    // Declared through a link, out of the repository or back into it: refused.
    for key in ["envs/outside", "loop/envs/prod", "envs/up/envs/prod"] {
        sandbox.write("tfw.toml", format!("[roots.\"{key}\"]\n"));
        sandbox
            .tfw(&["roots", "--offline"])
            .run()
            .code(1)
            .stderr_has("reaches its folder through the symbolic link")
            .stderr_has("tfw runs roots only in the repository's own folders");
    }
    assert!(!outside.join(".tfw").exists() && !outside.join(".terraform").exists());
}

#[test]
fn a_changed_ref_is_never_taken_for_a_git_option() {
    let sandbox = linked_repo();
    std::fs::remove_file(sandbox.path("envs/outside")).unwrap();
    git(sandbox.dir.path(), &["add", "-A"]);
    git(sandbox.dir.path(), &["commit", "-q", "-m", "one"]);
    for reference in ["--all", "-h", "--output=/tmp/tfw-pwned"] {
        sandbox
            .tfw(&["roots", "--offline", &format!("--changed={reference}")])
            .run()
            .code(1)
            .stderr_has("a revision never starts with `-`");
    }
    assert!(!std::path::Path::new("/tmp/tfw-pwned").exists());
    sandbox
        .tfw(&["roots", "--offline", "--changed=HEAD~5"])
        .run()
        .code(1)
        .stderr_has("git knows no such revision");
}

#[test]
fn manifest_paths_that_differ_only_in_case_are_refused() {
    let sandbox = Sandbox::empty();
    for (i, (a, b)) in [("ci/jobs.yml", "CI/jobs.yml"), ("README.md", "readme.md")]
        .into_iter()
        .enumerate()
    {
        let template = sandbox.path(&format!("t{i}"));
        write(
            &template.join("manifest.toml"),
            &format!(
                "[[file]]\npath = \"{a}\"\nsource = \"x\"\npolicy = \"managed\"\n\n[[file]]\npath = \"{b}\"\nsource = \"x\"\npolicy = \"managed\"\n"
            ),
        );
        write(&template.join("x"), "x\n");
        let name = format!("r{i}");
        sandbox
            .tfw(&["new", &name, "--template", template.to_str().unwrap()])
            .run()
            .code(1)
            .stderr_has(&format!("`{a}` and `{b}` differ only in case"));
        assert!(!sandbox.path(&name).exists());
    }
    let template = sandbox.path("t-tfw");
    write(
        &template.join("manifest.toml"),
        "[[file]]\npath = \".TFW/plans/x.json\"\nsource = \"x\"\npolicy = \"managed\"\n",
    );
    write(&template.join("x"), "x\n");
    sandbox
        .tfw(&["new", "r-tfw", "--template", template.to_str().unwrap()])
        .run()
        .code(1)
        .stderr_has("is not a destination inside the repository");
}

#[test]
fn new_never_writes_through_a_linked_folder() {
    let sandbox = Sandbox::empty();
    let elsewhere = sandbox.home.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    symlink(&elsewhere, sandbox.path("infra")).unwrap();
    sandbox
        .tfw(&["new", "infra"])
        .run()
        .code(1)
        .stderr_has("`infra` is a symbolic link to")
        .stderr_has("tfw writes nothing through a link");
    assert!(std::fs::read_dir(&elsewhere).unwrap().next().is_none());
}

/// git keeps symbolic links: a repository may link `tfw.toml` or `.terraform-version` to
/// `/dev/zero` (read forever) or a FIFO (read never). Every command then stops at once,
/// naming the file.
#[test]
fn a_committed_link_to_a_device_or_fifo_never_hangs() {
    let sandbox = Sandbox::new();
    symlink("/dev/zero", sandbox.path(".terraform-version")).unwrap();
    for target in ["/dev/zero", "fifo"] {
        let _ = std::fs::remove_file(sandbox.path("tfw.toml"));
        symlink(target, sandbox.path("tfw.toml")).unwrap();
        if target == "fifo" {
            crate::path_safety::mkfifo(&sandbox.path("fifo"));
        }
        for args in [&["env"][..], &["plan"]] {
            sandbox
                .tfw(args)
                .timeout(Duration::from_secs(60))
                .run()
                .failure()
                .stderr_has("tfw.toml`")
                .stderr_has("not a regular file");
        }
    }
}
