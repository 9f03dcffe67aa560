//! FAST-VQA's spatial fragments (`get_spatial_fragments` in FAST-VQA's `fusion_datasets.py`):
//! a `grid` x `grid` mosaic of `size` x `size` cells, cell `(i, j)` copied from grid cell `(i, j)`
//! of the frame at a fixed offset.
//!
//! The reference draws each cell's offset at random (`torch.randint`, unseeded) inside the room
//! the grid cell leaves (`H / grid - size` rows); vsrqa takes the middle of that room, so a frame
//! always gives the same fragments (tools/vsrqa_ref/fastvqa.py; tools/fixtures/check_fastvqa.py
//! checks the reference's own function with these offsets against ours).
//!
//! Frames smaller than the mosaic are first enlarged as the reference does it, in float32:
//! `interpolate(v / 255, scale_factor = 1 / ratio, mode = "bilinear") * 255`, truncated to 8 bits;
//! the cell positions still come from the original size (the reference computes them before
//! enlarging).

use super::ops::FloatImage;

/// The mosaic of an 8-bit RGB image held as integer-valued floats; `None` when a value is not a
/// byte.
pub fn fragments(image: &FloatImage, grid: usize, size: usize) -> Option<FloatImage> {
    Some(fragments_of_bytes(&image.to_bytes()?, image.width, image.height, grid, size))
}

/// The mosaic of packed 8-bit RGB (`width * height * 3` bytes).
pub fn fragments_of_bytes(pixels: &[u8], width: usize, height: usize, grid: usize, size: usize) -> FloatImage {
    let mosaic = grid * size;
    let ratio = f64::min(height as f64 / mosaic as f64, width as f64 / mosaic as f64);
    let enlarged;
    let (source, source_width): (&[u8], usize) = if ratio < 1.0 {
        let (data, w) = enlarge_like_torch(pixels, width, height, 1.0 / ratio);
        enlarged = data;
        (&enlarged, w)
    } else {
        (pixels, width)
    };
    let source_height = source.len() / (source_width * 3);
    let (rows, columns) = source_tables(width, height, source_width, source_height, grid, size);
    let mut data = Vec::with_capacity(mosaic * mosaic * 3);
    for &row in &rows {
        let source_row = &source[row * source_width * 3..];
        data.extend(columns.iter().map(|&column| f32::from(source_row[column])));
    }
    FloatImage { width: mosaic, height: mosaic, data }
}

/// Where each mosaic byte comes from: the source row of every mosaic row and the byte within a
/// source row of every mosaic byte column (cells at their grid positions in the `width x height`
/// frame, read from the `source_width x source_height` image, which is the frame or its
/// enlargement; clamped at the edges byte by byte, as the reference's slicing does).
pub(crate) fn source_tables(
    width: usize,
    height: usize,
    source_width: usize,
    source_height: usize,
    grid: usize,
    size: usize,
) -> (Vec<usize>, Vec<usize>) {
    let cell_origin = |extent: usize, i: usize| (extent / grid * i).min(extent.saturating_sub(size));
    let (offset_y, offset_x) = (middle_offset(height / grid, size), middle_offset(width / grid, size));
    let rows = (0..grid)
        .flat_map(|i| (0..size).map(move |y| (cell_origin(height, i) + offset_y + y).min(source_height - 1)))
        .collect();
    let columns = (0..grid)
        .flat_map(|j| {
            (0..size * 3).map(move |x| ((cell_origin(width, j) + offset_x) * 3 + x).min(source_width * 3 - 1))
        })
        .collect();
    (rows, columns)
}

/// vsrqa's offset where the reference draws `randint(room - used)`: the middle of the room.
fn middle_offset(room: usize, used: usize) -> usize {
    if room > used {
        (room - used) / 2
    } else {
        0
    }
}

/// torch's CPU `interpolate(x, scale_factor=s, mode="bilinear", align_corners=False)` on `v / 255`
/// in float32, times 255, truncated to u8 (`type_as` a uint8 tensor). Returns (data, width).
fn enlarge_like_torch(pixels: &[u8], width: usize, height: usize, scale: f64) -> (Vec<u8>, usize) {
    let out_width = (width as f64 * scale).floor() as usize;
    let out_height = (height as f64 * scale).floor() as usize;
    let columns = linear_taps(width, out_width, scale);
    let rows = linear_taps(height, out_height, scale);
    let unit: Vec<f32> = pixels.iter().map(|&v| f32::from(v) / 255.0).collect();
    let stride = width * 3;
    let mut out = Vec::with_capacity(out_width * out_height * 3);
    for row in &rows {
        let (upper, lower) = (&unit[row.i0 * stride..][..stride], &unit[row.i1 * stride..][..stride]);
        for column in &columns {
            for c in 0..3 {
                let (a, b) = (column.i0 * 3 + c, column.i1 * 3 + c);
                // torch's `Interpolate<2>` as its AVX2 build computes `t0 * w0 + t1 * w1`: the
                // second product rounded, then a fused multiply-add of the first; the rows across
                // first, then down. Bit-identical to torch 2.x on x86-64 (tests/parity_fastvqa.rs).
                let top = upper[a].mul_add(column.w0, upper[b] * column.w1);
                let bottom = lower[a].mul_add(column.w0, lower[b] * column.w1);
                let value = top.mul_add(row.w0, bottom * row.w1) * 255.0;
                out.push(value as u8); // truncation toward zero (values are >= 0), saturating
            }
        }
    }
    (out, out_width)
}

struct Tap {
    i0: usize,
    i1: usize,
    w0: f32,
    w1: f32,
}

/// torch's `compute_indices_weights_linear` with a given scale factor: the source position
/// `(1 / scale) * (dst + 0.5) - 0.5` in float32, clamped at 0.
fn linear_taps(input: usize, output: usize, scale: f64) -> Vec<Tap> {
    let inverse = (1.0 / scale) as f32;
    (0..output)
        .map(|dst| {
            let position = (inverse * (dst as f32 + 0.5) - 0.5).max(0.0);
            let i0 = (position as usize).min(input - 1);
            let w1 = (position - i0 as f32).clamp(0.0, 1.0);
            let i1 = if i0 < input - 1 { i0 + 1 } else { i0 };
            Tap { i0, i1, w0: 1.0 - w1, w1 }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(width: usize, height: usize) -> FloatImage {
        let data = (0..height).flat_map(|y| (0..width).flat_map(move |x| [x as f32, y as f32, 0.0])).collect();
        FloatImage { width, height, data }
    }

    #[test]
    fn cells_come_from_the_middle_of_their_grid_cell() {
        // 250 / 2 = 125 per grid cell, 32 used: offset (125 - 32) / 2 = 46. Cell 1 starts at 125.
        let image = numbered(250, 250);
        let out = fragments(&image, 2, 32).unwrap();
        assert_eq!((out.width, out.height), (64, 64));
        let at = |x: usize, y: usize| (out.data[(y * 64 + x) * 3], out.data[(y * 64 + x) * 3 + 1]);
        assert_eq!(at(0, 0), (46.0, 46.0));
        assert_eq!(at(32, 0), (125.0 + 46.0, 46.0));
        assert_eq!(at(63, 63), (125.0 + 46.0 + 31.0, 125.0 + 46.0 + 31.0));
    }

    #[test]
    fn small_frames_are_enlarged_but_keep_their_grid() {
        // 40 x 50 with a 64 mosaic: ratio min(50/64, 40/64) = 0.625, enlarged to 64 x 80. Cells
        // still start at min(40 / 2 * j, 40 - 32) = 0 and 8 (columns), 0 and 18 (rows).
        let image = FloatImage { width: 40, height: 50, data: vec![200.0; 40 * 50 * 3] };
        let out = fragments(&image, 2, 32).unwrap();
        assert_eq!((out.width, out.height), (64, 64));
        // A flat image stays flat up to the truncation of (200 / 255) * 255 in float32.
        assert!(out.data.iter().all(|&v| v == 200.0 || v == 199.0), "{:?}", &out.data[..6]);
    }
}
