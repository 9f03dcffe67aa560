//! The `vsrqa` element: its GObject type and registration. The implementation is in `imp`.

use gst::glib;
use gst::prelude::*;

mod imp;
mod settings;

glib::wrapper! {
    /// An in-place passthrough element that scores the video through it (docs/gstreamer.md).
    pub struct VsrqaElement(ObjectSubclass<imp::VsrqaElement>)
        @extends gst_base::BaseTransform, gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(Some(plugin), "vsrqa", gst::Rank::NONE, VsrqaElement::static_type())
}
