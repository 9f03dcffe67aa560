//! The vsrqa GStreamer plugin: an element `vsrqa` that scores the video passing through it with a
//! vsrqa model bundle and posts the scores on the bus (docs/gstreamer.md). Buffers pass through
//! unchanged and undelayed; scoring runs on a worker thread of the element's own.

use gst::glib;

mod caps;
mod clip;
mod element;
mod messages;

pub use element::VsrqaElement;

fn plugin_init(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    element::register(plugin)
}

gst::plugin_define!(
    vsrqa,
    env!("CARGO_PKG_DESCRIPTION"),
    plugin_init,
    env!("CARGO_PKG_VERSION"),
    // GStreamer's name for the Apache License 2.0 (GST_LICENSE_UNKNOWN otherwise).
    "Apache 2.0",
    "vsrqa",
    "vsrqa",
    // Where the plugin comes from (GStreamer shows it as "Origin URL").
    "https://crates.io/crates/vsrqa"
);
