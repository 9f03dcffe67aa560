// The preprocessing kernels (src/gpu/kernels/preprocess.cu) compiled for the CPU, for
// tests/gpu_kernels_emulated.rs: CUDA's few keywords and thread indices are defined here, and each
// kernel gets a launcher that runs every thread of its grid in turn. The kernels use no shared
// memory and no synchronization (one thread per output element), so running the threads one
// after another computes exactly what the GPU computes, operation for operation.
//
// Build: c++ -std=c++17 -O2 -ffp-contract=off -shared -fPIC (no fused multiply-adds, as NVRTC's
// --fmad=false).

#include <cmath>
#include <cstddef>

struct Dim3 {
    unsigned x, y, z;
};
static thread_local Dim3 blockIdx, threadIdx, blockDim;

#define __global__
#define __device__ static inline
using std::rint;

#include "../../src/gpu/kernels/preprocess.cu"

#define EMULATE(kernel, Params)                                                                  \
    extern "C" void vsrqa_emulate_##kernel(const void *params, unsigned blocks, unsigned threads) { \
        blockDim = Dim3{threads, 1, 1};                                                          \
        for (unsigned b = 0; b < blocks; b++) {                                                  \
            blockIdx = Dim3{b, 0, 0};                                                            \
            for (unsigned t = 0; t < threads; t++) {                                             \
                threadIdx = Dim3{t, 0, 0};                                                       \
                kernel(*static_cast<const Params *>(params));                                    \
            }                                                                                    \
        }                                                                                        \
    }                                                                                            \
    extern "C" size_t vsrqa_sizeof_##kernel(void) { return sizeof(Params); }

EMULATE(convert_to_rgb8, ConvertParams)
EMULATE(resize_opencv_linear, OpencvLinearParams)
EMULATE(resize_pil_pass, PilPassParams)
EMULATE(remap_rgb8, RemapParams)
EMULATE(normalize_chw, NormalizeParams)
