//! Spinners for waits a person would otherwise take for a hang. Nothing shows for the first
//! second (most calls are done by then, and a flash of text is noise); after that the line
//! says what is being waited for and for how long ("⠙ waiting for GitLab at host:443 (3s)").
//! Every call to GitLab gets one ([`waiting`]) unless a more precise one is already shown.
//! Drawn only on a terminal where prompts may appear, always cleared before anything else
//! prints, and cleared by `screen::restore` on Ctrl-C or a signal.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// Spinners may be drawn (set once by the printer: a person is there, `-q` was not given).
static ENABLED: AtomicBool = AtomicBool::new(false);
/// Spinners on screen now: a GitLab call inside a step that has its own shows no second one.
static SHOWN: AtomicUsize = AtomicUsize::new(0);

/// The spinners on screen, so an interrupt can stop and clear them before tfw exits (their
/// ticking thread would otherwise draw once more over the cleared line).
static BARS: Mutex<Vec<indicatif::ProgressBar>> = Mutex::new(Vec::new());

/// How long a wait stays silent.
const QUIET_FOR: Duration = Duration::from_secs(1);
const FRAMES: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

pub(crate) fn enable(enabled: bool) {
    ENABLED.store(enabled, Ordering::SeqCst);
}

/// A spinner saying `message` after a second, cleared when dropped.
pub(crate) struct Spinner(Option<indicatif::ProgressBar>);

pub(crate) fn spinner(message: &str) -> Spinner {
    if !ENABLED.load(Ordering::SeqCst) || SHOWN.load(Ordering::SeqCst) > 0 {
        return Spinner(None);
    }
    let text = message.to_string();
    let style = indicatif::ProgressStyle::with_template("{line}").map(|style| {
        style.with_key(
            "line",
            move |state: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
                line(&text, state, out)
            },
        )
    });
    let Ok(style) = style else {
        return Spinner(None);
    };
    SHOWN.fetch_add(1, Ordering::SeqCst);
    let bar =
        indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(100));
    BARS.lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(bar.clone());
    Spinner(Some(bar))
}

/// No spinner (the printer decided none may be drawn).
pub(crate) fn spinner_off() -> Spinner {
    Spinner(None)
}

/// The spinner for a call to GitLab: what is waited for is the host.
pub(crate) fn waiting(host: &str) -> Spinner {
    spinner(&format!("waiting for GitLab at {host}"))
}

fn line(message: &str, state: &indicatif::ProgressState, out: &mut dyn std::fmt::Write) {
    let elapsed = state.elapsed();
    if elapsed < QUIET_FOR {
        return;
    }
    let frame = FRAMES[(elapsed.as_millis() / 100) as usize % FRAMES.len()];
    let _ = write!(out, "{frame} {message} ({}s)", elapsed.as_secs());
}

/// A bar its caller draws (`template::fleet::bar`: `sync --repos`, `fleet`), known here so
/// that an interrupt stops and clears it like a spinner: a worker finishing after the line
/// was cleared would otherwise draw it again before tfw exits. Finished bars are dropped.
pub(crate) fn track(bar: &indicatif::ProgressBar) {
    let mut bars = BARS.lock().unwrap_or_else(|e| e.into_inner());
    bars.retain(|b| !b.is_finished());
    bars.push(bar.clone());
}

/// Stops and clears every spinner and tracked bar (an interrupt is ending tfw).
pub(crate) fn stop_all() {
    ENABLED.store(false, Ordering::SeqCst);
    for bar in BARS.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
        bar.finish_and_clear();
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(bar) = self.0.take() {
            bar.finish_and_clear();
            BARS.lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|b| !b.is_finished());
            SHOWN.fetch_sub(1, Ordering::SeqCst);
        }
    }
}
