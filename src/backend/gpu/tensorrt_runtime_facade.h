// The C++ side of vsrqa's TensorRT runtime bridge (tensorrt_runtime.rs): deserializing a plan and
// running it with memory and a stream that vsrqa (or its caller) owns. As for building
// (tensorrt_facade.h), the runtime factory comes from dlsym and errors are C++ exceptions.
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

// An execution context whose activation memory is the caller's (kUSER_MANAGED).
class Context {
 public:
  explicit Context(Engine const& engine);
  ~Context();
  void set_device_memory(std::uint64_t address, std::int64_t size);
  void set_input_shape(rust::Str name, rust::Slice<std::int64_t const> dims);
  void set_tensor_address(rust::Str name, std::uint64_t address);
  // Queues the network on `stream` (a CUstream, the same pointer as a cudaStream_t).
  void enqueue(std::uint64_t stream);

 private:
  Engine const& engine_;
  std::unique_ptr<nvinfer1::IExecutionContext> context_;
};

std::unique_ptr<Engine> deserialize_engine(rust::Str library, rust::Slice<std::uint8_t const> plan);
std::unique_ptr<Context> create_context(Engine const& engine);

}  // namespace trt
}  // namespace vsrqa
