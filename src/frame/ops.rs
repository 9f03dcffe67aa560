//! Geometric operations on float images, each matching its PyTorch/torchvision counterpart
//! operation for operation (same float type, same order of arithmetic), so that the CPU path
//! reproduces the reference's tensors to the last bit or close to it.

use super::RgbImage;

/// An image of f32 values in 0..255, rows packed, 3 interleaved channels (RGB).
#[derive(Clone, Debug, PartialEq)]
pub struct FloatImage {
    pub width: usize,
    pub height: usize,
    pub data: Vec<f32>,
}

impl From<&RgbImage> for FloatImage {
    fn from(image: &RgbImage) -> Self {
        FloatImage {
            width: image.width,
            height: image.height,
            data: image.data.iter().map(|&v| f32::from(v)).collect(),
        }
    }
}

/// Source index and weights along one axis, as ATen's `compute_indices_weights_linear` with
/// `align_corners=False` and no explicit scale: `src = (in/out) * (dst + 0.5) - 0.5`, clamped
/// at 0, computed in f32 (ATen's opmath type for float tensors).
fn linear_taps(input: usize, output: usize) -> Vec<(usize, usize, f32, f32)> {
    let scale = input as f32 / output as f32;
    (0..output)
        .map(|dst| {
            let src = (scale * (dst as f32 + 0.5) - 0.5).max(0.0);
            let i0 = src.floor() as usize;
            let lambda = (src - i0 as f32).clamp(0.0, 1.0);
            let i1 = if i0 < input - 1 { i0 + 1 } else { i0 };
            (i0.min(input - 1), i1, 1.0 - lambda, lambda)
        })
        .collect()
}

/// `torch.nn.functional.interpolate(mode="bilinear", align_corners=False, antialias=False)`.
pub fn resize_bilinear(image: &FloatImage, out_width: usize, out_height: usize) -> FloatImage {
    let xs = linear_taps(image.width, out_width);
    let ys = linear_taps(image.height, out_height);
    let stride = image.width * 3;
    let mut data = Vec::with_capacity(out_width * out_height * 3);
    for &(y0, y1, h0, h1) in &ys {
        let row0 = &image.data[y0 * stride..(y0 + 1) * stride];
        let row1 = &image.data[y1 * stride..(y1 + 1) * stride];
        for &(x0, x1, w0, w1) in &xs {
            for c in 0..3 {
                // ATen order: the outer (height) weight multiplies the inner (width) sums.
                let top = row0[x0 * 3 + c] * w0 + row0[x1 * 3 + c] * w1;
                let bottom = row1[x0 * 3 + c] * w0 + row1[x1 * 3 + c] * w1;
                data.push(top * h0 + bottom * h1);
            }
        }
    }
    FloatImage {
        width: out_width,
        height: out_height,
        data,
    }
}

/// Rounds half to even and clamps to 0..255, as `torch.round` + `clamp` (or saving to PNG) do.
pub fn round_to_u8(image: &mut FloatImage) {
    for v in &mut image.data {
        *v = v.round_ties_even().clamp(0.0, 255.0);
    }
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
pub fn crop(image: &FloatImage, left: usize, top: usize, width: usize, height: usize) -> FloatImage {
    let stride = image.width * 3;
    let mut data = Vec::with_capacity(width * height * 3);
    for y in top..top + height {
        data.extend_from_slice(&image.data[y * stride + left * 3..y * stride + (left + width) * 3]);
    }
    FloatImage { width, height, data }
}

/// `(v / 255 - mean[c]) / std[c]` into planar CHW order, appended to `out`.
pub fn normalize_into_chw(image: &FloatImage, mean: [f32; 3], std: [f32; 3], out: &mut Vec<f32>) {
    for c in 0..3 {
        out.extend(image.data.iter().skip(c).step_by(3).map(|&v| (v / 255.0 - mean[c]) / std[c]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gray(width: usize, height: usize, values: &[f32]) -> FloatImage {
        FloatImage {
            width,
            height,
            data: values.iter().flat_map(|&v| [v, v, v]).collect(),
        }
    }

    #[test]
    fn upscale_2x_matches_torch_bilinear() {
        // torch: F.interpolate(torch.tensor([[[[0., 10.], [20., 30.]]]]), size=(4, 4),
        // mode="bilinear", align_corners=False)[0, 0, 0] == [0, 2.5, 7.5, 10].
        let image = gray(2, 2, &[0.0, 10.0, 20.0, 30.0]);
        let out = resize_bilinear(&image, 4, 4);
        let first_row: Vec<f32> = out.data.iter().step_by(3).take(4).copied().collect();
        assert_eq!(first_row, vec![0.0, 2.5, 7.5, 10.0]);
        let second_row: Vec<f32> = out.data.iter().step_by(3).skip(4).take(4).copied().collect();
        assert_eq!(second_row, vec![5.0, 7.5, 12.5, 15.0]);
    }

    #[test]
    fn downscale_2x_averages_pairs_without_antialias() {
        let image = gray(4, 1, &[0.0, 10.0, 20.0, 30.0]);
        let out = resize_bilinear(&image, 2, 1);
        assert_eq!(out.data.iter().step_by(3).copied().collect::<Vec<_>>(), vec![5.0, 25.0]);
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
        normalize_into_chw(&image, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5], &mut out);
        assert_eq!(out, vec![1.0, -1.0, 0.0]);
    }
}
