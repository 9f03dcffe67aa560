//! The pixel formats vsrqa reads, one descriptor each: the one place a format's code, names, bit
//! depth and plane layout are written (as FFmpeg's `AVPixFmtDescriptor`). Everything else asks
//! here: frame validation and row access, the C API's codes (checked against include/vsrqa.h),
//! the GPU kernel's `FORMAT_*` defines (checked against kernels/preprocess.cu), raw-file and
//! Python names, rotation, the CLI's luma metrics. A new format adds a row to [`DESCRIPTORS`], its
//! conversion (frame/convert.rs), its GPU kernel case, and a foreign name where one exists
//! (FFmpeg's, GStreamer's caps); CONTRIBUTING.md lists the steps.

/// A pixel format of a frame handed to vsrqa.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PixelFormat {
    Rgb24,
    Bgr24,
    Rgba32,
    Bgra32,
    /// Planar 4:2:0, 8 bits: Y, U, V planes.
    I420,
    /// Semi-planar 4:2:0, 8 bits: Y plane, interleaved UV plane.
    Nv12,
    /// Planar 4:2:0, 10 bits in the low bits of little-endian 16-bit words.
    I420_10Le,
    /// Semi-planar 4:2:0, 10 bits in the high bits of little-endian 16-bit words.
    P010,
}

/// What a format's samples mean.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ColorModel {
    /// One packed plane of RGB pixels. `order` gives the byte offsets of red, green and blue in a
    /// pixel; any further byte (alpha or padding) is ignored.
    Rgb { order: [usize; 3] },
    /// Y'CbCr: plane 0 is luma, then the chroma planes (Cb, Cr; interleaved when one plane holds
    /// both), subsampled by [`PixelFormatDescriptor::log2_chroma`].
    Yuv,
}

/// One plane of a format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plane {
    /// Samples stored per pixel of this plane (3 for packed RGB, 2 for interleaved chroma).
    pub samples: usize,
    /// Whether the plane is a chroma plane, subsampled as the format's `log2_chroma` says.
    pub chroma: bool,
}

/// Everything vsrqa needs to know about a pixel format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PixelFormatDescriptor {
    pub format: PixelFormat,
    /// The C API's `VSRQA_PIXEL_FORMAT_*` value, which the GPU kernel's `FORMAT_*` uses too.
    pub code: u32,
    /// The suffix of those constants' names: `VSRQA_PIXEL_FORMAT_<abi_name>`, `FORMAT_<abi_name>`.
    pub abi_name: &'static str,
    /// FFmpeg's name, which raw files, Python and messages use.
    pub name: &'static str,
    /// Further names accepted for the format (raw files, Python).
    pub aliases: &'static [&'static str],
    /// Significant bits per sample.
    pub bits: u32,
    /// Bytes a sample is stored in: 1, or 2 as a little-endian word.
    pub sample_bytes: usize,
    /// Right shift that moves a word's significant bits to the bottom (P010 keeps them high).
    pub sample_shift: u32,
    pub model: ColorModel,
    /// log2 of the chroma subsampling, horizontally and vertically (FFmpeg's `log2_chroma_w/h`).
    pub log2_chroma: (u32, u32),
    pub planes: &'static [Plane],
}

const PACKED3: &[Plane] = &[Plane { samples: 3, chroma: false }];
const PACKED4: &[Plane] = &[Plane { samples: 4, chroma: false }];
const PLANAR: &[Plane] =
    &[Plane { samples: 1, chroma: false }, Plane { samples: 1, chroma: true }, Plane { samples: 1, chroma: true }];
const SEMI_PLANAR: &[Plane] = &[Plane { samples: 1, chroma: false }, Plane { samples: 2, chroma: true }];

/// A format's identity and planes, with 8-bit samples in bytes and no subsampling; the
/// constructors below set what differs.
const fn format(
    format: PixelFormat,
    code: u32,
    abi_name: &'static str,
    name: &'static str,
    model: ColorModel,
    planes: &'static [Plane],
) -> PixelFormatDescriptor {
    PixelFormatDescriptor {
        format,
        code,
        abi_name,
        name,
        aliases: &[],
        bits: 8,
        sample_bytes: 1,
        sample_shift: 0,
        model,
        log2_chroma: (0, 0),
        planes,
    }
}

/// Packed 8-bit RGB: red, green and blue at byte offsets `order` of each pixel of `planes`.
const fn rgb(
    format: PixelFormat,
    code: u32,
    abi_name: &'static str,
    name: &'static str,
    order: [usize; 3],
    planes: &'static [Plane],
) -> PixelFormatDescriptor {
    self::format(format, code, abi_name, name, ColorModel::Rgb { order }, planes)
}

/// 4:2:0 Y'CbCr at `bits`: 8 in bytes, more in 16-bit words shifted left by `sample_shift`.
#[allow(clippy::too_many_arguments)]
const fn yuv420(
    format: PixelFormat,
    code: u32,
    abi_name: &'static str,
    name: &'static str,
    aliases: &'static [&'static str],
    bits: u32,
    sample_shift: u32,
    planes: &'static [Plane],
) -> PixelFormatDescriptor {
    PixelFormatDescriptor {
        aliases,
        bits,
        sample_bytes: if bits > 8 { 2 } else { 1 },
        sample_shift,
        log2_chroma: (1, 1),
        ..self::format(format, code, abi_name, name, ColorModel::Yuv, planes)
    }
}

/// Every format, in the C API's code order, which is also [`PixelFormat`]'s (the lookup
/// indexes by it; a test checks).
pub const DESCRIPTORS: [PixelFormatDescriptor; 8] = [
    rgb(PixelFormat::Rgb24, 1, "RGB24", "rgb24", [0, 1, 2], PACKED3),
    rgb(PixelFormat::Bgr24, 2, "BGR24", "bgr24", [2, 1, 0], PACKED3),
    rgb(PixelFormat::Rgba32, 3, "RGBA32", "rgba", [0, 1, 2], PACKED4),
    rgb(PixelFormat::Bgra32, 4, "BGRA32", "bgra", [2, 1, 0], PACKED4),
    yuv420(PixelFormat::I420, 10, "I420", "yuv420p", &["i420"], 8, 0, PLANAR),
    yuv420(PixelFormat::Nv12, 11, "NV12", "nv12", &[], 8, 0, SEMI_PLANAR),
    yuv420(PixelFormat::I420_10Le, 20, "I420_10LE", "yuv420p10le", &[], 10, 0, PLANAR),
    yuv420(PixelFormat::P010, 21, "P010", "p010le", &["p010"], 10, 6, SEMI_PLANAR),
];

impl PixelFormat {
    /// Every format, in the C API's code order.
    pub const ALL: [PixelFormat; DESCRIPTORS.len()] = {
        let mut all = [PixelFormat::Rgb24; DESCRIPTORS.len()];
        let mut i = 0;
        while i < all.len() {
            all[i] = DESCRIPTORS[i].format;
            i += 1;
        }
        all
    };

    pub fn descriptor(self) -> &'static PixelFormatDescriptor {
        // Rows are in the enum's order (descriptors_are_consistent): a lookup on per-row and
        // per-sample paths costs an index, not a search.
        &DESCRIPTORS[self as usize]
    }

    /// The format with C API code `code`.
    pub fn from_code(code: u32) -> Option<PixelFormat> {
        DESCRIPTORS.iter().find(|d| d.code == code).map(|d| d.format)
    }

    /// The format FFmpeg calls `name`, or one of its aliases.
    pub fn from_name(name: &str) -> Option<PixelFormat> {
        DESCRIPTORS.iter().find(|d| d.name == name || d.aliases.contains(&name)).map(|d| d.format)
    }

    /// FFmpeg's name.
    pub fn name(self) -> &'static str {
        self.descriptor().name
    }

    /// The names [`PixelFormat::from_name`] takes, for messages: "rgb24, bgr24, ..., p010le".
    pub fn names() -> String {
        DESCRIPTORS.iter().map(|d| d.name).collect::<Vec<_>>().join(", ")
    }

    /// Significant bits per sample.
    pub fn bits(self) -> u32 {
        self.descriptor().bits
    }

    pub fn is_rgb(self) -> bool {
        matches!(self.descriptor().model, ColorModel::Rgb { .. })
    }

    pub fn plane_count(self) -> usize {
        self.descriptor().planes.len()
    }

    /// Bytes of one pixel of plane `index` (what moves as a unit when the frame is rotated).
    pub fn pixel_bytes(self, index: usize) -> usize {
        let descriptor = self.descriptor();
        descriptor.planes.get(index).map_or(0, |plane| plane.samples * descriptor.sample_bytes)
    }

    /// (bytes per row, rows) of plane `index` for a `width x height` frame. Subsampled planes of
    /// odd-sized frames round up, as FFmpeg lays them out. (0, 0) for a plane the format lacks.
    pub fn plane_extent(self, index: usize, width: usize, height: usize) -> (usize, usize) {
        let descriptor = self.descriptor();
        let Some(plane) = descriptor.planes.get(index) else { return (0, 0) };
        let (log2_w, log2_h) = if plane.chroma { descriptor.log2_chroma } else { (0, 0) };
        let (w, h) = (width.div_ceil(1 << log2_w), height.div_ceil(1 << log2_h));
        (w * self.pixel_bytes(index), h)
    }

    /// Sample `index` of a row of a plane, its significant bits only (10-bit words masked or
    /// shifted down; other bits ignored).
    pub fn sample(self, row: &[u8], index: usize) -> u16 {
        let descriptor = self.descriptor();
        if descriptor.sample_bytes == 1 {
            u16::from(row[index])
        } else {
            let word = u16::from_le_bytes([row[2 * index], row[2 * index + 1]]);
            (word >> descriptor.sample_shift) & ((1u16 << descriptor.bits) - 1)
        }
    }
}

/// FFmpeg's name, as messages show it.
impl std::fmt::Display for PixelFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_are_consistent() {
        for (i, descriptor) in DESCRIPTORS.iter().enumerate() {
            let format = descriptor.format;
            assert_eq!(PixelFormat::ALL[i], format);
            assert_eq!(format.descriptor(), descriptor);
            assert_eq!(PixelFormat::from_code(descriptor.code), Some(format));
            assert_eq!(PixelFormat::from_name(descriptor.name), Some(format));
            for alias in descriptor.aliases {
                assert_eq!(PixelFormat::from_name(alias), Some(format), "{alias}");
            }
            assert!(PixelFormat::names().contains(descriptor.name));
            // Codes ascend; names and codes are unique.
            if i > 0 {
                assert!(DESCRIPTORS[i - 1].code < descriptor.code, "{format:?}");
            }
            let same_name =
                DESCRIPTORS.iter().filter(|d| d.name == descriptor.name || d.abi_name == descriptor.abi_name);
            assert_eq!(same_name.count(), 1, "{format:?}");
            // The significant bits fit the stored sample.
            assert!(descriptor.bits + descriptor.sample_shift <= 8 * descriptor.sample_bytes as u32, "{format:?}");
            match descriptor.model {
                ColorModel::Rgb { order } => {
                    assert_eq!(descriptor.planes.len(), 1);
                    assert!(order.iter().all(|&o| o < descriptor.planes[0].samples), "{format:?}");
                }
                ColorModel::Yuv => {
                    let samples: usize = descriptor.planes.iter().map(|p| p.samples).sum();
                    assert_eq!(samples, 3, "{format:?}: one luma and two chroma samples");
                    assert!(!descriptor.planes[0].chroma);
                }
            }
        }
        assert_eq!(PixelFormat::from_code(0), None);
        assert_eq!(PixelFormat::from_name("yuv422p"), None);
    }

    /// FFmpeg's layouts (av_image_fill_plane_sizes), for odd and even sizes.
    #[test]
    fn plane_extents_follow_ffmpeg() {
        let cases: [(PixelFormat, &[(usize, usize)]); 8] = [
            (PixelFormat::Rgb24, &[(15, 3)]),
            (PixelFormat::Bgr24, &[(15, 3)]),
            (PixelFormat::Rgba32, &[(20, 3)]),
            (PixelFormat::Bgra32, &[(20, 3)]),
            (PixelFormat::I420, &[(5, 3), (3, 2), (3, 2)]),
            (PixelFormat::Nv12, &[(5, 3), (6, 2)]),
            (PixelFormat::I420_10Le, &[(10, 3), (6, 2), (6, 2)]),
            (PixelFormat::P010, &[(10, 3), (12, 2)]),
        ];
        for (format, planes) in cases {
            assert_eq!(format.plane_count(), planes.len(), "{format:?}");
            for (i, &extent) in planes.iter().enumerate() {
                assert_eq!(format.plane_extent(i, 5, 3), extent, "{format:?} plane {i}");
            }
            assert_eq!(format.plane_extent(planes.len(), 5, 3), (0, 0));
        }
    }

    #[test]
    fn samples_keep_their_significant_bits() {
        let word = |v: u16| v.to_le_bytes();
        assert_eq!(PixelFormat::I420.sample(&[7, 200], 1), 200);
        // Low 10 bits: the high ones are ignored.
        assert_eq!(PixelFormat::I420_10Le.sample(&word(0xfc00 | 1000), 0), 1000);
        // High 10 bits: the low six are ignored.
        assert_eq!(PixelFormat::P010.sample(&[&word(0)[..], &word((1000 << 6) | 0x3f)].concat(), 1), 1000);
    }
}
