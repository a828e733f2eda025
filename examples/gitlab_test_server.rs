//! The integration tests' GitLab test server as a standalone process, for benchmarks and for
//! pipeline tests (gitlab-ci-local) that cannot host it in-process.
//!
//! ```text
//! cargo run --example gitlab_test_server -- [--port N] [--port-file PATH] [--seed-state NAME=FILE]...
//! ```
//!
//! Serves the default project (42, `group/infra`), users and job token of `GitLab::start()` on
//! 127.0.0.1, prints `listening on http://127.0.0.1:PORT` and runs until killed.
#[path = "../tests/support/gitlab/mod.rs"]
mod gitlab;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str =
    "usage: gitlab_test_server [--port N] [--port-file PATH] [--seed-state NAME=FILE]...";

struct Args {
    port: u16,
    port_file: Option<PathBuf>,
    seeds: Vec<(String, PathBuf)>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        port: 0,
        port_file: None,
        seeds: Vec::new(),
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
