//! Issue 15, item 1: nothing a template or a repository contains makes tfw read or write
//! outside the repository or inside `.git/`: symlinks at managed paths, `.git` destinations,
//! template files linking out of the template, FIFOs.

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::time::Duration;

use crate::support::{Sandbox, git};
use crate::templates::{
    NOTES, commit_all, new_repo, read, set_version, team_template, tfw_in, write,
};

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_symlink_at_a_managed_path_is_refused_then_replaced_only_when_asked() {
    let sandbox = Sandbox::empty();
    let template = sandbox.path("template");
    team_template(&template);
    let repo = new_repo(&sandbox, "infra", "template");
    let outside = sandbox.path("home/somefile");
    write(&outside, "my own file\n");
    std::fs::remove_file(repo.join(".gitignore")).unwrap();
    symlink(&outside, repo.join(".gitignore")).unwrap();
    commit_all(&repo, "a committed symlink");
    write(&template.join("gitignore"), ".env\n.terraform/\n*.tfplan\n");
    set_version(&template, "2");

    tfw_in(&sandbox, &repo, &["sync", "--check"])
        .code(3)
        .stderr_has("`.gitignore` is a symbolic link");
    tfw_in(&sandbox, &repo, &["sync"])
        .code(1)
        .stderr_has("`.gitignore` is a symbolic link")
        .stderr_has("--replace-symlinks");
    tfw_in(&sandbox, &repo, &["sync", "--dry-run"]).code(1);
    assert_eq!(read(&outside), "my own file\n", "never written through");

    tfw_in(&sandbox, &repo, &["sync", "--replace-symlinks"]).code(0);
    let meta = std::fs::symlink_metadata(repo.join(".gitignore")).unwrap();
    assert!(meta.is_file(), "the link itself was replaced by a file");
    assert!(read(&repo.join(".gitignore")).contains("*.tfplan"));
    assert_eq!(
        read(&outside),
        "my own file\n",
        "the link's target is left alone"
    );
    tfw_in(&sandbox, &repo, &["sync", "--check"]).code(0);
}

#[test]
fn a_symlinked_directory_on_the_way_is_refused_too() {
    let sandbox = Sandbox::empty();
    let template = sandbox.path("template");
    team_template(&template);
    let repo = new_repo(&sandbox, "infra", "template");
    let elsewhere = sandbox.path("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::remove_dir_all(repo.join("ci")).unwrap();
    symlink(&elsewhere, repo.join("ci")).unwrap();
    commit_all(&repo, "ci is a link");
    tfw_in(&sandbox, &repo, &["sync", "--allow-dirty"])
        .code(1)
        .stderr_has("`ci` is a symbolic link");
    assert!(std::fs::read_dir(&elsewhere).unwrap().next().is_none());
    // The lock itself: a link is never followed either.
    let lock = repo.join(".tfw/template.lock");
    let text = read(&lock);
    write(&sandbox.path("lock-copy"), &text);
    std::fs::remove_file(&lock).unwrap();
    symlink(sandbox.path("lock-copy"), &lock).unwrap();
    tfw_in(&sandbox, &repo, &["sync", "--check"])
        .code(1)
        .stderr_has("`.tfw/template.lock` is a symbolic link");
}

#[test]
fn destinations_inside_git_or_outside_the_repository_are_refused() {
    let sandbox = Sandbox::empty();
    for (i, path) in [
        ".git/config",
        ".GIT/config",
        "sub/.git/hooks/pre-commit",
        "../outside",
        "a/../.git/config",
        "/etc/passwd",
    ]
    .into_iter()
    .enumerate()
    {
        let template = sandbox.path(&format!("t{i}"));
        write(
            &template.join("manifest.toml"),
            &format!("[[file]]\npath = \"{path}\"\nsource = \"x\"\npolicy = \"managed\"\n"),
        );
        write(
            &template.join("x"),
            "[core]\n\tfsmonitor = touch /tmp/pwned\n",
        );
        let name = format!("r{i}");
        sandbox
            .tfw(&["new", &name, "--template", template.to_str().unwrap()])
            .run()
            .code(1)
            .stderr_has("is not a destination inside the repository");
        assert!(!sandbox.path(&name).exists(), "{path}: nothing created");
    }
    // A lock naming such a path is a hand-edited lock: drift, and never read.
    let template = sandbox.path("template");
    team_template(&template);
    let repo = new_repo(&sandbox, "infra", "template");
    let lock = read(&repo.join(".tfw/template.lock"));
    write(
        &repo.join(".tfw/template.lock"),
        &lock.replace("[files.\"main.tf\"]", "[files.\".git/config\"]"),
    );
    tfw_in(&sandbox, &repo, &["sync", "--check"])
        .code(3)
        .stderr_has("`.git/config` is not a path inside the repository");
}

#[test]
fn directory_template_files_linking_out_of_the_template_are_refused() {
    let sandbox = Sandbox::empty();
    let template = sandbox.path("template");
    team_template(&template);
    write(
        &sandbox.path("home/.gitconfig"),
        "[user]\n\tname = secret\n",
    );
    std::fs::remove_file(template.join("notes.md")).unwrap();
    symlink(sandbox.path("home/.gitconfig"), template.join("notes.md")).unwrap();
    sandbox
        .tfw(&["new", "infra", "--template", "template"])
        .run()
        .code(1)
        .stderr_has("outside the template");
    assert!(!sandbox.path("infra").exists());

    // A link inside the template is fine.
    std::fs::remove_file(template.join("notes.md")).unwrap();
    write(&template.join("shared/notes.md"), NOTES);
    symlink("shared/notes.md", template.join("notes.md")).unwrap();
    let repo = new_repo(&sandbox, "infra", "template");
    assert_eq!(read(&repo.join("notes.md")), NOTES);
}

#[test]
fn git_template_symlinks_are_refused() {
    let sandbox = Sandbox::empty();
    let work = sandbox.path("template-work");
    team_template(&work);
    std::fs::remove_file(work.join("notes.md")).unwrap();
    symlink("/etc/hostname", work.join("notes.md")).unwrap();
    git(&work, &["init", "-q"]);
    commit_all(&work, "v1");
    let source = format!("{}@HEAD", work.display());
    sandbox
        .tfw(&["new", "infra", "--template", &source])
        .run()
        .code(1)
        .stderr_has("`notes.md` is a symbolic link");
}

#[test]
fn a_fifo_at_a_managed_path_is_refused_at_once_and_never_hangs_the_fleet() {
    let sandbox = Sandbox::empty();
    let template = sandbox.path("template");
    team_template(&template);
    let stuck = new_repo(&sandbox, "repos/stuck", "template");
    new_repo(&sandbox, "repos/fine", "template");
    std::fs::remove_file(stuck.join("notes.md")).unwrap();
    mkfifo(&stuck.join("notes.md"));
    let quick = Duration::from_secs(60);
    tfw_in(&sandbox, &stuck, &["sync", "--check"])
        .code(3)
        .stderr_has("`notes.md` is a FIFO");
    sandbox
        .tfw(&["-C", stuck.to_str().unwrap(), "sync", "--allow-dirty"])
        .timeout(quick)
        .run()
        .code(1)
        .stderr_has("`notes.md` is a FIFO");
    // In the template directory too.
    std::fs::remove_file(template.join("pipeline.yml")).unwrap();
    mkfifo(&template.join("pipeline.yml"));
    let out = sandbox
        .tfw(&["sync", "--check", "--repos", "repos/stuck", "repos/fine"])
        .timeout(quick)
        .run();
    out.code(1).stderr_has("is a FIFO");
    assert_eq!(out.stdout.lines().count(), 3, "{}", out.stdout);
}

#[test]
fn the_templates_exec_bit_is_applied() {
    let sandbox = Sandbox::empty();
    let template = sandbox.path("template");
    team_template(&template);
    let manifest = read(&template.join("manifest.toml"));
    write(
        &template.join("manifest.toml"),
        &format!(
            "{manifest}\n[[file]]\npath = \"scripts/check.sh\"\nsource = \"check.sh\"\npolicy = \"managed\"\n"
        ),
    );
    write(&template.join("check.sh"), "#!/bin/sh\necho ok\n");
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o111;
    std::fs::set_permissions(
        template.join("check.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let repo = new_repo(&sandbox, "infra", "template");
    assert_eq!(mode(&repo.join("scripts/check.sh")), 0o111);
    tfw_in(&sandbox, &repo, &["sync", "--check"]).code(0);

    // The template drops the bit: an update, and the sync applies it.
    std::fs::set_permissions(
        template.join("check.sh"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    tfw_in(&sandbox, &repo, &["sync", "--check"])
        .code(2)
        .stderr_has("exec bit");
    tfw_in(&sandbox, &repo, &["sync"]).code(0);
    assert_eq!(mode(&repo.join("scripts/check.sh")), 0);
    tfw_in(&sandbox, &repo, &["sync", "--check"]).code(0);
}
