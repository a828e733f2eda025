//! Errors the user can act on. Every message tfw prints about its own failures says what is
//! wrong, where (file:line when there is one) and what to do; a `Problem` carries those three
//! parts to the single renderer in `lib.rs`, so no command formats errors by hand.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::exit::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Location {
    pub path: PathBuf,
    pub line: Option<usize>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}", self.path.display()),
            None => write!(f, "{}", self.path.display()),
        }
    }
}

/// What code may tell a problem by: its wording is for people and free to change. `Plain`
/// for every problem nothing decides on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Kind {
    #[default]
    Plain,
    /// A CI job uses `TF_HTTP_PASSWORD` instead of its job token (`tfw fleet` drops it: the
    /// job token cannot do what fleet does).
    PasswordOverJobToken,
    /// A template lock follows another template than `--template` (the fleet skips the
    /// project).
    FollowsAnotherTemplate,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    pub(crate) severity: Severity,
    pub message: String,
    pub location: Option<Location>,
    pub hint: Option<String>,
    #[serde(skip)]
    pub(crate) kind: Kind,
}

impl Problem {
    pub(crate) fn error(message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            message: message.into(),
            location: None,
            hint: None,
            kind: Kind::Plain,
        }
    }

    pub(crate) fn warning(message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(message)
        }
    }

    pub(crate) fn at(mut self, path: &Path, line: Option<usize>) -> Self {
        self.location = Some(Location {
            path: path.to_path_buf(),
            line,
        });
        self
    }

    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub(crate) fn kind(mut self, kind: Kind) -> Self {
        self.kind = kind;
        self
    }

    pub(crate) fn is(&self, kind: Kind) -> bool {
        self.kind == kind
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(location) => write!(f, "{location}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Problem {}

/// Several problems found at once (validation reports everything, not just the first).
#[derive(Debug)]
pub(crate) struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors = self.0.iter().filter(|p| p.is_error()).count();
        write!(f, "{errors} problem(s) found")
    }
}

impl std::error::Error for Problems {}

/// A command that stopped on purpose with a given exit code after saying why (for example
/// `sync --check` reporting drift): not an error to render again.
#[derive(Debug)]
pub(crate) struct Exit(pub ExitCode);

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "exit {}", self.0.code())
    }
}

impl std::error::Error for Exit {}
