//! terraform's stderr read for backend failures: which call failed (lock, read, write,
//! unlock) and why, as far as terraform's words tell. They are matched here, in one place:
//! terraform's messages are the only source, and nothing else in tfw reads them for this.

use crate::backend::gitlab::Trouble;

/// Which of terraform's calls to GitLab failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    Lock,
    Read,
    Write,
    Unlock,
    /// The saved plan no longer matches the remote state (someone applied meanwhile).
    StalePlan,
}

/// Why it failed, as far as terraform's message tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Cause {
    /// Someone holds the lock (409 with a lock body).
    Locked,
    Status(u16),
    /// No HTTP answer: refused, unknown host, timed out, connection closed early.
    Network(Network),
    /// terraform's client retried and gave up; the attempts got server errors.
    GaveUp(u32),
    Unknown,
}

/// What went wrong below HTTP, as terraform's words tell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Network {
    Refused,
    UnknownHost,
    Untrusted,
    Timeout,
    Reset,
    /// The connection closed while the answer was arriving.
    ClosedMidAnswer,
    /// The connection closed before any answer.
    ClosedEarly,
}

impl Network {
    /// How tfw says it, and how it is explained.
    pub(super) fn described(self) -> (Trouble, &'static str) {
        match self {
            Network::Refused => (Trouble::Other, "connection refused"),
            Network::UnknownHost => (Trouble::Other, "unknown host name"),
            Network::Untrusted => (Trouble::Other, "the TLS certificate is not trusted"),
            Network::Timeout => (Trouble::Timeout, "no answer in time"),
            Network::Reset => (Trouble::Other, "the connection was reset"),
            Network::ClosedMidAnswer => (
                Trouble::Broken,
                "the connection closed before the whole answer arrived",
            ),
            Network::ClosedEarly => (
                Trouble::Broken,
                "the connection closed before an answer arrived",
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Failure {
    pub(super) phase: Phase,
    pub(super) cause: Cause,
}

/// The backend failures in terraform's stderr, most important first (a lost write before the
/// lock that was left behind after it).
pub(super) fn classify(stderr: &str) -> Vec<Failure> {
    let text = normalize(stderr);
    let network = network_detail(&text);
    let mut failures: Vec<Failure> = blocks(&text)
        .filter_map(|block| {
            let phase = phase_of(&block)?;
            let cause = match (phase, cause_of(&block)) {
                (_, Cause::GaveUp(n)) => match &network {
                    Some(network) => Cause::Network(*network),
                    None => Cause::GaveUp(n),
                },
                (_, cause) => cause,
            };
            Some(Failure { phase, cause })
        })
        .collect();
    // terraform often follows one failure with a second, vaguer block ("Failed to persist
    // state to backend"): one failure per phase, the one that knows its cause.
    failures.sort_by_key(|f| (rank(f.phase), f.cause == Cause::Unknown));
    failures.dedup_by_key(|f| f.phase);
    failures
}

fn rank(phase: Phase) -> u8 {
    match phase {
        Phase::Write => 0,
        Phase::StalePlan => 1,
        Phase::Lock => 2,
        Phase::Read => 3,
        Phase::Unlock => 4,
    }
}

/// Plain text: no colour, no box-drawing margins, one line per line.
fn normalize(stderr: &str) -> String {
    crate::runner::strip_ansi(stderr)
        .lines()
        .map(|line| line.trim_start_matches(['│', '╷', '╵', ' ']).trim_end())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Terraform's diagnostics, one per `Error:` line, each with its detail (joined into one line:
/// terraform wraps long messages, URLs included). What comes before the first one is a block
/// too: `init` prints "Error refreshing state: ..." without the prefix.
fn blocks(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split("\nError: ")
        .map(|block| block.split_whitespace().collect::<Vec<_>>().join(" "))
}

fn phase_of(block: &str) -> Option<Phase> {
    let has = |needle: &str| block.contains(needle);
    if has("Error acquiring the state lock") {
        Some(Phase::Lock)
    } else if has("Error releasing the state lock") {
        Some(Phase::Unlock)
    } else if has("Failed to save state")
        || has("Error saving state")
        || has("Failed to upload state")
        || has("Failed to persist state")
    {
        Some(Phase::Write)
    } else if has("Saved plan is stale") {
        Some(Phase::StalePlan)
    } else if has("Error refreshing state")
        || has("Error loading state")
        || has("Failed to get state")
        || has("Failed to read remote state")
        || has("Failed to get existing workspaces")
        || has("HTTP remote state endpoint")
    {
        Some(Phase::Read)
    } else {
        None
    }
}

fn cause_of(block: &str) -> Cause {
    if block.contains("already locked") {
        return Cause::Locked;
    }
    if block.contains("requires auth") {
        return Cause::Status(401);
    }
    if block.contains("invalid auth") {
        return Cause::Status(403);
    }
    if block.contains("internal server error") {
        return Cause::Status(500);
    }
    for prefix in ["Unexpected HTTP response code ", "HTTP error: "] {
        if let Some(code) = number_after(block, prefix) {
            return Cause::Status(code as u16);
        }
    }
    if let Some(attempts) = number_after(block, "giving up after ") {
        return Cause::GaveUp(attempts);
    }
    match network_detail(block) {
        Some(network) => Cause::Network(network),
        None => Cause::Unknown,
    }
}

/// What went wrong below HTTP, from terraform's message or its client's `[ERR]` log lines.
fn network_detail(text: &str) -> Option<Network> {
    let lower = text.to_ascii_lowercase();
    let found = [
        ("connection refused", Network::Refused),
        ("no such host", Network::UnknownHost),
        ("x509", Network::Untrusted),
        ("certificate", Network::Untrusted),
        ("timeout", Network::Timeout),
        ("deadline exceeded", Network::Timeout),
        ("connection reset", Network::Reset),
        ("unexpected eof", Network::ClosedMidAnswer),
        (": eof", Network::ClosedEarly),
    ]
    .iter()
    .find(|(needle, _)| lower.contains(needle))?;
    Some(found.1)
}

fn number_after(text: &str, prefix: &str) -> Option<u32> {
    let start = text.find(prefix)? + prefix.len();
    let digits: String = text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(stderr: &str) -> (Phase, Cause) {
        let failures = classify(stderr);
        assert_eq!(failures.len(), 1, "{failures:?}");
        (failures[0].phase, failures[0].cause.clone())
    }

    const LOCK_INTRO: &str = "\nError: Error acquiring the state lock\n\nError message: ";

    #[test]
    fn lock_failures_are_told_apart() {
        let conflict = format!("{LOCK_INTRO}HTTP remote state already locked: ID=abc\n");
        assert_eq!(one(&conflict), (Phase::Lock, Cause::Locked));
        let not_found = format!("{LOCK_INTRO}Unexpected HTTP response code 404\n");
        assert_eq!(one(&not_found), (Phase::Lock, Cause::Status(404)));
        let auth = format!("{LOCK_INTRO}HTTP remote state endpoint requires auth\n");
        assert_eq!(one(&auth), (Phase::Lock, Cause::Status(401)));
        let role = format!("{LOCK_INTRO}HTTP remote state endpoint invalid auth\n");
        assert_eq!(one(&role), (Phase::Lock, Cause::Status(403)));
        let server = format!(
            "{LOCK_INTRO}Failed to lock: POST\nhttp://h/api/v4/projects/42/terraform/state/dev/lock\ngiving up after 2 attempts\n"
        );
        assert_eq!(one(&server), (Phase::Lock, Cause::GaveUp(2)));
        let hung = format!(
            "2026/11/22 03:18:34 [ERR] POST http://h/lock request failed: Post \"http://h/lock\": EOF\n{server}"
        );
        assert_eq!(
            one(&hung),
            (Phase::Lock, Cause::Network(Network::ClosedEarly))
        );
    }

    #[test]
    fn reads_writes_and_unlocks() {
        assert_eq!(
            one("Error refreshing state: HTTP remote state endpoint requires auth\n"),
            (Phase::Read, Cause::Status(401))
        );
        assert_eq!(
            one("\nError: Error loading state: Failed to read remote state: unexpected EOF\n"),
            (Phase::Read, Cause::Network(Network::ClosedMidAnswer))
        );
        let refused = "2026/11/22 03:19:20 [ERR] GET http://h/state/dev request failed: Get \"http://h\": dial tcp 127.0.0.1:1: connect: connection refused\nError refreshing state: Failed to get state: GET http://h/state/dev giving up after 3 attempts\n";
        assert_eq!(
            one(refused),
            (Phase::Read, Cause::Network(Network::Refused))
        );
        let write = "\nError: Failed to save state\n\nError saving state: HTTP error: 422\n\nError: Failed to persist state to backend\n\nThe error shown above has prevented Terraform from writing the updated state\n";
        assert_eq!(one(write), (Phase::Write, Cause::Status(422)));
        let unlock = "\nError: Error releasing the state lock\n\nError message: Failed to unlock: DELETE\nhttp://h/lock\ngiving up after 2 attempts\n";
        assert_eq!(one(unlock), (Phase::Unlock, Cause::GaveUp(2)));
    }

    #[test]
    fn boxed_and_coloured_output_is_read_too() {
        let boxed = "╷\n│ \u{1b}[1;31mError: \u{1b}[0mError acquiring the state lock\n│ \n│ Error message: Unexpected HTTP response code 404\n╵\n";
        assert_eq!(one(boxed), (Phase::Lock, Cause::Status(404)));
    }

    #[test]
    fn other_errors_are_left_alone() {
        assert!(classify("Error: Invalid function argument\n\nstuff").is_empty());
        assert!(classify("").is_empty());
    }
}
