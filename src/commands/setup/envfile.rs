//! The `.env` that `tfw setup` writes: the short form (GitLab URL and project instead of the
//! old hand-built addresses), quoted so that both tfw (dotenvy) and a shell's `source .env`
//! read every value back unchanged, mode 0600 from the first byte, and a copy of any file it
//! replaces kept under `.tfw/` (git-ignored, like the state backups) rather than beside it.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::check::Answers;

pub(super) const HEADER: &str = "\
# tfw settings for you alone: never commit this file (`tfw doctor` checks).
# Written by `tfw setup`; `tfw env` shows what tfw makes of it.
";

/// The file's text. `kept` are lines of a replaced `.env` that setup does not manage.
pub(super) fn render(answers: &Answers, kept: &[(String, String)]) -> String {
    let mut text = String::from(HEADER);
    let mut line = |key: &str, value: &str| text.push_str(&format!("{key}={}\n", quote(value)));
    line("GITLAB_URL", &answers.url);
    line("GITLAB_PROJECT", &answers.project);
    line("TF_HTTP_USERNAME", &answers.username);
    line("TF_HTTP_PASSWORD", &answers.token);
    if let Some(state) = &answers.state {
        line("TF_STATE_NAME", state);
    }
    if !kept.is_empty() {
        text.push_str("\n# Kept from the previous file\n");
        for (key, value) in kept {
            text.push_str(&format!("{key}={}\n", quote(value)));
        }
    }
    text
}

/// Double quotes for ordinary values; single quotes (literal for dotenvy and for a shell)
/// when a value holds `$`, a backtick, `"` or `\`; escaped double quotes as a last resort.
pub(super) fn quote(value: &str) -> String {
    let special = |c: char| matches!(c, '$' | '`' | '"' | '\\');
    if !value.contains(special) {
        format!("\"{value}\"")
    } else if !value.contains('\'') {
        format!("'{value}'")
    } else {
        let escaped = value
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('$', "\\$");
        format!("\"{escaped}\"")
    }
}

/// Writes `path` with mode 0600. An existing file is first copied to `backup_dir` (mode
/// 0600) and its permissions tightened, so the new token never sits in a readable file.
/// Returns where the backup went.
pub(super) fn write(path: &Path, text: &str, backup_dir: &Path) -> Result<Option<PathBuf>> {
    // Before the copy and the chmod: a link's target (`/dev/null` even) is not ours to change.
    crate::fsutil::replaceable(path)?;
    let backup = match std::fs::read(path) {
        Ok(old) if !old.is_empty() => {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| ".env".into());
            let time = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
                .to_string()
                .replace([':', '-'], "");
            let mut target = backup_dir.join(format!("{name}.{time}"));
            let mut n = 1;
            while target.exists() {
                target = backup_dir.join(format!("{name}.{time}-{n}"));
                n += 1;
            }
            crate::fsutil::private_dir(backup_dir)?;
            crate::fsutil::write_atomic(&target, &old, 0o600)?;
            Some(target)
        }
        _ => None,
    };
    if path.exists() {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    crate::fsutil::write_atomic(path, text.as_bytes(), 0o600)?;
    Ok(backup)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dotenv::DotEnv;

    #[test]
    fn every_value_reads_back_unchanged() {
        let tricky = [
            "glpat-abc_DEF-123",
            "a$b",
            "x`y`",
            "q\"uote",
            "back\\slash",
            "it's $x \"y\"",
        ];
        for value in tricky {
            let answers = Answers {
                url: "https://g.example.com".into(),
                project: "group/infra".into(),
                username: "alice".into(),
                token: value.into(),
                state: Some("team/dev.eu".into()),
            };
            let kept = vec![("AWS_SECRET_ACCESS_KEY".to_string(), value.to_string())];
            let text = render(&answers, &kept);
            let parsed = DotEnv::parse(Path::new(".env"), text.clone()).unwrap();
            assert_eq!(parsed.get("TF_HTTP_PASSWORD"), Some(value), "{text}");
            assert_eq!(parsed.get("AWS_SECRET_ACCESS_KEY"), Some(value), "{text}");
            assert_eq!(parsed.get("TF_STATE_NAME"), Some("team/dev.eu"));
            assert_eq!(parsed.get("GITLAB_URL"), Some("https://g.example.com"));
            assert!(parsed.warnings.is_empty());
        }
    }

    #[test]
    fn replacing_keeps_a_private_backup() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(&path, "OLD=1\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let backup = write(&path, "NEW=1\n", &dir.path().join(".tfw/env-backups"))
            .unwrap()
            .unwrap();
        assert_eq!(std::fs::read_to_string(&backup).unwrap(), "OLD=1\n");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "NEW=1\n");
        for file in [&path, &backup] {
            let mode = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", file.display());
        }
    }
}
