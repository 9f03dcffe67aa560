//! Preprocessing on the GPU: the branches' preprocessing (`branch`) as NVRTC kernels on frames in
//! device memory (`kernels`, with their CUDA source in kernels/preprocess.cu), planned from the
//! bundle's preprocess ops (`plan`) and run on a CUDA stream (`cuda_executor`). The CPU path is
//! the reference: the same kernel source, compiled for the CPU, is checked against it bit for
//! bit.

#[cfg(feature = "cuda")]
internal_mod!(cuda_executor);
internal_mod!(kernels);
internal_mod!(plan);
