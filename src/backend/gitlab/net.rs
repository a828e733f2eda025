//! How tfw reaches GitLab, and what it says when it cannot. tfw's own calls wait
//! `TFW_HTTP_TIMEOUT` seconds (read through the settings like every other key, `.env`
//! included) and go through the proxy terraform would use (`HTTPS_PROXY`/`HTTP_PROXY` unless
//! `NO_PROXY` covers the host; never for loopback, as Go's `ProxyFromEnvironment` decides):
//! a network where terraform reaches GitLab is one where tfw does too. A call that gets no
//! answer is described by what was tried (host, proxy, timeout) and what to do, never by the
//! HTTP library's own words ("Network Error: Network Error").

use std::time::Duration;

/// How long tfw's own calls wait when nothing says otherwise.
pub(crate) const DEFAULT_TIMEOUT: u64 = 30;

/// The way to GitLab, resolved once with the settings.
#[derive(Debug, Clone)]
pub(crate) struct Net {
    pub timeout: Duration,
    /// Where the timeout came from, for messages (`default`, `.env:4`, `environment`).
    pub timeout_from: String,
    pub proxy: Option<Proxy>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Proxy {
    /// As given (credentials included): what the connection uses.
    pub url: String,
    /// The variable it came from (`HTTPS_PROXY`).
    pub key: String,
}

impl Net {
    /// An HTTP agent that waits `timeout` and goes through the proxy; the second value says
    /// why a proxy that is set could not be used (its URL does not parse), for the caller to
    /// report instead of silently going direct.
    pub(crate) fn agent(&self) -> (ureq::Agent, Option<String>) {
        let mut builder = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(10).min(self.timeout))
            .timeout(self.timeout)
            .user_agent(concat!("tfw/", env!("CARGO_PKG_VERSION")));
        let mut bad_proxy = None;
        if let Some(proxy) = &self.proxy {
            match ureq::Proxy::new(&proxy.url) {
                Ok(p) => builder = builder.proxy(p),
                Err(err) => bad_proxy = Some(format!("{} ({}): {err}", proxy.shown(), proxy.key)),
            }
        }
        (builder.build(), bad_proxy)
    }
}

impl Proxy {
    /// The proxy as shown: scheme, host and port, never its credentials.
    pub(crate) fn shown(&self) -> String {
        match url::Url::parse(&self.url) {
            Ok(url) => match (url.host_str(), url.port_or_known_default()) {
                (Some(host), Some(port)) => format!("{}://{host}:{port}", url.scheme()),
                (Some(host), None) => format!("{}://{host}", url.scheme()),
                _ => "(unreadable proxy URL)".into(),
            },
            // `proxy:3128` without a scheme: Go reads it as http, and so does ureq.
            Err(_) => self.url.rsplit('@').next().unwrap_or(&self.url).to_string(),
        }
    }
}

impl Default for Net {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(DEFAULT_TIMEOUT),
            timeout_from: "default".into(),
            proxy: None,
        }
    }
}

impl Net {
    /// The proxy for `url` from these variables (`lookup` gives a key's value), as Go's
    /// `http.ProxyFromEnvironment` picks it: `HTTPS_PROXY` for https, `HTTP_PROXY` for http,
    /// upper case first, none for loopback or a host `NO_PROXY` covers.
    pub(crate) fn proxy_for(url: &str, lookup: impl Fn(&str) -> Option<String>) -> Option<Proxy> {
        let parsed = url::Url::parse(url).ok()?;
        let host = parsed
            .host_str()?
            .trim_matches(['[', ']'])
            .to_ascii_lowercase();
        if host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
        {
            return None;
        }
        let keys: &[&str] = if parsed.scheme() == "https" {
            &["HTTPS_PROXY", "https_proxy"]
        } else {
            &["HTTP_PROXY", "http_proxy"]
        };
        let (key, url) = keys
            .iter()
            .find_map(|key| lookup(key).filter(|v| !v.is_empty()).map(|v| (*key, v)))?;
        let no_proxy = lookup("NO_PROXY")
            .filter(|v| !v.is_empty())
            .or_else(|| lookup("no_proxy"))
            .unwrap_or_default();
        let port = parsed.port_or_known_default();
        if excluded(&host, port, &no_proxy) {
            return None;
        }
        Some(Proxy {
            url,
            key: key.to_string(),
        })
    }

    /// "directly" or "through the proxy http://p:3128 (HTTPS_PROXY)".
    pub(crate) fn route(&self) -> String {
        match &self.proxy {
            Some(proxy) => format!("through the proxy {} ({})", proxy.shown(), proxy.key),
            None => "directly (no proxy applies)".into(),
        }
    }
}

/// Whether `NO_PROXY` (comma-separated hosts, `.domain` or `domain` suffixes, `*`, optional
/// `:port`) covers the host.
fn excluded(host: &str, port: Option<u16>, no_proxy: &str) -> bool {
    no_proxy
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            let entry = entry.to_ascii_lowercase();
            let (name, entry_port) = match entry.rsplit_once(':') {
                Some((name, p)) if p.chars().all(|c| c.is_ascii_digit()) && !name.contains(':') => {
                    (name.to_string(), p.parse::<u16>().ok())
                }
                _ => (entry.clone(), None),
            };
            if entry_port.is_some() && entry_port != port {
                return false;
            }
            let name = name.trim_start_matches("*.").trim_start_matches('.');
            host == name || host.ends_with(&format!(".{name}"))
        })
}

/// Why a call got no answer, in the words of what to fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Refused,
    UnknownHost,
    Timeout,
    Tls,
    /// The connection closed early or was reset.
    Broken,
    /// The proxy itself failed (refused, unknown, asked for credentials).
    Proxy,
    Other,
}

/// A call to GitLab that got no HTTP answer.
#[derive(Debug, Clone)]
pub(crate) struct Unreached {
    /// `host:port` of GitLab.
    pub host: String,
    pub kind: Kind,
    /// The lowest-level reason given (the OS's, the TLS library's), without the library's
    /// categories.
    pub detail: String,
    pub net: Net,
}

impl Unreached {
    pub(super) fn from_transport(url: &str, transport: &ureq::Transport, net: &Net) -> Self {
        let parsed = url::Url::parse(url).ok();
        let host = parsed
            .as_ref()
            .and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?)))
            .unwrap_or_else(|| url.to_string());
        let mut detail = Vec::new();
        if let Some(message) = transport.message() {
            detail.push(message.to_string());
        }
        let mut source = std::error::Error::source(transport);
        let mut io_kind = None;
        while let Some(err) = source {
            if let Some(io) = err.downcast_ref::<std::io::Error>() {
                io_kind.get_or_insert(io.kind());
            }
            let text = err.to_string();
            if !detail.iter().any(|d| d.contains(&text)) {
                detail.push(text);
            }
            source = err.source();
        }
        let detail = detail.join(": ");
        let lower = detail.to_ascii_lowercase();
        use std::io::ErrorKind as Io;
        use ureq::ErrorKind as U;
        let kind = match (transport.kind(), io_kind) {
            (U::InvalidProxyUrl | U::ProxyConnect | U::ProxyUnauthorized, _) => Kind::Proxy,
            (U::Dns, _) => Kind::UnknownHost,
            (_, Some(Io::TimedOut | Io::WouldBlock)) => Kind::Timeout,
            _ if lower.contains("timed out") || lower.contains("timeout") => Kind::Timeout,
            (_, Some(Io::ConnectionRefused)) => Kind::Refused,
            _ if lower.contains("refused") => Kind::Refused,
            _ if lower.contains("certificate") || lower.contains("tls") => Kind::Tls,
            (_, Some(Io::UnexpectedEof | Io::ConnectionReset | Io::ConnectionAborted)) => {
                Kind::Broken
            }
            _ if lower.contains("eof") || lower.contains("reset") => Kind::Broken,
            _ => Kind::Other,
        };
        // Through a proxy, the connection that was refused or whose host was unknown is
        // the proxy's: GitLab itself was never contacted.
        let kind = match (kind, &net.proxy) {
            (Kind::Refused | Kind::UnknownHost, Some(_)) => Kind::Proxy,
            (kind, _) => kind,
        };
        Self {
            host,
            kind,
            detail,
            net: net.clone(),
        }
    }

    /// The message after "{what}: ", and the hint.
    pub(crate) fn describe(&self) -> (String, String) {
        let (host, route) = (&self.host, self.net.route());
        let seconds = self.net.timeout.as_secs();
        let timeout = format!(
            "`TFW_HTTP_TIMEOUT` (seconds; now {seconds}, {}) sets how long tfw waits",
            self.net.timeout_from
        );
        let proxy_fix = match &self.net.proxy {
            Some(proxy) => format!(
                "check the proxy in {}, or add the host to NO_PROXY if GitLab is reached without it",
                proxy.key
            ),
            None => "behind a proxy, set HTTPS_PROXY (and NO_PROXY) as for terraform".into(),
        };
        match self.kind {
            Kind::Timeout => (
                format!("GitLab at {host} did not answer in time: no answer within {seconds} s, tried {route}"),
                format!("GitLab may be slow or down: try again in a moment; {timeout}"),
            ),
            Kind::Refused => (
                format!("cannot reach GitLab at {host}: connection refused, tried {route}"),
                format!("check the URL in .env (host and port) and that GitLab is up; {proxy_fix}"),
            ),
            Kind::UnknownHost => (
                format!("cannot reach GitLab at {host}: the host name is unknown (DNS), tried {route}"),
                format!("check the URL in .env for a typo; a GitLab reached only over a VPN needs the VPN; {proxy_fix}"),
            ),
            Kind::Tls => (
                format!("cannot reach GitLab at {host}: the TLS connection failed ({}), tried {route}", self.detail),
                "an untrusted certificate (a company CA, a proxy that inspects TLS) needs that CA in the system's trust store; check the URL's scheme and port".into(),
            ),
            Kind::Broken => (
                format!("the connection to GitLab at {host} broke before the whole answer arrived ({}), tried {route}", self.detail),
                format!("try again; a proxy or an unstable network (VPN?) may be cutting connections; {proxy_fix}"),
            ),
            Kind::Proxy => (
                format!("cannot reach GitLab at {host} {route}: the proxy failed ({})", self.detail),
                proxy_fix,
            ),
            Kind::Other => (
                format!("cannot reach GitLab at {host}: {}, tried {route} with a {seconds} s timeout", self.detail),
                format!("check the URL in .env and your network (VPN?); {proxy_fix}"),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxy(url: &str, vars: &[(&str, &str)]) -> Option<String> {
        let lookup = |key: &str| {
            vars.iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.to_string())
        };
        Net::proxy_for(url, lookup).map(|p| format!("{} {}", p.key, p.shown()))
    }

    #[test]
    fn the_proxy_is_chosen_as_go_chooses_it() {
        let vars = [
            ("HTTPS_PROXY", "http://user:secret@proxy.corp:3128"),
            ("http_proxy", "http://plain:8080"),
            ("NO_PROXY", "internal.corp, .example.org,10.0.0.1:8443"),
        ];
        assert_eq!(
            proxy("https://gitlab.com/api/v4", &vars).as_deref(),
            Some("HTTPS_PROXY http://proxy.corp:3128"),
            "credentials are never shown"
        );
        assert_eq!(
            proxy("http://gitlab.com/api/v4", &vars).as_deref(),
            Some("http_proxy http://plain:8080")
        );
        assert_eq!(proxy("https://git.internal.corp/api/v4", &vars), None);
        assert_eq!(proxy("https://example.org/api/v4", &vars), None);
        assert_eq!(proxy("https://10.0.0.1:8443/api/v4", &vars), None);
        assert!(proxy("https://10.0.0.1/api/v4", &vars).is_some());
        assert_eq!(proxy("http://127.0.0.1:8080/api/v4", &vars), None);
        assert_eq!(proxy("https://localhost/api/v4", &vars), None);
        assert_eq!(proxy("https://gitlab.com", &[("NO_PROXY", "*")]), None);
    }
}
