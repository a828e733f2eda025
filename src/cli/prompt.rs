//! `tfw prompt --format`, checked as clap parses it (what the placeholders mean is
//! `states::prompt`'s business): the command line stays below the commands it starts.

pub(crate) const DEFAULT_FORMAT: &str = "{state}{protected}";
pub(crate) const DEFAULT_MARKER: &str = "!";

/// The placeholders `--format` knows.
const PLACEHOLDERS: &[&str] = &["state", "protected"];

/// clap's check of `--format`: an unknown placeholder is a usage error at once, rather than
/// a prompt that silently prints the braces forever.
pub(crate) fn parse_format(format: &str) -> Result<String, String> {
    let mut rest = format;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else {
            return Err(format!("`{{` without `}}` in `{format}`"));
        };
        let name = &after[..end];
        if !PLACEHOLDERS.contains(&name) {
            return Err(format!(
                "unknown placeholder `{{{name}}}`; known: `{{state}}`, `{{protected}}`"
            ));
        }
        rest = &after[end + 1..];
    }
    Ok(format.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_checked() {
        assert!(parse_format("{state}{protected}").is_ok());
        assert!(parse_format("tf:{state} ").is_ok());
        assert!(parse_format("{stat}").unwrap_err().contains("`{stat}`"));
        assert!(parse_format("{state").is_err());
    }
}
