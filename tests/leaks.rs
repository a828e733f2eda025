//! A hostile audit of where the token can leak, for what the sweep (tests/secrets.rs, with
//! Terraform 1.0.3 and GitLab-shaped tokens) does not reach: Terraform 1.11 with its trace
//! log, a `local-exec` that prints the credentials it inherits, and a token whose
//! percent-encoded and JSON-escaped forms differ from it; GitLab echoing the credentials
//! back in a lock's `Info` or an error body; a secret cut in two by a pause in terraform's
//! output; a panic; and a template repository whose URL carries a token as its user name.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::secrets::Watcher;
use crate::support::gitlab::{Fault, Role, Route, basic_auth};
use crate::support::slow_apply::{MARKER, TERRAFORM_1_11};
use crate::support::{Cmd, Out, Sandbox, files_below, git, unzipped, wait_with_output};
use crate::templates::{commit_all, team_template};

const USER: &str = "alice";
/// Characters that percent-encoding, JSON escaping and regular expressions all treat
/// specially, so each form is a different string.
const TOKEN: &str = r#"LEAKtok/8f+3a=9c.*?%2e@x"q(1)"#;
const AWS_SECRET: &str = "LEAKaws/wJalrXUtnFEMI+K7MDENG";
const DB_PASSWORD: &str = "LEAKdb/p@ss w+rd%7";

/// The token as it could show up: itself, percent-encoded (upper- and lower-case hex, and as
/// a form value), JSON-escaped, and as the base64 of the `Authorization` header.
fn token_forms() -> Vec<String> {
    let b64 = |user: &str| basic_auth(user, TOKEN)["Basic ".len()..].to_string();
    vec![
        TOKEN.to_string(),
        "LEAKtok%2F8f%2B3a%3D9c.%2A%3F%252e%40x%22q%281%29".to_string(),
        "LEAKtok%2f8f%2b3a%3d9c.%2a%3f%252e%40x%22q%281%29".to_string(),
        r#"LEAKtok/8f+3a=9c.*?%2e@x\"q(1)"#.to_string(),
        b64(USER),
        b64("gitlab-ci-token"),
    ]
}

pub(crate) fn all_forms() -> Vec<String> {
    let mut forms = token_forms();
    forms.extend([
        AWS_SECRET.to_string(),
        DB_PASSWORD.to_string(),
        "LEAKdb%2Fp%40ss%20w%2Brd%257".to_string(),
        "LEAKdb%2Fp%40ss+w%2Brd%257".to_string(),
    ]);
    forms
}

#[track_caller]
pub(crate) fn assert_clean(label: &str, text: &str, forms: &[String]) {
    if let Some(form) = forms.iter().find(|f| text.contains(f.as_str())) {
        panic!("[{label}] `{form}` shown:\n{text}");
    }
}

pub(crate) fn sandbox(main_tf: &str) -> Sandbox {
    let sandbox = Sandbox::empty();
    sandbox.gitlab.add_user(USER, TOKEN, Role::Maintainer);
    sandbox.write("main.tf", main_tf);
    sandbox.write(
        ".env",
        format!(
            "TF_HTTP_USERNAME={USER}\nTF_HTTP_PASSWORD='{TOKEN}'\nTF_STATE_NAME=dev-alice\n\
             TF_HTTP_ADDRESS={}/projects/42/terraform/state/dev-alice\n\
             AWS_SECRET_ACCESS_KEY='{AWS_SECRET}'\nTF_VAR_db_password='{DB_PASSWORD}'\n",
            sandbox.gitlab.api_url()
        ),
    );
    sandbox
}

/// Runs tfw with every descendant's command line recorded while it runs.
fn watched(cmd: Cmd, argv: &mut Vec<String>) -> Out {
    let mut command = cmd.command;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = command.spawn().expect("start tfw");
    let watcher = Watcher::start(child.id());
    let out = wait_with_output(child, Duration::from_secs(180));
    argv.extend(watcher.finish());
    out
}

/// A `local-exec` that prints the credentials terraform's environment holds (raw and as the
/// `Authorization` header), outputs that print the database password raw and URL-encoded,
/// and a sleep long enough for the watcher to catch terraform, its shell and `sleep`.
const PRINTING_TF: &str = r#"terraform {
  backend "http" {}
}

variable "db_password" {}

output "db" {
  value = var.db_password
}

output "db_url" {
  value = "postgres://app:${urlencode(var.db_password)}@db/app"
}

resource "terraform_data" "slow" {
  input = "one"
  provisioner "local-exec" {
    command = "echo \"token $TF_HTTP_PASSWORD aws $AWS_SECRET_ACCESS_KEY basic $(printf %s \"$TF_HTTP_USERNAME:$TF_HTTP_PASSWORD\" | base64 -w0)\" && echo tfw-test-sleeping-$((6*7)) && exec sleep 2"
  }
}
"#;

#[test]
fn terraform_1_11_with_its_trace_log_leaks_nothing_anywhere() {
    if !Path::new(TERRAFORM_1_11).is_file() {
        eprintln!("skipped: no Terraform 1.11 at {TERRAFORM_1_11}");
        return;
    }
    let sandbox = sandbox(PRINTING_TF);
    let link = sandbox.bin.join("terraform");
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(TERRAFORM_1_11, &link).unwrap();
    let forms = all_forms();
    let mut argv = Vec::new();
    let mut printed = String::new();
    for args in [
        &["-vv", "init"][..],
        &["-vv", "plan"],
        &["-vv", "apply", "--auto-approve"],
        &["-vv", "exec", "--", "state", "pull"],
        &["-vv", "state", "pull", "-o", "pulled.tfstate"],
        &["-vv", "destroy", "--auto-approve"],
    ] {
        let cmd = sandbox.tfw(args).env("TF_LOG", "trace");
        let out = watched(cmd, &mut argv);
        out.success();
        assert_clean(&args.join(" "), &out.all(), &forms);
        printed.push_str(&out.all());
    }
    // The local-exec and the outputs did print every secret: tfw masked them.
    assert!(printed.contains(MARKER), "the provisioner never ran");
    assert!(
        printed.contains("token **** aws **** basic ****"),
        "{printed}"
    );
    assert!(printed.contains("postgres://app:****@db/app"), "{printed}");
    assert!(
        argv.iter().any(|a| a.starts_with("sleep 2")),
        "the watcher never saw the provisioner running: {argv:#?}"
    );
    for line in &argv {
        assert_clean("command line", line, &forms);
        assert!(!line.contains("-backend-config"), "{line}");
        assert!(
            !line
                .split(' ')
                .any(|word| word.contains("://") && word.contains('@')),
            "credentials in a URL on a command line: {line}"
        );
    }
    // What terraform persisted of the backend: the settings came from the environment, so
    // nothing, the password included, is recorded.
    let backend: serde_json::Value =
        serde_json::from_str(&sandbox.read(".terraform/terraform.tfstate")).unwrap();
    assert_eq!(
        backend["backend"]["config"]["password"],
        serde_json::Value::Null
    );
    assert_eq!(
        backend["backend"]["config"]["username"],
        serde_json::Value::Null
    );
    // Files: the state (and so pulled.tfstate and backups) holds the outputs, the database
    // password among them (docs/security.md, Limits); never the token or the AWS key.
    let mut credentials = token_forms();
    credentials.push(AWS_SECRET.to_string());
    for root in [sandbox.dir.path(), sandbox.home.path()] {
        for file in files_below(root) {
            if file.ends_with(".env") {
                continue;
            }
            let mut bytes = std::fs::read(&file).unwrap_or_default();
            if file.extension().is_some_and(|e| e == "tfplan") {
                bytes.extend(unzipped(&file));
            }
            assert_clean(
                &file.display().to_string(),
                &String::from_utf8_lossy(&bytes),
                &credentials,
            );
        }
    }
    // What reached GitLab: no credential in a URL or a body; terraform's lock bodies say
    // who by the machine's user and host, with an empty Info.
    let requests = sandbox.gitlab.requests();
    let mut locks = 0;
    for request in &requests {
        assert_clean("a URL sent", &request.url, &credentials);
        assert_clean(&request.url, &request.body_str(), &credentials);
        if request.method == "POST" && request.url.contains("/lock") {
            let info: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
            assert_eq!(info["Info"], "", "{info}");
            // terraform's (tfw's own locks say its version, 0.x, and the user name alone).
            if info["Version"]
                .as_str()
                .is_some_and(|v| v.starts_with("1."))
            {
                assert!(
                    info["Who"].as_str().is_some_and(|w| w.contains('@')),
                    "{info}"
                );
                locks += 1;
            }
        }
    }
    assert!(locks >= 2, "{locks} locks taken");
}

#[test]
fn gitlab_echoing_the_credentials_back_is_masked() {
    let sandbox = sandbox(crate::support::MAIN_TF);
    let forms = token_forms();
    let echo = format!(
        "Authorization: Basic {} PRIVATE-TOKEN: {} url: /api?private_token={} {}",
        forms[4], forms[0], forms[1], forms[2]
    );
    let bob_lock = serde_json::json!({
        "ID": "b1", "Operation": "OperationTypeApply", "Info": echo,
        "Who": format!("bob {TOKEN}"), "Version": "1.0.3",
        "Created": "2026-11-20T09:15:00Z", "Path": "",
    });
    let mut echoed = 0;
    let mut check = |label: &str, out: Out| {
        // Refusals and failures alike: what they say is what is checked.
        assert_ne!(
            out.status(),
            Some(101),
            "[{label}] tfw panicked:\n{}",
            out.all()
        );
        assert_clean(label, &out.all(), &all_forms());
        echoed += usize::from(out.all().contains("PRIVATE-TOKEN: ****"));
    };
    sandbox.gitlab.set_lock("42", "dev-alice", bob_lock);
    for args in [
        &["-v", "plan"][..],
        &["-v", "apply", "--auto-approve"],
        &["-v", "state", "unlock"],
        &["-v", "state", "list"],
    ] {
        check(&args.join(" "), sandbox.tfw(args).run());
    }
    sandbox.gitlab.clear_lock("42", "dev-alice");
    let body = serde_json::json!({ "message": echo }).to_string();
    for (route, args) in [
        (Route::GraphQL, &["-v", "state", "list"][..]),
        (Route::Rest, &["-v", "doctor"]),
        (Route::State, &["-v", "state", "show"]),
        (Route::State, &["-v", "plan"]),
    ] {
        sandbox
            .gitlab
            .fault(Fault::respond(route, 500, body.clone()));
        let out = sandbox.tfw(args).env("TF_HTTP_RETRY_MAX", "0").run();
        sandbox.gitlab.clear_faults();
        check(&format!("500 {}", args.join(" ")), out);
    }
    assert!(echoed >= 2, "GitLab's echo never reached the output");
}

#[test]
fn a_secret_cut_by_a_pause_in_terraforms_output_is_masked() {
    let sandbox = sandbox(crate::support::MAIN_TF);
    let (head, tail) = DB_PASSWORD.split_at(7);
    let fake = sandbox.fake_binary(
        "slow-printer",
        &format!(
            "if [ \"$1\" = version ]; then echo 'Terraform v1.0.3'; exit 0; fi\n\
             printf '%s' 'the password is {head}'\nsleep 1\nprintf '%s\\n' '{tail} and that is all'"
        ),
    );
    let out = sandbox
        .tfw(&["exec", "--", "output"])
        .env("TFW_BINARY", &fake)
        .run();
    out.success();
    assert!(
        out.all().contains("the password is **** and that is all"),
        "{}",
        out.all()
    );
    assert_clean("exec", &out.all(), &all_forms());
}

#[test]
fn a_panic_message_is_masked() {
    let sandbox = sandbox(crate::support::MAIN_TF);
    let forms = token_forms();
    let out = sandbox
        .tfw(&["env"])
        .env("TFW_TEST_PANIC", format!("boom {} {}", forms[0], forms[4]))
        .run();
    out.code(101)
        .stderr_has("panicked")
        .stderr_has("boom **** ****");
    assert_clean("panic", &out.all(), &all_forms());
}

/// A token as a URL's user name (`https://glpat-...@host/...`, which GitHub and others accept
/// without a password) was taken for a user: it reached git's command line, the template
/// mirror's config, and the `.tfw/template.lock` a new repository commits.
#[test]
fn a_token_as_a_template_urls_user_name_goes_nowhere() {
    let sandbox = Sandbox::empty();
    let token = "glpat-LEAKuser4f9c2e7a1b3d";
    let template = sandbox.path("template");
    team_template(&template);
    git(&template, &["init", "-q"]);
    commit_all(&template, "template");
    let remote = format!("https://{token}@gitlab.example.com/platform/template.git");
    git(&template, &["remote", "add", "origin", &remote]);
    let mut argv = Vec::new();
    let template_arg = template.to_str().unwrap();
    let out = watched(
        sandbox.tfw(&["-v", "new", "infra", "--template", template_arg]),
        &mut argv,
    );
    out.success();
    let lock = sandbox.read("infra/.tfw/template.lock");
    assert!(!lock.contains(token), "{lock}");
    for args in [
        &["-v", "sync", "--template", &format!("{remote}@main")][..],
        &[
            "-v",
            "new",
            "other",
            "--template",
            &format!("{remote}@main"),
        ],
    ] {
        let cmd = sandbox.tfw(args).env("TFW_TEMPLATE", &remote);
        let out = watched(cmd, &mut argv);
        out.failure().stderr_has("holds a password or token");
        assert!(!out.all().contains(token), "{}", out.all());
    }
    for line in &argv {
        assert!(!line.contains(token), "the token on a command line: {line}");
    }
    for file in files_below(sandbox.home.path()) {
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap_or_default()).into_owned();
        assert!(!text.contains(token), "the token in {}", file.display());
    }
}
