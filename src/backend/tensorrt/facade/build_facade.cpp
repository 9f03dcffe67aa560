#include "vsrqa/src/backend/tensorrt/facade/build_facade.h"

#include <dlfcn.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "NvInfer.h"
#include "NvOnnxParser.h"
#include "vsrqa/src/backend/tensorrt/facade/logger.h"
#include "vsrqa/src/backend/tensorrt/builder.rs.h"

namespace vsrqa {
namespace trt {
namespace {

// The handle is never closed: TensorRT keeps process-wide state (loggers, registries) that must
// outlive every object it created, and vsrqa's Rust side keeps the same library loaded.
void* open_library(std::string const& path) {
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    char const* reason = dlerror();
    throw std::runtime_error("cannot open " + path + ": " + (reason ? reason : "unknown error"));
  }
  return handle;
}

template <typename Function>
Function find_symbol(void* library, char const* name, std::string const& path) {
  void* symbol = dlsym(library, name);
  if (symbol == nullptr) throw std::runtime_error(path + " has no " + name);
  return reinterpret_cast<Function>(symbol);
}

nvinfer1::Dims to_dims(rust::Vec<std::int64_t> const& shape) {
  nvinfer1::Dims dims{};
  if (shape.size() > static_cast<std::size_t>(nvinfer1::Dims::MAX_DIMS)) {
    throw std::runtime_error("a profile shape has more dimensions than TensorRT supports");
  }
  dims.nbDims = static_cast<std::int32_t>(shape.size());
  for (std::size_t i = 0; i < shape.size(); ++i) dims.d[i] = shape[i];
  return dims;
}

// The profile's shapes must fit the network's input: same rank, and equal wherever the network's
// dimension is fixed.
void check_profile(nvinfer1::Dims const& input, PlanRequest const& request) {
  for (auto const* shape : {&request.min_shape, &request.opt_shape, &request.max_shape}) {
    if (static_cast<std::int32_t>(shape->size()) != input.nbDims) {
      throw std::runtime_error("the profile's rank differs from the network input's");
    }
    for (std::int32_t i = 0; i < input.nbDims; ++i) {
      if (input.d[i] >= 0 && input.d[i] != (*shape)[i]) {
        throw std::runtime_error("the profile differs from the network input's fixed dimension " +
                                 std::to_string(i) + " (" + std::to_string(input.d[i]) + ")");
      }
    }
  }
}

}  // namespace

rust::Vec<std::uint8_t> build_serialized_plan(PlanRequest const& request) {
  std::string const library_path(request.library);
  std::string const parser_path(request.parser_library);
  std::string const onnx_path(request.onnx_path);
  void* library = open_library(library_path);
  void* parser_library = open_library(parser_path);
  auto create_builder =
      find_symbol<void* (*)(void*, std::int32_t)>(library, "createInferBuilder_INTERNAL", library_path);
  auto create_parser =
      find_symbol<void* (*)(void*, void*, int)>(parser_library, "createNvOnnxParser_INTERNAL", parser_path);

  // Declared first so that it outlives every TensorRT object below.
  ErrorLogger logger;
  std::unique_ptr<nvinfer1::IBuilder> builder(
      static_cast<nvinfer1::IBuilder*>(create_builder(&logger, NV_TENSORRT_VERSION)));
  if (!builder) {
    throw std::runtime_error(logger.take(library_path + " refused to create a builder for headers " +
                                                std::to_string(NV_TENSORRT_VERSION)));
  }
  // Strongly typed everywhere, so precision is the ONNX graph's on every release: TensorRT 11 and
  // TensorRT-RTX have no other kind (their flag is deprecated); TensorRT 10 must be asked.
#if NV_TENSORRT_MAJOR == 10
  nvinfer1::NetworkDefinitionCreationFlags const network_flags =
      1U << static_cast<std::uint32_t>(nvinfer1::NetworkDefinitionCreationFlag::kSTRONGLY_TYPED);
#else
  nvinfer1::NetworkDefinitionCreationFlags const network_flags = 0;
#endif
  std::unique_ptr<nvinfer1::INetworkDefinition> network(builder->createNetworkV2(network_flags));
  if (!network) throw std::runtime_error(logger.take("TensorRT could not create a network"));
  std::unique_ptr<nvonnxparser::IParser> parser(
      static_cast<nvonnxparser::IParser*>(create_parser(network.get(), &logger, NV_ONNX_PARSER_VERSION)));
  if (!parser) throw std::runtime_error(logger.take(parser_path + " refused to create an ONNX parser"));
  if (!parser->parseFromFile(onnx_path.c_str(), static_cast<int>(nvinfer1::ILogger::Severity::kERROR))) {
    std::string message = "TensorRT cannot parse " + onnx_path;
    for (int i = 0; i < parser->getNbErrors(); ++i) {
      message += i == 0 ? ": " : "; ";
      message += parser->getError(i)->desc();
    }
    throw std::runtime_error(message);
  }
  if (network->getNbInputs() != 1) {
    throw std::runtime_error(onnx_path + " has " + std::to_string(network->getNbInputs()) +
                             " inputs; exactly one is supported");
  }
  nvinfer1::ITensor* input = network->getInput(0);
  check_profile(input->getDimensions(), request);

  std::unique_ptr<nvinfer1::IBuilderConfig> config(builder->createBuilderConfig());
  if (!config) throw std::runtime_error(logger.take("TensorRT could not create a builder config"));
  config->setMemoryPoolLimit(nvinfer1::MemoryPoolType::kWORKSPACE, request.workspace_bytes);
  config->setBuilderOptimizationLevel(request.optimization_level);
  // fp32 means fp32: TF32 (on by default) rounds matrix inputs to 10-bit mantissas, about 1e-3
  // relative, and the CPU backends are the reference the GPU path is checked against.
  config->clearFlag(nvinfer1::BuilderFlag::kTF32);
  // Owned by the builder.
  nvinfer1::IOptimizationProfile* profile = builder->createOptimizationProfile();
  char const* name = input->getName();
  if (!profile->setDimensions(name, nvinfer1::OptProfileSelector::kMIN, to_dims(request.min_shape)) ||
      !profile->setDimensions(name, nvinfer1::OptProfileSelector::kOPT, to_dims(request.opt_shape)) ||
      !profile->setDimensions(name, nvinfer1::OptProfileSelector::kMAX, to_dims(request.max_shape)) ||
      config->addOptimizationProfile(profile) < 0) {
    throw std::runtime_error(logger.take("TensorRT refused the optimization profile"));
  }

  std::unique_ptr<nvinfer1::IHostMemory> plan(builder->buildSerializedNetwork(*network, *config));
  if (!plan || plan->size() == 0) {
    throw std::runtime_error(logger.take("TensorRT could not build an engine from " + onnx_path));
  }
  rust::Vec<std::uint8_t> bytes;
  bytes.reserve(plan->size());
  auto const* data = static_cast<std::uint8_t const*>(plan->data());
  for (std::size_t i = 0; i < plan->size(); ++i) bytes.push_back(data[i]);
  return bytes;
}

}  // namespace trt
}  // namespace vsrqa
