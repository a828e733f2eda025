//! `tfw man`: one manual page for the whole tool, with every command in it. clap_mangen's
//! page alone lists the commands as `tfw-plan(1)`, `tfw-use(1)`... pages that nobody
//! installs; here each command gets its own subsection (synopsis, description, options,
//! examples) rendered by clap_mangen from the same clap definition as `--help`.

use std::io::Write;

use anyhow::Result;
use clap::CommandFactory;

use crate::cli::Cli;

const ENVIRONMENT: &str = r#".SH ENVIRONMENT
Every key below may be set in the shell or in \fI.env\fR; the shell wins, and \fBtfw env\fR says where each value came from.
.TP
\fBGITLAB_URL\fR, \fBGITLAB_PROJECT\fR
The GitLab instance and the project (path or numeric id) holding the states.
.TP
\fBTF_HTTP_USERNAME\fR, \fBTF_HTTP_PASSWORD\fR
Your GitLab username and an access token with the \fIapi\fR scope.
.TP
\fBTF_STATE_NAME\fR
The current state (default: your personal state, \fIdev\-<username>\fR).
.TP
\fBTF_HTTP_ADDRESS\fR
The old way to name the backend: a full state address (still understood).
.TP
\fBTFW_BINARY\fR
\fItofu\fR, \fIterraform\fR or a path to the binary to run.
.TP
\fBTFW_HTTP_TIMEOUT\fR
Seconds tfw waits for GitLab (default 30).
.TP
\fBCI\fR, \fBCI_API_V4_URL\fR, \fBCI_PROJECT_ID\fR, \fBCI_JOB_TOKEN\fR
In GitLab CI: no prompt ever, and the job token when no \fI.env\fR exists.
.TP
\fBNO_COLOR\fR
Any value turns colour off (as \fB\-\-no\-color\fR does).
"#;

const FILES: &str = r#".SH FILES
.TP
\fI.env\fR
Your settings and token (mode 600, git\-ignored); written by \fBtfw setup\fR.
.TP
\fItfw.toml\fR
The repository's shared settings: binary, version pin, protected states, personal state naming.
.TP
\fI.tfw/\fR
Saved plans, state backups taken before every apply and destroy, replaced \fI.env\fR files.
"#;

const EXIT_STATUS: &str = r#".SH EXIT STATUS
0 on success; 1 when tfw stops on an error it explains; 2 for a command line error; terraform's own exit code whenever terraform ran (2 for changes with \fB\-detailed\-exitcode\fR); 130 when interrupted.
.SH SEE ALSO
\fBterraform\fR(1), \fBtofu\fR(1); the guides in the \fIdocs/\fR folder of tfw's repository.
"#;

pub(super) fn render() -> Result<Vec<u8>> {
    let root = Cli::command();
    let page = clap_mangen::Man::new(root.clone());
    let mut out = Vec::new();
    page.render_title(&mut out)?;
    page.render_name_section(&mut out)?;
    page.render_synopsis_section(&mut out)?;
    page.render_description_section(&mut out)?;
    page.render_options_section(&mut out)?;
    out.write_all(b".SH COMMANDS\n")?;
    commands(&root, "tfw", &mut out)?;
    if root.get_after_help().is_some() {
        out.write_all(b".SH EXAMPLES\n")?;
        let mut examples = Vec::new();
        page.render_extra_section(&mut examples)?;
        out.write_all(&body(&examples, &["Examples:"]))?;
    }
    out.write_all(ENVIRONMENT.as_bytes())?;
    out.write_all(FILES.as_bytes())?;
    out.write_all(EXIT_STATUS.as_bytes())?;
    Ok(out)
}

/// A subsection per visible command, depth first, named by its whole command line.
fn commands(parent: &clap::Command, prefix: &str, out: &mut Vec<u8>) -> Result<()> {
    for command in parent.get_subcommands().filter(|c| !c.is_hide_set()) {
        let name = format!("{prefix} {}", command.get_name());
        // `-h` and `-V` are the same everywhere: the page says so once, at the top.
        let command = command
            .clone()
            .bin_name(&name)
            .disable_help_flag(true)
            .disable_version_flag(true);
        let page = clap_mangen::Man::new(command.clone());
        writeln!(out, ".SS \"{name}\"")?;
        let mut section = Vec::new();
        page.render_synopsis_section(&mut section)?;
        section.extend_from_slice(b".PP\n");
        page.render_description_section(&mut section)?;
        if command.get_arguments().any(|a| !a.is_hide_set()) {
            page.render_options_section(&mut section)?;
        }
        if command.get_after_help().is_some() {
            section.extend_from_slice(b".PP\n");
            page.render_extra_section(&mut section)?;
        }
        out.extend(body(&section, &[]));
        commands(&command, &name, out)?;
    }
    Ok(())
}

/// Roff without its section headings (and without the given first lines), to go inside
/// another section.
fn body(roff: &[u8], drop: &[&str]) -> Vec<u8> {
    let text = String::from_utf8_lossy(roff);
    let mut out = String::new();
    for line in text.lines() {
        if line.starts_with(".SH ") || drop.contains(&line.trim()) {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_a_section_and_no_missing_page_is_named() {
        let page = String::from_utf8(render().unwrap()).unwrap();
        for command in [
            "tfw plan",
            "tfw use",
            "tfw state show",
            "tfw setup",
            "tfw completions",
        ] {
            assert!(
                page.contains(&format!(".SS \"{command}\"")),
                "no section for {command}"
            );
        }
        assert!(
            !page.contains("tfw\\-plan(1)"),
            "points at a page that does not exist"
        );
        assert!(
            !page.contains("complete\\-states"),
            "shows a hidden command"
        );
        assert!(
            page.starts_with(".ie") || page.contains(".TH tfw"),
            "no title"
        );
    }
}
