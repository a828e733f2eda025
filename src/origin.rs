//! A resolved value and where it came from (flag, environment, a `.env` line, `tfw.toml`...),
//! so every message and `tfw env` can name the origin. Below both `settings`, which resolves
//! values, and `backend`, which keeps them: neither imports the other for it.

use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub(crate) enum Origin {
    Flag,
    Env,
    /// A `.env` file (the working directory's, or a shared one above it), at that line.
    DotEnv {
        line: usize,
        file: std::path::PathBuf,
    },
    TfwToml,
    /// Derived from other values (named).
    Derived {
        from: String,
    },
    /// The state named by `TF_HTTP_ADDRESS` (its last segment): a name someone wrote, unlike
    /// the other derived ones. `from` says where the address came from (`TF_HTTP_ADDRESS at
    /// .env:3`); shown as `derived`, like any derived value.
    #[serde(rename = "derived")]
    InAddress {
        from: String,
    },
    Default,
}

impl Origin {
    pub(crate) fn describe(&self, env_file: &Path) -> String {
        match self {
            Origin::Flag => "command line".into(),
            Origin::Env => "environment".into(),
            Origin::DotEnv { line, file } if file.as_os_str().is_empty() => {
                format!("{}:{line}", env_file.display())
            }
            Origin::DotEnv { line, file } => format!("{}:{line}", file.display()),
            Origin::TfwToml => crate::project::FILE_NAME.into(),
            Origin::Derived { from } | Origin::InAddress { from } => format!("derived from {from}"),
            Origin::Default => "default".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    pub(crate) value: String,
    pub(crate) origin: Origin,
}
