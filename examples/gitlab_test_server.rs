//! The integration tests' GitLab test server as a standalone process, for benchmarks and for
//! pipeline tests (gitlab-ci-local) that cannot host it in-process.
//!
//! ```text
//! cargo run --example gitlab_test_server -- [--port N] [--port-file PATH] [--seed-state NAME=FILE]...
//!                                            [--seed-fleet GROUP=N:DIR]...
//! ```
//!
//! Serves the default project (42, `group/infra`), users and job token of `GitLab::start()` on
//! 127.0.0.1, prints `listening on http://127.0.0.1:PORT` and runs until killed.
//! `--seed-fleet GROUP=N:DIR` adds group GROUP with N projects `GROUP/p0001`... whose `main`
//! holds the files of DIR (its `.git` left out), alice a Maintainer of the group: a fleet for
//! `tfw fleet` benchmarks.
#[path = "../tests/support/gitlab/mod.rs"]
mod gitlab;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: gitlab_test_server [--port N] [--port-file PATH] [--seed-state NAME=FILE]... [--seed-fleet GROUP=N:DIR]...";

struct Args {
    port: u16,
    port_file: Option<PathBuf>,
    seeds: Vec<(String, PathBuf)>,
    fleets: Vec<(String, usize, PathBuf)>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        port: 0,
        port_file: None,
        seeds: Vec::new(),
        fleets: Vec::new(),
    };
    let mut argv = std::env::args().skip(1);
    while let Some(arg) = argv.next() {
        // Accept both `--flag value` and `--flag=value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_string(), Some(value.to_string()))
            }
            _ => (arg.clone(), None),
        };
        if flag == "-h" || flag == "--help" {
            return Err(USAGE.into());
        }
        let mut value = || {
            inline
                .clone()
                .or_else(|| argv.next())
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--port" => {
                let v = value()?;
                args.port = v.parse().map_err(|_| format!("bad port {v:?}"))?;
            }
            "--port-file" => args.port_file = Some(value()?.into()),
            "--seed-state" => {
                let v = value()?;
                let (name, file) = v
                    .split_once('=')
                    .ok_or_else(|| format!("--seed-state wants NAME=FILE, got {v:?}"))?;
                args.seeds.push((name.to_string(), file.into()));
            }
            "--seed-fleet" => {
                let v = value()?;
                let parsed = v.split_once('=').and_then(|(group, rest)| {
                    let (n, dir) = rest.split_once(':')?;
                    Some((group.to_string(), n.parse().ok()?, PathBuf::from(dir)))
                });
                args.fleets.push(
                    parsed.ok_or_else(|| format!("--seed-fleet wants GROUP=N:DIR, got {v:?}"))?,
                );
            }
            _ => return Err(format!("unknown argument {arg:?}\n{USAGE}")),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let server = match gitlab::GitLab::start_on(args.port) {
        Ok(server) => server,
        Err(e) => {
            eprintln!(
                "gitlab_test_server: cannot listen on port {}: {e}",
                args.port
            );
            return ExitCode::FAILURE;
        }
    };
    // Nobody can read the log of a separate process; without this a benchmark grows it forever.
    server.set_request_log(false);
    for (name, file) in &args.seeds {
        match std::fs::read(file) {
            Ok(bytes) => server.put_state(&gitlab::PROJECT_ID.to_string(), name, &bytes),
            Err(e) => {
                eprintln!("gitlab_test_server: cannot read {}: {e}", file.display());
                return ExitCode::FAILURE;
            }
        }
    }
    for (index, (group, count, dir)) in args.fleets.iter().enumerate() {
        let files = match files_of(dir, dir) {
            Ok(files) => files,
            Err(e) => {
                eprintln!("gitlab_test_server: cannot read {}: {e}", dir.display());
                return ExitCode::FAILURE;
            }
        };
        let group_id = 100_000 * (index as u64 + 1);
        server.add_group(group_id, group);
        server.set_group_role(group, gitlab::ALICE, Some(gitlab::Role::Maintainer));
        for i in 1..=*count as u64 {
            let path = format!("{group}/p{i:04}");
            server.add_project(group_id + i, &path);
            for (name, bytes, mode) in &files {
                server.put_file_mode(&path, "main", name, bytes, *mode);
            }
        }
    }
    if let Some(path) = &args.port_file {
        // Written to a temporary name and renamed, so a poller never reads a half-written port.
        let tmp = path.with_extension("tmp");
        let written = std::fs::write(&tmp, server.port().to_string())
            .and_then(|()| std::fs::rename(&tmp, path));
        if let Err(e) = written {
            eprintln!("gitlab_test_server: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    println!("listening on {}", server.url());
    let _ = std::io::stdout().flush();
    // SIGTERM/SIGINT end the process with their default action; there is nothing to clean up.
    loop {
        std::thread::park();
    }
}

/// Every file below `dir` (relative to `root`, `.git` left out) with its bytes and mode.
fn files_of(
    root: &std::path::Path,
    dir: &std::path::Path,
) -> std::io::Result<Vec<(String, Vec<u8>, gitlab::FileMode)>> {
    use std::os::unix::fs::PermissionsExt;
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        let kind = entry.file_type()?;
        if name == ".git" {
            continue;
        }
        if kind.is_dir() {
            files.extend(files_of(root, &path)?);
        } else if kind.is_symlink() {
            let target = std::fs::read_link(&path)?;
            let bytes = target.to_string_lossy().into_owned().into_bytes();
            files.push((name, bytes, gitlab::FileMode::Symlink));
        } else {
            let executable = entry.metadata()?.permissions().mode() & 0o111 != 0;
            let mode = match executable {
                true => gitlab::FileMode::Executable,
                false => gitlab::FileMode::Regular,
            };
            files.push((name, std::fs::read(&path)?, mode));
        }
    }
    Ok(files)
}
