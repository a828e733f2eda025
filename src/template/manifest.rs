//! `manifest.toml`, the one file every template source has: each file's destination, policy,
//! source file and earlier destinations. Validated before anything is written, so a broken
//! team template stops every repository at the same clear error instead of half-syncing them.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use super::policy::{self, Policy};
use super::{Template, TemplateFile, is_repo_path};
use crate::fsutil::sha256_hex;
use crate::problem::Problem;

pub(crate) const MANIFEST: &str = "manifest.toml";

/// A template file's bytes and whether it is executable.
pub(crate) type SourceFile = (Vec<u8>, bool);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Manifest {
    #[serde(default)]
    pub version: String,
    #[serde(default, rename = "file")]
    pub files: Vec<ManifestFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ManifestFile {
    pub path: String,
    /// The file in the template (default: `path`).
    #[serde(default)]
    pub source: Option<String>,
    pub policy: Policy,
    #[serde(default)]
    pub renamed_from: Vec<String>,
}

impl ManifestFile {
    pub(crate) fn source(&self) -> &str {
        self.source.as_deref().unwrap_or(&self.path)
    }
}

impl Manifest {
    /// `origin` names the manifest in messages (e.g. `../template/manifest.toml`).
    pub(crate) fn parse(text: &str, origin: &Path) -> Result<Self, Problem> {
        let manifest: Manifest = toml::from_str(text).map_err(|err| {
            let line = err.span().map(|span| text[..span.start].matches('\n').count() + 1);
            Problem::error(format!("invalid template manifest: {}", err.message()))
                .at(origin, line)
                .hint("each [[file]] needs `path` and `policy` (managed, merge, block or once); optional: `source`, `renamed_from`")
        })?;
        manifest.validate(origin)?;
        Ok(manifest)
    }

    fn validate(&self, origin: &Path) -> Result<(), Problem> {
        let invalid = |message: String| Problem::error(message).at(origin, None);
        // Keyed by the lower-case path: `CI/jobs.yml` and `ci/jobs.yml` are one file on a
        // case-insensitive file system (macOS, Windows), and the second write would take the
        // first one's place.
        let mut seen: HashMap<String, &str> = HashMap::new();
        for file in &self.files {
            for path in std::iter::once(&file.path).chain(&file.renamed_from) {
                if !is_repo_path(path) || path.to_lowercase().starts_with(".tfw/") {
                    return Err(invalid(format!(
                        "`{path}` is not a destination inside the repository (relative, no `..`, not under .tfw/)"
                    )));
                }
                if let Some(other) = seen.insert(path.to_lowercase(), path) {
                    return Err(if other == path {
                        invalid(format!("`{path}` is listed twice"))
                    } else {
                        invalid(format!(
                            "`{other}` and `{path}` differ only in case: on a case-insensitive file system (macOS, Windows) they are one file"
                        ))
                        .hint("give them names that differ in more than case")
                    });
                }
            }
            if !is_repo_path(file.source()) || file.source() == MANIFEST {
                return Err(invalid(format!(
                    "`{}` is not a file of the template",
                    file.source()
                )));
            }
            if file.policy == Policy::Block && !policy::supports_block(&file.path) {
                return Err(invalid(format!(
                    "`{}` cannot hold a marked block (its format has no comments)",
                    file.path
                ))
                .hint("use the `managed` or `merge` policy for it"));
            }
        }
        Ok(())
    }

    pub(crate) fn sources(&self) -> Vec<String> {
        self.files.iter().map(|f| f.source().to_string()).collect()
    }

    /// The template, from the manifest and each source's bytes and exec bit (in `sources()`
    /// order). Without a commit (builtin, directory) the version is a digest of the content.
    pub(crate) fn assemble(
        self,
        manifest_text: &str,
        contents: Vec<Option<SourceFile>>,
        commit: Option<String>,
        origin: &Path,
    ) -> Result<Template, Problem> {
        let mut digest_input = manifest_text.as_bytes().to_vec();
        let mut files = Vec::with_capacity(self.files.len());
        for (file, bytes) in self.files.into_iter().zip(contents) {
            let where_ = origin.with_file_name(file.source());
            let (bytes, executable) = bytes.ok_or_else(|| {
                Problem::error(format!(
                    "the template lists `{}`, which it does not hold",
                    file.source()
                ))
                .at(&where_, None)
            })?;
            let mut content = String::from_utf8(bytes).map_err(|_| {
                Problem::error("a template file must be UTF-8 text (it may be merged)")
                    .at(&where_, None)
            })?;
            // A block is written as whole lines: its text must end like one, or it would never
            // read back equal to the template.
            if file.policy == Policy::Block && !content.is_empty() && !content.ends_with('\n') {
                content.push('\n');
            }
            digest_input.extend_from_slice(file.source().as_bytes());
            digest_input.push(0);
            digest_input.extend_from_slice(content.as_bytes());
            digest_input.push(if executable { 1 } else { 0 });
            files.push(TemplateFile {
                sha256: sha256_hex(content.as_bytes()),
                path: file.path,
                policy: file.policy,
                renamed_from: file.renamed_from,
                content,
                executable,
            });
        }
        let commit = commit.unwrap_or_else(|| sha256_hex(&digest_input)[..16].to_string());
        Ok(Template {
            commit,
            url: None,
            version: self.version,
            files,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest, Problem> {
        Manifest::parse(text, Path::new("t/manifest.toml"))
    }

    #[test]
    fn reads_files_and_defaults_the_source() {
        let manifest = parse(
            "version = \"3\"\n[[file]]\npath = \"a.txt\"\npolicy = \"merge\"\nrenamed_from = [\"old/a.txt\"]\n",
        )
        .unwrap();
        assert_eq!(manifest.sources(), vec!["a.txt"]);
        let template = manifest
            .assemble(
                "m",
                vec![Some((b"hello\n".to_vec(), false))],
                None,
                Path::new("t/manifest.toml"),
            )
            .unwrap();
        assert_eq!(template.version, "3");
        assert_eq!(template.files[0].renamed_from, vec!["old/a.txt"]);
        assert_eq!(template.commit.len(), 16);
    }

    #[test]
    fn rejects_what_would_escape_or_collide() {
        assert!(parse("[[file]]\npath = \"../x\"\npolicy = \"managed\"\n").is_err());
        assert!(parse("[[file]]\npath = \".tfw/x\"\npolicy = \"managed\"\n").is_err());
        assert!(
            parse("[[file]]\npath = \"a\"\npolicy = \"managed\"\n[[file]]\npath = \"b\"\npolicy = \"once\"\nrenamed_from = [\"a\"]\n")
                .is_err()
        );
        assert!(parse("[[file]]\npath = \"x.json\"\npolicy = \"block\"\n").is_err());
        let problem = parse("[[file]]\npath = \"a\"\npolicy = \"owned\"\n").unwrap_err();
        assert_eq!(problem.location.unwrap().line, Some(3));
    }

    #[test]
    fn block_text_ends_with_a_newline() {
        let manifest = parse("[[file]]\npath = \".gitignore\"\npolicy = \"block\"\n").unwrap();
        let template = manifest
            .assemble(
                "m",
                vec![Some((b".env".to_vec(), false))],
                None,
                Path::new("t/manifest.toml"),
            )
            .unwrap();
        assert_eq!(template.files[0].content, ".env\n");
    }

    #[test]
    fn a_missing_source_is_named() {
        let manifest = parse("[[file]]\npath = \"a\"\npolicy = \"managed\"\n").unwrap();
        let problem = manifest
            .assemble("m", vec![None], None, Path::new("t/manifest.toml"))
            .unwrap_err();
        assert!(problem.message.contains("`a`"), "{problem}");
    }
}
