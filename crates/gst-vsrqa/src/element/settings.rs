//! The element's properties: their values, and the GObject property specifications.

use gst::glib;
use gst::prelude::*;

/// Most frames the queue to the worker can hold (the C API's limit for a non-blocking session).
pub const MAX_QUEUE_FRAMES: u32 = 1024;

#[derive(Clone, Debug)]
pub struct Settings {
    /// The model bundle's directory.
    pub model: Option<String>,
    /// auto, cpu, onnxruntime or tensorrt.
    pub backend: String,
    /// CUDA device ordinal (the `tensorrt` backend).
    pub device: u32,
    /// CPU threads per network run; 0: all cores.
    pub threads: u32,
    /// reference or exact; empty: the bundle's.
    pub color_conversion: String,
    /// Frames the worker's queue holds.
    pub queue_frames: u32,
    /// When the queue is full, leave the frame out of the score instead of waiting for room.
    pub leaky: bool,
    /// Frames per second to score at; 0: the caps' frame rate.
    pub fps: f64,
    /// The clip's length in frames; 0: from a duration query, where one answers.
    pub expected_frames: u64,
    /// A clip score every this many seconds; 0: one score for the whole clip.
    pub window: f64,
    /// An ensemble's members to run, comma-separated; empty: all of them.
    pub members: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            model: None,
            backend: "auto".into(),
            device: 0,
            threads: 0,
            color_conversion: String::new(),
            queue_frames: 8,
            leaky: false,
            fps: 0.0,
            expected_frames: 0,
            window: 0.0,
            members: String::new(),
        }
    }
}

pub fn properties() -> Vec<glib::ParamSpec> {
    vec![
        glib::ParamSpecString::builder("model")
            .nick("Model bundle")
            .blurb("Directory of the vsrqa model bundle (loaded when the element goes to READY)")
            .mutable_ready()
            .build(),
        glib::ParamSpecString::builder("backend")
            .nick("Backend")
            .blurb("auto (the fastest usable here), cpu, onnxruntime or tensorrt")
            .default_value(Some("auto"))
            .mutable_ready()
            .build(),
        glib::ParamSpecUInt::builder("device")
            .nick("CUDA device")
            .blurb("CUDA device ordinal for the tensorrt backend")
            .mutable_ready()
            .build(),
        glib::ParamSpecUInt::builder("threads")
            .nick("CPU threads")
            .blurb("CPU threads per network run (0: all cores)")
            .maximum(1024)
            .mutable_ready()
            .build(),
        glib::ParamSpecString::builder("color-conversion")
            .nick("Colour conversion")
            .blurb("YUV to RGB as the reference decoded (reference) or exact; empty: the bundle's")
            .mutable_ready()
            .build(),
        glib::ParamSpecUInt::builder("queue-frames")
            .nick("Queue length")
            .blurb("Frames waiting for the scoring thread at most; a full queue blocks the stream (or drops, see leaky)")
            .minimum(1)
            .maximum(MAX_QUEUE_FRAMES)
            .default_value(8)
            .mutable_ready()
            .build(),
        glib::ParamSpecBoolean::builder("leaky")
            .nick("Leaky")
            .blurb("When the queue is full, leave the frame out of the score (the clip is then partial) instead of waiting")
            .mutable_ready()
            .build(),
        glib::ParamSpecDouble::builder("fps")
            .nick("Frame rate")
            .blurb("Frames per second to score at (0: the caps' frame rate)")
            .minimum(0.0)
            .maximum(1000.0)
            .mutable_ready()
            .build(),
        glib::ParamSpecUInt64::builder("expected-frames")
            .nick("Clip length")
            .blurb("Frames in the clip (0: from a duration query upstream, where one answers); lets clip branches score early")
            .mutable_ready()
            .build(),
        glib::ParamSpecDouble::builder("window")
            .nick("Window")
            .blurb("A clip score every this many seconds, each window scored as a clip (0: one score for the whole clip)")
            .minimum(0.0)
            .maximum(86400.0)
            .mutable_ready()
            .build(),
        glib::ParamSpecString::builder("members")
            .nick("Ensemble members")
            .blurb("An ensemble bundle's members to run, comma-separated, e.g. m0,m3 (empty: all of them)")
            .mutable_ready()
            .build(),
    ]
}

impl Settings {
    pub fn set(&mut self, value: &glib::Value, pspec: &glib::ParamSpec) {
        let expect = "type checked by GObject";
        match pspec.name() {
            "model" => self.model = value.get::<Option<String>>().expect(expect),
            "backend" => self.backend = value.get::<Option<String>>().expect(expect).unwrap_or_else(|| "auto".into()),
            "device" => self.device = value.get().expect(expect),
            "threads" => self.threads = value.get().expect(expect),
            "color-conversion" => {
                self.color_conversion = value.get::<Option<String>>().expect(expect).unwrap_or_default()
            }
            "queue-frames" => self.queue_frames = value.get().expect(expect),
            "leaky" => self.leaky = value.get().expect(expect),
            "fps" => self.fps = value.get().expect(expect),
            "expected-frames" => self.expected_frames = value.get().expect(expect),
            "window" => self.window = value.get().expect(expect),
            "members" => self.members = value.get::<Option<String>>().expect(expect).unwrap_or_default(),
            other => unreachable!("no property {other}"),
        }
    }

    pub fn get(&self, pspec: &glib::ParamSpec) -> glib::Value {
        match pspec.name() {
            "model" => self.model.to_value(),
            "backend" => self.backend.to_value(),
            "device" => self.device.to_value(),
            "threads" => self.threads.to_value(),
            "color-conversion" => self.color_conversion.to_value(),
            "queue-frames" => self.queue_frames.to_value(),
            "leaky" => self.leaky.to_value(),
            "fps" => self.fps.to_value(),
            "expected-frames" => self.expected_frames.to_value(),
            "window" => self.window.to_value(),
            "members" => self.members.to_value(),
            other => unreachable!("no property {other}"),
        }
    }
}
