//! HTTP for `tfw fleet`: GitLab's REST API with the token in the `PRIVATE-TOKEN` header only
//! (never in a URL, so never in a log, an error or a process list), the conventions of
//! `backend::gitlab` (one agent, `TFW_HTTP_TIMEOUT` bounding every call, one retry on 5xx),
//! and what a fleet meets that one repository does not: rate limits (429: wait for
//! `Retry-After`, bounded, then give up on that call) and listings of any length (follow
//! `Link: rel="next"`, or `X-Next-Page` when the link leaves the configured GitLab).

use std::io::Read;
use std::time::Duration;

use crate::backend::gitlab::net::Net;
use serde::de::DeserializeOwned;

/// The longest `Retry-After` tfw waits for; a longer one fails the call at once.
pub(crate) const MAX_RETRY_WAIT: Duration = Duration::from_secs(60);
/// Tries of one call that keeps answering 429: the first and three more.
pub(crate) const RATE_LIMIT_TRIES: usize = 4;
/// A listing longer than this many pages is taken for a server that never ends it.
const MAX_PAGES: usize = 10_000;
/// The most of a body tfw reads (a template file, a page of a listing).
const MAX_BODY: u64 = 64 * 1024 * 1024;

pub(crate) struct Api {
    agent: ureq::Agent,
    api_url: String,
    token: String,
    timeout: Duration,
}

/// Why a call failed, after the retries it deserved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    Status {
        code: u16,
        body: String,
    },
    /// Still 429 after `tries`, or asked to wait `retry_after` seconds, longer than tfw waits.
    RateLimited {
        retry_after: Option<u64>,
        tries: usize,
    },
    /// No answer within the timeout.
    Timeout(Duration),
    Transport(String),
    /// An answer that is not what GitLab's API documents.
    Garbled(String),
}

/// A successful answer: status, body and where the listing goes on, if it does.
pub(crate) struct Answer {
    #[allow(dead_code, reason = "for the writes of `tfw fleet sync` (200 or 201)")]
    pub status: u16,
    pub body: Vec<u8>,
    pub next: Option<String>,
}

fn is_timeout(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(err) = cause {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            )
        {
            return true;
        }
        cause = err.source();
    }
    false
}

/// The `rel="next"` target of a `Link` header.
fn link_next(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        let next = params
            .split(';')
            .any(|p| matches!(p.trim(), "rel=\"next\"" | "rel=next"));
        next.then(|| url.trim().trim_matches(['<', '>']).to_string())
    })
}

/// `url` with its `page` parameter set to `page`.
fn with_page(url: &str, page: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut pairs: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("page="))
        .collect();
    let page = format!("page={page}");
    pairs.push(&page);
    format!("{base}?{}", pairs.join("&"))
}

fn origin(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    Some(parsed.origin().ascii_serialization())
}

impl Api {
    /// A client of the API at `api_url` (`https://host/api/v4`) with `token`, reached the
    /// way the settings say (`TFW_HTTP_TIMEOUT` and the proxy, `.env` included), as every
    /// other GitLab call of tfw is.
    pub(crate) fn new(api_url: &str, token: &str, net: &Net) -> Result<Api, Failure> {
        let (agent, bad_proxy) = net.agent();
        if let Some(bad) = bad_proxy {
            return Err(Failure::Transport(format!(
                "the proxy {bad} cannot be used"
            )));
        }
        Ok(Api {
            agent,
            api_url: api_url.trim_end_matches('/').to_string(),
            token: token.to_string(),
            timeout: net.timeout,
        })
    }

    /// `{api}{path}`; `path` starts with `/` and has its segments encoded already.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.api_url)
    }

    /// One call. 429 is retried after `Retry-After` (at most `MAX_RETRY_WAIT`, at most
    /// `RATE_LIMIT_TRIES` times: a rate-limited request did nothing); 5xx once, for GET only
    /// (a write may have happened before the error).
    pub(crate) fn send(
        &self,
        method: &str,
        url: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Answer, Failure> {
        let mut tries = 0;
        let mut server_errors = 0;
        loop {
            tries += 1;
            let request = self
                .agent
                .request(method, url)
                .set("PRIVATE-TOKEN", &self.token);
            let result = match body {
                Some(body) => request
                    .set("Content-Type", "application/json")
                    .send_string(&body.to_string()),
                None => request.call(),
            };
            match result {
                Ok(response) => return self.read(url, response),
                Err(ureq::Error::Status(429, response)) => {
                    let retry_after = response
                        .header("retry-after")
                        .and_then(|v| v.trim().parse::<u64>().ok());
                    let wait = Duration::from_secs(retry_after.unwrap_or(1));
                    if tries >= RATE_LIMIT_TRIES || wait > MAX_RETRY_WAIT {
                        return Err(Failure::RateLimited { retry_after, tries });
                    }
                    std::thread::sleep(wait);
                }
                Err(ureq::Error::Status(code, _))
                    if code >= 500 && server_errors == 0 && method == "GET" =>
                {
                    server_errors += 1;
                    std::thread::sleep(Duration::from_millis(300));
                }
                Err(ureq::Error::Status(code, response)) => {
                    let mut body = String::new();
                    let _ = response
                        .into_reader()
                        .take(64 * 1024)
                        .read_to_string(&mut body);
                    return Err(Failure::Status { code, body });
                }
                Err(ureq::Error::Transport(transport)) => {
                    return Err(if is_timeout(&transport) {
                        Failure::Timeout(self.timeout)
                    } else {
                        Failure::Transport(transport.to_string())
                    });
                }
            }
        }
    }

    fn read(&self, url: &str, response: ureq::Response) -> Result<Answer, Failure> {
        let status = response.status();
        // A next link to another host would carry the token there: only links to the GitLab
        // configured are followed, else the page number on the URL tfw built.
        let next = response
            .header("link")
            .and_then(link_next)
            .filter(|next| origin(next).is_some() && origin(next) == origin(&self.api_url))
            .or_else(|| {
                let page = response.header("x-next-page")?.trim();
                (!page.is_empty()).then(|| with_page(url, page))
            });
        let mut body = Vec::new();
        response
            .into_reader()
            .take(MAX_BODY)
            .read_to_end(&mut body)
            .map_err(|err| match is_timeout(&err) {
                true => Failure::Timeout(self.timeout),
                false => Failure::Transport(format!("reading the answer failed: {err}")),
            })?;
        Ok(Answer { status, body, next })
    }

    pub(crate) fn get(&self, url: &str) -> Result<Answer, Failure> {
        self.send("GET", url, None)
    }

    #[allow(dead_code, reason = "for `tfw fleet sync`")]
    pub(crate) fn get_json<T: DeserializeOwned>(&self, url: &str) -> Result<T, Failure> {
        let answer = self.get(url)?;
        parse(&answer.body)
    }

    /// Every item of a paged listing, following `next` to the end.
    pub(crate) fn get_all<T: DeserializeOwned>(&self, url: &str) -> Result<Vec<T>, Failure> {
        let mut items = Vec::new();
        let mut next = Some(url.to_string());
        let mut pages = 0;
        while let Some(url) = next {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(Failure::Garbled(format!(
                    "the listing did not end after {MAX_PAGES} pages"
                )));
            }
            let answer = self.get(&url)?;
            let page: Vec<T> = parse(&answer.body)?;
            items.extend(page);
            next = answer.next;
        }
        Ok(items)
    }
}

pub(crate) fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Failure> {
    serde_json::from_slice(body)
        .map_err(|err| Failure::Garbled(format!("GitLab's answer is not the JSON expected: {err}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_links_and_pages() {
        let link = "<https://g.example.com/api/v4/groups/1/projects?page=2&per_page=100>; rel=\"next\", <https://g.example.com/api/v4/groups/1/projects?page=1&per_page=100>; rel=\"first\"";
        assert_eq!(
            link_next(link).as_deref(),
            Some("https://g.example.com/api/v4/groups/1/projects?page=2&per_page=100")
        );
        assert_eq!(link_next("<https://x/a>; rel=\"first\""), None);
        assert_eq!(
            with_page("https://x/a?page=1&per_page=100", "2"),
            "https://x/a?per_page=100&page=2"
        );
        assert_eq!(with_page("https://x/a", "3"), "https://x/a?page=3");
        assert_eq!(
            origin("https://g.example.com/api/v4/x?y").as_deref(),
            Some("https://g.example.com")
        );
    }
}
