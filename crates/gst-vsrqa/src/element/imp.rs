//! The `vsrqa` element's behaviour. The engine is loaded on NULL -> READY (a bad model fails that
//! state change with the SDK's reason); each clip is an SDK stream on a worker thread of its own,
//! started at the clip's first buffer; the streaming thread only copies frames into its queue.
//! A clip ends at EOS, a flush, or a change of frame size or rate (docs/gstreamer.md).

use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::prelude::*;
use vsrqa::frame::ColorConversion;
use vsrqa::prelude::*;

use super::settings::{self, Settings};
use crate::caps::{self, ClipFormat};
use crate::clip::{Clip, ClipOptions, Post};
use crate::messages::{ClipEnd, FrameTimes};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new("vsrqa", gst::DebugColorFlags::empty(), Some("vsrqa video quality scoring"))
});

/// What the element holds from READY on.
#[derive(Default)]
struct State {
    engine: Option<Engine>,
    /// The negotiated caps, read.
    format: Option<ClipFormat>,
    clip: Option<Clip>,
    /// Clips started since the element left READY: the next clip's ordinal.
    clips_started: u32,
    /// The next clip starts the stream (no flush since READY): its length may come from the
    /// `expected-frames` property or a duration query.
    at_stream_start: bool,
    /// Caps were refused and the error posted.
    negotiation_failed: bool,
}

#[derive(Default)]
pub struct VsrqaElement {
    settings: Mutex<Settings>,
    state: Mutex<State>,
}

/// Locks a mutex, also after a panic on another thread (the state stays usable: every update
/// of it is a single assignment).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The GStreamer error domain of an SDK error.
fn error_domain(error: &vsrqa::Error) -> gst::ErrorMessage {
    let message = error.to_string();
    match error {
        vsrqa::Error::InvalidArgument(_) | vsrqa::Error::UnsupportedFrame(_) => {
            gst::error_msg!(gst::StreamError::Format, ("{}", message))
        }
        vsrqa::Error::OutOfMemory(_) => gst::error_msg!(gst::ResourceError::NoSpaceLeft, ("{}", message)),
        _ => gst::error_msg!(gst::LibraryError::Failed, ("{}", message)),
    }
}

impl VsrqaElement {
    fn load_engine(&self) -> Result<Engine, String> {
        let settings = lock(&self.settings).clone();
        let model = settings
            .model
            .filter(|model| !model.is_empty())
            .ok_or("no model: set the model property to a vsrqa model bundle's directory")?;
        let backend: BackendKind = settings.backend.parse().map_err(|e: vsrqa::Error| e.to_string())?;
        let color_conversion = match settings.color_conversion.as_str() {
            "" => None,
            name => Some(
                ColorConversion::parse(name)
                    .ok_or_else(|| format!("color-conversion \"{name}\": use reference or exact"))?,
            ),
        };
        let members = match settings.members.as_str() {
            "" => None,
            list => Some(vsrqa::engine::parse_members(list).map_err(|e| e.to_string())?),
        };
        let logger: Logger = Arc::new(|level, message| match level {
            LogLevel::Error => gst::error!(CAT, "{}", message),
            LogLevel::Warning => gst::warning!(CAT, "{}", message),
            LogLevel::Info => gst::info!(CAT, "{}", message),
            LogLevel::Debug => gst::debug!(CAT, "{}", message),
            _ => gst::log!(CAT, "{}", message),
        });
        let options = EngineOptions {
            backend,
            threads: settings.threads as usize,
            color_conversion,
            members,
            logger: Some(logger),
            gpu: GpuOptions {
                device: Some(settings.device as usize),
                // Engines built by `vsrqa build-engines` are shared with the CLI and the C API.
                cache_dir: vsrqa::backend::default_engine_cache_dir(),
                ..GpuOptions::default()
            },
            ..EngineOptions::default()
        };
        let engine = Engine::new(&model, options).map_err(|e| e.to_string())?;
        gst::info!(CAT, imp = self, "loaded {} on the {} backend", model, engine.backend_name());
        Ok(engine)
    }

    /// Posts message structures on the bus; safe to call from the clip's worker thread.
    fn poster(&self) -> Post {
        let element = self.obj().downgrade();
        Arc::new(move |structure| {
            if let Some(element) = element.upgrade() {
                let _ = element.post_message(gst::message::Element::builder(structure).src(&element).build());
            }
        })
    }

    /// The clip's length, when the element can know it: the `expected-frames` property, else
    /// upstream's answer to a duration query (in frames, or in time at the clip's rate).
    fn clip_length(&self, settings: &Settings, fps: f64) -> Option<u64> {
        if settings.expected_frames > 0 {
            return Some(settings.expected_frames);
        }
        let pad = self.obj().sink_pad().clone();
        if let Some(frames) = pad.peer_query_duration::<gst::format::Default>() {
            return Some(*frames).filter(|&n| n > 0);
        }
        let duration = pad.peer_query_duration::<gst::ClockTime>()?;
        let frames = (duration.nseconds() as f64 * fps / 1e9).round();
        (frames >= 1.0).then_some(frames as u64)
    }

    /// Starts a clip of the negotiated format.
    fn start_clip(&self, state: &mut State) -> Result<Clip, String> {
        let engine = state.engine.as_ref().ok_or("the element has no engine (not READY)")?;
        let format = state.format.as_ref().ok_or("no caps were negotiated")?;
        let settings = lock(&self.settings).clone();
        let mut stream = StreamOptions::new(format.fps);
        // A duration is the whole stream's: it is the clip's length only when the clip starts at
        // the stream's beginning (stream time 0, not after a seek).
        let from_stream_start = self
            .obj()
            .segment()
            .downcast::<gst::ClockTime>()
            .ok()
            .and_then(|segment| segment.time())
            .is_none_or(|time| time.is_zero());
        if state.at_stream_start && from_stream_start {
            stream.expected_frames = self.clip_length(&settings, format.fps);
        }
        if settings.window > 0.0 {
            stream.window_frames =
                Some(StreamOptions::window_frames_for(settings.window, format.fps).map_err(|e| e.to_string())?);
        }
        let options = ClipOptions { stream, queue_frames: settings.queue_frames as usize, leaky: settings.leaky };
        let ordinal = state.clips_started;
        let clip = Clip::start(engine, options, ordinal, self.poster()).map_err(|e| e.to_string())?;
        gst::debug!(
            CAT,
            imp = self,
            "clip {ordinal}: {}x{} at {} fps, length {:?}",
            format.info.width(),
            format.info.height(),
            format.fps,
            stream.expected_frames
        );
        state.clips_started += 1;
        state.at_stream_start = false;
        Ok(clip)
    }

    /// Ends the clip in progress, if any, posting its remaining scores. An error is posted as the
    /// element's error and returned.
    fn finish_clip(&self, state: &mut State, end: ClipEnd) -> Result<(), gst::FlowError> {
        let Some(clip) = state.clip.take() else { return Ok(()) };
        clip.finish(end).map_err(|error| {
            self.post_error_message(error_domain(&error));
            gst::FlowError::Error
        })
    }

    /// Queues the buffer's picture for scoring. The buffer itself is never changed.
    fn score_buffer(&self, buffer: &gst::BufferRef) -> Result<gst::FlowSuccess, gst::FlowError> {
        if buffer.flags().contains(gst::BufferFlags::GAP) && buffer.size() == 0 {
            return Ok(gst::FlowSuccess::Ok);
        }
        let mut guard = lock(&self.state);
        let state = &mut *guard;
        if state.format.is_none() {
            return Err(gst::FlowError::NotNegotiated);
        }
        if state.clip.is_none() {
            let clip = self.start_clip(state).map_err(|reason| {
                gst::element_imp_error!(self, gst::LibraryError::Settings, ("{}", reason));
                gst::FlowError::Error
            })?;
            state.clip = Some(clip);
        }
        let (Some(format), Some(clip)) = (state.format.as_ref(), state.clip.as_mut()) else {
            unreachable!("both set above")
        };
        let picture = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, &format.info).map_err(|_| {
            gst::element_imp_error!(
                self,
                gst::StreamError::Format,
                ("a buffer does not hold a whole {} frame", format.info.format().to_str())
            );
            gst::FlowError::Error
        })?;
        let view = host_frame(&picture, format)?;
        let pts = buffer.pts();
        let running_time =
            self.obj().segment().downcast::<gst::ClockTime>().ok().and_then(|segment| segment.to_running_time(pts));
        match clip.push(view, FrameTimes { pts, running_time }) {
            Ok(true) => {}
            Ok(false) => gst::debug!(CAT, imp = self, "queue full: frame at {:?} left out of the score", pts),
            Err(error) => {
                self.post_error_message(error_domain(&error));
                return Err(gst::FlowError::Error);
            }
        }
        Ok(gst::FlowSuccess::Ok)
    }
}

/// The SDK's view of a mapped video frame (no copy).
fn host_frame<'a>(
    picture: &'a gst_video::VideoFrameRef<&'a gst::BufferRef>,
    format: &ClipFormat,
) -> Result<FrameView<'a>, gst::FlowError> {
    let mut planes: [&[u8]; 3] = [&[], &[], &[]];
    let mut pitches = [0usize; 3];
    for plane in 0..picture.n_planes() as usize {
        planes[plane] = picture.plane_data(plane as u32).map_err(|_| gst::FlowError::Error)?;
        pitches[plane] = usize::try_from(picture.plane_stride()[plane]).map_err(|_| gst::FlowError::NotSupported)?;
    }
    Ok(FrameView {
        format: format.format,
        width: picture.width(),
        height: picture.height(),
        planes,
        pitches,
        matrix: format.matrix,
        range: format.range,
    })
}

#[glib::object_subclass]
impl ObjectSubclass for VsrqaElement {
    const NAME: &'static str = "GstVsrqa";
    type Type = super::VsrqaElement;
    type ParentType = gst_base::BaseTransform;
}

impl ObjectImpl for VsrqaElement {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(settings::properties);
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        lock(&self.settings).set(value, pspec);
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        lock(&self.settings).get(pspec)
    }

    fn constructed(&self) {
        self.parent_constructed();
        // Every buffer goes out as it came in; transform_ip_passthrough only reads it.
        self.obj().set_passthrough(true);
    }
}

impl GstObjectImpl for VsrqaElement {}

impl ElementImpl for VsrqaElement {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "vsrqa video quality",
                "Filter/Analyzer/Video",
                "Scores the (super-resolved) video passing through with a vsrqa model bundle: key-frame and \
                 clip scores as element messages; buffers pass unchanged",
                "vsrqa",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let max = vsrqa::frame::MAX_DIMENSION as i32;
            let caps = gst_video::VideoCapsBuilder::new()
                .format_list(caps::FORMATS)
                .width_range(1..=max)
                .height_range(1..=max)
                .build();
            let template = |name, direction| {
                gst::PadTemplate::new(name, direction, gst::PadPresence::Always, &caps).expect("a valid template")
            };
            vec![template("src", gst::PadDirection::Src), template("sink", gst::PadDirection::Sink)]
        });
        TEMPLATES.as_ref()
    }

    fn change_state(&self, transition: gst::StateChange) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
        if transition == gst::StateChange::NullToReady {
            let engine = self.load_engine().map_err(|reason| {
                gst::element_imp_error!(self, gst::LibraryError::Init, ("{}", reason));
                gst::StateChangeError
            })?;
            lock(&self.state).engine = Some(engine);
        }
        let success = self.parent_change_state(transition)?;
        if transition == gst::StateChange::ReadyToNull {
            *lock(&self.state) = State::default();
        }
        Ok(success)
    }
}

impl BaseTransformImpl for VsrqaElement {
    const MODE: gst_base::subclass::BaseTransformMode = gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = true;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let mut state = lock(&self.state);
        state.clips_started = 0;
        state.at_stream_start = true;
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        let mut state = lock(&self.state);
        // Dropping a clip cancels its queued frames and waits for the one being scored.
        state.clip = None;
        state.format = None;
        state.negotiation_failed = false;
        Ok(())
    }

    fn set_caps(&self, incaps: &gst::Caps, outcaps: &gst::Caps) -> Result<(), gst::LoggableError> {
        let fps = lock(&self.settings).fps;
        let mut state = lock(&self.state);
        let format = ClipFormat::from_caps(incaps, fps).map_err(|reason| {
            // Upstream retries negotiation several times; one error message says it.
            if !std::mem::replace(&mut state.negotiation_failed, true) {
                gst::element_imp_error!(self, gst::CoreError::Negotiation, ("{}", reason));
            }
            gst::loggable_error!(CAT, "{}", reason)
        })?;
        let continues = state.format.as_ref().is_none_or(|previous| previous.continues(&format));
        if !continues {
            self.finish_clip(&mut state, ClipEnd::CapsChange)
                .map_err(|_| gst::loggable_error!(CAT, "the clip before the caps change failed"))?;
        }
        state.format = Some(format);
        drop(state);
        self.parent_set_caps(incaps, outcaps)
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        match event.view() {
            // The clip score is posted before EOS goes on, so it reaches the bus before the
            // pipeline's EOS message.
            gst::EventView::Eos(_) => {
                let _ = self.finish_clip(&mut lock(&self.state), ClipEnd::Eos);
            }
            gst::EventView::FlushStop(_) => {
                let mut state = lock(&self.state);
                let _ = self.finish_clip(&mut state, ClipEnd::Flush);
                state.at_stream_start = false;
            }
            _ => {}
        }
        self.parent_sink_event(event)
    }

    fn transform_ip(&self, buffer: &mut gst::BufferRef) -> Result<gst::FlowSuccess, gst::FlowError> {
        self.score_buffer(buffer)
    }

    fn transform_ip_passthrough(&self, buffer: &gst::Buffer) -> Result<gst::FlowSuccess, gst::FlowError> {
        self.score_buffer(buffer)
    }
}
