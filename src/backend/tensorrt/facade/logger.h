// The logger both TensorRT facades give TensorRT: it keeps the error messages, which the facade
// appends to the exception that reports a failure.
#pragma once
#include <string>

#include "NvInfer.h"

namespace vsrqa {
namespace trt {

class ErrorLogger : public nvinfer1::ILogger {
 public:
  void log(Severity severity, nvinfer1::AsciiChar const* message) noexcept override {
    if (severity > Severity::kERROR) return;
    try {
      errors_ += errors_.empty() ? "" : "; ";
      errors_ += message;
    } catch (...) {
      // Out of memory while logging: the message is lost, the call still reports failure.
    }
  }

  // Forgets what was logged (a failure that was handled, not reported).
  void clear() { errors_.clear(); }

  // `message` plus what TensorRT logged since the last call.
  std::string take(std::string message) {
    if (!errors_.empty()) message += " (TensorRT: " + errors_ + ")";
    errors_.clear();
    return message;
  }

 private:
  std::string errors_;
};

}  // namespace trt
}  // namespace vsrqa
