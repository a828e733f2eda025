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
