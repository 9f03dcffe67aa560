// The C++ side of vsrqa's TensorRT runtime bridge (runtime.rs): deserializing a plan and
// running it with memory and a stream that vsrqa (or its caller) owns. As for building
// (build_facade.h), the runtime factory comes from dlsym and errors are C++ exceptions.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "rust/cxx.h"

namespace nvinfer1 {
class IRuntime;
class ICudaEngine;
class IExecutionContext;
}  // namespace nvinfer1

namespace vsrqa {
namespace trt {

struct TensorInfo;
class RuntimeLogger;

// A deserialized engine with the runtime and logger it needs (destroyed in reverse order).
class Engine {
 public:
  Engine(std::unique_ptr<RuntimeLogger> logger, std::unique_ptr<nvinfer1::IRuntime> runtime);
  ~Engine();
  rust::Vec<TensorInfo> tensors() const;
  std::int64_t device_memory_size() const;

  std::unique_ptr<RuntimeLogger> logger_;
  std::unique_ptr<nvinfer1::IRuntime> runtime_;
  std::unique_ptr<nvinfer1::ICudaEngine> engine_;
};

// An execution context whose activation memory is the caller's (kUSER_MANAGED). On TensorRT-RTX,
// which compiles kernels for the GPU when a context is made and when it first meets a shape, the
// context also holds a runtime cache of those kernels (seeded from `runtime_cache`, serialized by
// `runtime_cache()`), and compiles shape-specialized kernels eagerly: the first run of a shape uses
// the same kernels as every later one, so a score does not depend on how warm the engine is. With
// `cuda_graphs`, TensorRT-RTX captures and replays whole-network CUDA graphs itself (TensorRT
// 10/11 have no such option: backend.rs captures enqueue there).
class Context {
 public:
  Context(Engine const& engine, rust::Slice<std::uint8_t const> runtime_cache, bool cuda_graphs);
  ~Context();
  // The runtime cache now (empty on TensorRT 10/11, which compile nothing at run time).
  rust::Vec<std::uint8_t> runtime_cache() const;
  void set_device_memory(std::uint64_t address, std::int64_t size);
  void set_input_shape(rust::Str name, rust::Slice<std::int64_t const> dims);
  void set_tensor_address(rust::Str name, std::uint64_t address);
  // Queues the network on `stream` (a CUstream, the same pointer as a cudaStream_t).
  void enqueue(std::uint64_t stream);

 private:
  Engine const& engine_;
  // TensorRT-RTX's runtime config and cache (types only its headers have; destroyed after the
  // context, which uses them).
  std::shared_ptr<void> runtime_config_;
  std::shared_ptr<void> runtime_cache_;
  std::unique_ptr<nvinfer1::IExecutionContext> context_;
};

std::unique_ptr<Engine> deserialize_engine(rust::Str library, rust::Slice<std::uint8_t const> plan);
std::unique_ptr<Context> create_context(Engine const& engine, rust::Slice<std::uint8_t const> runtime_cache,
                                        bool cuda_graphs);

}  // namespace trt
}  // namespace vsrqa
