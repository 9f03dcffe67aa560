//! Full-reference metrics on the luma plane, beside the learned score: PSNR-Y and SSIM-Y.
//!
//! * The luma plane of a frame ([`luma_plane`]): the coded Y samples of the YUV formats (8 or 10
//!   bits, as stored, no range conversion), or for RGB formats BT.601 luma
//!   `0.299 R + 0.587 G + 0.114 B` (8 bits, full range, not rounded).
//! * Two planes are compared on a common scale ([`compare`]): a 10-bit plane compared with an
//!   8-bit one is divided by 4; a full-range plane compared with a limited-range one is mapped to
//!   limited range (`16 + y * 219 / 255` at 8 bits, `64 + y * 876 / 1023` at 10 bits).
//! * PSNR-Y: `10 log10(peak^2 / MSE)` with `peak = 2^bits - 1` (255 or 1023); identical planes
//!   give `f64::INFINITY`.
//! * SSIM-Y ("ssim_y_gaussian11"): Wang et al. 2004 with an 11x11 Gaussian window (sigma 1.5,
//!   normalized to sum 1), K1 = 0.01, K2 = 0.03, L = peak, population (weighted) moments, no
//!   downsampling, averaged over every window position that lies inside the frame. This is
//!   scikit-image's `structural_similarity(gaussian_weights=True, sigma=1.5,
//!   use_sample_covariance=False, data_range=peak)`. Frames need at least 11x11 pixels.

use vsrqa::frame::format::ColorModel;
use vsrqa::frame::{ColorRange, FrameView};
use vsrqa::{Error, Result};

/// Side of the SSIM window.
const SSIM_WINDOW: usize = 11;
/// Standard deviation of the SSIM window's Gaussian.
const SSIM_SIGMA: f64 = 1.5;
const SSIM_K1: f64 = 0.01;
const SSIM_K2: f64 = 0.03;

/// One frame's luma samples, row-major, as numbers on the frame's own scale.
#[derive(Clone, Debug, PartialEq)]
pub struct LumaPlane {
    pub width: usize,
    pub height: usize,
    /// 8 or 10.
    pub bits: u32,
    /// Full range (RGB, or YUV tagged full) or limited range.
    pub full_range: bool,
    pub samples: Vec<f32>,
}

impl LumaPlane {
    /// The largest value the samples can take: `2^bits - 1`.
    pub fn peak(&self) -> f64 {
        f64::from((1u32 << self.bits) - 1)
    }

    /// The same plane with `bits` = 8 (10-bit samples divided by 4).
    fn to_8_bits(&self) -> LumaPlane {
        let scale = 1.0 / (1u32 << (self.bits - 8)) as f32;
        LumaPlane { bits: 8, samples: self.samples.iter().map(|&v| v * scale).collect(), ..self.clone() }
    }

    /// The same plane in limited range (unchanged if it is already).
    fn to_limited(&self) -> LumaPlane {
        if !self.full_range {
            return self.clone();
        }
        let unit = (1u32 << (self.bits - 8)) as f32;
        let scale = 219.0 * unit / self.peak() as f32;
        let samples = self.samples.iter().map(|&v| 16.0 * unit + v * scale).collect();
        LumaPlane { full_range: false, samples, ..self.clone() }
    }
}

/// Extracts the luma plane of any supported frame (see the module documentation).
pub fn luma_plane(frame: &FrameView<'_>) -> Result<LumaPlane> {
    frame.validate()?;
    let (w, h) = (frame.width as usize, frame.height as usize);
    let mut samples = Vec::with_capacity(w * h);
    let rgb_luma = |r: u8, g: u8, b: u8| (0.299 * f64::from(r) + 0.587 * f64::from(g) + 0.114 * f64::from(b)) as f32;
    let format = frame.format;
    for y in 0..h {
        let row = frame.row(0, y);
        match format.descriptor().model {
            ColorModel::Yuv => samples.extend((0..w).map(|x| f32::from(format.sample(row, x)))),
            ColorModel::Rgb { order: [r, g, b] } => {
                samples.extend(row.chunks_exact(format.pixel_bytes(0)).map(|p| rgb_luma(p[r], p[g], p[b])))
            }
            model => {
                return Err(Error::UnsupportedFrame(format!(
                    "{format}: PSNR and SSIM do not know its colour model ({model:?})"
                )))
            }
        }
    }
    // RGB has no range tag: its luma spans the full 8 bits.
    let (bits, full_range) = (format.bits(), format.is_rgb() || frame.range == ColorRange::Full);
    Ok(LumaPlane { width: w, height: h, bits, full_range, samples })
}

/// PSNR-Y and SSIM-Y of one distorted frame against its reference.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Comparison {
    /// Mean squared error of the luma samples, on the common scale.
    pub mse: f64,
    /// The peak value of the common scale (255 or 1023).
    pub peak: f64,
    /// SSIM-Y, 11x11 Gaussian window (see the module documentation).
    pub ssim: f64,
}

impl Comparison {
    /// PSNR-Y in dB; infinite for identical planes.
    pub fn psnr(&self) -> f64 {
        psnr(self.mse, self.peak)
    }
}

/// `10 log10(peak^2 / mse)`; infinite when `mse` is 0.
pub fn psnr(mse: f64, peak: f64) -> f64 {
    if mse <= 0.0 {
        f64::INFINITY
    } else {
        10.0 * (peak * peak / mse).log10()
    }
}

/// Compares the luma planes of two frames of the same size (any formats; see the module
/// documentation for how bit depths and ranges are reconciled).
pub fn compare(reference: &FrameView<'_>, distorted: &FrameView<'_>) -> Result<Comparison> {
    if (reference.width, reference.height) != (distorted.width, distorted.height) {
        return Err(Error::InvalidArgument(format!(
            "the reference frame is {}x{}, the frame compared with it {}x{}",
            reference.width, reference.height, distorted.width, distorted.height
        )));
    }
    compare_planes(&luma_plane(reference)?, &luma_plane(distorted)?)
}

/// Compares two luma planes of the same size.
pub fn compare_planes(a: &LumaPlane, b: &LumaPlane) -> Result<Comparison> {
    if (a.width, a.height) != (b.width, b.height) {
        return Err(Error::InvalidArgument(format!(
            "luma planes differ in size: {}x{} and {}x{}",
            a.width, a.height, b.width, b.height
        )));
    }
    let (mut a, mut b) = (std::borrow::Cow::Borrowed(a), std::borrow::Cow::Borrowed(b));
    if a.bits != b.bits {
        a = std::borrow::Cow::Owned(a.to_8_bits());
        b = std::borrow::Cow::Owned(b.to_8_bits());
    }
    if a.full_range != b.full_range {
        a = std::borrow::Cow::Owned(a.to_limited());
        b = std::borrow::Cow::Owned(b.to_limited());
    }
    let peak = a.peak();
    Ok(Comparison { mse: mse(&a, &b), peak, ssim: ssim_gaussian11(&a, &b, peak)? })
}

fn mse(a: &LumaPlane, b: &LumaPlane) -> f64 {
    let sum: f64 = a
        .samples
        .iter()
        .zip(&b.samples)
        .map(|(&x, &y)| {
            let d = f64::from(x) - f64::from(y);
            d * d
        })
        .sum();
    sum / a.samples.len() as f64
}

/// The normalized 1-D Gaussian taps of the SSIM window.
fn gaussian_taps() -> [f64; SSIM_WINDOW] {
    let radius = (SSIM_WINDOW / 2) as f64;
    let mut taps = [0.0; SSIM_WINDOW];
    for (i, t) in taps.iter_mut().enumerate() {
        let d = i as f64 - radius;
        *t = (-d * d / (2.0 * SSIM_SIGMA * SSIM_SIGMA)).exp();
    }
    let sum: f64 = taps.iter().sum();
    taps.iter_mut().for_each(|t| *t /= sum);
    taps
}

/// Mean SSIM over every 11x11 window inside the planes (separable Gaussian weights). Memory is
/// 11 filtered rows, whatever the frame size.
fn ssim_gaussian11(a: &LumaPlane, b: &LumaPlane, peak: f64) -> Result<f64> {
    let (w, h) = (a.width, a.height);
    if w < SSIM_WINDOW || h < SSIM_WINDOW {
        return Err(Error::InvalidArgument(format!(
            "SSIM needs frames of at least {SSIM_WINDOW}x{SSIM_WINDOW} pixels, got {w}x{h}"
        )));
    }
    let taps = gaussian_taps();
    let c1 = (SSIM_K1 * peak).powi(2);
    let c2 = (SSIM_K2 * peak).powi(2);
    let out_w = w - SSIM_WINDOW + 1;
    // Per row: horizontally filtered x, y, x^2, y^2, xy at each valid column.
    let filter_row = |y: usize, out: &mut [[f64; 5]]| {
        let (ra, rb) = (&a.samples[y * w..(y + 1) * w], &b.samples[y * w..(y + 1) * w]);
        for (x, acc) in out.iter_mut().enumerate() {
            let mut s = [0.0f64; 5];
            for (t, &weight) in taps.iter().enumerate() {
                let (p, q) = (f64::from(ra[x + t]), f64::from(rb[x + t]));
                s[0] += weight * p;
                s[1] += weight * q;
                s[2] += weight * p * p;
                s[3] += weight * q * q;
                s[4] += weight * p * q;
            }
            *acc = s;
        }
    };
    let mut rows = vec![vec![[0.0f64; 5]; out_w]; SSIM_WINDOW];
    for (y, row) in rows.iter_mut().enumerate() {
        filter_row(y, row);
    }
    let mut vertical = vec![[0.0f64; 5]; out_w];
    let mut total = 0.0;
    for top in 0..=(h - SSIM_WINDOW) {
        if top > 0 {
            // The ring slot of the row that left the window takes the row that entered it.
            filter_row(top + SSIM_WINDOW - 1, &mut rows[(top - 1) % SSIM_WINDOW]);
        }
        vertical.iter_mut().for_each(|v| *v = [0.0; 5]);
        for (t, &weight) in taps.iter().enumerate() {
            for (acc, r) in vertical.iter_mut().zip(&rows[(top + t) % SSIM_WINDOW]) {
                for (a, v) in acc.iter_mut().zip(r) {
                    *a += weight * v;
                }
            }
        }
        for s in &vertical {
            let (mx, my) = (s[0], s[1]);
            let (vx, vy, cxy) = (s[2] - mx * mx, s[3] - my * my, s[4] - mx * my);
            total += ((2.0 * mx * my + c1) * (2.0 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
        }
    }
    Ok(total / (out_w * (h - SSIM_WINDOW + 1)) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vsrqa::frame::PixelFormat;

    fn plane(width: usize, height: usize, f: impl Fn(usize, usize) -> f32) -> LumaPlane {
        let samples = (0..height).flat_map(|y| (0..width).map(move |x| (x, y))).map(|(x, y)| f(x, y)).collect();
        LumaPlane { width, height, bits: 8, full_range: false, samples }
    }

    fn i420(width: usize, height: usize, luma: &[u8]) -> Vec<u8> {
        let mut data = luma.to_vec();
        data.resize(width * height + 2 * width.div_ceil(2) * height.div_ceil(2), 128);
        data
    }

    fn texture(x: usize, y: usize) -> u8 {
        ((x * 37 + y * 91 + (x * y) % 23) % 200 + 20) as u8
    }

    #[test]
    fn identical_frames_have_infinite_psnr_and_ssim_1() {
        let luma: Vec<u8> = (0..24 * 16).map(|i| texture(i % 24, i / 24)).collect();
        let data = i420(24, 16, &luma);
        let frame = FrameView::packed(PixelFormat::I420, 24, 16, &data).unwrap();
        let c = compare(&frame, &frame).unwrap();
        assert_eq!(c.mse, 0.0);
        assert_eq!(c.psnr(), f64::INFINITY);
        assert!((c.ssim - 1.0).abs() < 1e-12, "{}", c.ssim);
    }

    #[test]
    fn constant_offset_gives_the_hand_computed_psnr() {
        // Every sample differs by 2: MSE = 4, PSNR = 10 log10(255^2 / 4) = 20 log10(127.5)
        // = 42.1102 dB.
        let a: Vec<u8> = (0..16 * 12).map(|i| texture(i % 16, i / 16)).collect();
        let b: Vec<u8> = a.iter().map(|&v| v + 2).collect();
        let (da, db) = (i420(16, 12, &a), i420(16, 12, &b));
        let fa = FrameView::packed(PixelFormat::I420, 16, 12, &da).unwrap();
        let fb = FrameView::packed(PixelFormat::I420, 16, 12, &db).unwrap();
        let c = compare(&fa, &fb).unwrap();
        assert_eq!(c.mse, 4.0);
        assert_eq!(c.peak, 255.0);
        assert!((c.psnr() - 20.0 * 127.5f64.log10()).abs() < 1e-12);
        assert!((c.psnr() - 42.110_203_695_876).abs() < 1e-9, "{}", c.psnr());
        assert!(c.ssim < 1.0 && c.ssim > 0.99, "{}", c.ssim);
    }

    #[test]
    fn ssim_of_flat_planes_matches_the_closed_form() {
        // Constant planes: variances and covariance are 0, so SSIM = (2 mx my + C1) / (mx^2 + my^2 + C1).
        // mx = 100, my = 110, C1 = (0.01 * 255)^2 = 6.5025:
        // (22000 + 6.5025) / (10000 + 12100 + 6.5025) = 22006.5025 / 22106.5025 = 0.995476...
        let a = plane(12, 11, |_, _| 100.0);
        let b = plane(12, 11, |_, _| 110.0);
        let c = compare_planes(&a, &b).unwrap();
        let expect = 22006.5025 / 22106.5025;
        assert!((c.ssim - expect).abs() < 1e-12, "{} vs {expect}", c.ssim);
        assert_eq!(c.mse, 100.0);
        assert!((c.psnr() - 10.0 * (65025.0f64 / 100.0).log10()).abs() < 1e-12);
    }

    #[test]
    fn ssim_window_is_a_normalized_gaussian_and_inverted_contrast_is_negative() {
        let taps = gaussian_taps();
        assert!((taps.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        assert!((taps[5] / taps[4] - (1.0 / 4.5f64).exp()).abs() < 1e-12);
        // A checkerboard against its inverse: covariance is about minus the variance, so SSIM is
        // close to -1 (not exactly: the odd-sized window weighs the two colours unequally).
        let a = plane(16, 16, |x, y| if (x + y) % 2 == 0 { 50.0 } else { 150.0 });
        let b = plane(16, 16, |x, y| if (x + y) % 2 == 0 { 150.0 } else { 50.0 });
        let c = compare_planes(&a, &b).unwrap();
        assert!(c.ssim < -0.95, "{}", c.ssim);
    }

    #[test]
    fn too_small_or_mismatched_frames_are_errors() {
        let small = plane(10, 20, |_, _| 1.0);
        assert!(compare_planes(&small, &small).unwrap_err().to_string().contains("11x11"));
        let data = i420(16, 16, &[0; 256]);
        let other = i420(16, 12, &[0; 192]);
        let a = FrameView::packed(PixelFormat::I420, 16, 16, &data).unwrap();
        let b = FrameView::packed(PixelFormat::I420, 16, 12, &other).unwrap();
        assert!(compare(&a, &b).unwrap_err().to_string().contains("16x16"));
    }

    #[test]
    fn every_format_yields_its_luma() {
        let (w, h) = (4u32, 2u32);
        let luma: [u8; 8] = [16, 50, 100, 235, 0, 255, 128, 7];
        // NV12: Y plane then interleaved UV.
        let nv12 = i420(4, 2, &luma);
        let frame = FrameView::packed(PixelFormat::Nv12, w, h, &nv12).unwrap();
        let plane8 = luma_plane(&frame).unwrap();
        assert_eq!(plane8.samples, luma.map(f32::from).to_vec());
        assert_eq!((plane8.bits, plane8.full_range), (8, false));

        // 10-bit: low bits (I420_10Le) and high bits (P010).
        let ten: Vec<u8> = i420(4, 2, &luma).iter().flat_map(|&v| (u16::from(v) * 4).to_le_bytes()).collect();
        let p = luma_plane(&FrameView::packed(PixelFormat::I420_10Le, w, h, &ten).unwrap()).unwrap();
        assert_eq!(p.samples, luma.map(|v| f32::from(v) * 4.0).to_vec());
        assert_eq!(p.bits, 10);
        let p010: Vec<u8> = i420(4, 2, &luma).iter().flat_map(|&v| ((u16::from(v) * 4) << 6).to_le_bytes()).collect();
        let q = luma_plane(&FrameView::packed(PixelFormat::P010, w, h, &p010[..8 * 2 + 4 * 2]).unwrap()).unwrap();
        assert_eq!(q.samples, p.samples);
        // Compared with its 8-bit original, the 10-bit plane is divided by 4: identical.
        assert_eq!(mse(&p.to_8_bits(), &plane8), 0.0);

        // RGB: BT.601 luma, channel order respected, alpha ignored.
        let rgb = [255u8, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30];
        let frame = FrameView::packed(PixelFormat::Rgb24, 2, 2, &rgb).unwrap();
        let p = luma_plane(&frame).unwrap();
        let expect = [0.299 * 255.0, 0.587 * 255.0, 0.114 * 255.0, 0.299 * 10.0 + 0.587 * 20.0 + 0.114 * 30.0];
        for (got, want) in p.samples.iter().zip(expect) {
            assert!((f64::from(*got) - want).abs() < 1e-4, "{got} vs {want}");
        }
        assert!(p.full_range);
        let bgra = [0u8, 0, 255, 9, 0, 255, 0, 9, 255, 0, 0, 9, 30, 20, 10, 9];
        let q = luma_plane(&FrameView::packed(PixelFormat::Bgra32, 2, 2, &bgra).unwrap()).unwrap();
        assert_eq!(p.samples, q.samples);

        // Full range (RGB) against limited range (YUV): mapped to limited, 255 -> 235, 0 -> 16.
        let white = FrameView::packed(PixelFormat::Rgb24, 2, 2, &[255u8; 12]).unwrap();
        let yuv_white = i420(2, 2, &[235; 4]);
        let yuv = FrameView::packed(PixelFormat::I420, 2, 2, &yuv_white).unwrap();
        let (a, b) = (luma_plane(&white).unwrap(), luma_plane(&yuv).unwrap());
        assert!(compare_planes(&a, &b).unwrap_err().to_string().contains("11x11"));
        assert_eq!(mse(&a.to_limited(), &b), 0.0);
    }
}
