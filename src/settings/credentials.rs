//! Credentials inside a value, whatever its key: the password of a URL
//! (`DATABASE_URL=postgres://app:pw@db/app`, `HTTPS_PROXY=http://user:pw@proxy:3128`), and a
//! secret key's value set inside another value (`TF_CLI_ARGS_plan=-var=db_password=pw`,
//! `TF_CLI_ARGS_init=-backend-config=password=pw`). terraform inherits them, and `-v` shows
//! its environment: neither the key nor the shape of the value said "secret" before.

use super::secrets::{is_secret_key, mask_forms};

/// The credentials found in `value`, as `Settings::secrets` lists them.
pub(super) fn embedded_credentials(value: &str) -> Vec<String> {
    let mut found = Vec::new();
    let words = value.split(|c: char| c.is_whitespace() || c == '"' || c == '\'');
    for word in words.filter(|w| !w.is_empty()) {
        if let Some((_, rest)) = word.split_once("://") {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
            if let Some((userinfo, _)) = authority.rsplit_once('@')
                && let Some((_, password)) = userinfo.split_once(':')
            {
                mask_forms(password, &mut found);
                let decoded = percent_encoding::percent_decode_str(password).decode_utf8_lossy();
                if decoded != password {
                    mask_forms(&decoded, &mut found);
                }
            }
            continue;
        }
        // `-var=db_password=pw`, `-backend-config=password=pw`, `db_password=pw`: the value
        // after the first part that is a secret key (a value may hold `=` itself).
        let parts: Vec<&str> = word.split('=').collect();
        if let Some(at) = (0..parts.len().saturating_sub(1))
            .find(|&i| is_secret_key(parts[i].trim_start_matches('-')))
        {
            mask_forms(&parts[at + 1..].join("="), &mut found);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_passwords_and_secret_keys_inside_values() {
        assert_eq!(
            embedded_credentials("postgres://app:s3cr%40t@db:5432/app?ssl=1"),
            ["s3cr%40t", "s3cr@t"]
        );
        assert_eq!(
            embedded_credentials("http://user:pw-123@proxy:3128"),
            ["pw-123"]
        );
        assert!(embedded_credentials("https://alice@gitlab.example.com/g/p.git").is_empty());
        assert!(embedded_credentials("https://gitlab.example.com").is_empty());
        assert_eq!(
            embedded_credentials("-var=db_password=a=b -lock-timeout=5m"),
            ["a=b"]
        );
        assert_eq!(
            embedded_credentials("-backend-config=\"password=hunter22\""),
            ["hunter22"]
        );
        assert_eq!(
            embedded_credentials("-var 'api_token=tok-9f8e'"),
            ["tok-9f8e"]
        );
        // Not secrets: other settings, and trivial values of secret keys.
        assert!(embedded_credentials("-var=region=eu -var=use_token=true").is_empty());
    }
}
