//! The element in this process (registered statically): buffers pass unchanged, and pipelines
//! torn down mid-clip neither hang nor leave a scoring thread or the element behind.

mod support;

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use gst::prelude::*;
use support::tiny_bundle;

/// Registers the plugin, and runs this file's tests one at a time: a test counts the process's
/// scoring threads, which another test's pipeline would add to.
fn init() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    let serial = SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        gst::init().unwrap();
        gstvsrqa::plugin_register_static().unwrap();
    });
    serial
}

fn pipeline(text: &str) -> gst::Pipeline {
    gst::parse::launch(text).unwrap().downcast::<gst::Pipeline>().unwrap()
}

/// Each buffer seen: its time and a hash of its bytes.
type Seen = Arc<Mutex<Vec<(Option<gst::ClockTime>, u64)>>>;

/// A probe on `pad` that records each buffer passing.
fn record_buffers(pad: &gst::Pad) -> Seen {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let probe_seen = seen.clone();
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        if let Some(buffer) = info.buffer() {
            let mut hasher = DefaultHasher::new();
            buffer.map_readable().unwrap().as_slice().hash(&mut hasher);
            probe_seen.lock().unwrap().push((buffer.pts(), hasher.finish()));
        }
        gst::PadProbeReturn::Ok
    });
    seen
}

#[test]
fn buffers_pass_through_unchanged() {
    let _serial = init();
    // 66 pixels wide: rows with padding, which must not be touched either.
    let pipeline = pipeline(&format!(
        "videotestsrc num-buffers=20 pattern=ball ! video/x-raw,format=NV12,width=66,height=50,framerate=30/1 ! \
         vsrqa name=score model={} backend=cpu ! fakesink name=sink",
        tiny_bundle()
    ));
    let before = record_buffers(&pipeline.by_name("score").unwrap().static_pad("sink").unwrap());
    let after = record_buffers(&pipeline.by_name("sink").unwrap().static_pad("sink").unwrap());
    pipeline.set_state(gst::State::Playing).unwrap();
    let bus = pipeline.bus().unwrap();
    let end =
        bus.timed_pop_filtered(gst::ClockTime::from_seconds(300), &[gst::MessageType::Eos, gst::MessageType::Error]);
    pipeline.set_state(gst::State::Null).unwrap();
    assert!(matches!(end.as_ref().map(|m| m.view()), Some(gst::MessageView::Eos(_))), "{end:?}");
    let (before, after) = (before.lock().unwrap().clone(), after.lock().unwrap().clone());
    assert_eq!(before.len(), 20);
    assert_eq!(before, after);
}

/// Threads of this process with the SDK's worker name.
fn scoring_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim() == "vsrqa-session")
        .count()
}

#[test]
fn pipelines_torn_down_mid_clip_leave_nothing_behind() {
    let _serial = init();
    for round in 0..6 {
        // An endless source and a short queue: the streaming thread is blocked on a full queue
        // much of the time, and the clip is never finished.
        let pipeline = pipeline(&format!(
            "videotestsrc pattern=ball ! video/x-raw,format=I420,width=320,height=240,framerate=30/1 ! \
             vsrqa name=score model={} backend=cpu queue-frames=2 ! fakesink name=sink",
            tiny_bundle()
        ));
        let element = pipeline.by_name("score").unwrap().downgrade();
        // Each buffer that passed the element, as it reaches the sink.
        let (passing, passed) = std::sync::mpsc::channel();
        pipeline.by_name("sink").unwrap().static_pad("sink").unwrap().add_probe(
            gst::PadProbeType::BUFFER,
            move |_, _| {
                let _ = passing.send(());
                gst::PadProbeReturn::Ok
            },
        );
        pipeline.set_state(gst::State::Playing).unwrap();
        let bus = pipeline.bus().unwrap();
        // Tear down once 40 frames have passed (the clip branch scores only at its end, so no
        // score comes before). Ordered by the frames themselves; the timeout only keeps a stalled
        // pipeline from hanging the suite.
        for _ in 0..40 {
            let error = || bus.pop_filtered(&[gst::MessageType::Error]);
            passed.recv_timeout(Duration::from_secs(300)).unwrap_or_else(|_| panic!("round {round}: {:?}", error()));
        }
        assert!(bus.pop_filtered(&[gst::MessageType::Error]).is_none(), "round {round}: no error");
        assert!(scoring_threads() >= 1, "round {round}: a clip is being scored");
        // Teardown returns: the element cancels its session's queue rather than scoring it. The
        // timeout only keeps a hang from blocking the suite.
        let (done, finished) = std::sync::mpsc::channel();
        let tearing = std::thread::spawn({
            let pipeline = pipeline.clone();
            move || {
                pipeline.set_state(gst::State::Null).unwrap();
                let _ = done.send(());
            }
        });
        finished.recv_timeout(Duration::from_secs(300)).unwrap_or_else(|_| panic!("round {round}: teardown hangs"));
        tearing.join().unwrap();
        drop(bus);
        drop(pipeline);
        assert_eq!(scoring_threads(), 0, "round {round}: the clip's worker has exited");
        assert!(element.upgrade().is_none(), "round {round}: the element is freed");
    }
}

#[test]
fn caps_without_a_frame_rate_fail_negotiation_with_one_error_from_the_element() {
    let _serial = init();
    // (In gst-launch-1.0 this case races: the source's own not-negotiated error follows, and
    // gst-launch sometimes never leaves its loop; here the bus is read directly.)
    let pipeline = pipeline(&format!(
        "videotestsrc num-buffers=3 ! video/x-raw,format=I420,width=64,height=48,framerate=0/1 ! \
         vsrqa name=score model={} backend=cpu ! fakesink",
        tiny_bundle()
    ));
    pipeline.set_state(gst::State::Playing).unwrap();
    let bus = pipeline.bus().unwrap();
    let first = bus.timed_pop_filtered(gst::ClockTime::from_seconds(120), &[gst::MessageType::Error]).unwrap();
    let from_element = |message: &gst::Message| message.src().is_some_and(|src| src.name() == "score");
    let gst::MessageView::Error(error) = first.view() else { unreachable!() };
    assert!(from_element(&first), "the element reports it first: {error:?}");
    assert_eq!(error.error().kind::<gst::CoreError>(), Some(gst::CoreError::Negotiation));
    assert!(error.error().message().contains("set the element's fps property"), "{}", error.error());
    pipeline.set_state(gst::State::Null).unwrap();
    // However often upstream retried, the element said it once.
    let mut more = 0;
    while let Some(message) = bus.pop_filtered(&[gst::MessageType::Error]) {
        more += usize::from(from_element(&message));
    }
    assert_eq!(more, 0);
}
