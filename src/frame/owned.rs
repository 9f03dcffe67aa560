//! A host frame copied out of the caller's memory, for work that outlives the call that handed the
//! frame over (a non-blocking session's worker).

use super::{try_buffer, FrameView};
use crate::error::Result;

/// The planes of a [`FrameView`] copied into one buffer, rows packed (pitch = row bytes).
#[derive(Clone, Debug)]
pub struct OwnedFrame {
    template: FrameView<'static>,
    data: Vec<u8>,
    /// Byte offset of each plane in `data`.
    offsets: [usize; 3],
}

impl OwnedFrame {
    /// Copies `view`'s visible rows; [`crate::Error::OutOfMemory`] when the copy cannot be
    /// allocated.
    pub fn copy_of(view: &FrameView<'_>) -> Result<OwnedFrame> {
        view.validate()?;
        let (w, h) = (view.width as usize, view.height as usize);
        let planes = view.format.plane_count();
        let extents: Vec<(usize, usize)> = (0..planes).map(|i| view.format.plane_extent(i, w, h)).collect();
        let total = extents.iter().map(|(row, rows)| row * rows).sum();
        let mut data = try_buffer(total, 0u8, "a copy of the frame")?;
        let mut offsets = [0usize; 3];
        let mut pitches = [0usize; 3];
        let mut at = 0;
        for (i, &(row_bytes, rows)) in extents.iter().enumerate() {
            offsets[i] = at;
            pitches[i] = row_bytes;
            for y in 0..rows {
                data[at..at + row_bytes].copy_from_slice(view.row(i, y));
                at += row_bytes;
            }
        }
        let template = FrameView { planes: [&[], &[], &[]], pitches, ..*view };
        Ok(OwnedFrame { template, data, offsets })
    }

    /// The copy, described as a frame again.
    pub fn view(&self) -> FrameView<'_> {
        let plane_count = self.template.format.plane_count();
        let mut planes: [&[u8]; 3] = [&[], &[], &[]];
        for (i, plane) in planes.iter_mut().enumerate().take(plane_count) {
            let end = if i + 1 < plane_count { self.offsets[i + 1] } else { self.data.len() };
            *plane = &self.data[self.offsets[i]..end];
        }
        FrameView { planes, ..self.template }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::PixelFormat;

    #[test]
    fn a_copy_drops_the_padding_and_keeps_every_visible_byte() {
        // 3x3 I420 with padded pitches: Y pitch 5, chroma (2 wide) pitch 4.
        let y: Vec<u8> = (0..15).collect();
        let u: Vec<u8> = (100..108).collect();
        let v: Vec<u8> = (200..208).collect();
        let view = FrameView {
            format: PixelFormat::I420,
            width: 3,
            height: 3,
            planes: [&y, &u, &v],
            pitches: [5, 4, 4],
            matrix: Default::default(),
            range: Default::default(),
        };
        let copy = OwnedFrame::copy_of(&view).unwrap();
        let copied = copy.view();
        assert_eq!(copied.pitches, [3, 2, 2]);
        for plane in 0..3 {
            let rows = if plane == 0 { 3 } else { 2 };
            for row in 0..rows {
                assert_eq!(copied.row(plane, row), view.row(plane, row), "plane {plane} row {row}");
            }
        }
        copied.validate().unwrap();
    }
}
