//! Masking: the one place a secret becomes `****`. Settings say which values are secret
//! (`settings::secrets`); this module decides what of them can show up in text and hides it:
//! the value as it is, JSON-escaped (`--json`, terraform's quoted strings) and
//! percent-encoded (a URL or a form body that GitLab or a proxy echoes in an error), every
//! occurrence of every secret at once (two secrets that overlap, `abcd1234` and `1234wxyz`,
//! hide `abcd1234wxyz` whole; replacing one after the other left `wxyz` of the second), and
//! a secret cut in two by a pause in a child's output (`held_back`). Every secret any printer
//! learns is also kept for the panic hook (`panic.rs`), which has no printer at hand.

use std::borrow::Cow;
use std::sync::Mutex;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::Printer;

const MASK: &str = "****";

/// Values shorter than this are not masked: hiding every `ab` in the output would make it
/// unreadable and protect nothing (docs/security.md, Decisions).
const SHORTEST: usize = 4;

/// Everything RFC 3986 does not leave as it is (`-`, `.`, `_`, `~` stay).
const ENCODED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Every secret registered in this process, for text printed without a printer (a panic).
static KNOWN: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// The forms a secret takes in text: itself, JSON-escaped, and percent-encoded in upper- and
/// lower-case hex and as a form value (`+` for a space).
fn forms(secret: &str) -> Vec<String> {
    let mut forms = vec![secret.to_string()];
    let json = serde_json::to_string(secret).unwrap_or_default();
    forms.push(json[1..json.len().saturating_sub(1).max(1)].to_string());
    let encoded = utf8_percent_encode(secret, ENCODED).to_string();
    forms.push(lower_hex(&encoded));
    forms.push(encoded);
    forms.push(url::form_urlencoded::byte_serialize(secret.as_bytes()).collect());
    forms.sort();
    forms.dedup();
    forms
}

/// `%2F` as `%2f`: some encoders write lower-case hex.
fn lower_hex(encoded: &str) -> String {
    let mut out = String::with_capacity(encoded.len());
    let mut hex = 0;
    for c in encoded.chars() {
        if c == '%' {
            hex = 2;
            out.push(c);
        } else if hex > 0 {
            hex -= 1;
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Adds a secret's forms to `list`, longest first.
fn register(list: &mut Vec<String>, secret: &str) {
    if secret.len() < SHORTEST || list.iter().any(|s| s == secret) {
        return;
    }
    for form in forms(secret) {
        if !list.contains(&form) {
            list.push(form);
        }
    }
    list.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// `text` with every byte covered by an occurrence of a secret replaced, each run of covered
/// bytes by one `****`. Occurrences are found at every position, so overlapping ones (of one
/// secret or of two) are all covered.
fn mask_with<'a>(secrets: &[String], text: &'a str) -> Cow<'a, str> {
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for secret in secrets {
        let mut from = 0;
        while let Some(found) = text[from..].find(secret.as_str()) {
            let at = from + found;
            spans.push((at, at + secret.len()));
            // The next character, not the end: `aaaa` inside `aaaaa` is found twice.
            from = at + text[at..].chars().next().map_or(1, char::len_utf8);
        }
    }
    if spans.is_empty() {
        return Cow::Borrowed(text);
    }
    spans.sort_unstable();
    let mut out = String::with_capacity(text.len());
    // The end of the run of covered bytes being masked, once one started.
    let mut covered: Option<usize> = None;
    for (start, end) in spans {
        match covered {
            Some(to) if start <= to => covered = Some(to.max(end)),
            _ => {
                out.push_str(&text[covered.unwrap_or(0)..start]);
                out.push_str(MASK);
                covered = Some(end);
            }
        }
    }
    out.push_str(&text[covered.unwrap_or(0)..]);
    Cow::Owned(out)
}

/// Masks `text` with every secret registered in this process (the panic hook's view).
pub(super) fn mask_known(text: &str) -> String {
    let known = KNOWN.lock().unwrap_or_else(|e| e.into_inner());
    mask_with(&known, text).into_owned()
}

impl Printer {
    /// Registers a value that must never be printed, in every form it can take in text.
    /// Values shorter than `SHORTEST` are ignored.
    pub fn add_secret(&mut self, secret: &str) {
        register(&mut self.secrets, secret);
        register(&mut KNOWN.lock().unwrap_or_else(|e| e.into_inner()), secret);
    }

    pub fn mask<'a>(&self, text: &'a str) -> Cow<'a, str> {
        mask_with(&self.secrets, text)
    }

    pub(crate) fn mask_bytes<'a>(&self, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        if self.secrets.is_empty() {
            return Cow::Borrowed(bytes);
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => match self.mask(text) {
                Cow::Borrowed(_) => Cow::Borrowed(bytes),
                Cow::Owned(s) => Cow::Owned(s.into_bytes()),
            },
            Err(_) => {
                let text = String::from_utf8_lossy(bytes);
                Cow::Owned(self.mask(&text).into_owned().into_bytes())
            }
        }
    }

    /// How many bytes at the end of an unfinished line must wait for the rest of it: the
    /// longest end that is the beginning of a secret. A child that pauses mid-line (a
    /// question, or a `local-exec` writing slowly) has the first part shown before the rest
    /// exists; shown at once, a secret cut there would escape masking in both halves.
    pub(crate) fn held_back(&self, pending: &[u8]) -> usize {
        self.secrets
            .iter()
            .map(|secret| {
                let secret = secret.as_bytes();
                (1..secret.len().min(pending.len() + 1))
                    .rev()
                    .find(|&n| pending.ends_with(&secret[..n]))
                    .unwrap_or(0)
            })
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn printer(secrets: &[&str]) -> Printer {
        let mut printer = Printer::plain();
        for secret in secrets {
            printer.add_secret(secret);
        }
        printer
    }

    #[test]
    fn masks_longest_secret_first() {
        let printer = printer(&["token", "token-long"]);
        assert_eq!(printer.mask("a token-long b token"), "a **** b ****");
    }

    #[test]
    fn ignores_tiny_secrets() {
        assert_eq!(printer(&["a"]).mask("banana"), "banana");
    }

    #[test]
    fn overlapping_secrets_are_hidden_whole() {
        let printer = printer(&["abcd1234", "1234wxyz"]);
        assert_eq!(printer.mask("x abcd1234wxyz y"), "x **** y");
        assert_eq!(printer.mask("abcd1234 1234wxyz"), "**** ****");
        // One secret overlapping itself.
        assert_eq!(self::printer(&["abab"]).mask("[ababab]"), "[****]");
    }

    #[test]
    fn special_characters_are_literal() {
        let secret = r"p@$$.*+?^(w)[o]{r}|d\1%";
        let printer = printer(&[secret]);
        assert_eq!(printer.mask(&format!("<{secret}>")), "<****>");
        assert_eq!(
            printer.mask("p@$$x*+?^(w)[o]{r}|d\\1%"),
            "p@$$x*+?^(w)[o]{r}|d\\1%"
        );
    }

    #[test]
    fn encoded_forms_are_masked() {
        let printer = printer(&["p@ss/w:rd 9\"\\"]);
        for shown in [
            "p%40ss%2Fw%3Ard%209%22%5C",
            "p%40ss%2fw%3ard%209%22%5c",
            "p%40ss%2Fw%3Ard+9%22%5C",
            "p@ss/w:rd 9\\\"\\\\",
        ] {
            assert_eq!(printer.mask(&format!("?q={shown}&")), "?q=****&", "{shown}");
        }
    }

    #[test]
    fn an_unfinished_line_holds_back_what_may_begin_a_secret() {
        let printer = printer(&["glpat-SECRET"]);
        assert_eq!(printer.held_back(b"Enter a value: "), 0);
        assert_eq!(printer.held_back(b"token is glpat-SE"), 8);
        assert_eq!(printer.held_back(b"g"), 1);
        // A whole secret is masked where it is; nothing to wait for.
        assert_eq!(printer.held_back(b"glpat-SECRET"), 0);
    }
}
