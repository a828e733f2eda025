//! The fuzzy picker `tfw use` opens on a terminal (dialoguer's `FuzzySelect`, drawn on
//! stderr so stdout stays clean): type part of a name, Enter picks, Esc cancels. Only called
//! when `Printer::interactive()` says a person is there.

use anyhow::Result;
use dialoguer::FuzzySelect;
use dialoguer::theme::ColorfulTheme;

use crate::problem::Exit;

/// Lets the person pick one of `items`; `None` when they pressed Esc. Ctrl-C (or a broken
/// terminal) ends tfw with 130, as an aborted prompt does everywhere else.
pub fn pick(prompt: &str, items: &[String], default: Option<usize>) -> Result<Option<usize>> {
    let theme = ColorfulTheme::default();
    let mut select = FuzzySelect::with_theme(&theme)
        .with_prompt(prompt)
        .items(items)
        .max_length(15);
    if let Some(default) = default {
        select = select.default(default);
    }
    select.interact_opt().map_err(|_| {
        // dialoguer hides the cursor while drawing and does not restore it on an error.
        let _ = console::Term::stderr().show_cursor();
        Exit(130).into()
    })
}
