//! Conversion of any supported frame to 8-bit RGB, one of two ways ([`ColorConversion`]):
//! - `Reference`: the frames the reference's OpenCV decoding gives. OpenCV converts with
//!   swscale, which on x86 runs its SIMD YUV->RGB path (libswscale/x86/yuv_2_rgb.asm) with
//!   BT.601 coefficients set up by libswscale/yuv2rgb.c. Its arithmetic is ported here
//!   ([`SwscaleCoefficients`]); every term depends on one code only, so it fits the same tables.
//! - `Exact`: float64 with round half to even and the frame's matrix, which is exactly what the
//!   Python reference package (tools/vsrqa_ref) computes.

use super::format::ColorModel;
use super::{ColorConversion, ColorMatrix, ColorRange, FrameView, PixelFormat, RgbImage};
use crate::error::Result;

/// Y'CbCr -> R'G'B' coefficients for one matrix, range and bit depth, producing 0..255 values.
struct YuvCoefficients {
    y_offset: f64,
    y_scale: f64,
    c_offset: f64,
    c_scale: f64,
    r_v: f64,
    g_u: f64,
    g_v: f64,
    b_u: f64,
}

impl YuvCoefficients {
    fn new(matrix: ColorMatrix, range: ColorRange, bits: u32) -> Self {
        let (kr, kb) = match matrix {
            ColorMatrix::Bt601 => (0.299, 0.114),
            ColorMatrix::Bt709 => (0.2126, 0.0722),
            ColorMatrix::Bt2020 => (0.2627, 0.0593),
        };
        let kg = 1.0 - kr - kb;
        let unit = f64::from(1u32 << (bits - 8));
        let max = f64::from((1u32 << bits) - 1);
        let (y_offset, y_scale, c_scale) = match range {
            // 16..235 and 16..240 at 8 bits, scaled by 4 at 10 bits.
            ColorRange::Limited => (16.0 * unit, 255.0 / (219.0 * unit), 255.0 / (224.0 * unit)),
            ColorRange::Full => (0.0, 255.0 / max, 255.0 / max),
        };
        YuvCoefficients {
            y_offset,
            y_scale,
            c_offset: 128.0 * unit,
            c_scale,
            r_v: 2.0 * (1.0 - kr),
            g_u: 2.0 * kb * (1.0 - kb) / kg,
            g_v: 2.0 * kr * (1.0 - kr) / kg,
            b_u: 2.0 * (1.0 - kb),
        }
    }

    /// Every product of the conversion, per code value, computed with the same float64
    /// operations in the same order as the per-pixel formula, so the sums below are bit-identical
    /// to it; a table lookup instead of five multiplications per pixel.
    fn tables(&self, bits: u32) -> YuvTables {
        let codes = 0..1u32 << bits;
        let luma = |code: u32| (f64::from(code) - self.y_offset) * self.y_scale;
        let chroma = |code: u32| (f64::from(code) - self.c_offset) * self.c_scale;
        YuvTables {
            y: codes.clone().map(luma).collect(),
            r_v: codes.clone().map(|c| self.r_v * chroma(c)).collect(),
            g_u: codes.clone().map(|c| self.g_u * chroma(c)).collect(),
            g_v: codes.clone().map(|c| self.g_v * chroma(c)).collect(),
            b_u: codes.map(|c| self.b_u * chroma(c)).collect(),
        }
    }
}

/// swscale's YUV->RGB coefficients in its SIMD path's 16-bit fixed point (libswscale/yuv2rgb.c,
/// `ff_yuv2rgb_c_init_tables`, with OpenCV's settings: BT.601, contrast and saturation 1,
/// brightness 0, and the source format's range).
struct SwscaleCoefficients {
    y: i64,
    y_offset: i64,
    v_to_r: i64,
    u_to_b: i64,
    u_to_g: i64,
    v_to_g: i64,
}

impl SwscaleCoefficients {
    fn new(range: ColorRange) -> Self {
        // BT.601's inverse matrix in 16.16 fixed point, as swscale's `ff_yuv2rgb_coeffs` holds it:
        // crv, cbu, cgu, cgv.
        let (mut crv, mut cbu, mut cgu, mut cgv) = (104_597i64, 132_201i64, -25_675i64, -53_279i64);
        let (mut cy, mut oy) = (1i64 << 16, 0i64);
        match range {
            ColorRange::Limited => {
                cy = cy * 255 / 219;
                oy = 16 << 16;
            }
            ColorRange::Full => {
                // C's division truncates toward zero, as Rust's does.
                crv = crv * 224 / 255;
                cbu = cbu * 224 / 255;
                cgu = cgu * 224 / 255;
                cgv = cgv * 224 / 255;
            }
        }
        SwscaleCoefficients {
            y: round_to_i16(cy << 13),
            y_offset: round_to_i16(oy << 3),
            v_to_r: round_to_i16(crv << 13),
            u_to_b: round_to_i16(cbu << 13),
            u_to_g: round_to_i16(cgu << 13),
            v_to_g: round_to_i16(cgv << 13),
        }
    }

    /// The SIMD path's terms per 8-bit code: codes are scaled by 8 (`psllw 3`), offsets taken
    /// off, and each product keeps its high 16 bits (`pmulhw`, a floor). No sum below leaves the
    /// 16-bit range, so the saturating adds never saturate, and the final `packuswb` is a clamp.
    /// 10-bit codes keep their top 8 bits: an approximation, as swscale converts 10-bit sources
    /// on another path (docs/branches.md gives the difference).
    fn tables(&self, bits: u32) -> YuvTables {
        let high = |a: i64, b: i64| ((a * b) >> 16) as f64;
        let code8 = |code: u32| i64::from(code >> (bits - 8));
        let luma = |code: u32| high(8 * code8(code) - self.y_offset, self.y);
        let chroma = |code: u32| 8 * code8(code) - 1024;
        let codes = 0..1u32 << bits;
        YuvTables {
            y: codes.clone().map(luma).collect(),
            r_v: codes.clone().map(|c| high(chroma(c), self.v_to_r)).collect(),
            // G = Y + (u_to_g u + v_to_g v) with negative coefficients; the tables subtract.
            g_u: codes.clone().map(|c| -high(chroma(c), self.u_to_g)).collect(),
            g_v: codes.clone().map(|c| -high(chroma(c), self.v_to_g)).collect(),
            b_u: codes.map(|c| high(chroma(c), self.u_to_b)).collect(),
        }
    }
}

/// swscale's `roundToInt16`: 16.16 to an integer, rounded, clipped to 16 bits.
fn round_to_i16(value: i64) -> i64 {
    ((value + (1 << 15)) >> 16).clamp(-0x8000, 0x7fff)
}

/// The tables of one conversion; the matrix is ignored by `Reference`.
fn yuv_tables(conversion: ColorConversion, matrix: ColorMatrix, range: ColorRange, bits: u32) -> YuvTables {
    match conversion {
        ColorConversion::Reference => SwscaleCoefficients::new(range).tables(bits),
        ColorConversion::Exact => YuvCoefficients::new(matrix, range, bits).tables(bits),
    }
}

/// The conversion's five tables for the GPU kernel (`convert_to_rgb8` in
/// gpu/kernels/preprocess.cu): y, r_v, g_u, g_v, b_u, each padded to 1024 entries.
pub(crate) fn conversion_tables(
    conversion: ColorConversion,
    matrix: ColorMatrix,
    range: ColorRange,
    bits: u32,
) -> Vec<f64> {
    let tables = yuv_tables(conversion, matrix, range, bits);
    let mut flat = vec![0.0; 5 * 1024];
    for (slot, table) in
        flat.chunks_exact_mut(1024).zip([&tables.y, &tables.r_v, &tables.g_u, &tables.g_v, &tables.b_u])
    {
        slot[..table.len()].copy_from_slice(table);
    }
    flat
}

/// [`YuvCoefficients::tables`]: the terms of R = Y + r_v V, G = Y - g_u U - g_v V, B = Y + b_u U.
struct YuvTables {
    y: Vec<f64>,
    r_v: Vec<f64>,
    g_u: Vec<f64>,
    g_v: Vec<f64>,
    b_u: Vec<f64>,
}

impl YuvTables {
    /// Codes are masked or shifted to the table's bit depth by the callers.
    #[inline(always)]
    fn rgb(&self, y: u16, u: u16, v: u16) -> [u8; 3] {
        let (y, u, v) = (self.y[usize::from(y)], usize::from(u), usize::from(v));
        [to_u8(y + self.r_v[v]), to_u8(y - self.g_u[u] - self.g_v[v]), to_u8(y + self.b_u[u])]
    }
}

/// One output row of a Y'CbCr frame; `sample(x)` gives pixel x's codes.
#[inline(always)]
fn convert_row(tables: &YuvTables, out_row: &mut [u8], sample: impl Fn(usize) -> (u16, u16, u16)) {
    for (x, out) in out_row.chunks_exact_mut(3).enumerate() {
        let (y, u, v) = sample(x);
        out.copy_from_slice(&tables.rgb(y, u, v));
    }
}

#[inline]
fn to_u8(value: f64) -> u8 {
    value.round_ties_even().clamp(0.0, 255.0) as u8
}

#[inline]
fn le16(bytes: &[u8], index: usize) -> u16 {
    u16::from_le_bytes([bytes[2 * index], bytes[2 * index + 1]])
}

/// Converts a validated frame to packed 8-bit RGB; RGB formats are taken as they are.
pub fn to_rgb8(frame: &FrameView<'_>, conversion: ColorConversion) -> Result<RgbImage> {
    frame.validate()?;
    let (w, h) = (frame.width as usize, frame.height as usize);
    let mut data = super::try_buffer(w * h * 3, 0u8, "the frame in RGB")?;
    let format = frame.format;
    if let ColorModel::Rgb { order } = format.descriptor().model {
        let step = format.pixel_bytes(0);
        for (y, out_row) in data.chunks_exact_mut(w * 3).enumerate() {
            for (px, out) in frame.row(0, y).chunks_exact(step).zip(out_row.chunks_exact_mut(3)) {
                out.copy_from_slice(&[px[order[0]], px[order[1]], px[order[2]]]);
            }
        }
    } else {
        let bits = format.bits();
        let tables = yuv_tables(conversion, frame.matrix, frame.range, bits);
        // The format is matched once per row, so each pixel loop is specialized.
        for (y, out_row) in data.chunks_exact_mut(w * 3).enumerate() {
            let luma = frame.row(0, y);
            let chroma_a = frame.row(1, y / 2);
            let chroma_b = if frame.format.plane_count() == 3 { frame.row(2, y / 2) } else { chroma_a };
            match format {
                PixelFormat::I420 => convert_row(&tables, out_row, |x| {
                    (u16::from(luma[x]), u16::from(chroma_a[x / 2]), u16::from(chroma_b[x / 2]))
                }),
                PixelFormat::Nv12 => convert_row(&tables, out_row, |x| {
                    let c = x / 2;
                    (u16::from(luma[x]), u16::from(chroma_a[2 * c]), u16::from(chroma_a[2 * c + 1]))
                }),
                PixelFormat::I420_10Le => convert_row(&tables, out_row, |x| {
                    (le16(luma, x) & 0x3ff, le16(chroma_a, x / 2) & 0x3ff, le16(chroma_b, x / 2) & 0x3ff)
                }),
                PixelFormat::P010 => convert_row(&tables, out_row, |x| {
                    let c = x / 2;
                    (le16(luma, x) >> 6, le16(chroma_a, 2 * c) >> 6, le16(chroma_a, 2 * c + 1) >> 6)
                }),
                _ => unreachable!("RGB formats are handled above"),
            }
        }
    }
    Ok(RgbImage { width: w, height: h, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXACT: ColorConversion = ColorConversion::Exact;

    /// The per-pixel formula the tables replace, as the Python reference writes it.
    fn direct(c: &YuvCoefficients, y: u16, u: u16, v: u16) -> [u8; 3] {
        let y = (f64::from(y) - c.y_offset) * c.y_scale;
        let u = (f64::from(u) - c.c_offset) * c.c_scale;
        let v = (f64::from(v) - c.c_offset) * c.c_scale;
        [to_u8(y + c.r_v * v), to_u8(y - c.g_u * u - c.g_v * v), to_u8(y + c.b_u * u)]
    }

    #[test]
    fn tables_equal_the_per_pixel_formula_for_every_code() {
        for matrix in [ColorMatrix::Bt601, ColorMatrix::Bt709, ColorMatrix::Bt2020] {
            for range in [ColorRange::Limited, ColorRange::Full] {
                for bits in [8u32, 10] {
                    let coefficients = YuvCoefficients::new(matrix, range, bits);
                    let tables = coefficients.tables(bits);
                    let max = (1u16 << bits) - 1;
                    // Every luma code against a spread of chroma pairs, including both ends.
                    let chroma: Vec<u16> = (0..=max).step_by(7).chain([max]).collect();
                    for y in 0..=max {
                        for &u in &chroma {
                            let v = chroma[(usize::from(y) + usize::from(u)) % chroma.len()];
                            assert_eq!(
                                tables.rgb(y, u, v),
                                direct(&coefficients, y, u, v),
                                "{matrix:?} {range:?} {bits} bits"
                            );
                        }
                    }
                }
            }
        }
    }

    fn i420(width: u32, height: u32, y: u8, u: u8, v: u8) -> Vec<u8> {
        let (w, h) = (width as usize, height as usize);
        let c = w.div_ceil(2) * h.div_ceil(2);
        let mut data = vec![y; w * h];
        data.extend(std::iter::repeat_n(u, c));
        data.extend(std::iter::repeat_n(v, c));
        data
    }

    #[test]
    fn limited_range_black_and_white_map_to_0_and_255() {
        for (luma, expect) in [(16u8, 0u8), (235, 255)] {
            let data = i420(4, 2, luma, 128, 128);
            let frame = FrameView::packed(PixelFormat::I420, 4, 2, &data).unwrap();
            let rgb = to_rgb8(&frame, EXACT).unwrap();
            assert!(rgb.data.iter().all(|&c| c == expect), "{:?}", rgb.data);
        }
    }

    #[test]
    fn bt601_red_matches_hand_computed_value() {
        // Y=81, U=90, V=240 is pure red quantized to 8-bit BT.601 limited range (exactly: Y=81.535,
        // U=90.26). By hand: R = 255/219*65 + 255/224*1.402*112 = 75.685 + 178.755 = 254.44 -> 254;
        // G = 75.685 + 255/224*0.344136*38 - 255/224*0.714136*112 = -0.49 -> 0 (round, clamp);
        // B = 75.685 - 255/224*1.772*38 = -0.97 -> 0 (clamped).
        let data = i420(2, 2, 81, 90, 240);
        let frame = FrameView::packed(PixelFormat::I420, 2, 2, &data).unwrap();
        let rgb = to_rgb8(&frame, EXACT).unwrap();
        assert_eq!(&rgb.data[0..3], &[254, 0, 0]);
    }

    #[test]
    fn ten_bit_formats_agree_with_eight_bit_at_4x_scale() {
        let (w, h) = (6u32, 4u32);
        let eight = i420(w, h, 100, 90, 200);
        let frame8 = FrameView::packed(PixelFormat::I420, w, h, &eight).unwrap();
        let expect = to_rgb8(&frame8, EXACT).unwrap();

        let ten: Vec<u8> = eight.iter().flat_map(|&b| (u16::from(b) * 4).to_le_bytes()).collect();
        let frame10 = FrameView::packed(PixelFormat::I420_10Le, w, h, &ten).unwrap();
        assert_eq!(to_rgb8(&frame10, EXACT).unwrap(), expect);

        // P010: Y plane then interleaved UV, values in the high 10 bits.
        let c = (w as usize / 2) * (h as usize / 2);
        let mut p010: Vec<u8> =
            eight[..(w * h) as usize].iter().flat_map(|&b| ((u16::from(b) * 4) << 6).to_le_bytes()).collect();
        for i in 0..c {
            for plane in [1, 2] {
                let b = eight[(w * h) as usize + (plane - 1) * c + i];
                p010.extend(((u16::from(b) * 4) << 6).to_le_bytes());
            }
        }
        let frame_p010 = FrameView::packed(PixelFormat::P010, w, h, &p010).unwrap();
        assert_eq!(to_rgb8(&frame_p010, EXACT).unwrap(), expect);
    }

    #[test]
    fn nv12_matches_i420() {
        let (w, h) = (5u32, 3u32); // odd sizes: chroma rounds up to 3x2
        let mut planar = Vec::new();
        planar.extend((0..15).map(|i| 20 + i as u8 * 10));
        let u: Vec<u8> = (0..6).map(|i| 60 + i * 20).collect();
        let v: Vec<u8> = (0..6).map(|i| 200 - i * 20).collect();
        let mut nv12 = planar.clone();
        planar.extend(&u);
        planar.extend(&v);
        for i in 0..6 {
            nv12.push(u[i]);
            nv12.push(v[i]);
        }
        let a = to_rgb8(&FrameView::packed(PixelFormat::I420, w, h, &planar).unwrap(), EXACT).unwrap();
        let b = to_rgb8(&FrameView::packed(PixelFormat::Nv12, w, h, &nv12).unwrap(), EXACT).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn bgra_swaps_channels_and_drops_alpha() {
        let data = [1u8, 2, 3, 4, 5, 6, 7, 8];
        let frame = FrameView::packed(PixelFormat::Bgra32, 2, 1, &data).unwrap();
        assert_eq!(to_rgb8(&frame, EXACT).unwrap().data, vec![3, 2, 1, 7, 6, 5]);
    }

    #[test]
    fn pitch_padding_is_skipped() {
        // 2x2 RGB with 8-byte pitch: 2 bytes of padding per row.
        let data = [1u8, 2, 3, 4, 5, 6, 99, 99, 7, 8, 9, 10, 11, 12];
        let frame = FrameView {
            format: PixelFormat::Rgb24,
            width: 2,
            height: 2,
            planes: [&data, &[], &[]],
            pitches: [8, 0, 0],
            matrix: ColorMatrix::Bt601,
            range: ColorRange::Limited,
        };
        assert_eq!(to_rgb8(&frame, EXACT).unwrap().data, vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    }

    #[test]
    fn short_planes_and_pitches_are_rejected() {
        let data = [0u8; 10];
        assert!(FrameView::packed(PixelFormat::Rgb24, 2, 2, &data).is_err());
        let frame = FrameView {
            format: PixelFormat::Rgb24,
            width: 4,
            height: 1,
            planes: [&data, &[], &[]],
            pitches: [10, 0, 0],
            matrix: ColorMatrix::Bt601,
            range: ColorRange::Limited,
        };
        let message = frame.validate().unwrap_err().to_string();
        assert!(message.contains("pitch"), "{message}");
    }
}
