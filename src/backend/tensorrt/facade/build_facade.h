// The C++ side of vsrqa's TensorRT bridge (builder.rs): the few TensorRT calls vsrqa makes,
// behind plain functions. TensorRT's API is C++ virtual calls on objects from factory functions;
// the factories are looked up with dlsym in the library found at run time, so nothing from NVIDIA
// is linked at build time. Errors are C++ exceptions, which cxx turns into Rust `Err`s.
#pragma once
#include <cstdint>

#include "rust/cxx.h"

namespace vsrqa {
namespace trt {

struct PlanRequest;

// Parses the ONNX file and builds a serialized engine (plan) with one optimization profile.
rust::Vec<std::uint8_t> build_serialized_plan(PlanRequest const& request);

}  // namespace trt
}  // namespace vsrqa
