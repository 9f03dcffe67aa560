//! Out of memory is a clean error through the C API, never an abort of the caller's process.
//!
//! A child process (this test binary again, running `child_process_of_the_out_of_memory_test`)
//! gets a 3 GiB address-space limit (RLIMIT_AS), so its allocator refuses what a small machine
//! would refuse. It pushes a 16384x16384 frame (the largest accepted) through the tiny bundle:
//! the frame in RGB (768 MiB) fits, the frame in floats for the Q-Align branch (3 GiB) does not.
//! The push must return VSRQA_ERROR_OUT_OF_MEMORY with a message, and the session must be
//! unchanged: a normal frame pushed afterwards scores, and the clip score equals that of a session
//! that only saw the normal frame.

use std::ffi::{CStr, CString};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::ptr;

use vsrqa_capi::status::VsrqaStatus::{self, *};
use vsrqa_capi::*;

const ADDRESS_SPACE_LIMIT: u64 = 3 << 30;
const HUGE: u32 = 16384;

#[test]
fn out_of_memory_is_a_clean_error_not_an_abort() {
    let mut child = Command::new(std::env::current_exe().unwrap());
    child.args(["--ignored", "--exact", "child_process_of_the_out_of_memory_test", "--nocapture", "--test-threads=1"]);
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        child.pre_exec(|| {
            let limit = libc::rlimit { rlim_cur: ADDRESS_SPACE_LIMIT, rlim_max: ADDRESS_SPACE_LIMIT };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let output = child.output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the child failed or was killed ({:?}):\n{text}", output.status);
    assert!(text.contains("1 passed"), "the child test did not run:\n{text}");
    assert!(text.contains("out of memory"), "{text}");
}

fn create_engine() -> *mut VsrqaEngine {
    let bundle = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tiny_bundle");
    let path = CString::new(bundle.to_str().unwrap()).unwrap();
    let mut config = unsafe { std::mem::zeroed::<VsrqaEngineConfig>() };
    let mut engine = ptr::null_mut();
    // SAFETY: writable config of the size given; the path outlives the call; valid out pointer.
    unsafe {
        assert_eq!(vsrqa_engine_config_default(&mut config, std::mem::size_of::<VsrqaEngineConfig>()), VSRQA_OK);
        config.bundle_path = path.as_ptr();
        config.threads = 1;
        assert_eq!(vsrqa_engine_create(&config, &mut engine), VSRQA_OK);
    }
    engine
}

/// A grey I420 frame's descriptor over `buffer` (which must hold width * height * 3 / 2 bytes).
fn i420(buffer: &[u8], width: u32, height: u32) -> VsrqaFrame {
    let mut frame = unsafe { std::mem::zeroed::<VsrqaFrame>() };
    // SAFETY: a writable struct of the size given.
    unsafe { vsrqa_frame_default(&mut frame, std::mem::size_of::<VsrqaFrame>()) };
    let (w, h) = (width as usize, height as usize);
    frame.format = VSRQA_PIXEL_FORMAT_I420;
    frame.width = width;
    frame.height = height;
    frame.planes = [buffer.as_ptr().cast(), buffer[w * h..].as_ptr().cast(), buffer[w * h * 5 / 4..].as_ptr().cast()];
    frame.pitches = [w, w / 2, w / 2];
    frame
}

/// Pushes `frames` in turn; returns each push's status and the clip score.
fn session(engine: *mut VsrqaEngine, frames: &[VsrqaFrame]) -> (Vec<VsrqaStatus>, Vec<String>, f64) {
    let mut config = unsafe { std::mem::zeroed::<VsrqaSessionConfig>() };
    let mut session = ptr::null_mut();
    let mut clip = unsafe { std::mem::zeroed::<VsrqaClipScore>() };
    let (mut statuses, mut messages) = (Vec::new(), Vec::new());
    // SAFETY: live engine; writable structs of the sizes given; frames describe live buffers.
    unsafe {
        assert_eq!(vsrqa_session_config_default(&mut config, std::mem::size_of::<VsrqaSessionConfig>()), VSRQA_OK);
        config.fps = 1.0;
        assert_eq!(vsrqa_session_create(engine, &config, &mut session), VSRQA_OK);
        for frame in frames {
            statuses.push(vsrqa_session_push(session, frame));
            messages.push(CStr::from_ptr(vsrqa_last_error()).to_string_lossy().into_owned());
        }
        assert_eq!(vsrqa_clip_score_default(&mut clip, std::mem::size_of::<VsrqaClipScore>()), VSRQA_OK);
        assert_eq!(vsrqa_session_finish(session, &mut clip), VSRQA_OK);
        vsrqa_session_destroy(session);
    }
    (statuses, messages, clip.score)
}

#[test]
#[ignore = "runs only as the child process of out_of_memory_is_a_clean_error_not_an_abort (it needs the memory limit)"]
fn child_process_of_the_out_of_memory_test() {
    let engine = create_engine();
    let small = vec![100u8; 64 * 48 * 3 / 2];
    let huge = vec![100u8; (HUGE as usize).pow(2) * 3 / 2];
    let (statuses, messages, score) = session(engine, &[i420(&huge, HUGE, HUGE), i420(&small, 64, 48)]);
    assert_eq!(statuses, [VSRQA_ERROR_OUT_OF_MEMORY, VSRQA_OK], "{messages:?}");
    assert!(messages[0].starts_with("out of memory: branch 'qalign': "), "{}", messages[0]);
    println!("the huge frame: {}", messages[0]);
    // The failed push changed nothing: the clip is the small frame's alone.
    let (_, _, alone) = session(engine, &[i420(&small, 64, 48)]);
    assert!(score == alone && (0.0..=1.0).contains(&score), "{score} vs {alone}");
    // SAFETY: created above, destroyed once.
    unsafe { vsrqa_engine_destroy(engine) };
}
