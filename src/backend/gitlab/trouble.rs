//! An answer tfw could not use, or none (as terraform tells it), with what went wrong as a
//! value: `ApiError::problem` explains each kind its own way, so no explanation depends on
//! the wording of the detail shown with it.

use std::fmt;

/// What went wrong, deciding how it is explained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trouble {
    /// No answer in time.
    Timeout,
    /// The connection closed before the whole answer arrived.
    Broken,
    /// GitLab's GraphQL API answered with errors (the detail is GitLab's).
    GraphQl,
    /// An answer, but not one GitLab's API gives (not the JSON expected).
    Unexpected,
    /// Anything else that kept tfw from GitLab's answer (an unusable proxy, a field missing).
    Other,
}

#[derive(Debug)]
pub(crate) struct Transport {
    pub trouble: Trouble,
    pub detail: String,
}

impl Transport {
    pub(crate) fn new(trouble: Trouble, detail: impl Into<String>) -> Self {
        Self {
            trouble,
            detail: detail.into(),
        }
    }

    /// A `what` answer serde could not read: a truncated one (the body ended early) is a
    /// broken connection, anything else not GitLab's.
    pub(crate) fn unreadable(what: &str, err: &serde_json::Error) -> Self {
        let trouble = if err.is_eof() {
            Trouble::Broken
        } else {
            Trouble::Unexpected
        };
        Self::new(trouble, format!("unexpected {what} answer: {err}"))
    }

    /// Reading the body failed after the status came.
    pub(crate) fn read_failed(err: &std::io::Error) -> Self {
        use std::io::ErrorKind;
        let text = err.to_string().to_ascii_lowercase();
        // ureq reports its read timeout as an io error; older paths only say it in words
        // (the OS's, not tfw's).
        let timeout = matches!(err.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock)
            || text.contains("timed out")
            || text.contains("timeout");
        let trouble = if timeout {
            Trouble::Timeout
        } else {
            Trouble::Broken
        };
        Self::new(trouble, format!("reading the answer failed: {err}"))
    }

    /// GitLab's GraphQL errors. A query GitLab itself gave up on says so in its words
    /// (GitLab's, as terraform's are read elsewhere) and is explained as no answer in time.
    pub(crate) fn graphql(errors: String) -> Self {
        let lower = errors.to_ascii_lowercase();
        let trouble = if lower.contains("timed out") || lower.contains("timeout") {
            Trouble::Timeout
        } else if lower.contains("eof") || lower.contains("closed before") {
            Trouble::Broken
        } else {
            return Self::new(Trouble::GraphQl, errors);
        };
        Self::new(trouble, format!("GraphQL error: {errors}"))
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.trouble {
            Trouble::GraphQl => write!(f, "GraphQL error: {}", self.detail),
            _ => f.write_str(&self.detail),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_is_told_by_its_kind() {
        let truncated = serde_json::from_slice::<serde_json::Value>(b"{\"a\":").unwrap_err();
        assert_eq!(
            Transport::unreadable("user", &truncated).trouble,
            Trouble::Broken
        );
        let html = serde_json::from_slice::<serde_json::Value>(b"<html>").unwrap_err();
        let unexpected = Transport::unreadable("user", &html);
        assert_eq!(unexpected.trouble, Trouble::Unexpected);
        assert!(
            unexpected
                .to_string()
                .starts_with("unexpected user answer: ")
        );
        let slow = std::io::Error::from(std::io::ErrorKind::TimedOut);
        assert_eq!(Transport::read_failed(&slow).trouble, Trouble::Timeout);
        let cut = std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
        assert_eq!(Transport::read_failed(&cut).trouble, Trouble::Broken);
        let refused = Transport::graphql("[{\"message\":\"no\"}]".into());
        assert_eq!(refused.trouble, Trouble::GraphQl);
        assert_eq!(refused.to_string(), "GraphQL error: [{\"message\":\"no\"}]");
    }
}
