//! Issue 18, item 1: `tfw fleet status --group GROUP` over the GitLab test server: every
//! project of the group and its subgroups (archived ones skipped, every page read), enrolled
//! or not, behind or up to date as `tfw sync --check` would say in a checkout, files edited by
//! hand, the open `tfw/template-*` merge request, `--json`, and the worst exit code. Only
//! reads, only through the API, the token only in a header.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::Value;

use crate::support::gitlab::{ALICE, ALICE_TOKEN, FileMode, GitLab, MergeRequest, Role};
use crate::support::{Cmd, Out, Sandbox, git};
use crate::templates::{commit_all, json, new_repo, set_version, team_template, write};

/// A sandbox whose `.env` is alice's, a team template (version 1) in a git repository
/// behind a file:// URL (`url`, its work tree `template-work/`) and checkouts made from it;
/// group `fleet` (id 900) with subgroup `fleet/sub`, alice a Maintainer of the group.
pub(crate) struct Fleet {
    pub sandbox: Sandbox,
    pub url: String,
    next_id: std::cell::Cell<u64>,
}

impl Fleet {
    pub fn new() -> Fleet {
        let sandbox = Sandbox::new();
        let work = sandbox.path("template-work");
        team_template(&work);
        git(&work, &["init", "-q", "-b", "main"]);
        commit_all(&work, "template v1");
        git(
            sandbox.dir.path(),
            &["clone", "-q", "--bare", "template-work", "template.git"],
        );
        let url = format!("file://{}", sandbox.path("template.git").display());
        let gl = &sandbox.gitlab;
        gl.add_group(900, "fleet");
        gl.add_group(901, "fleet/sub");
        gl.set_group_role("fleet", ALICE, Some(Role::Maintainer));
        Fleet {
            sandbox,
            url,
            next_id: std::cell::Cell::new(1000),
        }
    }

    pub fn gl(&self) -> &GitLab {
        &self.sandbox.gitlab
    }

    /// A new, empty project at `path`; returns its id.
    pub fn project(&self, path: &str) -> u64 {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        self.gl().add_project(id, path);
        id
    }

    /// A project whose default branch `main` holds exactly the files of `checkout`, as a push
    /// of it would leave them.
    pub fn pushed(&self, path: &str, checkout: &Path) -> u64 {
        let id = self.project(path);
        push(self.gl(), path, checkout, checkout);
        id
    }

    /// `tfw new NAME --template URL@main` at the template's current version.
    pub fn checkout(&self, name: &str) -> std::path::PathBuf {
        new_repo(&self.sandbox, name, &format!("{}@main", self.url))
    }

    /// Commits `version` of the template, with `ci/pipeline.yml` changed, to its `main`.
    pub fn release(&self, version: &str) {
        let work = self.sandbox.path("template-work");
        set_version(&work, version);
        write(
            &work.join("pipeline.yml"),
            &format!("stages:\n  - plan\n  - apply # v{version}\n"),
        );
        self.publish(&format!("template v{version}"));
    }

    /// Commits and pushes whatever changed in the template's work tree.
    pub fn publish(&self, message: &str) {
        let work = self.sandbox.path("template-work");
        commit_all(&work, message);
        git(&work, &["push", "-q", "../template.git", "HEAD:main"]);
    }

    /// `tfw fleet status --group fleet ARGS`, to run.
    pub fn status_cmd(&self, args: &[&str]) -> Cmd {
        let mut all = vec!["fleet", "status", "--group", "fleet"];
        all.extend_from_slice(args);
        self.sandbox.tfw(&all)
    }

    pub fn status(&self, args: &[&str]) -> Out {
        self.status_cmd(args).run()
    }
}

fn push(gl: &GitLab, project: &str, root: &Path, dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let name = path
            .strip_prefix(root)
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        let kind = entry.file_type().unwrap();
        if name == ".git" {
            continue;
        }
        if kind.is_dir() {
            push(gl, project, root, &path);
        } else if kind.is_symlink() {
            let target = std::fs::read_link(&path).unwrap();
            let target = target.to_str().unwrap().as_bytes().to_vec();
            gl.put_file_mode(project, "main", &name, &target, FileMode::Symlink);
        } else {
            let executable = entry.metadata().unwrap().permissions().mode() & 0o111 != 0;
            let mode = match executable {
                true => FileMode::Executable,
                false => FileMode::Regular,
            };
            gl.put_file_mode(project, "main", &name, &std::fs::read(&path).unwrap(), mode);
        }
    }
}

pub(crate) fn row<'a>(report: &'a Value, project: &str) -> &'a Value {
    report["projects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["project"] == project)
        .unwrap_or_else(|| panic!("no row for {project} in {report:#}"))
}

#[test]
fn status_reads_a_whole_group_and_says_who_is_behind_edited_or_not_enrolled() {
    let fleet = Fleet::new();
    let old = fleet.checkout("old");
    fleet.release("2");
    let current = fleet.checkout("current");
    let edited = fleet.checkout("edited");
    write(&edited.join("ci/pipeline.yml"), "stages:\n  - yolo\n");
    commit_all(&edited, "edit a managed file");
    fleet.pushed("fleet/current", &current);
    fleet.pushed("fleet/behind", &old);
    fleet.pushed("fleet/sub/edited", &edited);
    fleet.pushed("fleet/archived", &old);
    fleet.gl().set_archived("fleet/archived", true);
    let plain = fleet.project("fleet/plain");
    fleet
        .gl()
        .put_file("fleet/plain", "main", "README.md", b"# no template\n");
    fleet.project("fleet/empty");
    fleet.gl().add_merge_request(
        "fleet/behind",
        &MergeRequest::new("tfw/template-2", "main", "Draft: tfw: template 2"),
    );
    fleet.gl().add_merge_request(
        "fleet/current",
        &MergeRequest::new("feature", "main", "not tfw's"),
    );
    fleet.gl().clear_requests();

    let out = fleet.status(&["--json"]);
    out.code(3);
    let report = json(&out);
    assert_eq!(report["exit_code"], 3);
    let projects: Vec<&str> = report["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["project"].as_str().unwrap())
        .collect();
    assert_eq!(
        projects,
        [
            "fleet/behind",
            "fleet/current",
            "fleet/empty",
            "fleet/plain",
            "fleet/sub/edited"
        ],
        "sorted, subgroups included, archived left out"
    );
    let current = row(&report, "fleet/current");
    assert_eq!(
        (current["state"].clone(), current["enrolled"].clone()),
        ("up-to-date".into(), true.into())
    );
    assert_eq!(current["locked"]["version"], "2");
    assert_eq!(
        current["merge_request"],
        Value::Null,
        "only tfw/template-* branches count"
    );
    let behind = row(&report, "fleet/behind");
    assert_eq!(behind["state"], "update-available");
    assert_eq!(
        (
            behind["locked"]["version"].clone(),
            behind["template"]["version"].clone()
        ),
        ("1".into(), "2".into())
    );
    assert_eq!(behind["merge_request"]["iid"], 1);
    assert_eq!(behind["merge_request"]["draft"], true);
    assert_eq!(behind["merge_request"]["source_branch"], "tfw/template-2");
    assert_eq!(
        behind["merge_request"]["web_url"],
        format!("{}/fleet/behind/-/merge_requests/1", fleet.gl().url())
    );
    let edited = row(&report, "fleet/sub/edited");
    assert_eq!(
        (edited["state"].clone(), edited["exit_code"].clone()),
        ("drift".into(), 3.into())
    );
    assert_eq!(edited["modified"], serde_json::json!(["ci/pipeline.yml"]));
    for empty in ["fleet/plain", "fleet/empty"] {
        let row = row(&report, empty);
        assert_eq!(
            (
                row["state"].clone(),
                row["enrolled"].clone(),
                row["exit_code"].clone()
            ),
            ("not-enrolled".into(), false.into(), 0.into()),
            "{empty}"
        );
    }
    assert_eq!(row(&report, "fleet/plain")["id"], plain);
    assert_eq!(report["counts"]["not-enrolled"], 2);

    // Reads only, through the API, with the token in the PRIVATE-TOKEN header alone.
    let requests = fleet.gl().requests();
    assert!(!requests.is_empty());
    for request in &requests {
        assert_eq!(request.method, "GET", "{}", request.url);
        assert!(!request.url.contains(ALICE_TOKEN), "{}", request.url);
        assert_eq!(
            request.header("private-token"),
            Some(ALICE_TOKEN),
            "{}",
            request.url
        );
    }
    assert!(!out.all().contains(ALICE_TOKEN));
    assert!(!fleet.sandbox.path("fleet").exists(), "nothing cloned");

    // For a person: a table on stdout, the summary on stderr.
    let out = fleet.status(&[]);
    out.code(3).stdout_has("PROJECT").stderr_has(
        "5 projects in `fleet`: 1 up-to-date, 1 update-available, 1 drift, 2 not-enrolled",
    );
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("fleet/behind"))
        .unwrap();
    assert!(
        line.contains("update-available")
            && line.contains("!1 draft")
            && line.contains("behind template 2"),
        "{line}"
    );
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("fleet/sub/edited"))
        .unwrap();
    assert!(line.contains("modified: ci/pipeline.yml"), "{line}");
}

#[test]
fn status_decides_like_sync_check_and_exits_with_the_worst_code() {
    let fleet = Fleet::new();
    let checkout = fleet.checkout("infra");
    fleet.pushed("fleet/infra", &checkout);
    fleet.project("fleet/other");
    fleet.status(&[]).code(0).stdout_has("up-to-date");
    // A template commit that changes no listed file is no update, as for `sync --check`.
    write(&fleet.sandbox.path("template-work/unlisted.txt"), "x\n");
    fleet.publish("unlisted");
    fleet.status(&[]).code(0);
    fleet.release("2");
    fleet.status(&[]).code(2);
    let check = |json: bool| {
        let mut args = vec!["-C", "infra", "sync", "--check"];
        if json {
            args.push("--json");
        }
        fleet.sandbox.tfw(&args).run()
    };
    check(false).code(2);
    // The checkout and the API agree file by file.
    let remote = json(fleet.status(&["--json"]).code(2));
    let local = json(check(true).code(2));
    let files = |v: &Value| -> Vec<(String, String)> {
        v["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["path"].as_str().unwrap().to_string(),
                    f["status"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(files(row(&remote, "fleet/infra")), files(&local));
}

#[test]
fn status_pages_through_every_project_of_a_large_group() {
    let fleet = Fleet::new();
    for i in 0..130 {
        fleet.project(&format!("fleet/sub/p{i:03}"));
    }
    let checkout = fleet.checkout("infra");
    fleet.pushed("fleet/infra", &checkout);
    let out = fleet.status(&["--json", "-j", "4"]);
    out.code(0);
    let report = json(&out);
    assert_eq!(report["projects"].as_array().unwrap().len(), 131);
    assert_eq!(report["counts"]["not-enrolled"], 130);
    let listings = fleet
        .gl()
        .requests()
        .into_iter()
        .filter(|r| r.path().ends_with("/groups/fleet/projects"))
        .count();
    assert_eq!(listings, 2, "two pages of 100, by following the next link");
}

#[test]
fn template_names_the_template_to_follow_and_the_ref_to_compare_with() {
    let fleet = Fleet::new();
    let checkout = fleet.checkout("infra");
    fleet.pushed("fleet/infra", &checkout);
    fleet.sandbox.tfw(&["new", "builtin-made"]).run().success();
    fleet.pushed("fleet/builtin", &fleet.sandbox.path("builtin-made"));
    let work = fleet.sandbox.path("template-work");
    git(&work, &["tag", "v2"]);
    git(&work, &["push", "-q", "../template.git", "v2"]);
    let at_v2 = format!("{}@v2", fleet.url);
    let out = fleet.status(&["--json", "--template", &at_v2]);
    out.code(1);
    let report = json(&out);
    // The same files at another ref: the lock (at `main`) is behind `v2`.
    let infra = row(&report, "fleet/infra");
    assert_eq!(infra["state"], "update-available", "{infra:#}");
    assert_eq!(infra["template"]["ref"], "v2");
    // A project made from another template is not this template's to judge.
    let builtin = row(&report, "fleet/builtin");
    assert_eq!(builtin["state"], "error");
    let message = builtin["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("follows another template (`builtin`)"),
        "{message}"
    );
    // Without `--template`, each lock's own source and ref.
    fleet.status(&[]).code(0);
}

/// `TFW_TEMPLATE` is read like every setting, `.env` included: a machine where the locks'
/// template is elsewhere (a CI job's checkout) says so in `.env`, and `tfw env` shows it.
#[test]
fn tfw_template_in_dotenv_says_where_the_fleet_reads_the_template() {
    let fleet = Fleet::new();
    let checkout = fleet.checkout("infra");
    fleet.pushed("fleet/infra", &checkout);
    let moved = fleet.sandbox.path("moved.git");
    std::fs::rename(fleet.sandbox.path("template.git"), &moved).unwrap();
    fleet.status(&[]).code(1);
    let env = fleet.sandbox.path(".env");
    let text = std::fs::read_to_string(&env).unwrap();
    let line = format!("TFW_TEMPLATE=file://{}\n", moved.display());
    write(&env, &format!("{text}{line}"));
    fleet.status(&[]).code(0).stdout_has("up-to-date");
    fleet
        .sandbox
        .tfw(&["env"])
        .run()
        .success()
        .stdout_has("TFW_TEMPLATE");
}
