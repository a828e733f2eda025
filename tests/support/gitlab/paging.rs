//! GitLab's two ways of paging a REST listing, with the headers GitLab sends, for the fleet
//! routes: offset (`?page=N&per_page=M`, `lib/gitlab/pagination/offset_pagination.rb` and
//! `offset_header_builder.rb`) and keyset (`?pagination=keyset&order_by=id`, only `Link`,
//! `lib/gitlab/pagination/keyset/`). Links are absolute and keep every other parameter of
//! the request, sorted by name (Rails' `Hash#to_query`), so a client that follows `Link`
//! instead of counting pages gets the same filters on every page.

use percent_encoding::percent_decode_str;
use serde_json::Value;

use super::server::Reply;

/// GitLab's `max_per_page`: a larger `per_page` is cut to it.
pub const MAX_PER_PAGE: usize = 100;
/// `Kaminari.config.default_per_page` in GitLab.
pub const DEFAULT_PER_PAGE: usize = 20;
/// Above this many items GitLab stops counting and leaves the totals out
/// (`Gitlab::Pagination::OffsetPagination`, which skips `X-Total` past 10,000 rows).
pub const MAX_COUNT: usize = 10_000;

/// A request's query string, decoded pair by pair (`+` is a space, as Rack reads forms).
pub(super) struct Query {
    pairs: Vec<(String, String)>,
}

fn decode(s: &str) -> String {
    percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

impl Query {
    pub fn parse(query: &str) -> Query {
        let pairs = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (decode(k), decode(v))
            })
            .collect();
        Query { pairs }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Grape's `Boolean`: `true`/`1`/`yes` or `false`/`0`/`no`; `None` when absent.
    pub fn flag(&self, key: &str) -> Option<bool> {
        match self.get(key)?.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "t" => Some(true),
            "false" | "0" | "no" | "f" => Some(false),
            _ => None,
        }
    }

    pub fn number(&self, key: &str) -> Option<usize> {
        self.get(key).and_then(|v| v.parse().ok())
    }

    pub fn per_page(&self) -> usize {
        self.number("per_page")
            .unwrap_or(DEFAULT_PER_PAGE)
            .clamp(1, MAX_PER_PAGE)
    }

    /// The link to the same listing with `set` replacing those parameters and without
    /// `drop`.
    fn href(&self, base: &str, set: &[(&str, String)], drop: &[&str]) -> String {
        let mut pairs: Vec<(String, String)> = self
            .pairs
            .iter()
            .filter(|(k, _)| !set.iter().any(|(s, _)| s == k) && !drop.contains(&k.as_str()))
            .cloned()
            .chain(set.iter().map(|(k, v)| (k.to_string(), v.clone())))
            .collect();
        pairs.sort();
        let text: Vec<String> = pairs
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    super::encode_component(k),
                    super::encode_component(v)
                )
            })
            .collect();
        format!("{base}?{}", text.join("&"))
    }
}

/// One page of `items` by offset: `X-Page`, `X-Per-Page`, `X-Prev-Page`, `X-Next-Page`
/// (empty on the last page), `X-Total` and `X-Total-Pages` (left out for huge or uncounted
/// listings), and `Link` with `prev`, `next`, `first` and, when counted, `last`. `base` is
/// the absolute URL of the listing without its query.
pub(super) fn offset(base: &str, query: &Query, items: Vec<Value>, omit_totals: bool) -> Reply {
    let per_page = query.per_page();
    let page = query.number("page").unwrap_or(1).max(1);
    let total = items.len();
    let pages = total.div_ceil(per_page).max(1);
    let has_next = page * per_page < total;
    let slice: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let counted = !omit_totals && total <= MAX_COUNT;
    let link = |rel: &str, n: usize| {
        format!(
            "<{}>; rel=\"{rel}\"",
            query.href(
                base,
                &[("page", n.to_string()), ("per_page", per_page.to_string())],
                &[],
            )
        )
    };
    let mut links = Vec::new();
    if page > 1 {
        links.push(link("prev", page - 1));
    }
    if has_next {
        links.push(link("next", page + 1));
    }
    links.push(link("first", 1));
    if counted {
        links.push(link("last", pages));
    }
    let number = |n: usize, show: bool| if show { n.to_string() } else { String::new() };
    let mut headers = vec![
        ("X-Page".to_string(), page.to_string()),
        ("X-Per-Page".to_string(), per_page.to_string()),
        ("X-Prev-Page".to_string(), number(page - 1, page > 1)),
        ("X-Next-Page".to_string(), number(page + 1, has_next)),
    ];
    if counted {
        headers.push(("X-Total".to_string(), total.to_string()));
        headers.push(("X-Total-Pages".to_string(), pages.to_string()));
    }
    headers.push(("Link".to_string(), links.join(", ")));
    let mut reply = Reply::json(200, Value::Array(slice));
    reply.headers = headers;
    reply
}

/// One page by keyset on `id` (`items` already sorted as `sort` asks): the page after
/// `id_after` (ascending) or before `id_before` (descending), and a `Link rel="next"` only
/// while more follow; no counts, no page numbers.
pub(super) fn keyset(base: &str, query: &Query, items: Vec<Value>, descending: bool) -> Reply {
    let per_page = query.per_page();
    let id = |v: &Value| v["id"].as_u64().unwrap_or(0);
    let after = query.number("id_after").map(|n| n as u64);
    let before = query.number("id_before").map(|n| n as u64);
    let rest: Vec<Value> = items
        .into_iter()
        .filter(|v| after.is_none_or(|a| id(v) > a) && before.is_none_or(|b| id(v) < b))
        .collect();
    let has_next = rest.len() > per_page;
    let slice: Vec<Value> = rest.into_iter().take(per_page).collect();
    let mut reply = Reply::json(200, Value::Array(slice.clone()));
    if has_next && let Some(last) = slice.last() {
        let (key, drop) = if descending {
            ("id_before", "id_after")
        } else {
            ("id_after", "id_before")
        };
        // The cursor of the other direction would contradict the new one.
        let href = query.href(base, &[(key, id(last).to_string())], &[drop]);
        reply.headers = vec![("Link".to_string(), format!("<{href}>; rel=\"next\""))];
    }
    reply
}

/// `http://HOST` of the request, for absolute links (GitLab builds them from the request).
pub(super) fn origin(headers: &[(String, String)]) -> String {
    let host = super::http::header(headers, "host").unwrap_or("localhost");
    format!("http://{host}")
}
