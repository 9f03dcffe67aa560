#include "vsrqa/src/backend/tensorrt/facade/runtime_facade.h"

#include <dlfcn.h>

#include <stdexcept>

#include "NvInfer.h"
#include "vsrqa/src/backend/tensorrt/facade/logger.h"
#include "vsrqa/src/backend/tensorrt/runtime.rs.h"

namespace vsrqa {
namespace trt {

// One logger per engine: contexts log from enqueue on the caller's thread, and a context is used
// by one thread at a time (runtime.rs holds it behind a mutex).
class RuntimeLogger : public ErrorLogger {};

Engine::Engine(std::unique_ptr<RuntimeLogger> logger, std::unique_ptr<nvinfer1::IRuntime> runtime)
    : logger_(std::move(logger)), runtime_(std::move(runtime)) {}

Engine::~Engine() {
  engine_.reset();
  runtime_.reset();
}

rust::Vec<TensorInfo> Engine::tensors() const {
  rust::Vec<TensorInfo> tensors;
  for (std::int32_t i = 0; i < engine_->getNbIOTensors(); ++i) {
    char const* name = engine_->getIOTensorName(i);
    nvinfer1::Dims const dims = engine_->getTensorShape(name);
    TensorInfo info;
    info.name = rust::String(name);
    info.is_input = engine_->getTensorIOMode(name) == nvinfer1::TensorIOMode::kINPUT;
    info.is_float = engine_->getTensorDataType(name) == nvinfer1::DataType::kFLOAT;
    for (std::int32_t d = 0; d < dims.nbDims; ++d) info.dims.push_back(dims.d[d]);
    tensors.push_back(std::move(info));
  }
  return tensors;
}

std::int64_t Engine::device_memory_size() const { return engine_->getDeviceMemorySizeV2(); }

Context::Context(Engine const& engine, rust::Slice<std::uint8_t const> runtime_cache, bool cuda_graphs)
    : engine_(engine) {
#ifdef TRT_MAJOR_RTX
  auto* config = engine.engine_->createRuntimeConfig();
  if (config == nullptr) throw std::runtime_error(engine.logger_->take("TensorRT-RTX could not create a runtime config"));
  runtime_config_.reset(config, [](void* p) { delete static_cast<nvinfer1::IRuntimeConfig*>(p); });
  config->setExecutionContextAllocationStrategy(nvinfer1::ExecutionContextAllocationStrategy::kUSER_MANAGED);
  config->setDynamicShapesKernelSpecializationStrategy(nvinfer1::DynamicShapesKernelSpecializationStrategy::kEAGER);
  auto const graphs = cuda_graphs ? nvinfer1::CudaGraphStrategy::kWHOLE_GRAPH_CAPTURE : nvinfer1::CudaGraphStrategy::kDISABLED;
  if (!config->setCudaGraphStrategy(graphs)) {
    throw std::runtime_error(engine.logger_->take("TensorRT-RTX refused the CUDA graph strategy"));
  }
  auto* cache = config->createRuntimeCache();
  if (cache != nullptr) {
    runtime_cache_.reset(cache, [](void* p) { delete static_cast<nvinfer1::IRuntimeCache*>(p); });
    // A blob from another release, GPU or driver is refused and the cache stays empty; that is
    // not an error of what follows.
    if (!runtime_cache.empty() && !cache->deserialize(runtime_cache.data(), runtime_cache.size())) {
      engine.logger_->clear();
    }
    if (!config->setRuntimeCache(*cache)) runtime_cache_.reset();
  }
  context_.reset(engine.engine_->createExecutionContext(config));
#else
  (void)runtime_cache;
  (void)cuda_graphs;
  context_.reset(engine.engine_->createExecutionContext(nvinfer1::ExecutionContextAllocationStrategy::kUSER_MANAGED));
#endif
  if (!context_) throw std::runtime_error(engine.logger_->take("TensorRT could not create an execution context"));
}

Context::~Context() { context_.reset(); }

rust::Vec<std::uint8_t> Context::runtime_cache() const {
  rust::Vec<std::uint8_t> bytes;
#ifdef TRT_MAJOR_RTX
  if (!runtime_cache_) return bytes;
  std::unique_ptr<nvinfer1::IHostMemory> blob(static_cast<nvinfer1::IRuntimeCache*>(runtime_cache_.get())->serialize());
  if (!blob) throw std::runtime_error(engine_.logger_->take("TensorRT-RTX could not serialize its runtime cache"));
  auto const* data = static_cast<std::uint8_t const*>(blob->data());
  bytes.reserve(blob->size());
  for (std::size_t i = 0; i < blob->size(); ++i) bytes.push_back(data[i]);
#endif
  return bytes;
}

void Context::set_device_memory(std::uint64_t address, std::int64_t size) {
  context_->setDeviceMemoryV2(reinterpret_cast<void*>(address), size);
}

void Context::set_input_shape(rust::Str name, rust::Slice<std::int64_t const> dims) {
  std::string const tensor(name);
  nvinfer1::Dims shape{};
  if (dims.size() > static_cast<std::size_t>(nvinfer1::Dims::MAX_DIMS)) throw std::runtime_error("too many dimensions");
  shape.nbDims = static_cast<std::int32_t>(dims.size());
  for (std::size_t i = 0; i < dims.size(); ++i) shape.d[i] = dims[i];
  if (!context_->setInputShape(tensor.c_str(), shape)) {
    throw std::runtime_error(engine_.logger_->take("TensorRT refused the shape of input " + tensor));
  }
}

void Context::set_tensor_address(rust::Str name, std::uint64_t address) {
  std::string const tensor(name);
  if (!context_->setTensorAddress(tensor.c_str(), reinterpret_cast<void*>(address))) {
    throw std::runtime_error(engine_.logger_->take("TensorRT refused the address of tensor " + tensor));
  }
}

void Context::enqueue(std::uint64_t stream) {
  if (!context_->enqueueV3(reinterpret_cast<cudaStream_t>(stream))) {
    throw std::runtime_error(engine_.logger_->take("TensorRT could not enqueue the network"));
  }
}

std::unique_ptr<Engine> deserialize_engine(rust::Str library, rust::Slice<std::uint8_t const> plan) {
  std::string const path(library);
  // Never closed: TensorRT's process-wide state must outlive every object it made.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    char const* reason = dlerror();
    throw std::runtime_error("cannot open " + path + ": " + (reason ? reason : "unknown error"));
  }
  auto create_runtime =
      reinterpret_cast<void* (*)(void*, std::int32_t)>(dlsym(handle, "createInferRuntime_INTERNAL"));
  if (create_runtime == nullptr) throw std::runtime_error(path + " has no createInferRuntime_INTERNAL");
  auto logger = std::make_unique<RuntimeLogger>();
  std::unique_ptr<nvinfer1::IRuntime> runtime(
      static_cast<nvinfer1::IRuntime*>(create_runtime(logger.get(), NV_TENSORRT_VERSION)));
  if (!runtime) throw std::runtime_error(logger->take(path + " refused to create a runtime"));
  auto engine = std::make_unique<Engine>(std::move(logger), std::move(runtime));
  engine->engine_.reset(engine->runtime_->deserializeCudaEngine(plan.data(), plan.size()));
  if (!engine->engine_) throw std::runtime_error(engine->logger_->take("TensorRT could not deserialize the engine"));
  return engine;
}

std::unique_ptr<Context> create_context(Engine const& engine, rust::Slice<std::uint8_t const> runtime_cache,
                                        bool cuda_graphs) {
  return std::make_unique<Context>(engine, runtime_cache, cuda_graphs);
}

}  // namespace trt
}  // namespace vsrqa
