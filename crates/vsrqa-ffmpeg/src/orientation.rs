//! Display rotation: a stream's display matrix (a phone's portrait video is stored landscape with
//! a 90° matrix) and turning decoded frames upright, as ffmpeg and players show them.
//!
//! The angle is FFmpeg's: `-round(av_display_rotation_get(matrix))`, normalized to 0..360, the
//! clockwise rotation that shows the picture upright (ffmpeg's `transpose=clock` for 90,
//! `hflip,vflip` for 180, `transpose=cclock` for 270). Other angles and mirrored matrices are not
//! applied: the frames are scored as stored and a note says so.
//!
//! The rotation is a lossless copy of each plane, element by element (a sample, an interleaved
//! chroma pair or a packed pixel), so the frames equal `ffmpeg -i FILE -f rawvideo`'s autorotated
//! output byte for byte. (libavfilter's transpose would do the same copy through a filter graph.)

use vsrqa::frame::FrameView;

/// A clockwise quarter-turn rotation that shows the picture upright.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rotation {
    Clockwise90,
    Half,
    Clockwise270,
}

impl Rotation {
    pub fn degrees(self) -> u32 {
        match self {
            Rotation::Clockwise90 => 90,
            Rotation::Half => 180,
            Rotation::Clockwise270 => 270,
        }
    }

    /// The displayed size of a `width x height` frame.
    pub fn displayed_size(self, width: u32, height: u32) -> (u32, u32) {
        match self {
            Rotation::Half => (width, height),
            Rotation::Clockwise90 | Rotation::Clockwise270 => (height, width),
        }
    }
}

/// What a display matrix asks for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Orientation {
    /// No matrix, or the identity.
    Upright,
    Rotate(Rotation),
    /// A matrix vsrqa does not apply: `degrees` clockwise (rounded), mirrored or not.
    Unsupported {
        degrees: f64,
        mirrored: bool,
    },
}

/// The orientation of a display matrix (9 values, 16.16 and 2.30 fixed point as FFmpeg stores
/// them), given FFmpeg's angle for it (`av_display_rotation_get`, counterclockwise degrees).
pub(super) fn orientation(matrix: &[i32; 9], counterclockwise: f64) -> Orientation {
    let (a, b, c, d) = (f64::from(matrix[0]), f64::from(matrix[1]), f64::from(matrix[3]), f64::from(matrix[4]));
    let mirrored = a * d - b * c < 0.0;
    if !counterclockwise.is_finite() {
        return Orientation::Unsupported { degrees: 0.0, mirrored };
    }
    let mut degrees = -counterclockwise.round();
    // FFmpeg's normalization (cmdutils' get_rotation): into [0, 360), with -0.9 rounding to 0.
    degrees -= 360.0 * (degrees / 360.0 + 0.9 / 360.0).floor();
    if mirrored {
        return Orientation::Unsupported { degrees, mirrored };
    }
    let near = |target: f64| (degrees - target).abs() < 1.0;
    if near(0.0) || near(360.0) {
        Orientation::Upright
    } else if near(90.0) {
        Orientation::Rotate(Rotation::Clockwise90)
    } else if near(180.0) {
        Orientation::Rotate(Rotation::Half)
    } else if near(270.0) {
        Orientation::Rotate(Rotation::Clockwise270)
    } else {
        Orientation::Unsupported { degrees, mirrored }
    }
}

/// The planes of `view` turned by `rotation` into `buffer` (reused between frames, rows packed),
/// and the rotated frame's view of it; `Err` when the buffer cannot be allocated.
pub(super) fn rotate<'a>(
    view: &FrameView<'_>,
    rotation: Rotation,
    buffer: &'a mut Vec<u8>,
) -> Result<FrameView<'a>, String> {
    let (width, height) = (view.width as usize, view.height as usize);
    let (out_width, out_height) = rotation.displayed_size(view.width, view.height);
    let plane_count = view.format.plane_count();
    let mut offsets = [0usize; 3];
    let mut pitches = [0usize; 3];
    let mut total = 0;
    for plane in 0..plane_count {
        let (row_bytes, rows) = view.format.plane_extent(plane, out_width as usize, out_height as usize);
        offsets[plane] = total;
        pitches[plane] = row_bytes;
        total += row_bytes * rows;
    }
    buffer.clear();
    buffer.try_reserve_exact(total).map_err(|_| format!("cannot allocate {total} bytes to rotate a frame"))?;
    buffer.resize(total, 0);
    for plane in 0..plane_count {
        let element = view.format.pixel_bytes(plane);
        let (in_row_bytes, in_rows) = view.format.plane_extent(plane, width, height);
        let in_columns = in_row_bytes / element;
        let out_pitch = pitches[plane];
        let out = &mut buffer[offsets[plane]..];
        for y in 0..in_rows {
            let row = view.row(plane, y);
            for x in 0..in_columns {
                // Where source element (x, y) lands once the picture is turned clockwise.
                let (out_x, out_y) = match rotation {
                    Rotation::Clockwise90 => (in_rows - 1 - y, x),
                    Rotation::Half => (in_columns - 1 - x, in_rows - 1 - y),
                    Rotation::Clockwise270 => (y, in_columns - 1 - x),
                };
                let at = out_y * out_pitch + out_x * element;
                out[at..at + element].copy_from_slice(&row[x * element..(x + 1) * element]);
            }
        }
    }
    let mut planes: [&[u8]; 3] = [&[], &[], &[]];
    let mut rest: &[u8] = buffer;
    for plane in (0..plane_count).rev() {
        let (head, tail) = rest.split_at(offsets[plane]);
        planes[plane] = tail;
        rest = head;
    }
    Ok(FrameView { planes, pitches, width: out_width, height: out_height, ..*view })
}

#[cfg(test)]
mod tests {
    use super::*;
    use vsrqa::frame::PixelFormat;

    const ONE: i32 = 1 << 16;

    #[test]
    fn matrices_map_to_ffmpeg_angles() {
        // FFmpeg writes `rotate=90` metadata as this matrix; av_display_rotation_get says 90
        // (counterclockwise) and ffmpeg shows it with transpose=cclock.
        let ccw90 = [0, -ONE, 0, ONE, 0, 0, 0, 0, 1 << 30];
        assert_eq!(orientation(&ccw90, 90.0), Orientation::Rotate(Rotation::Clockwise270));
        let cw90 = [0, ONE, 0, -ONE, 0, 0, 0, 0, 1 << 30];
        assert_eq!(orientation(&cw90, -90.0), Orientation::Rotate(Rotation::Clockwise90));
        let half = [-ONE, 0, 0, 0, -ONE, 0, 0, 0, 1 << 30];
        assert_eq!(orientation(&half, 180.0), Orientation::Rotate(Rotation::Half));
        let identity = [ONE, 0, 0, 0, ONE, 0, 0, 0, 1 << 30];
        assert_eq!(orientation(&identity, 0.0), Orientation::Upright);
        let mirror = [-ONE, 0, 0, 0, ONE, 0, 0, 0, 1 << 30];
        assert!(matches!(orientation(&mirror, 0.0), Orientation::Unsupported { mirrored: true, .. }));
        assert!(matches!(orientation(&identity, -37.0), Orientation::Unsupported { mirrored: false, .. }));
    }

    #[test]
    fn rotations_move_every_element() {
        // 3x2 RGB: pixel (x, y) holds [x, y, 9].
        let data: Vec<u8> = (0..2u8).flat_map(|y| (0..3u8).flat_map(move |x| [x, y, 9])).collect();
        let view = FrameView::packed(PixelFormat::Rgb24, 3, 2, &data).unwrap();
        let mut buffer = Vec::new();
        let cw = rotate(&view, Rotation::Clockwise90, &mut buffer).unwrap();
        assert_eq!((cw.width, cw.height), (2, 3));
        // Clockwise: the bottom-left source pixel (0, 1) becomes the top-left.
        assert_eq!(&cw.row(0, 0)[..6], &[0, 1, 9, 0, 0, 9]);
        assert_eq!(&cw.row(0, 2)[..6], &[2, 1, 9, 2, 0, 9]);
        let mut buffer = Vec::new();
        let half = rotate(&view, Rotation::Half, &mut buffer).unwrap();
        assert_eq!(&half.row(0, 0)[..3], &[2, 1, 9]);
        let mut buffer = Vec::new();
        let ccw = rotate(&view, Rotation::Clockwise270, &mut buffer).unwrap();
        assert_eq!(&ccw.row(0, 0)[..6], &[2, 0, 9, 2, 1, 9]);
        ccw.validate().unwrap();
    }

    #[test]
    fn odd_sized_i420_keeps_its_chroma() {
        // 3x5 I420: chroma planes are 2x3 and become 3x2.
        let (w, h) = (3u32, 5u32);
        let len: usize = (0..3).map(|p| PixelFormat::I420.plane_extent(p, 3, 5)).map(|(r, n)| r * n).sum();
        let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let view = FrameView::packed(PixelFormat::I420, w, h, &data).unwrap();
        let mut buffer = Vec::new();
        let turned = rotate(&view, Rotation::Clockwise90, &mut buffer).unwrap();
        assert_eq!((turned.width, turned.height), (5, 3));
        turned.validate().unwrap();
        // U plane: source (x, y) of a 2x3 plane lands at (2 - y, x) of a 3x2 plane.
        let u = |v: &FrameView<'_>, x: usize, y: usize| v.row(1, y)[x];
        assert_eq!(u(&turned, 2, 0), u(&view, 0, 0));
        assert_eq!(u(&turned, 0, 1), u(&view, 1, 2));
        let mut back = Vec::new();
        let restored = rotate(&turned, Rotation::Clockwise270, &mut back).unwrap();
        for plane in 0..3 {
            let (_, rows) = PixelFormat::I420.plane_extent(plane, 3, 5);
            for y in 0..rows {
                assert_eq!(restored.row(plane, y), view.row(plane, y));
            }
        }
    }
}
