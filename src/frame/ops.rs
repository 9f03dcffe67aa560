//! Geometric operations on float images, each matching its PyTorch/torchvision counterpart
//! operation for operation (same float type, same order of arithmetic), so that the CPU path
//! reproduces the reference's tensors to the last bit or close to it.

use super::{try_buffer, RgbImage};
use crate::error::Result;

/// An image of f32 values in 0..255, rows packed, 3 interleaved channels (RGB).
#[derive(Clone, Debug, PartialEq)]
pub struct FloatImage {
    pub width: usize,
    pub height: usize,
    pub data: Vec<f32>,
}

impl FloatImage {
    /// The samples as bytes, or `None` when one is not an integer in 0..=255: the fixed-point
    /// resamplers of other libraries (OpenCV, Pillow) are defined on 8-bit images only.
    pub fn to_bytes(&self) -> Option<Vec<u8>> {
        self.data.iter().map(|&v| (v.fract() == 0.0 && (0.0..=255.0).contains(&v)).then_some(v as u8)).collect()
    }
}

impl FloatImage {
    /// The frame's bytes as floats (4 bytes a sample: a huge frame may not fit, see [`try_buffer`]).
    pub fn try_from_rgb(image: &RgbImage) -> Result<Self> {
        let mut data = try_buffer(image.data.len(), 0f32, "the frame in floats")?;
        for (value, &byte) in data.iter_mut().zip(&image.data) {
            *value = f32::from(byte);
        }
        Ok(FloatImage { width: image.width, height: image.height, data })
    }
}

/// Taps of one output index along one axis: source indices and integer weights over the common
/// denominator `2 * output`. With `align_corners=False` the source coordinate is
/// `src = (dst + 0.5) * in / out - 0.5 = ((2 dst + 1) in - out) / (2 out)`, clamped at 0.
#[derive(Clone, Copy, Debug)]
struct Tap {
    i0: usize,
    i1: usize,
    n0: i64,
    n1: i64,
}

fn linear_taps(input: usize, output: usize) -> Vec<Tap> {
    let den = 2 * output as i64;
    (0..output as i64)
        .map(|dst| {
            let num = ((2 * dst + 1) * input as i64 - output as i64).max(0);
            let i0 = num / den;
            let n1 = num - i0 * den;
            let i0 = i0 as usize;
            Tap { i0, i1: (i0 + 1).min(input - 1), n0: den - n1, n1 }
        })
        .collect()
}

/// Bilinear resize with the semantics of `torch.nn.functional.interpolate(mode="bilinear",
/// align_corners=False, antialias=False)`, evaluated exactly rather than in torch's float32.
///
/// Why exact: torch's float32 result depends on its thread count and CPU kernels, and a downscale
/// like 80 -> 72 puts hundreds of outputs per frame exactly on a .5 tie that a later `round_to_u8`
/// resolves by rounding noise. For integer-valued input (8-bit frames, or the output of
/// `round_to_u8`) every output is a rational `num / ((2 out_h)(2 out_w))`; we compute `num` in
/// integers, so rounding is exact and the float output is the correctly rounded quotient. The
/// Python reference (tools/vsrqa_ref/preprocess.py) does the same, bit for bit. Non-integer input
/// (no op sequence produces it today) falls back to f64 with exactly rounded weights.
/// `round_to_u8` rounds half to even and clamps to 0..255.
pub fn resize_bilinear(image: &FloatImage, out_width: usize, out_height: usize, round_to_u8: bool) -> FloatImage {
    let xs = linear_taps(image.width, out_width);
    let ys = linear_taps(image.height, out_height);
    let all_integer = image.data.iter().all(|v| v.fract() == 0.0 && v.abs() < 1.0e6);
    let data =
        if all_integer { resize_exact(image, &xs, &ys, round_to_u8) } else { resize_f64(image, &xs, &ys, round_to_u8) };
    FloatImage { width: out_width, height: out_height, data }
}

fn resize_exact(image: &FloatImage, xs: &[Tap], ys: &[Tap], round_to_u8: bool) -> Vec<f32> {
    let den = 2 * ys.len() as i64 * 2 * xs.len() as i64;
    let stride = image.width * 3;
    let pixel = |y: usize, x: usize, c: usize| image.data[y * stride + x * 3 + c] as i64;
    let mut data = Vec::with_capacity(xs.len() * ys.len() * 3);
    for ty in ys {
        for tx in xs {
            for c in 0..3 {
                let top = pixel(ty.i0, tx.i0, c) * tx.n0 + pixel(ty.i0, tx.i1, c) * tx.n1;
                let bottom = pixel(ty.i1, tx.i0, c) * tx.n0 + pixel(ty.i1, tx.i1, c) * tx.n1;
                let num = top * ty.n0 + bottom * ty.n1;
                data.push(if round_to_u8 {
                    round_half_even_ratio(num, den).clamp(0, 255) as f32
                } else {
                    (num as f64 / den as f64) as f32
                });
            }
        }
    }
    data
}

/// `num / den` rounded to the nearest integer, ties to even (`den > 0`).
fn round_half_even_ratio(num: i64, den: i64) -> i64 {
    let q = num.div_euclid(den);
    let r = num.rem_euclid(den);
    if 2 * r > den || (2 * r == den && q % 2 != 0) {
        q + 1
    } else {
        q
    }
}

fn resize_f64(image: &FloatImage, xs: &[Tap], ys: &[Tap], round_to_u8: bool) -> Vec<f32> {
    let (den_y, den_x) = (2.0 * ys.len() as f64, 2.0 * xs.len() as f64);
    let stride = image.width * 3;
    let pixel = |y: usize, x: usize, c: usize| f64::from(image.data[y * stride + x * 3 + c]);
    let mut data = Vec::with_capacity(xs.len() * ys.len() * 3);
    for ty in ys {
        let (a0, a1) = (ty.n0 as f64 / den_y, ty.n1 as f64 / den_y);
        for tx in xs {
            let (b0, b1) = (tx.n0 as f64 / den_x, tx.n1 as f64 / den_x);
            for c in 0..3 {
                // The reference's order: rows (height) first, then columns.
                let left = pixel(ty.i0, tx.i0, c) * a0 + pixel(ty.i1, tx.i0, c) * a1;
                let right = pixel(ty.i0, tx.i1, c) * a0 + pixel(ty.i1, tx.i1, c) * a1;
                let v = left * b0 + right * b1;
                data.push(if round_to_u8 { v.round_ties_even().clamp(0.0, 255.0) as f32 } else { v as f32 });
            }
        }
    }
    data
}

/// The size `resize_short_side(size)` produces: the reference's
/// `int(size / short * long)` in double precision.
pub fn short_side_size(width: usize, height: usize, size: usize) -> (usize, usize) {
    if height > width {
        (size, (size as f64 / width as f64 * height as f64) as usize)
    } else {
        ((size as f64 / height as f64 * width as f64) as usize, size)
    }
}

/// torchvision `CenterCrop` offsets: `int(round((in - out) / 2.0))` with Python's rounding.
pub fn center_crop_offset(input: usize, output: usize) -> usize {
    ((input - output) as f64 / 2.0).round_ties_even() as usize
}

/// Crops `width x height` at (`left`, `top`). The caller has checked that it fits.
pub fn crop(image: &FloatImage, left: usize, top: usize, width: usize, height: usize) -> Result<FloatImage> {
    let stride = image.width * 3;
    let mut data = try_buffer(width * height * 3, 0f32, "a crop of the frame")?;
    for (y, row) in (top..top + height).zip(data.chunks_exact_mut(width * 3)) {
        row.copy_from_slice(&image.data[y * stride + left * 3..y * stride + (left + width) * 3]);
    }
    Ok(FloatImage { width, height, data })
}

/// Q-Align's halves: PIL `crop((0, 0, w, h // 2))` and `crop((0, h // 2, w, h))`.
pub fn split_halves(image: &FloatImage) -> Result<[FloatImage; 2]> {
    let middle = image.height / 2;
    Ok([crop(image, 0, 0, image.width, middle)?, crop(image, 0, middle, image.width, image.height - middle)?])
}

/// Q-Align's `expand2square`: a square canvas of the long side filled with `fill`, the image
/// pasted at `(long - short) / 2` (rounded down) along the short side.
pub fn expand_to_square(image: &FloatImage, fill: [u8; 3]) -> Result<FloatImage> {
    let side = image.width.max(image.height);
    if image.width == image.height {
        return Ok(image.clone());
    }
    let (left, top) = ((side - image.width) / 2, (side - image.height) / 2);
    let mut data = try_buffer(side * side * 3, 0f32, "the square canvas")?;
    for (pixel, value) in data.iter_mut().zip(fill.iter().map(|&v| f32::from(v)).cycle()) {
        *pixel = value;
    }
    for y in 0..image.height {
        let source = &image.data[y * image.width * 3..(y + 1) * image.width * 3];
        let start = ((top + y) * side + left) * 3;
        data[start..start + source.len()].copy_from_slice(source);
    }
    Ok(FloatImage { width: side, height: side, data })
}

/// (left, top) of the patches LIQE takes from a `width x height` image: of the windows of
/// `size` at `stride` in row-major order (`unfold` over rows, then columns), the `count` at
/// indices `(n / count) * i`. With fewer than `count` windows every patch is window 0, as in the
/// reference. The image must be at least `size` on both sides.
pub fn patch_grid_positions(
    width: usize,
    height: usize,
    size: usize,
    stride: usize,
    count: usize,
) -> Vec<(usize, usize)> {
    let rows = (height - size) / stride + 1;
    let columns = (width - size) / stride + 1;
    let step = rows * columns / count;
    (0..count).map(|i| (step * i % columns * stride, step * i / columns * stride)).collect()
}

/// `(v / 255 - mean[c]) / std[c]` (range 1) or `(v - mean[c]) / std[c]` (range 255) into planar
/// CHW order, appended to `out`.
pub fn normalize_into_chw(image: &FloatImage, mean: [f32; 3], std: [f32; 3], range: f32, out: &mut Vec<f32>) {
    for c in 0..3 {
        let channel = image.data.iter().skip(c).step_by(3);
        if range == 255.0 {
            out.extend(channel.map(|&v| (v - mean[c]) / std[c]));
        } else {
            out.extend(channel.map(|&v| (v / 255.0 - mean[c]) / std[c]));
        }
    }
}

/// Small images for the resamplers' unit tests.
#[cfg(test)]
pub(crate) mod test_images {
    use super::FloatImage;

    /// A gray image: each value repeated on the 3 channels.
    pub fn gray(width: usize, height: usize, values: &[f32]) -> FloatImage {
        FloatImage { width, height, data: values.iter().flat_map(|&v| [v, v, v]).collect() }
    }

    pub fn first_channel(image: &FloatImage) -> Vec<f32> {
        image.data.iter().step_by(3).copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gray(width: usize, height: usize, values: &[f32]) -> FloatImage {
        FloatImage { width, height, data: values.iter().flat_map(|&v| [v, v, v]).collect() }
    }

    #[test]
    fn upscale_2x_matches_torch_bilinear() {
        // torch: F.interpolate(torch.tensor([[[[0., 10.], [20., 30.]]]]), size=(4, 4),
        // mode="bilinear", align_corners=False)[0, 0, 0] == [0, 2.5, 7.5, 10].
        let image = gray(2, 2, &[0.0, 10.0, 20.0, 30.0]);
        let out = resize_bilinear(&image, 4, 4, false);
        let first_row: Vec<f32> = out.data.iter().step_by(3).take(4).copied().collect();
        assert_eq!(first_row, vec![0.0, 2.5, 7.5, 10.0]);
        let second_row: Vec<f32> = out.data.iter().step_by(3).skip(4).take(4).copied().collect();
        assert_eq!(second_row, vec![5.0, 7.5, 12.5, 15.0]);
    }

    #[test]
    fn downscale_2x_averages_pairs_without_antialias() {
        let image = gray(4, 1, &[0.0, 10.0, 20.0, 30.0]);
        let out = resize_bilinear(&image, 2, 1, false);
        assert_eq!(out.data.iter().step_by(3).copied().collect::<Vec<_>>(), vec![5.0, 25.0]);
    }

    #[test]
    fn exact_ties_round_to_even() {
        // 3 -> 2 samples: src = 0.25 and 1.75, so outputs are 0.75 a + 0.25 b and 0.25 b + 0.75 c.
        // With (1, 3, 5): 1.5 and 4.5, both exact ties -> 2 and 4.
        let image = gray(3, 1, &[1.0, 3.0, 5.0]);
        let out = resize_bilinear(&image, 2, 1, true);
        assert_eq!(out.data.iter().step_by(3).copied().collect::<Vec<_>>(), vec![2.0, 4.0]);
        let unrounded = resize_bilinear(&image, 2, 1, false);
        assert_eq!(unrounded.data.iter().step_by(3).copied().collect::<Vec<_>>(), vec![1.5, 4.5]);
    }

    #[test]
    fn non_integer_input_uses_the_same_weights() {
        let image = gray(3, 1, &[1.5, 3.5, 5.5]);
        let out = resize_bilinear(&image, 2, 1, false);
        assert_eq!(out.data.iter().step_by(3).copied().collect::<Vec<_>>(), vec![2.0, 5.0]);
    }

    #[test]
    fn short_side_follows_reference_truncation() {
        assert_eq!(short_side_size(112, 80, 72), (100, 72));
        assert_eq!(short_side_size(1920, 1080, 384), (682, 384));
        assert_eq!(short_side_size(1080, 1920, 384), (384, 682));
        assert_eq!(short_side_size(50, 50, 384), (384, 384));
    }

    #[test]
    fn center_crop_rounds_half_to_even_like_python() {
        assert_eq!(center_crop_offset(100, 64), 18);
        assert_eq!(center_crop_offset(65, 64), 0); // round(0.5) == 0
        assert_eq!(center_crop_offset(67, 64), 2); // round(1.5) == 2
    }

    #[test]
    fn normalize_produces_planar_channels() {
        let image = FloatImage { width: 1, height: 1, data: vec![255.0, 0.0, 127.5] };
        let mut out = Vec::new();
        normalize_into_chw(&image, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5], 1.0, &mut out);
        assert_eq!(out, vec![1.0, -1.0, 0.0]);
    }
}
