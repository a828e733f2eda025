//! The picker `tfw use` opens on a terminal, drawn on stderr so stdout stays clean: type part
//! of a state's name (only the name is matched, not the serial or the time), Up/Down move,
//! Enter picks, Esc cancels, Ctrl-C ends tfw with 130. Rows keep the order `tfw use` prints
//! without a terminal. However it ends, the rows are cleared and the cursor shown again
//! (`Drawing`'s drop, and `screen::restore` for a signal). Only called when
//! `Printer::interactive()` says a person is there.

use std::io::Write;

use anyhow::Result;
use console::{Key, Term};

use crate::exit::ExitCode;
use crate::problem::Exit;
use crate::screen;

/// Rows shown at once; the list scrolls past that.
const ROWS: usize = 15;

/// One row: what is matched, and what is shown.
pub(crate) struct Choice {
    pub name: String,
    pub line: String,
}

/// Lets the person pick one of `items`; `None` when they pressed Esc.
pub(crate) fn pick(
    prompt: &str,
    items: &[Choice],
    default: Option<usize>,
) -> Result<Option<usize>> {
    let term = Term::stderr();
    let mut drawing = Drawing::new(&term);
    let mut query = String::new();
    let mut selected = default.unwrap_or(0);
    loop {
        let visible = matching(items, &query);
        // The selection stays on the same state while it is visible, else the first match.
        let at = visible.iter().position(|&i| i == selected).unwrap_or(0);
        if let Some(&first) = visible.get(at) {
            selected = first;
        }
        drawing.draw(&render(prompt, &query, items, &visible, at, &term))?;
        let key = match term.read_key_raw() {
            Ok(key) => key,
            // A signal interrupted the read: its handler ends tfw (and puts the terminal back).
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return Err(Exit(ExitCode::Interrupted).into()),
        };
        match key {
            Key::Enter if !visible.is_empty() => return Ok(Some(selected)),
            Key::Escape => return Ok(None),
            // console says Ctrl-C for a read a signal interrupted too: that signal's handler
            // ends tfw with its own code (and puts the terminal back); wait for it.
            Key::CtrlC if crate::runner::signals::received() => {
                std::thread::sleep(std::time::Duration::from_millis(100));
                continue;
            }
            Key::CtrlC => return Err(Exit(ExitCode::Interrupted).into()),
            Key::ArrowUp | Key::BackTab if at > 0 => selected = visible[at - 1],
            Key::ArrowDown | Key::Tab if at + 1 < visible.len() => selected = visible[at + 1],
            Key::Backspace => {
                query.pop();
            }
            Key::Char(c) if !c.is_control() => query.push(c),
            _ => {}
        }
    }
}

/// The items whose name matches `query` (its characters in order, case ignored), in order.
fn matching(items: &[Choice], query: &str) -> Vec<usize> {
    let query: Vec<char> = query.to_lowercase().chars().collect();
    items
        .iter()
        .enumerate()
        .filter(|(_, item)| {
            let mut wanted = query.iter().peekable();
            for c in item.name.to_lowercase().chars() {
                if wanted.peek() == Some(&&c) {
                    wanted.next();
                }
            }
            wanted.peek().is_none()
        })
        .map(|(i, _)| i)
        .collect()
}

fn render(
    prompt: &str,
    query: &str,
    items: &[Choice],
    visible: &[usize],
    at: usize,
    term: &Term,
) -> Vec<String> {
    let width = usize::from(term.size().1).saturating_sub(1).max(20);
    let mut lines = vec![format!("{prompt}: {query}")];
    if visible.is_empty() {
        lines.push(format!("  (no state name matches `{query}`)"));
    }
    let start = at
        .saturating_sub(ROWS - 1)
        .min(visible.len().saturating_sub(ROWS));
    for (row, &index) in visible.iter().enumerate().skip(start).take(ROWS) {
        let mark = if row == at { "> " } else { "  " };
        let line = format!("{mark}{}", items[index].line);
        let line = console::truncate_str(&line, width, "…").into_owned();
        lines.push(if row == at {
            console::style(line).bold().to_string()
        } else {
            line
        });
    }
    lines
        .into_iter()
        .map(|l| console::truncate_str(&l, width, "…").into_owned())
        .collect()
}

/// What the picker has on screen; cleared, with the cursor shown, however the picker ends.
struct Drawing<'a> {
    term: &'a Term,
    lines: usize,
}

impl<'a> Drawing<'a> {
    fn new(term: &'a Term) -> Self {
        let _ = term.hide_cursor();
        Self { term, lines: 0 }
    }

    fn draw(&mut self, lines: &[String]) -> Result<()> {
        let mut text = if self.lines > 0 {
            screen::clearing(self.lines)
        } else {
            String::new()
        };
        text.push_str(&lines.join("\n"));
        let mut out = self.term;
        out.write_all(text.as_bytes())?;
        out.flush()?;
        self.lines = lines.len();
        screen::drawn(self.lines);
        Ok(())
    }
}

impl Drop for Drawing<'_> {
    fn drop(&mut self) {
        let mut out = self.term;
        let _ = write!(out, "{}\x1b[?25h", screen::clearing(self.lines.max(1)));
        let _ = out.flush();
        screen::drawn(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(names: &[&str]) -> Vec<Choice> {
        names
            .iter()
            .map(|n| Choice {
                name: n.to_string(),
                line: format!("{n}  serial 3  updated 2h ago"),
            })
            .collect()
    }

    #[test]
    fn only_names_are_matched_in_their_order() {
        let items = items(&["dev-alice", "perf", "prod", "staging"]);
        assert_eq!(matching(&items, ""), vec![0, 1, 2, 3]);
        // `ago` is in every line, but in no name.
        assert!(matching(&items, "ago").is_empty());
        assert_eq!(matching(&items, "prd"), vec![2]);
        assert_eq!(matching(&items, "STAG"), vec![3]);
    }
}
