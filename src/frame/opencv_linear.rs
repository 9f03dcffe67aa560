//! `cv2.resize(img, dsize)` with INTER_LINEAR on 8-bit images, reproduced bit for bit.
//!
//! The spatial branch's reference (RQ-VQA `extract_frame_NTIREVideo_384p.py`) resizes its key
//! frames this way and stores them as PNG, so OpenCV's integers *are* the reference input.
//! OpenCV evaluates 8-bit INTER_LINEAR in 11-bit fixed point, which differs from the real-valued
//! bilinear formula by up to a few levels; this module follows its arithmetic step by step (the
//! Python twin, `tools/vsrqa_ref/opencv_linear.py`, documents the derivation and is checked
//! against OpenCV 4.10 and 5.0 on 17 M samples with zero differences).

use super::ops::FloatImage;

const COEF_SCALE: f32 = 2048.0;

/// Source indices and fixed-point weights (sum 2048) of one output row or column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tap {
    pub i0: usize,
    pub i1: usize,
    pub w0: i32,
    pub w1: i32,
}

/// OpenCV's per-axis coefficients. `clamp_weights`: columns outside the image take one source
/// pixel with full weight (OpenCV's `xmin`/`xmax` handling); rows only clamp their indices.
pub(crate) fn taps(src: usize, dst: usize, clamp_weights: bool) -> Vec<Tap> {
    // OpenCV computes the inverse scale first and inverts it; `src / dst` can differ in the last bit.
    let scale = 1.0 / (dst as f64 / src as f64);
    let last = src as i64 - 1;
    (0..dst)
        .map(|d| {
            let position = ((d as f64 + 0.5) * scale - 0.5) as f32;
            let floor = position.floor();
            let mut fraction = position - floor;
            let mut start = floor as i64;
            if clamp_weights && start < 0 {
                start = 0;
                fraction = 0.0;
            }
            if clamp_weights && start >= last {
                start = last;
                fraction = 0.0;
            }
            Tap {
                i0: start.clamp(0, last) as usize,
                i1: (start + 1).clamp(0, last) as usize,
                w0: ((1.0 - fraction) * COEF_SCALE).round_ties_even() as i32,
                w1: (fraction * COEF_SCALE).round_ties_even() as i32,
            }
        })
        .collect()
}

/// Resizes an 8-bit RGB image held as integer-valued floats. Returns `None` when a value is not
/// an integer in 0..=255 (OpenCV's 8-bit arithmetic would not apply).
pub fn resize(image: &FloatImage, width: usize, height: usize) -> Option<FloatImage> {
    Some(resize_bytes(&image.to_bytes()?, image.width, image.height, width, height))
}

/// Resizes packed 8-bit RGB (`in_width * in_height * 3` bytes).
pub fn resize_bytes(pixels: &[u8], in_width: usize, in_height: usize, width: usize, height: usize) -> FloatImage {
    let data = if is_half_by_area(in_width, in_height, width, height) {
        half_by_area(pixels, in_width, width, height)
    } else {
        fixed_point_linear(pixels, in_width, in_height, width, height)
    };
    FloatImage { width, height, data }
}

/// OpenCV turns an exact 2x downscale on both axes into INTER_AREA: the rounded 2x2 mean.
pub(crate) fn is_half_by_area(in_width: usize, in_height: usize, width: usize, height: usize) -> bool {
    in_width == 2 * width && in_height == 2 * height
}

fn half_by_area(pixels: &[u8], in_width: usize, width: usize, height: usize) -> Vec<f32> {
    let stride = in_width * 3;
    let mut out = Vec::with_capacity(width * height * 3);
    for y in 0..height {
        let (top, bottom) = (2 * y * stride, (2 * y + 1) * stride);
        for x in 0..width {
            for c in 0..3 {
                let (left, right) = (2 * x * 3 + c, (2 * x + 1) * 3 + c);
                let at = |i: usize| i32::from(pixels[i]);
                let sum = at(top + left) + at(top + right) + at(bottom + left) + at(bottom + right);
                out.push(((sum + 2) >> 2) as f32);
            }
        }
    }
    out
}

fn fixed_point_linear(pixels: &[u8], in_width: usize, in_height: usize, width: usize, height: usize) -> Vec<f32> {
    let columns = taps(in_width, width, true);
    let rows = taps(in_height, height, false);
    let stride = in_width * 3;
    let out_stride = width * 3;
    // Horizontal pass, exact in i32 (at most 255 * 2048), of the source rows some output row
    // reads: a downscale skips the others, as OpenCV does.
    let mut needed = vec![false; in_height];
    for row in &rows {
        needed[row.i0] = true;
        needed[row.i1] = true;
    }
    let mut horizontal = vec![0i32; in_height * out_stride];
    for (y, out_row) in horizontal.chunks_exact_mut(out_stride).enumerate().filter(|(y, _)| needed[*y]) {
        let row = &pixels[y * stride..(y + 1) * stride];
        for (t, out) in columns.iter().zip(out_row.chunks_exact_mut(3)) {
            for (c, value) in out.iter_mut().enumerate() {
                *value = i32::from(row[t.i0 * 3 + c]) * t.w0 + i32::from(row[t.i1 * 3 + c]) * t.w1;
            }
        }
    }
    let mut out = Vec::with_capacity(out_stride * height);
    for row in &rows {
        let upper = &horizontal[row.i0 * out_stride..(row.i0 + 1) * out_stride];
        let lower = &horizontal[row.i1 * out_stride..(row.i1 + 1) * out_stride];
        // OpenCV's SIMD vertical kernel (VResizeLinearVec_32s8u), which covers every row at least
        // one vector wide: it drops 4 bits before a 16x16 -> high-16 multiply, then rounds by 2 bits.
        out.extend(upper.iter().zip(lower).map(|(&a, &b)| {
            let sum = (((a >> 4) * row.w0) >> 16) + (((b >> 4) * row.w1) >> 16);
            ((sum + 2) >> 2).clamp(0, 255) as f32
        }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::ops::test_images::{first_channel, gray};

    #[test]
    fn weights_follow_opencv_fixed_point() {
        // 3 -> 2: positions 0.25 and 1.75; 2048 * 0.75 = 1536, 2048 * 0.25 = 512.
        let t = taps(3, 2, true);
        assert_eq!(t[0], Tap { i0: 0, i1: 1, w0: 1536, w1: 512 });
        assert_eq!(t[1], Tap { i0: 1, i1: 2, w0: 512, w1: 1536 });
        // Upscaling 2 -> 4: the first column lies left of pixel 0 and is clamped with full weight.
        let t = taps(2, 4, true);
        assert_eq!(t[0], Tap { i0: 0, i1: 1, w0: 2048, w1: 0 });
        assert_eq!(t[3], Tap { i0: 1, i1: 1, w0: 2048, w1: 0 });
        // Rows keep their (negative-position) weights and only clamp indices.
        let t = taps(2, 4, false);
        assert_eq!(t[0], Tap { i0: 0, i1: 0, w0: 512, w1: 1536 });
    }

    #[test]
    fn matches_opencv_on_small_images() {
        // Expected values printed by OpenCV 4.10 and 5.0: cv2.resize(img, (2, 1)) and (4, 4).
        // Real-valued bilinear gives 1.5 and 4.5 for the first; the fixed point rounds both up.
        let out = resize(&gray(3, 1, &[1.0, 3.0, 5.0]), 2, 1).unwrap();
        assert_eq!(first_channel(&out), vec![2.0, 5.0]);
        let out = resize(&gray(2, 2, &[0.0, 10.0, 20.0, 30.0]), 4, 4).unwrap();
        #[rustfmt::skip]
        let expected = vec![
            0.0, 2.0, 7.0, 10.0,
            5.0, 7.0, 12.0, 15.0,
            15.0, 17.0, 22.0, 25.0,
            20.0, 22.0, 27.0, 30.0,
        ];
        assert_eq!(first_channel(&out), expected);
    }

    #[test]
    fn exact_half_is_the_rounded_box_mean() {
        let out = resize(&gray(2, 2, &[0.0, 1.0, 1.0, 0.0]), 1, 1).unwrap();
        assert_eq!(first_channel(&out), vec![1.0]); // (2 + 2) >> 2
        let out = resize(&gray(2, 2, &[0.0, 0.0, 1.0, 0.0]), 1, 1).unwrap();
        assert_eq!(first_channel(&out), vec![0.0]); // (1 + 2) >> 2
    }

    #[test]
    fn identity_size_copies() {
        let image = gray(3, 2, &[0.0, 50.0, 255.0, 7.0, 8.0, 9.0]);
        assert_eq!(resize(&image, 3, 2).unwrap(), image);
    }

    #[test]
    fn rejects_values_that_are_not_bytes() {
        assert!(resize(&gray(2, 1, &[0.5, 1.0]), 1, 1).is_none());
        assert!(resize(&gray(2, 1, &[256.0, 1.0]), 1, 1).is_none());
    }
}
