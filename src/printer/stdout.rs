//! The data channel: everything tfw writes to stdout (JSON, tables, scripts, an SVG) goes
//! through these methods, masked like the rest, and a closed stdout becomes
//! `StdoutError::Closed`, which ends tfw quietly with exit 0 (as ripgrep does).

use std::io::Write;

use super::Printer;

/// Why data could not reach stdout.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StdoutError {
    /// The reader went away (`| head -1`): tfw stops quietly, exit 0.
    #[error("standard output was closed")]
    Closed,
    #[error("cannot write to standard output: {0}")]
    Failed(std::io::Error),
}

impl From<std::io::Error> for StdoutError {
    fn from(err: std::io::Error) -> Self {
        if err.kind() == std::io::ErrorKind::BrokenPipe {
            Self::Closed
        } else {
            Self::Failed(err)
        }
    }
}

impl Printer {
    /// Data for stdout, secrets masked, written as given (no newline added).
    pub(crate) fn out(&self, text: &str) -> Result<(), StdoutError> {
        self.out_exact(self.mask(text).as_bytes())
    }

    /// One line of data for stdout, secrets masked.
    pub(crate) fn outln(&self, text: &str) -> Result<(), StdoutError> {
        let mut line = self.mask(text).into_owned();
        line.push('\n');
        self.out_exact(line.as_bytes())
    }

    /// Lines of data for stdout (a table), secrets masked.
    pub(crate) fn lines<S: AsRef<str>>(
        &self,
        lines: impl IntoIterator<Item = S>,
    ) -> Result<(), StdoutError> {
        lines
            .into_iter()
            .try_for_each(|line| self.outln(line.as_ref()))
    }

    /// Pretty JSON for stdout, ending with a newline, secrets masked.
    pub(crate) fn json(&self, value: &impl serde::Serialize) -> anyhow::Result<()> {
        self.outln(&serde_json::to_string_pretty(value)?)?;
        Ok(())
    }

    /// Bytes for stdout (an SVG, a man page), secrets masked.
    pub(crate) fn out_bytes(&self, bytes: &[u8]) -> Result<(), StdoutError> {
        self.out_exact(&self.mask_bytes(bytes))
    }

    /// Bytes for stdout exactly as given, unmasked: only for a download the user asked for
    /// byte for byte (`tfw state pull`), where a masked value would corrupt the file.
    pub(crate) fn out_exact(&self, bytes: &[u8]) -> Result<(), StdoutError> {
        let mut out = std::io::stdout().lock();
        out.write_all(bytes)?;
        out.flush()?;
        Ok(())
    }
}
