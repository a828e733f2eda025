//! How tfw ends, as a type: the exit codes docs/STYLE.md documents. Commands return an
//! `ExitCode`; `lib::run` turns it into the process's number, the one place a number is
//! made. terraform's own code passes through unchanged, as `Passed(n)`.

/// The documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExitCode {
    /// 0.
    Success,
    /// 1: tfw stopped on an error it explained.
    Failure,
    /// 2: the command line is wrong (clap's usage error).
    Usage,
    /// 2: a check found something to do: an update (`sync --check`), a drift (`drift`), a
    /// stale lock (`locks`).
    Found,
    /// 3: a check found what needs a person (`sync --check`: drift or conflicts), or could
    /// not see everything (`state history`, `locks`).
    Unresolved,
    /// 130: interrupted at a prompt (Ctrl-C).
    Interrupted,
    /// A child's own code, passed through unchanged: terraform's (or 128 + n when it or tfw
    /// was stopped by signal n); under `--all`, the worst root's `tfw`.
    Passed(i32),
}

impl ExitCode {
    /// The process's exit code.
    pub(crate) fn code(self) -> i32 {
        match self {
            Self::Success => 0,
            Self::Failure => 1,
            Self::Usage | Self::Found => 2,
            Self::Unresolved => 3,
            Self::Interrupted => 130,
            Self::Passed(code) => code,
        }
    }

    /// 1 on failure, 0 otherwise: for a report that lists problems (`env`, `doctor`).
    pub(crate) fn failed_if(failed: bool) -> Self {
        if failed { Self::Failure } else { Self::Success }
    }
}

impl serde::Serialize for ExitCode {
    /// As its number: `--json` reports show `"exit_code": 2`.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i32(self.code())
    }
}
