//! Extensible structs, in the pattern of Linux's `copy_struct_from_user`: every struct starts with
//! `size_t struct_size`, the size of the struct the caller was compiled with.
//!
//! - smaller than this library's (an older client): the fields that fit whole are used, the rest
//!   take their defaults; below the struct's first published size it is refused;
//! - larger (a newer client): accepted when every byte past this library's struct is zero (fields
//!   this library does not know, left at their defaults), else refused: the caller asked for
//!   something this library cannot do;
//! - output structs are written only up to the caller's size, field by field (padding between
//!   fields is left as the caller's `_default` zeroed it), and their `struct_size` is kept.
//!
//! Input structs have no padding (tested): every byte a caller passes is a field this library
//! reads, a field whose zero means "unset", or a newer header's tail that must be
//! zero, so that a field a later header adds anywhere is never silently ignored.

use std::mem::{offset_of, size_of, size_of_val};

use super::status::{CError, VsrqaStatus::*};
use super::types::*;

/// Largest `struct_size` read: far above any struct's, low enough that garbage is caught.
const MAX_STRUCT_SIZE: usize = 4096;

/// A struct of the C API that grows by appending fields.
pub(crate) trait Extensible: Copy {
    /// The struct's size in the first API version that had it: the smallest size accepted.
    const FIRST_SIZE: usize;
    /// This library's defaults, `struct_size` included.
    fn defaults() -> Self;
    /// The defaults for a caller's struct of `size` bytes: [`Extensible::defaults`], except where
    /// an older header numbered a field's values differently.
    fn defaults_for(_size: usize) -> Self {
        Self::defaults()
    }
    /// The byte range (start, end) of each field, in declaration order.
    fn fields() -> Vec<(usize, usize)>;
}

/// The byte range of each named field of `$value`'s struct type.
macro_rules! fields {
    ($type:ty, $value:expr, [$($field:ident),* $(,)?]) => {{
        let value: $type = $value;
        vec![$((offset_of!($type, $field), offset_of!($type, $field) + size_of_val(&value.$field))),*]
    }};
}

/// Bytes of a caller's struct of `size` bytes that this library reads or writes: the fields that
/// fit whole.
fn known_prefix<T: Extensible>(size: usize) -> usize {
    T::fields().into_iter().map(|(_, end)| end).filter(|&end| end <= size).max().unwrap_or(0)
}

fn check_size<T: Extensible>(size: usize, what: &str) -> Result<(), CError> {
    if size < T::FIRST_SIZE || size > MAX_STRUCT_SIZE {
        return Err(CError::new(
            VSRQA_ERROR_STRUCT_SIZE,
            format!(
                "{what}->struct_size is {size}, which no vsrqa.h ever declared (this vsrqa {} knows {} bytes, the \
                 first API version {}): initialize the struct with its _default function",
                vsrqa::VERSION,
                size_of::<T>(),
                T::FIRST_SIZE
            ),
        ));
    }
    Ok(())
}

/// The caller's `struct_size`, checked.
///
/// # Safety
/// `pointer` must be NULL or point to at least a readable `size_t`.
pub(crate) unsafe fn caller_size<T: Extensible>(pointer: *const T, what: &str) -> Result<usize, CError> {
    if pointer.is_null() {
        return Err(CError::null(what));
    }
    // SAFETY: every vsrqa struct starts with `size_t struct_size`.
    let size = unsafe { std::ptr::read_unaligned(pointer.cast::<usize>()) };
    check_size::<T>(size, what)?;
    Ok(size)
}

/// Reads a caller's struct: this library's defaults with the caller's known prefix over them.
/// Returns the struct and the caller's size.
///
/// # Safety
/// `pointer` must be NULL or point to a struct of its declared `struct_size` readable bytes.
pub(crate) unsafe fn read<T: Extensible>(pointer: *const T, what: &str) -> Result<(T, usize), CError> {
    // SAFETY: forwarded contract.
    let size = unsafe { caller_size(pointer, what)? };
    let bytes = pointer.cast::<u8>();
    let ours = size_of::<T>();
    if size > ours {
        // SAFETY: `size` readable bytes per the contract.
        let tail = unsafe { std::slice::from_raw_parts(bytes.add(ours), size - ours) };
        if let Some(at) = tail.iter().position(|&b| b != 0) {
            return Err(CError::new(
                VSRQA_ERROR_STRUCT_SIZE,
                format!(
                    "{what} sets a field this vsrqa {} does not know (byte {} of {size}; it knows {ours}): the program \
                     was built against a newer vsrqa.h and needs a newer library",
                    vsrqa::VERSION,
                    ours + at
                ),
            ));
        }
    }
    let mut value = T::defaults_for(size);
    // SAFETY: the prefix is within both the caller's struct and ours; every field of these
    // structs accepts any bit pattern the caller's C code can store (integers, floats, pointers,
    // nullable function pointers).
    unsafe { std::ptr::copy_nonoverlapping(bytes, (&mut value as *mut T).cast::<u8>(), known_prefix::<T>(size)) };
    Ok((value, size))
}

/// Writes a result into a caller's struct, up to the caller's size, keeping its `struct_size`.
/// Only the fields' bytes are written: padding between them stays as the caller's `_default`
/// zeroed it, so a field a later header puts there reads 0 from this library.
///
/// # Safety
/// `pointer` must be NULL or point to a struct of its declared `struct_size` writable bytes.
pub(crate) unsafe fn write<T: Extensible>(pointer: *mut T, value: &T, what: &str) -> Result<(), CError> {
    // SAFETY: forwarded contract.
    let size = unsafe { caller_size(pointer, what)? };
    // The first field is `struct_size`, the caller's own.
    for (start, end) in T::fields().into_iter().skip(1).filter(|&(_, end)| end <= size) {
        // SAFETY: the field's bytes lie in both structs.
        unsafe {
            std::ptr::copy_nonoverlapping(
                (value as *const T).cast::<u8>().add(start),
                pointer.cast::<u8>().add(start),
                end - start,
            )
        };
    }
    Ok(())
}

/// Writes a clip score into a caller's `VsrqaClipScore`, as [`write`] does, and each member's
/// score into the caller's `member_scores` array when its struct has one (API 1.1) and it is set.
/// The caller's array and capacity are kept.
///
/// # Safety
/// `pointer` must be NULL or point to a `VsrqaClipScore` of its declared `struct_size` writable
/// bytes whose `member_scores`, when within that size and not NULL, points to
/// `member_scores_capacity` writable doubles.
pub(crate) unsafe fn write_clip_score(
    pointer: *mut VsrqaClipScore,
    value: &VsrqaClipScore,
    member_scores: &[f64],
) -> Result<(), CError> {
    // SAFETY: forwarded contract.
    let size = unsafe { caller_size(pointer, "score")? };
    let mut value = *value;
    let array_end = offset_of!(VsrqaClipScore, member_scores) + size_of::<*mut f64>();
    (value.member_scores, value.member_scores_capacity) = if size >= array_end {
        // SAFETY: both fields lie within the caller's `size` readable bytes.
        unsafe {
            let bytes = pointer.cast::<u8>();
            (
                std::ptr::read_unaligned(bytes.add(offset_of!(VsrqaClipScore, member_scores)).cast::<*mut f64>()),
                std::ptr::read_unaligned(bytes.add(offset_of!(VsrqaClipScore, member_scores_capacity)).cast::<u32>()),
            )
        }
    } else {
        (std::ptr::null_mut(), 0)
    };
    if !value.member_scores.is_null() {
        let count = member_scores.len().min(value.member_scores_capacity as usize);
        // SAFETY: `member_scores_capacity` writable doubles per the contract.
        unsafe { std::ptr::copy_nonoverlapping(member_scores.as_ptr(), value.member_scores, count) };
    }
    // SAFETY: forwarded contract.
    unsafe { write(pointer, &value, "score") }
}

/// Fills a caller's struct of `struct_size` bytes with the defaults: the known prefix, zeros
/// after it (so that a newer client's fields read as unset), and `struct_size` itself.
///
/// # Safety
/// `pointer` must be NULL or point to `struct_size` writable bytes.
pub(crate) unsafe fn fill_default<T: Extensible>(
    pointer: *mut T,
    struct_size: usize,
    what: &str,
) -> Result<(), CError> {
    if pointer.is_null() {
        return Err(CError::null(what));
    }
    check_size::<T>(struct_size, what)?;
    let value = T::defaults_for(struct_size);
    let known = known_prefix::<T>(struct_size);
    let bytes = pointer.cast::<u8>();
    // SAFETY: `struct_size` writable bytes; the fields of the prefix lie within them and within
    // `value`. Field by field: the padding between fields stays zero.
    unsafe {
        std::ptr::write_bytes(bytes, 0, struct_size);
        for (start, end) in T::fields().into_iter().filter(|&(_, end)| end <= known) {
            std::ptr::copy_nonoverlapping((&value as *const T).cast::<u8>().add(start), bytes.add(start), end - start);
        }
        std::ptr::write_unaligned(bytes.cast::<usize>(), struct_size);
    }
    Ok(())
}

/// Whether a caller's `VsrqaFrame` of `size` bytes comes from a 0.x header (no `opaque`), whose
/// colour matrix values were vsrqa's own.
pub(crate) fn is_legacy_frame(size: usize) -> bool {
    size < offset_of!(VsrqaFrame, opaque) + size_of::<*mut std::ffi::c_void>()
}

/// "Unspecified" in the 0.x headers' colour matrix numbering (1.0 took H.273's, where it is 2).
pub(crate) const LEGACY_COLOR_MATRIX_UNSPECIFIED: VsrqaColorMatrix = 0;

impl Extensible for VsrqaEngineConfig {
    /// API 0.1: up to `log_user_data`.
    const FIRST_SIZE: usize = offset_of!(VsrqaEngineConfig, cuda_graphs);
    fn defaults() -> Self {
        VsrqaEngineConfig {
            struct_size: size_of::<Self>(),
            bundle_path: std::ptr::null(),
            backend: VSRQA_BACKEND_AUTO,
            device: -1,
            cuda_stream: std::ptr::null_mut(),
            cache_dir: std::ptr::null(),
            threads: 0,
            log_level: VSRQA_LOG_WARNING,
            log_callback: None,
            log_user_data: std::ptr::null_mut(),
            cuda_graphs: 0,
            color_conversion: VSRQA_COLOR_CONVERSION_BUNDLE,
            members: std::ptr::null(),
        }
    }
    fn fields() -> Vec<(usize, usize)> {
        fields!(
            VsrqaEngineConfig,
            Self::defaults(),
            [
                struct_size,
                bundle_path,
                backend,
                device,
                cuda_stream,
                cache_dir,
                threads,
                log_level,
                log_callback,
                log_user_data,
                cuda_graphs,
                color_conversion,
                members
            ]
        )
    }
}

impl Extensible for VsrqaSessionConfig {
    /// API 0.1: `fps` only.
    const FIRST_SIZE: usize = offset_of!(VsrqaSessionConfig, expected_frames);
    fn defaults() -> Self {
        VsrqaSessionConfig {
            struct_size: size_of::<Self>(),
            fps: 25.0,
            expected_frames: 0,
            window_seconds: 0.0,
            queue_frames: 0,
            queue_full: VSRQA_QUEUE_FULL_BLOCK,
            score_callback: None,
            frame_release: None,
            callback_user_data: std::ptr::null_mut(),
        }
    }
    fn fields() -> Vec<(usize, usize)> {
        fields!(
            VsrqaSessionConfig,
            Self::defaults(),
            [
                struct_size,
                fps,
                expected_frames,
                window_seconds,
                queue_frames,
                queue_full,
                score_callback,
                frame_release,
                callback_user_data
            ]
        )
    }
}

impl Extensible for VsrqaFrame {
    /// API 0.1: up to `pitches`.
    const FIRST_SIZE: usize = offset_of!(VsrqaFrame, opaque);
    fn defaults() -> Self {
        VsrqaFrame {
            struct_size: size_of::<Self>(),
            format: 0,
            width: 0,
            height: 0,
            color_matrix: VSRQA_COLOR_MATRIX_UNSPECIFIED,
            color_range: VSRQA_COLOR_RANGE_UNSPECIFIED,
            memory: VSRQA_MEMORY_HOST,
            planes: [std::ptr::null(); 3],
            pitches: [0; 3],
            opaque: std::ptr::null_mut(),
        }
    }
    /// A 0.x frame (a program built against a 0.x header) is read with the 0.x matrix values:
    /// its default must be "unspecified" in that numbering, not 1.0's 2 (0.x's BT.709).
    fn defaults_for(size: usize) -> Self {
        let mut frame = Self::defaults();
        if is_legacy_frame(size) {
            frame.color_matrix = LEGACY_COLOR_MATRIX_UNSPECIFIED;
        }
        frame
    }
    fn fields() -> Vec<(usize, usize)> {
        fields!(
            VsrqaFrame,
            Self::defaults(),
            [struct_size, format, width, height, color_matrix, color_range, memory, planes, pitches, opaque]
        )
    }
}

impl Extensible for VsrqaFrameScore {
    const FIRST_SIZE: usize = size_of::<VsrqaFrameScore>();
    fn defaults() -> Self {
        VsrqaFrameScore { struct_size: size_of::<Self>(), frame_index: 0, key_frame: 0, score: 0.0 }
    }
    fn fields() -> Vec<(usize, usize)> {
        fields!(VsrqaFrameScore, Self::defaults(), [struct_size, frame_index, key_frame, score])
    }
}

impl Extensible for VsrqaClipScore {
    /// API 0.1: up to `pooled_slots`.
    const FIRST_SIZE: usize = offset_of!(VsrqaClipScore, first_frame);
    fn defaults() -> Self {
        VsrqaClipScore {
            struct_size: size_of::<Self>(),
            score: 0.0,
            frames: 0,
            key_frames: 0,
            pooled_slots: 0,
            first_frame: 0,
            expected_frames: 0,
            window: 0,
            flags: 0,
            member_count: 0,
            member_scores_capacity: 0,
            member_scores: std::ptr::null_mut(),
            member_spread: 0.0,
        }
    }
    fn fields() -> Vec<(usize, usize)> {
        fields!(
            VsrqaClipScore,
            Self::defaults(),
            [
                struct_size,
                score,
                frames,
                key_frames,
                pooled_slots,
                first_frame,
                expected_frames,
                window,
                flags,
                member_count,
                member_scores_capacity,
                member_scores,
                member_spread
            ]
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sizes the 0.x headers declared (x86-64), which programs built against them pass.
    const SIZES_0_X: [(&str, usize, usize); 5] = [
        ("VsrqaEngineConfig", 72, size_of::<VsrqaEngineConfig>()),
        ("VsrqaSessionConfig", 24, size_of::<VsrqaSessionConfig>()),
        ("VsrqaFrame", 80, size_of::<VsrqaFrame>()),
        ("VsrqaFrameScore", 32, size_of::<VsrqaFrameScore>()),
        ("VsrqaClipScore", 32, size_of::<VsrqaClipScore>()),
    ];

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn structs_only_grow_from_the_0_4_layout() {
        for (name, old, new) in SIZES_0_X {
            assert!(new >= old, "{name} shrank: {old} -> {new}");
        }
        assert_eq!(VsrqaEngineConfig::FIRST_SIZE, 64);
        assert_eq!(VsrqaSessionConfig::FIRST_SIZE, 16);
        assert_eq!(VsrqaFrame::FIRST_SIZE, 80);
        assert_eq!(VsrqaClipScore::FIRST_SIZE, 32);
    }

    #[test]
    fn the_known_prefix_ends_on_a_whole_field() {
        // 0.4's engine config (72 bytes): cuda_graphs and color_conversion (1.0's padding);
        // 0.1's (64) ends before them.
        assert_eq!(known_prefix::<VsrqaEngineConfig>(72), 72);
        assert_eq!(known_prefix::<VsrqaEngineConfig>(71), 68);
        assert_eq!(known_prefix::<VsrqaEngineConfig>(64), 64);
        assert_eq!(known_prefix::<VsrqaEngineConfig>(67), 64);
        assert_eq!(known_prefix::<VsrqaSessionConfig>(24), 24);
        assert_eq!(known_prefix::<VsrqaFrame>(4096), size_of::<VsrqaFrame>());
    }

    #[test]
    fn an_older_struct_is_read_with_defaults_for_the_fields_it_lacks() {
        // A 0.4 session config (24 bytes) with a frame rate and a length.
        let mut old = [0u8; 24];
        old[..8].copy_from_slice(&24usize.to_ne_bytes());
        old[8..16].copy_from_slice(&30.0f64.to_ne_bytes());
        old[16..24].copy_from_slice(&90u64.to_ne_bytes());
        let (config, size) = unsafe { read(old.as_ptr().cast::<VsrqaSessionConfig>(), "config") }.ok().unwrap();
        assert_eq!(size, 24);
        assert_eq!((config.fps, config.expected_frames), (30.0, 90));
        assert_eq!((config.queue_frames, config.window_seconds), (0, 0.0));
        assert!(config.score_callback.is_none() && config.callback_user_data.is_null());
    }

    #[test]
    fn a_newer_struct_is_read_when_its_unknown_tail_is_zero_and_refused_otherwise() {
        let ours = size_of::<VsrqaSessionConfig>();
        let mut newer = vec![0u8; ours + 16];
        unsafe { fill_default(newer.as_mut_ptr().cast::<VsrqaSessionConfig>(), newer.len(), "config") }.ok().unwrap();
        let (config, size) = unsafe { read(newer.as_ptr().cast::<VsrqaSessionConfig>(), "config") }.ok().unwrap();
        assert_eq!((size, config.fps), (ours + 16, 25.0));
        newer[ours + 3] = 1;
        let refused = unsafe { read(newer.as_ptr().cast::<VsrqaSessionConfig>(), "config") }.err().unwrap();
        assert_eq!(refused.status, VSRQA_ERROR_STRUCT_SIZE);
        assert!(refused.message.contains("newer vsrqa.h"), "{}", refused.message);
    }

    #[test]
    fn sizes_below_the_first_version_or_absurd_are_refused() {
        for size in [0, 8, VsrqaFrame::FIRST_SIZE - 1, MAX_STRUCT_SIZE + 1] {
            let mut bytes = vec![0u8; size.max(8)];
            bytes[..8].copy_from_slice(&size.to_ne_bytes());
            let refused = unsafe { read(bytes.as_ptr().cast::<VsrqaFrame>(), "frame") }.err().unwrap();
            assert_eq!(refused.status, VSRQA_ERROR_STRUCT_SIZE, "size {size}");
        }
    }

    #[test]
    fn results_are_written_up_to_the_callers_size_only() {
        // A 0.4 clip score (32 bytes) followed by bytes that must stay untouched.
        let mut buffer = [0xAAu8; 64];
        unsafe { fill_default(buffer.as_mut_ptr().cast::<VsrqaClipScore>(), 32, "score") }.ok().unwrap();
        assert!(buffer[32..].iter().all(|&b| b == 0xAA), "default wrote past the caller's size");
        let value = VsrqaClipScore { score: 0.5, frames: 9, first_frame: 7, flags: 3, ..VsrqaClipScore::defaults() };
        unsafe { write(buffer.as_mut_ptr().cast::<VsrqaClipScore>(), &value, "score") }.ok().unwrap();
        assert!(buffer[32..].iter().all(|&b| b == 0xAA), "the result was written past the caller's size");
        assert_eq!(usize::from_ne_bytes(buffer[..8].try_into().unwrap()), 32, "struct_size kept");
        assert_eq!(f64::from_ne_bytes(buffer[8..16].try_into().unwrap()), 0.5);
        assert_eq!(u64::from_ne_bytes(buffer[16..24].try_into().unwrap()), 9);
    }

    #[test]
    fn a_newer_clients_default_zeroes_the_fields_this_library_does_not_know() {
        let mut buffer = [0xAAu8; 200];
        unsafe { fill_default(buffer.as_mut_ptr().cast::<VsrqaFrame>(), 200, "frame") }.ok().unwrap();
        assert!(buffer[size_of::<VsrqaFrame>()..].iter().all(|&b| b == 0));
        assert_eq!(usize::from_ne_bytes(buffer[..8].try_into().unwrap()), 200);
    }

    #[test]
    fn a_0_x_frame_is_recognised_by_its_size() {
        assert!(is_legacy_frame(80));
        assert!(!is_legacy_frame(size_of::<VsrqaFrame>()));
    }

    /// A 0.x program's default frame is "unspecified" in the numbering its size is read with.
    #[test]
    fn a_0_x_frames_default_matrix_is_0_x_unspecified() {
        let mut old = [0xAAu8; 80];
        unsafe { fill_default(old.as_mut_ptr().cast::<VsrqaFrame>(), 80, "frame") }.ok().unwrap();
        let (frame, _) = unsafe { read(old.as_ptr().cast::<VsrqaFrame>(), "frame") }.ok().unwrap();
        assert_eq!(frame.color_matrix, LEGACY_COLOR_MATRIX_UNSPECIFIED);
        let mut new = vec![0u8; size_of::<VsrqaFrame>()];
        unsafe { fill_default(new.as_mut_ptr().cast::<VsrqaFrame>(), new.len(), "frame") }.ok().unwrap();
        let (frame, _) = unsafe { read(new.as_ptr().cast::<VsrqaFrame>(), "frame") }.ok().unwrap();
        assert_eq!(frame.color_matrix, VSRQA_COLOR_MATRIX_UNSPECIFIED);
    }

    /// The byte ranges of a struct's fields, in order: no gap between them (padding would be bytes
    /// a newer header could use that this library neither reads nor checks) and none after.
    fn assert_no_padding<T: Extensible>(name: &str) {
        let mut next = 0;
        for (start, end) in T::fields() {
            assert_eq!(start, next, "{name} has padding before the field at {start}");
            next = end;
        }
        assert_eq!(next, size_of::<T>(), "{name} has tail padding");
    }

    #[test]
    fn input_structs_have_no_padding() {
        assert_no_padding::<VsrqaEngineConfig>("VsrqaEngineConfig");
        assert_no_padding::<VsrqaSessionConfig>("VsrqaSessionConfig");
        assert_no_padding::<VsrqaFrame>("VsrqaFrame");
        assert_no_padding::<VsrqaClipScore>("VsrqaClipScore");
    }

    /// VsrqaFrameScore has padding after key_frame (0.1's layout, on 64-bit targets): results
    /// leave it as the caller's default zeroed it.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn results_leave_padding_untouched() {
        let mut buffer = [0x55u8; size_of::<VsrqaFrameScore>()];
        unsafe { fill_default(buffer.as_mut_ptr().cast::<VsrqaFrameScore>(), buffer.len(), "score") }.ok().unwrap();
        let (key_end, score_start) = (VsrqaFrameScore::fields()[2].1, VsrqaFrameScore::fields()[3].0);
        assert!(key_end < score_start, "VsrqaFrameScore has no padding after key_frame any more");
        let mut value = VsrqaFrameScore::defaults();
        // SAFETY: the padding bytes of a local value, written to stand for garbage.
        unsafe { std::ptr::write_bytes((&mut value as *mut VsrqaFrameScore).cast::<u8>().add(key_end), 0xEE, 4) };
        value.score = 0.25;
        unsafe { write(buffer.as_mut_ptr().cast::<VsrqaFrameScore>(), &value, "score") }.ok().unwrap();
        assert!(buffer[key_end..score_start].iter().all(|&b| b == 0), "{buffer:?}");
        assert_eq!(f64::from_ne_bytes(buffer[score_start..score_start + 8].try_into().unwrap()), 0.25);
    }
}
