// vsrqa's preprocessing on the GPU, compiled at run time with NVRTC.
//
// Every kernel reproduces one step of the CPU path (src/frame, src/preprocess) with the
// same arithmetic: the integer resamplers bit for bit, the colour conversion through the same
// float64 tables (computed on the host by the CPU path's own code), the normalization in float32
// with the same operations in the same order (compiled with --fmad=false, so nothing is fused).
// The host computes every table (taps, weights, source offsets) with the CPU path's functions;
// the kernels only apply them.
//
// One thread per output element, no shared memory and no synchronization: the kernels are plain
// functions of their index, which is also what lets the test suite run this very file on the CPU
// (tests/gpu_kernels_emulated.rs) where there is no GPU.
//
// Images between steps are packed 8-bit RGB, rows of width * 3 bytes. Parameters come as one
// struct per kernel; tests/support and src/gpu/kernels.rs declare the same structs.

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef long long i64;

#define VSRQA_INDEX() ((u64)blockIdx.x * (u64)blockDim.x + (u64)threadIdx.x)

// ---------------------------------------------------------------------------------------------
// Frame -> packed RGB8 (frame/convert.rs).

// Formats: the codes of src/frame/format.rs (VsrqaPixelFormat), in its order (a unit test checks).
#define FORMAT_RGB24 1
#define FORMAT_BGR24 2
#define FORMAT_RGBA32 3
#define FORMAT_BGRA32 4
#define FORMAT_I420 10
#define FORMAT_NV12 11
#define FORMAT_I420_10LE 20
#define FORMAT_P010 21

struct ConvertParams {
    u64 planes[3];    // plane base addresses
    u64 pitches[3];   // bytes from one row to the next
    u64 tables;       // 5 x 1024 doubles: y, r_v, g_u, g_v, b_u (YuvTables), unused for RGB
    u64 out;          // width * height * 3 bytes
    u32 format;
    u32 width;
    u32 height;
    u32 pad;
};

__device__ u8 round_to_u8(double value) {
    // round_ties_even then clamp, as `to_u8` (rint rounds half to even in the default mode).
    double r = rint(value);
    return (u8)(r < 0.0 ? 0.0 : (r > 255.0 ? 255.0 : r));
}

// An int sum clamped to a byte, as the CPU path's `.clamp(0, 255) as u8`.
__device__ u8 clamp_u8(int value) { return (u8)(value < 0 ? 0 : (value > 255 ? 255 : value)); }

__device__ u16 load_le16(const u8 *row, u32 index) {
    return (u16)(row[2 * index] | (row[2 * index + 1] << 8));
}

extern "C" __global__ void convert_to_rgb8(const ConvertParams p) {
    u64 i = VSRQA_INDEX();
    if (i >= (u64)p.width * p.height) return;
    u32 x = (u32)(i % p.width), y = (u32)(i / p.width);
    u8 *out = (u8 *)p.out + i * 3;
    const u8 *row0 = (const u8 *)p.planes[0] + (u64)y * p.pitches[0];
    switch (p.format) {
    case FORMAT_RGB24: out[0] = row0[3 * x]; out[1] = row0[3 * x + 1]; out[2] = row0[3 * x + 2]; return;
    case FORMAT_BGR24: out[0] = row0[3 * x + 2]; out[1] = row0[3 * x + 1]; out[2] = row0[3 * x]; return;
    case FORMAT_RGBA32: out[0] = row0[4 * x]; out[1] = row0[4 * x + 1]; out[2] = row0[4 * x + 2]; return;
    case FORMAT_BGRA32: out[0] = row0[4 * x + 2]; out[1] = row0[4 * x + 1]; out[2] = row0[4 * x]; return;
    default: break;
    }
    const u8 *row1 = (const u8 *)p.planes[1] + (u64)(y / 2) * p.pitches[1];
    const u8 *row2 = (const u8 *)p.planes[2] + (u64)(y / 2) * p.pitches[2];
    u32 c = x / 2;
    u16 luma, u, v;
    switch (p.format) {
    case FORMAT_I420: luma = row0[x]; u = row1[c]; v = row2[c]; break;
    case FORMAT_NV12: luma = row0[x]; u = row1[2 * c]; v = row1[2 * c + 1]; break;
    case FORMAT_I420_10LE:
        luma = load_le16(row0, x) & 0x3ff; u = load_le16(row1, c) & 0x3ff; v = load_le16(row2, c) & 0x3ff;
        break;
    case FORMAT_P010:
        luma = load_le16(row0, x) >> 6; u = load_le16(row1, 2 * c) >> 6; v = load_le16(row1, 2 * c + 1) >> 6;
        break;
    default: return;  // refused on the host
    }
    const double *t = (const double *)p.tables;
    double yy = t[luma];
    out[0] = round_to_u8(yy + t[1024 + v]);
    out[1] = round_to_u8(yy - t[2048 + u] - t[3072 + v]);
    out[2] = round_to_u8(yy + t[4096 + u]);
}

// ---------------------------------------------------------------------------------------------
// OpenCV's 8-bit INTER_LINEAR (frame/opencv_linear.rs), one pass per output byte.

struct OpencvLinearParams {
    u64 in;
    u64 out;
    u64 columns;  // out_width x {i0, i1, w0, w1} (i32)
    u64 rows;     // out_height x {i0, i1, w0, w1}
    u32 in_width;
    u32 width;
    u32 height;
    u32 half_by_area;  // an exact 2x downscale: OpenCV's INTER_AREA, the rounded 2x2 mean
};

extern "C" __global__ void resize_opencv_linear(const OpencvLinearParams p) {
    u64 i = VSRQA_INDEX();
    u64 stride = (u64)p.width * 3;
    if (i >= stride * p.height) return;
    u32 y = (u32)(i / stride), x = (u32)(i % stride / 3), c = (u32)(i % 3);
    const u8 *in = (const u8 *)p.in;
    u64 in_stride = (u64)p.in_width * 3;
    if (p.half_by_area) {
        const u8 *top = in + (u64)(2 * y) * in_stride, *bottom = top + in_stride;
        int sum = top[(2 * x) * 3 + c] + top[(2 * x + 1) * 3 + c] + bottom[(2 * x) * 3 + c] + bottom[(2 * x + 1) * 3 + c];
        ((u8 *)p.out)[i] = (u8)((sum + 2) >> 2);
        return;
    }
    const int *column = (const int *)p.columns + 4 * x;
    const int *row = (const int *)p.rows + 4 * y;
    const u8 *upper = in + (u64)row[0] * in_stride, *lower = in + (u64)row[1] * in_stride;
    // The horizontal pass, exact in int, for the two source rows this output row reads.
    int a = upper[column[0] * 3 + c] * column[2] + upper[column[1] * 3 + c] * column[3];
    int b = lower[column[0] * 3 + c] * column[2] + lower[column[1] * 3 + c] * column[3];
    // OpenCV's SIMD vertical kernel: drop 4 bits, 16x16 -> high-16 multiply, round by 2 bits.
    int sum = (((a >> 4) * row[2]) >> 16) + (((b >> 4) * row[3]) >> 16);
    int value = (sum + 2) >> 2;
    ((u8 *)p.out)[i] = clamp_u8(value);
}

// ---------------------------------------------------------------------------------------------
// One pass of Pillow's 8-bit resampler (frame/pil_resample.rs): along x (horizontal) or y.

struct PilPassParams {
    u64 in;
    u64 out;
    u64 first;    // out_size first source indices (i32)
    u64 count;    // out_size tap counts (i32)
    u64 weights;  // out_size x ksize fixed-point weights (i32)
    u32 in_width;
    u32 width;        // output width (= in_width for a vertical pass)
    u32 height;       // output rows
    u32 ksize;
    u32 vertical;
    u32 row_offset;   // horizontal pass: output row r is source row r + row_offset;
                      // vertical pass: source row s is input row s - row_offset
};

#define PIL_PRECISION_BITS 22

extern "C" __global__ void resize_pil_pass(const PilPassParams p) {
    u64 i = VSRQA_INDEX();
    u64 stride = (u64)p.width * 3;
    if (i >= stride * p.height) return;
    u32 y = (u32)(i / stride), x = (u32)(i % stride / 3), c = (u32)(i % 3);
    const u8 *in = (const u8 *)p.in;
    u64 in_stride = (u64)p.in_width * 3;
    u32 index = p.vertical ? y : x;
    int first = ((const int *)p.first)[index];
    int count = ((const int *)p.count)[index];
    const int *weights = (const int *)p.weights + (u64)index * p.ksize;
    int sum = 1 << (PIL_PRECISION_BITS - 1);
    for (int k = 0; k < count; k++) {
        u8 v = p.vertical ? in[(u64)(first + k - (int)p.row_offset) * in_stride + (u64)x * 3 + c]
                          : in[(u64)(y + p.row_offset) * in_stride + (u64)(first + k) * 3 + c];
        sum += v * weights[k];
    }
    int value = sum >> PIL_PRECISION_BITS;
    ((u8 *)p.out)[i] = clamp_u8(value);
}

// ---------------------------------------------------------------------------------------------
// Crops, halves, expand-to-square, patches and FAST-VQA's fragments: every output byte is one
// source byte (or the fill), from per-row and per-byte-column source tables.

struct RemapParams {
    u64 in;
    u64 out;
    u64 rows;     // out height: source row, or -1 for the fill (i32)
    u64 columns;  // out width * 3: source byte within a row, or -1 for the fill (i32)
    u32 in_width;
    u32 width;
    u32 height;
    u8 fill[3];
    u8 pad;
};

extern "C" __global__ void remap_rgb8(const RemapParams p) {
    u64 i = VSRQA_INDEX();
    u64 stride = (u64)p.width * 3;
    if (i >= stride * p.height) return;
    u32 y = (u32)(i / stride), byte = (u32)(i % stride);
    int row = ((const int *)p.rows)[y], column = ((const int *)p.columns)[byte];
    ((u8 *)p.out)[i] = (row < 0 || column < 0)
                           ? p.fill[byte % 3]
                           : ((const u8 *)p.in)[(u64)row * p.in_width * 3 + (u64)column];
}

// ---------------------------------------------------------------------------------------------
// The final normalization (ops::normalize_into_chw): packed 8-bit RGB -> planar float32, written
// straight into the network's input buffer.

struct NormalizeParams {
    u64 in;
    u64 out;  // the image's first float in the network input
    u32 width;
    u32 height;
    float mean[3];
    float std[3];
    float range;
    u32 pad;
};

extern "C" __global__ void normalize_chw(const NormalizeParams p) {
    u64 i = VSRQA_INDEX();
    u64 plane = (u64)p.width * p.height;
    if (i >= plane * 3) return;
    u32 c = (u32)(i / plane);
    u64 pixel = i % plane;
    float v = (float)((const u8 *)p.in)[pixel * 3 + c];
    float out = p.range == 255.0f ? (v - p.mean[c]) / p.std[c] : (v / 255.0f - p.mean[c]) / p.std[c];
    ((float *)p.out)[i] = out;
}
