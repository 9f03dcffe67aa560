//! Frames in device memory (`Session::push_device`, `VSRQA_MEMORY_CUDA`) through the whole
//! session, without a GPU: the engine's kernel executor is the CPU emulation of the GPU kernels
//! (tests/support/cuda_emulator.rs), and host pointers play the part of device pointers. The
//! conversion, every branch's preprocessing and the clip branch's kept frames then run through the
//! same plans and kernels as on a GPU, and the scores must equal those of the same frames pushed
//! from host memory exactly (the kernels are bit-exact; tests/gpu_kernels_emulated.rs).

use rand::{RngExt, SeedableRng};
use vsrqa::backend::BackendKind;
use vsrqa::frame::{ColorMatrix, ColorRange, DeviceFrame, FrameView, PixelFormat};
use vsrqa::{Engine, EngineOptions, Error};

#[path = "support/cuda_emulator.rs"]
mod cuda_emulator;

use vsrqa_testkit::tiny_bundle;

fn engine(device_frames: bool) -> Engine {
    let options = EngineOptions {
        backend: BackendKind::Cpu,
        threads: 1,
        device_frames: device_frames.then(cuda_emulator::Emulator::factory),
        ..EngineOptions::default()
    };
    Engine::new(tiny_bundle(), options).unwrap()
}

/// `count` NV12 frames of noise over a gradient (NV12: the layout NVDEC produces).
fn nv12_frames(width: usize, height: usize, count: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed);
    let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
    (0..count)
        .map(|f| {
            let mut frame: Vec<u8> = (0..width * height)
                .map(|i| ((i % width + i / width + 3 * f) % 200 + 20) as u8 ^ rng.random_range(0..16u8))
                .collect();
            frame.extend((0..cw * ch * 2).map(|_| rng.random_range(64..192u8)));
            frame
        })
        .collect()
}

fn host_view(frame: &[u8], width: u32, height: u32) -> FrameView<'_> {
    let mut view = FrameView::packed(PixelFormat::Nv12, width, height, frame).unwrap();
    view.matrix = ColorMatrix::Bt709;
    view
}

fn device_view(frame: &[u8], width: u32, height: u32) -> DeviceFrame {
    let luma = width as usize * height as usize;
    DeviceFrame {
        format: PixelFormat::Nv12,
        width,
        height,
        planes: [frame.as_ptr() as u64, frame[luma..].as_ptr() as u64, 0],
        pitches: [width as usize, width.div_ceil(2) as usize * 2, 0],
        matrix: ColorMatrix::Bt709,
        range: ColorRange::Limited,
    }
}

/// (every key frame's score as polled, the clip score) of `frames` pushed one way or the other.
fn scores(engine: &Engine, frames: &[Vec<u8>], width: u32, height: u32, device: bool) -> (Vec<f64>, f64) {
    let mut session = engine.session(8.0).unwrap();
    let mut polled = Vec::new();
    for frame in frames {
        if device {
            session.push_device(&device_view(frame, width, height)).unwrap();
        } else {
            session.push(host_view(frame, width, height)).unwrap();
        }
        polled.extend(std::iter::from_fn(|| session.poll()).map(|s| s.score));
    }
    let clip = session.finish().unwrap();
    polled.extend(std::iter::from_fn(|| session.poll()).map(|s| s.score));
    (polled, clip.score)
}

/// The tiny bundle's five branches (window, key-frame, patches, halves, clip) on device frames.
/// 112x80 frames run every branch on the kernels; 48x40 frames are smaller than FAST-VQA's
/// mosaic, so that branch takes the converted frame back to the host (the one fallback).
#[test]
fn device_frames_score_exactly_like_host_frames() {
    let with_kernels = engine(true);
    for (width, height, seed) in [(112u32, 80u32, 1u64), (48, 40, 2), (113, 81, 3)] {
        let frames = nv12_frames(width as usize, height as usize, 20, seed);
        let host = scores(&with_kernels, &frames, width, height, false);
        let device = scores(&with_kernels, &frames, width, height, true);
        assert!(!host.0.is_empty());
        assert_eq!(device, host, "{width}x{height}: device frames scored differently");
    }
}

/// An engine without a kernel executor (the CPU backends) refuses device frames, clearly, and the
/// session goes on; bad descriptors are refused before anything runs.
#[test]
fn device_frames_without_a_gpu_backend_are_refused_clearly() {
    let frames = nv12_frames(112, 80, 1, 4);
    let plain = engine(false);
    let mut session = plain.session(8.0).unwrap();
    let error = session.push_device(&device_view(&frames[0], 112, 80)).unwrap_err();
    assert!(matches!(error, Error::UnsupportedFrame(_)), "{error}");
    assert!(error.to_string().contains("GPU backend"), "{error}");
    session.push(host_view(&frames[0], 112, 80)).unwrap();
    assert_eq!(session.frames_pushed(), 1);

    let with_kernels = engine(true);
    let mut session = with_kernels.session(8.0).unwrap();
    let mut no_plane = device_view(&frames[0], 112, 80);
    no_plane.planes[1] = 0;
    assert!(session.push_device(&no_plane).unwrap_err().to_string().contains("plane 1 has no address"));
    let mut short_pitch = device_view(&frames[0], 112, 80);
    short_pitch.pitches[0] = 100;
    assert!(session.push_device(&short_pitch).unwrap_err().to_string().contains("pitch"));
    assert_eq!(session.frames_pushed(), 0);
}

/// A non-blocking stream reads a device frame after `push` returned, so it holds the frame until
/// its release runs: once per frame, after the frame is scored, and for frames cancelled by a
/// drop too. The scores are the blocking session's.
#[test]
fn a_non_blocking_stream_releases_each_device_frame_once_it_is_read() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use vsrqa::engine::{Polled, WhenFull};
    let on_device = engine(true);
    let (width, height) = (96, 64);
    let frames = nv12_frames(width, height, 12, 7);
    let (w, h) = (width as u32, height as u32);
    let (blocking, blocking_clip) = scores(&on_device, &frames, w, h, true);

    let released = Arc::new(AtomicUsize::new(0));
    let release = |released: &Arc<AtomicUsize>| {
        let released = released.clone();
        Box::new(move || {
            released.fetch_add(1, Ordering::SeqCst);
        }) as vsrqa::engine::Release
    };
    let stream = on_device.stream(vsrqa::StreamOptions::new(8.0)).unwrap();
    let mut background = vsrqa::BackgroundStream::start(stream, 3, WhenFull::Block).unwrap();
    for frame in &frames {
        let device = vsrqa::frame::Frame::Device(device_view(frame, w, h));
        background.push(&device, Some(release(&released))).unwrap();
    }
    let clip = background.finish().unwrap();
    assert_eq!(released.load(Ordering::SeqCst), frames.len(), "every frame released once scored");
    let mut polled = Vec::new();
    while let Polled::Ready(score) = background.poll().unwrap() {
        polled.push(score.score);
    }
    assert_eq!((polled, clip.score), (blocking, blocking_clip));

    // Dropped with frames queued: each one is released, scored or not.
    let released = Arc::new(AtomicUsize::new(0));
    let stream = on_device.stream(vsrqa::StreamOptions::new(8.0)).unwrap();
    let mut background = vsrqa::BackgroundStream::start(stream, 8, WhenFull::Block).unwrap();
    for frame in &frames[..8] {
        let device = vsrqa::frame::Frame::Device(device_view(frame, w, h));
        background.push(&device, Some(release(&released))).unwrap();
    }
    drop(background);
    assert_eq!(released.load(Ordering::SeqCst), 8);

    // An engine without a kernel executor refuses device frames at push, and never releases them.
    let host_only = engine(false);
    let stream = host_only.stream(vsrqa::StreamOptions::new(8.0)).unwrap();
    let mut background = vsrqa::BackgroundStream::start(stream, 2, WhenFull::Block).unwrap();
    let released = Arc::new(AtomicUsize::new(0));
    let device = vsrqa::frame::Frame::Device(device_view(&frames[0], w, h));
    assert!(matches!(background.push(&device, Some(release(&released))), Err(Error::UnsupportedFrame(_))));
    assert_eq!(released.load(Ordering::SeqCst), 0, "a frame not taken is the caller's");
}

/// Dropping a background stream with frames queued cancels them: while the worker is held inside
/// frame 0 (its score callback waits on a gate), the drop releases the queued frames unscored;
/// once the worker is let go, the drop returns and no other frame was scored. Ordered by the
/// frames' release callbacks, not by time.
#[test]
fn dropping_a_background_stream_releases_its_queue_unscored() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{mpsc, Arc, Condvar, Mutex};

    let engine = engine(true);
    let frames = nv12_frames(112, 80, 4, 5);
    let gate = Arc::new((Mutex::new(false), Condvar::new()));
    let scored = Arc::new(AtomicUsize::new(0));
    // One-frame windows: frame 0's score goes to the callback as soon as it is scored.
    let options = vsrqa::StreamOptions { window_frames: Some(1), ..vsrqa::StreamOptions::new(8.0) };
    let mut stream = engine.stream(options).unwrap();
    let (callback_gate, callback_count) = (gate.clone(), scored.clone());
    stream.set_score_callback(Box::new(move |_| {
        let (open, opened) = &*callback_gate;
        let _open = opened.wait_while(open.lock().unwrap(), |open| !*open).unwrap();
        callback_count.fetch_add(1, Ordering::SeqCst);
    }));
    let mut background = vsrqa::BackgroundStream::start(stream, 4, vsrqa::engine::WhenFull::Block).unwrap();
    let (released_tx, released) = mpsc::channel();
    for (i, frame) in frames.iter().enumerate() {
        let tx = released_tx.clone();
        let release: vsrqa::engine::Release = Box::new(move || tx.send(i).unwrap());
        background.push(&vsrqa::frame::Frame::Device(device_view(frame, 112, 80)), Some(release)).unwrap();
    }
    drop(released_tx);

    let dropper = std::thread::spawn(move || drop(background));
    // Frames 1 to 3 are released by the drop while the worker still holds frame 0 (the worker
    // cannot reach them before the gate opens). The timeout only keeps a broken drop from
    // hanging the suite.
    let mut seen = Vec::new();
    while !(1..4).all(|i| seen.contains(&i)) {
        seen.push(released.recv_timeout(std::time::Duration::from_secs(300)).expect("the drop released the queue"));
    }
    let (open, opened) = &*gate;
    *open.lock().unwrap() = true;
    opened.notify_all();
    dropper.join().unwrap();
    seen.extend(released.iter());
    seen.sort();
    assert_eq!(seen, [0, 1, 2, 3], "every frame is released once");
    assert!(scored.load(Ordering::SeqCst) <= 1, "queued frames were scored after the drop");
}
