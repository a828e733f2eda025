//! tfw's own settings that are not terraform's: `TFW_HTTP_TIMEOUT` and the proxy variables,
//! read like every other key (process environment first, then `.env`), so a value in `.env`
//! is never ignored silently and `tfw env` can say where it came from.

use std::time::Duration;

use super::{Origin, Settings};
use crate::backend::gitlab::net::{DEFAULT_TIMEOUT, Net};
use crate::problem::Problem;

/// Every `TFW_*` key tfw reads through the settings, for `tfw env` and the unknown-key checks.
pub(crate) const TFW_KEYS: &[&str] = &["TFW_BINARY", "TFW_HTTP_TIMEOUT", "TFW_TEMPLATE"];

impl Settings {
    /// How tfw reaches GitLab at `api_url`; a timeout that is not a whole number of seconds
    /// is a warning (the default stands in).
    pub(crate) fn net(&self, api_url: &str) -> (Net, Option<Problem>) {
        let mut net = Net::default();
        let mut problem = None;
        if let Some(value) = self.lookup("TFW_HTTP_TIMEOUT") {
            match value.value.trim().parse::<u64>() {
                Ok(seconds) if seconds > 0 => {
                    net.timeout = Duration::from_secs(seconds);
                    net.timeout_from = value.origin.describe(&self.env_file);
                }
                _ => {
                    let warning = Problem::warning(format!(
                        "`TFW_HTTP_TIMEOUT={}` is not a number of seconds: tfw waits {DEFAULT_TIMEOUT} s for GitLab",
                        value.value
                    ))
                    .hint("set it to a whole number of seconds, e.g. `TFW_HTTP_TIMEOUT=60`");
                    problem = Some(match value.origin {
                        Origin::DotEnv { .. } => self.at_key(warning, "TFW_HTTP_TIMEOUT"),
                        _ => warning,
                    });
                }
            }
        }
        net.proxy = Net::proxy_for(api_url, |key| self.lookup(key).map(|v| v.value));
        (net, problem)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::for_tests;
    use crate::backend::gitlab::net::DEFAULT_TIMEOUT;

    const API: &str = "https://g.example.com/api/v4";

    #[test]
    fn a_timeout_in_dotenv_is_used_and_its_origin_named() {
        let (net, problem) = for_tests("TFW_HTTP_TIMEOUT=7\n", &[], None).net(API);
        assert!(problem.is_none());
        assert_eq!(net.timeout, Duration::from_secs(7));
        assert!(net.timeout_from.contains(".env:1"), "{}", net.timeout_from);
    }

    #[test]
    fn the_shell_wins_over_dotenv() {
        let settings = for_tests("TFW_HTTP_TIMEOUT=7\n", &[("TFW_HTTP_TIMEOUT", "9")], None);
        assert_eq!(settings.net(API).0.timeout, Duration::from_secs(9));
    }

    #[test]
    fn a_timeout_that_is_not_whole_seconds_is_a_warning_at_its_line_and_the_default_stands() {
        for bad in ["0", "1.5", "ten", "-3"] {
            let dotenv = format!("TF_HTTP_USERNAME=alice\nTFW_HTTP_TIMEOUT={bad}\n");
            let (net, problem) = for_tests(&dotenv, &[], None).net(API);
            let problem = problem.unwrap_or_else(|| panic!("`{bad}` was taken"));
            assert!(!problem.is_error(), "a warning, not an error: {problem}");
            assert_eq!(problem.location.and_then(|l| l.line), Some(2), "`{bad}`");
            assert_eq!(net.timeout, Duration::from_secs(DEFAULT_TIMEOUT), "`{bad}`");
        }
    }

    #[test]
    fn no_timeout_is_the_default_without_a_warning() {
        let (net, problem) = for_tests("", &[], None).net(API);
        assert!(problem.is_none());
        assert_eq!(net.timeout, Duration::from_secs(DEFAULT_TIMEOUT));
    }
}
