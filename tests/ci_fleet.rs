//! Issue 18, item 4: the template repository's pipeline (`templates/fleet.gitlab-ci.yml`) run
//! for real by gitlab-ci-local with the shell executor against the GitLab test server: on a
//! tag, `fleet sync` in `parallel:` shards opens every project's merge request once (each
//! shard its share, by project id), the locks recording the tag; on a schedule,
//! `fleet status` reports. The token comes from a CI/CD variable and never shows in a log.

use std::path::Path;

use crate::ci::{finish, gitlab_ci_local_in};
use crate::fleet_status::Fleet;
use crate::support::gitlab::{self, ALICE_TOKEN};
use crate::support::{Out, TFW, git};
use crate::templates::commit_all;

const TEMPLATE_URL: &str = "https://gitlab.example.com/platform/template";

/// The fleet's projects as made from the published template: `tfw new` from the fixture's
/// repository, the lock's source then naming `TEMPLATE_URL` (as `tfw new --template URL`
/// would have written it).
fn project_from_published(fleet: &Fleet, name: &str) -> u64 {
    let checkout = fleet.checkout(name);
    let lock = checkout.join(".tfw/template.lock");
    let text = std::fs::read_to_string(&lock).unwrap();
    let text: Vec<String> = text
        .lines()
        .map(|l| match l.starts_with("source = ") {
            true => format!("source = \"{TEMPLATE_URL}.git\""),
            false => l.to_string(),
        })
        .collect();
    std::fs::write(&lock, text.join("\n") + "\n").unwrap();
    commit_all(&checkout, "the lock names the published template");
    fleet.pushed(&format!("fleet/{name}"), &checkout)
}

/// The fixture's template work tree becomes the template repository of the pipeline: the
/// fleet pipeline as its `.gitlab-ci.yml`, `origin` at `TEMPLATE_URL`, version 2 tagged `v2`.
fn template_repo(fleet: &Fleet) -> std::path::PathBuf {
    let repo = fleet.sandbox.path("template-work");
    std::fs::write(
        repo.join(".gitlab-ci.yml"),
        include_str!("../templates/fleet.gitlab-ci.yml"),
    )
    .unwrap();
    std::fs::write(repo.join(".gitignore"), ".gitlab-ci-local/\n").unwrap();
    git(&repo, &["config", "user.name", "CI Test"]);
    git(&repo, &["config", "user.email", "ci-test@example.com"]);
    git(
        &repo,
        &["remote", "add", "origin", &format!("{TEMPLATE_URL}.git")],
    );
    fleet.release("2");
    git(&repo, &["tag", "v2"]);
    repo
}

/// Runs `jobs` of the repository's pipeline with gitlab-ci-local (shell executor, in the
/// repository itself: the jobs read the template from its git history).
fn run(fleet: &Fleet, repo: &Path, jobs: &[&str], extra: &[(&str, &str)]) -> Out {
    let release = fleet.sandbox.home.path().join("tfw-release");
    std::fs::copy(TFW, &release).unwrap();
    let sha = tfw::fsutil::sha256_hex(&std::fs::read(&release).unwrap());
    let gl = fleet.gl();
    let mut variables = vec![
        ("CI_API_V4_URL".to_string(), gl.api_url()),
        ("CI_PROJECT_ID".to_string(), gitlab::PROJECT_ID.to_string()),
        ("CI_JOB_TOKEN".to_string(), gitlab::CI_JOB_TOKEN.to_string()),
        (
            "TFW_DOWNLOAD_URL".to_string(),
            format!("file://{}", release.display()),
        ),
        ("TFW_SHA256".to_string(), sha),
        ("TFW_FLEET_GROUP".to_string(), "fleet".to_string()),
        ("TFW_FLEET_TOKEN".to_string(), ALICE_TOKEN.to_string()),
    ];
    variables.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let mut command = gitlab_ci_local_in(&fleet.sandbox);
    command.current_dir(repo).args(["--concurrency", "2"]);
    for (key, value) in &variables {
        command.arg("--variable").arg(format!("{key}={value}"));
    }
    command.args(jobs);
    finish(command)
}

/// Every job log gitlab-ci-local kept (it names the files itself).
fn logs(repo: &Path) -> String {
    let dir = repo.join(".gitlab-ci-local/output");
    let mut all = String::new();
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        all.push_str(&std::fs::read_to_string(entry.path()).unwrap());
    }
    all
}

/// What one job printed, from gitlab-ci-local's prefixed output.
fn job_output(out: &Out, job: &str) -> String {
    let prefix = format!("{job} > ");
    out.all()
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_fleet_pipeline_syncs_a_tag_in_shards_and_reports_on_a_schedule() {
    let fleet = Fleet::new();
    for name in ["app-1", "app-2", "app-3", "app-4"] {
        project_from_published(&fleet, name);
    }
    let repo = template_repo(&fleet);

    let out = run(&fleet, &repo, &["fleet-sync"], &[("CI_COMMIT_TAG", "v2")]);
    out.success();
    let shards = ["fleet-sync: [1/2]", "fleet-sync: [2/2]"];
    for shard in shards {
        assert!(
            out.stdout.contains(&format!(" PASS  {shard}")),
            "{}",
            out.stdout
        );
    }
    let logs = logs(&repo);
    let everything = format!("{logs}{}", out.all());
    assert!(!everything.contains(ALICE_TOKEN), "the token leaked");
    assert!(!logs.contains('\u{1b}'), "colour in a CI log");
    let (one, two) = (job_output(&out, shards[0]), job_output(&out, shards[1]));
    for name in ["app-1", "app-2", "app-3", "app-4"] {
        let project = format!("fleet/{name}");
        let in_one = one.contains(&format!("{project}: opened"));
        let in_two = two.contains(&format!("{project}: opened"));
        assert!(
            in_one != in_two,
            "{project} is in exactly one shard\n{one}\n{two}"
        );
        let mrs = fleet.gl().merge_requests(&project);
        assert_eq!(mrs.len(), 1, "{project}");
        assert_eq!(mrs[0].source_branch, "tfw/template-2");
        let lock = fleet
            .gl()
            .file(&project, "tfw/template-2", ".tfw/template.lock")
            .unwrap();
        let lock = String::from_utf8(lock).unwrap();
        assert!(
            lock.contains(&format!("source = \"{TEMPLATE_URL}.git\"")),
            "{lock}"
        );
        assert!(lock.contains("ref = \"v2\""), "{lock}");
        assert!(lock.contains("version = \"2\""), "{lock}");
    }
    let requests = fleet.gl().requests();
    assert!(requests.iter().all(|r| !r.url.contains(ALICE_TOKEN)));

    let status = run(
        &fleet,
        &repo,
        &["fleet-status"],
        &[("CI_PIPELINE_SOURCE", "schedule")],
    );
    status.success();
    let report = job_output(&status, "fleet-status");
    assert!(report.contains("fleet/app-1"), "{report}");
    assert!(
        report.contains("!1"),
        "the open merge requests are listed: {report}"
    );
    assert!(!status.all().contains(ALICE_TOKEN));
}
