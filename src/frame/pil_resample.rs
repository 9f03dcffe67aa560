//! Pillow's `Image.resize(size, BILINEAR | BICUBIC)` on 8-bit RGB images, reproduced bit for bit.
//!
//! torchvision's `Resize` on a PIL image calls Pillow, so Pillow's integers are the reference
//! input of the SlowFast branch (`Resize([224, 224])`, bilinear) and of the CLIP-based branches
//! (bicubic). Pillow is not a plain bilinear/bicubic interpolation: on a downscale it widens the
//! filter by the scale factor (antialiasing), and it evaluates 8-bit images in fixed point with
//! 22 fractional bits, rounding to 8 bits after the horizontal pass and again after the vertical
//! one. This module follows Pillow's `libImaging/Resample.c` step by step: the same float64
//! coefficient computation, the same truncations, the same two passes.

use super::ops::FloatImage;

/// Pillow's resampling filters that the branches use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    /// `Image.BILINEAR`: the triangle filter, support 1.
    Bilinear,
    /// `Image.BICUBIC`: Keys' cubic convolution with a = -0.5, support 2.
    Bicubic,
}

impl Filter {
    fn support(self) -> f64 {
        match self {
            Filter::Bilinear => 1.0,
            Filter::Bicubic => 2.0,
        }
    }

    fn weight(self, x: f64) -> f64 {
        let x = x.abs();
        match self {
            Filter::Bilinear if x < 1.0 => 1.0 - x,
            Filter::Bicubic if x < 1.0 => {
                const A: f64 = -0.5;
                ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
            }
            Filter::Bicubic if x < 2.0 => {
                const A: f64 = -0.5;
                (((x - 5.0) * x + 8.0) * x - 4.0) * A
            }
            _ => 0.0,
        }
    }
}

/// Fractional bits of Pillow's 8-bit coefficients (`32 - 8 - 2`: products of a byte and a
/// coefficient, summed over the filter, cannot overflow an `int`).
const PRECISION_BITS: u32 = 22;

/// The taps of every output index along one axis: the first source index and the fixed-point
/// weights (`ksize` per output, zero beyond the tap count).
#[derive(Debug)]
pub(crate) struct Coefficients {
    pub ksize: usize,
    pub first: Vec<usize>,
    pub count: Vec<usize>,
    pub weights: Vec<i32>,
}

impl Coefficients {
    /// Pillow's `precompute_coeffs` followed by `normalize_coeffs_8bpc`, for the whole input
    /// (`box` = (0, in_size)).
    pub(crate) fn new(in_size: usize, out_size: usize, filter: Filter) -> Coefficients {
        let scale = in_size as f64 / out_size as f64;
        let filter_scale = scale.max(1.0);
        let support = filter.support() * filter_scale;
        let ksize = support.ceil() as usize * 2 + 1;
        let inverse_filter_scale = 1.0 / filter_scale;
        let mut first = Vec::with_capacity(out_size);
        let mut count = Vec::with_capacity(out_size);
        let mut weights = vec![0i32; out_size * ksize];
        let mut taps = vec![0.0f64; ksize];
        for (xx, row) in weights.chunks_exact_mut(ksize).enumerate() {
            let center = (xx as f64 + 0.5) * scale;
            // C's `(int)` conversions truncate toward zero, as `as` does.
            let xmin = ((center - support + 0.5) as i64).max(0);
            let xmax = ((center + support + 0.5) as i64).min(in_size as i64);
            let n = (xmax - xmin).max(0) as usize;
            let mut total = 0.0;
            for (x, tap) in taps.iter_mut().enumerate().take(n) {
                *tap = filter.weight(((x as i64 + xmin) as f64 - center + 0.5) * inverse_filter_scale);
                total += *tap;
            }
            for (tap, weight) in taps.iter().zip(row.iter_mut()).take(n) {
                let normalized = if total != 0.0 { tap / total } else { *tap };
                let scaled = normalized * f64::from(1u32 << PRECISION_BITS);
                *weight = if normalized < 0.0 { (scaled - 0.5) as i32 } else { (scaled + 0.5) as i32 };
            }
            first.push(xmin as usize);
            count.push(n);
        }
        Coefficients { ksize, first, count, weights }
    }

    /// The source indices any output reads: the horizontal pass computes only these rows.
    pub(crate) fn source_range(&self) -> (usize, usize) {
        let first = self.first.first().copied().unwrap_or(0);
        let end = self.first.iter().zip(&self.count).map(|(f, c)| f + c).max().unwrap_or(first);
        (first, end)
    }

    fn taps(&self, index: usize) -> (usize, &[i32]) {
        let start = index * self.ksize;
        (self.first[index], &self.weights[start..start + self.count[index]])
    }
}

/// Pillow's `clip8`: drop the fraction (the sums start at one half, so this rounds) and clamp.
/// Pillow sums in C `int`: with coefficients summing to 2^22 (bicubic's negative lobes add at most
/// a fifth), 255 times their absolute sum stays below 2^31, so i32 is exact, as in Pillow.
fn clip8(sum: i32) -> u8 {
    (sum >> PRECISION_BITS).clamp(0, 255) as u8
}

const HALF: i32 = 1 << (PRECISION_BITS - 1);

/// Resizes an 8-bit RGB image held as integer-valued floats. Returns `None` when a value is not
/// an integer in 0..=255 (Pillow's 8-bit arithmetic would not apply).
pub fn resize(image: &FloatImage, width: usize, height: usize, filter: Filter) -> Option<FloatImage> {
    Some(resize_bytes(&image.to_bytes()?, image.width, image.height, width, height, filter))
}

/// Resizes packed 8-bit RGB (`in_width * in_height * 3` bytes).
pub fn resize_bytes(
    pixels: &[u8],
    in_width: usize,
    in_height: usize,
    width: usize,
    height: usize,
    filter: Filter,
) -> FloatImage {
    let rows = Coefficients::new(in_height, height, filter);

    // Horizontal pass (skipped when the width does not change, as in Pillow) over the source rows
    // the vertical pass reads, each rounded to 8 bits.
    let (first_row, end_row) = rows.source_range();
    let horizontal_rows;
    let (horizontal, row_offset): (&[u8], usize) = if width == in_width {
        (pixels, 0)
    } else {
        let columns = Coefficients::new(in_width, width, filter);
        let mut out = Vec::with_capacity((end_row - first_row) * width * 3);
        for y in first_row..end_row {
            let source = &pixels[y * in_width * 3..(y + 1) * in_width * 3];
            for x in 0..width {
                let (start, weights) = columns.taps(x);
                let taps = &source[start * 3..(start + weights.len()) * 3];
                let (mut r, mut g, mut b) = (HALF, HALF, HALF);
                for (pixel, &w) in taps.chunks_exact(3).zip(weights) {
                    r += i32::from(pixel[0]) * w;
                    g += i32::from(pixel[1]) * w;
                    b += i32::from(pixel[2]) * w;
                }
                out.extend([clip8(r), clip8(g), clip8(b)]);
            }
        }
        horizontal_rows = out;
        (&horizontal_rows, first_row)
    };

    // Vertical pass, skipped when the height does not change. Row after row of taps into one
    // accumulator row, so the inner loop runs over contiguous bytes.
    let stride = width * 3;
    let data: Vec<f32> = if height == in_height {
        horizontal[..height * stride].iter().map(|&v| f32::from(v)).collect()
    } else {
        let mut out = Vec::with_capacity(height * stride);
        let mut sums = vec![0i32; stride];
        for y in 0..height {
            let (start, weights) = rows.taps(y);
            sums.fill(HALF);
            for (k, &w) in weights.iter().enumerate() {
                let row = &horizontal[(start + k - row_offset) * stride..][..stride];
                for (sum, &v) in sums.iter_mut().zip(row) {
                    *sum += i32::from(v) * w;
                }
            }
            out.extend(sums.iter().map(|&sum| f32::from(clip8(sum))));
        }
        out
    };
    FloatImage { width, height, data }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::ops::test_images::{first_channel, gray};

    #[test]
    fn downscale_widens_the_filter() {
        // 4 -> 2 bilinear: scale 2, so support 2. Output 0 centres at 1.0 and reads source pixels
        // 0..=2 (pixel -1 is outside) with triangle weights 0.75, 0.75, 0.25, normalized by 1.75.
        let c = Coefficients::new(4, 2, Filter::Bilinear);
        let (start, weights) = c.taps(0);
        assert_eq!(start, 0);
        // (3/7) 2^22 = 1797558.86 and (1/7) 2^22 = 599186.29, rounded as Pillow does.
        assert_eq!(weights, &[1_797_559, 1_797_559, 599_186][..]);
    }

    #[test]
    fn matches_pillow_on_small_images() {
        // Printed by Pillow 13.0: a 1-row gray image [0, 100, 200, 255] resized to 2 wide with
        // BILINEAR and to 3 wide with BICUBIC. A plain bilinear interpolation would give 50, 227.5.
        let image = gray(4, 1, &[0.0, 100.0, 200.0, 255.0]);
        assert_eq!(first_channel(&resize(&image, 2, 1, Filter::Bilinear).unwrap()), vec![71.0, 209.0]);
        assert_eq!(first_channel(&resize(&image, 3, 1, Filter::Bicubic).unwrap()), vec![19.0, 152.0, 247.0]);
    }

    #[test]
    fn identity_size_copies() {
        let image = gray(3, 2, &[0.0, 50.0, 255.0, 7.0, 8.0, 9.0]);
        assert_eq!(resize(&image, 3, 2, Filter::Bicubic).unwrap(), image);
    }

    #[test]
    fn rejects_values_that_are_not_bytes() {
        assert!(resize(&gray(2, 1, &[0.5, 1.0]), 1, 1, Filter::Bilinear).is_none());
    }
}
