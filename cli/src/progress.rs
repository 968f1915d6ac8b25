//! Progress bars, drawn from the progress events the libraries emit through `tracing` (the
//! engine's images, under `snnergy::progress`); only on a terminal.

use std::io::IsTerminal;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};
use tracing::field::{Field, Visit};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{Filtered, Targets};
use tracing_subscriber::layer::Context;

/// The bar of the run in progress, if any.
#[derive(Debug, Default)]
pub struct Bars {
    bar: Mutex<Option<ProgressBar>>,
}

impl Bars {
    /// The layer, listening to progress events only.
    pub fn layer<S: tracing::Subscriber>() -> Filtered<Bars, Targets, S> {
        let targets =
            Targets::new().with_target(snnergy::engine::PROGRESS_TARGET, tracing::Level::TRACE);
        Bars::default().with_filter(targets)
    }
}

/// A progress event's fields.
#[derive(Default)]
struct Fields {
    done: u64,
    total: u64,
    message: String,
}

impl Visit for Fields {
    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "done" => self.done = value,
            "total" => self.total = value,
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        }
    }
}

/// A bar for images, the unit the engine counts.
pub fn bar(total: u64, unit: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new(total);
    b.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} {{msg}} [{{bar:30}}] {{pos}}/{{len}} {unit}, ETA {{eta}}"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    b
}

impl<S: tracing::Subscriber> Layer<S> for Bars {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut f = Fields::default();
        event.record(&mut f);
        let mut slot = self.bar.lock().unwrap_or_else(|p| p.into_inner());
        if f.done == 0 {
            let b = bar(f.total, "images");
            b.set_message(f.message);
            *slot = Some(b);
        } else if let Some(b) = slot.as_ref() {
            b.set_position(f.done);
        }
        if f.done >= f.total
            && let Some(b) = slot.take()
        {
            b.finish_and_clear();
        }
    }
}
