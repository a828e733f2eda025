//! The audit of paths and links against the rule "no command may lose a state, a local edit,
//! a file it did not create, or a `.env` line; nothing is written outside the repository or
//! through a symlink". `.env` first: whatever a link names (a file elsewhere, `/dev/null`,
//! nothing, a FIFO, a folder), `tfw use` and `tfw setup` refuse, naming the file and what to
//! do, and change nothing; a FIFO never hangs a command; a hard link is refused rather than
//! split by the atomic rename. Templates, `tfw clean` and root discovery follow.

use std::os::unix::fs::{FileTypeExt, symlink};
use std::path::Path;
use std::time::Duration;

use crate::support::gitlab::ALICE_TOKEN;
use crate::support::{Out, Sandbox};

const QUICK: Duration = Duration::from_secs(60);

pub(crate) fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

fn use_new(sandbox: &Sandbox) -> Out {
    sandbox
        .tfw(&["use", "feature-x", "--new"])
        .timeout(QUICK)
        .run()
}

fn setup_force(sandbox: &Sandbox) -> Out {
    sandbox.setup_force(ALICE_TOKEN).timeout(QUICK).run()
}

#[test]
fn a_symlinked_env_is_never_written_through_whatever_it_names() {
    let sandbox = Sandbox::new();
    let text = sandbox.read(".env");
    let home = sandbox.home.path();
    let outside = home.join("secrets/infra.env");
    std::fs::create_dir_all(outside.parent().unwrap()).unwrap();
    std::fs::write(&outside, &text).unwrap();
    let fifo = home.join("fifo");
    mkfifo(&fifo);
    let folder = home.join("folder");
    std::fs::create_dir_all(&folder).unwrap();
    let gone = home.join("gone/infra.env");
    let targets = [
        outside.as_path(),
        Path::new("/dev/null"),
        gone.as_path(),
        fifo.as_path(),
        folder.as_path(),
    ];
    for target in targets {
        let label = target.display();
        std::fs::remove_file(sandbox.path(".env")).unwrap();
        symlink(target, sandbox.path(".env")).unwrap();
        let refused = |out: Out| {
            out.code(1).stderr_has(".env`");
            assert!(
                out.stderr().contains("is a symbolic link to")
                    || out.stderr().contains("not a regular file")
                    || out.stderr().contains("does not exist"),
                "[{label}] {}",
                out.stderr()
            );
        };
        refused(use_new(&sandbox));
        refused(setup_force(&sandbox));
        let link = std::fs::symlink_metadata(sandbox.path(".env")).unwrap();
        assert!(
            link.file_type().is_symlink(),
            "[{label}] the link was replaced"
        );
        assert_eq!(std::fs::read_link(sandbox.path(".env")).unwrap(), target);
        assert_eq!(
            std::fs::read_to_string(&outside).unwrap(),
            text,
            "[{label}]"
        );
        assert!(!gone.parent().unwrap().exists(), "[{label}] created");
        assert!(std::fs::read_dir(&folder).unwrap().next().is_none());
        assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
        let null = std::fs::metadata("/dev/null").unwrap();
        assert!(null.file_type().is_char_device(), "/dev/null was replaced");
        assert!(!sandbox.path(".tfw/previous-state").exists(), "[{label}]");
        assert!(!sandbox.path(".tfw/env-backups").exists(), "[{label}]");
    }
}

#[test]
fn a_fifo_or_a_folder_as_env_never_hangs_and_is_named() {
    let sandbox = Sandbox::new();
    std::fs::remove_file(sandbox.path(".env")).unwrap();
    mkfifo(&sandbox.path(".env"));
    for args in [&["plan"][..], &["env"], &["use", "x", "--new"], &["doctor"]] {
        sandbox
            .tfw(args)
            .timeout(QUICK)
            .run()
            .failure()
            .stderr_has(".env`")
            .stderr_has("is a FIFO, not a regular file");
    }
    setup_force(&sandbox)
        .code(1)
        .stderr_has("is a FIFO, not a regular file");
    // `tfw adopt` never rewrites `.env`, and reading it must not hang it either.
    let adopt = sandbox.tfw(&["adopt", "--dry-run"]).timeout(QUICK).run();
    adopt.success();
    let meta = std::fs::symlink_metadata(sandbox.path(".env")).unwrap();
    assert!(meta.file_type().is_fifo());
    std::fs::remove_file(sandbox.path(".env")).unwrap();
    std::fs::create_dir(sandbox.path(".env")).unwrap();
    use_new(&sandbox).code(1).stderr_has("is a directory");
    setup_force(&sandbox).code(1).stderr_has("is a directory");
    assert!(sandbox.path(".env").is_dir());
}

/// Hard links: an atomic rename would give `.env` a new inode and leave the other name
/// holding the old text, silently. Refused instead, with how to give `.env` its own file.
#[test]
fn a_hard_linked_env_is_refused_rather_than_split() {
    let sandbox = Sandbox::new();
    let other = sandbox.home.path().join("infra.env");
    std::fs::hard_link(sandbox.path(".env"), &other).unwrap();
    let before = sandbox.read(".env");
    use_new(&sandbox)
        .code(1)
        .stderr_has("`.env` has 2 hard links")
        .stderr_has("cp -p");
    setup_force(&sandbox).code(1).stderr_has("has 2 hard links");
    assert_eq!(sandbox.read(".env"), before);
    assert_eq!(std::fs::read_to_string(&other).unwrap(), before);
    std::fs::remove_file(&other).unwrap();
    use_new(&sandbox).success();
    assert!(sandbox.read(".env").contains("TF_STATE_NAME=\"feature-x\""));
}
