// The autocast state medfen needs and tch does not expose: the autocast dtype per
// device type (libtorch's CUDA default is float16, so bf16 must be asked for), and
// autocast on the CPU. Every function returns 0 on success and -1 when libtorch threw.
#include <ATen/autocast_mode.h>

namespace {

at::DeviceType device_of(int device) { return device == 1 ? at::kCUDA : at::kCPU; }

// medfen's dtype codes: 0 bfloat16, 1 float16, 2 float32, -1 anything else.
int code_of(at::ScalarType t) {
  switch (t) {
    case at::kBFloat16: return 0;
    case at::kHalf: return 1;
    case at::kFloat: return 2;
    default: return -1;
  }
}

at::ScalarType type_of(int code) {
  switch (code) {
    case 0: return at::kBFloat16;
    case 1: return at::kHalf;
    default: return at::kFloat;
  }
}

}  // namespace

extern "C" {

int medfen_autocast_state(int device, int* enabled, int* dtype) {
  try {
    *enabled = at::autocast::is_autocast_enabled(device_of(device)) ? 1 : 0;
    *dtype = code_of(at::autocast::get_autocast_dtype(device_of(device)));
    return 0;
  } catch (...) {
    return -1;
  }
}

int medfen_autocast_set(int device, int enabled, int dtype) {
  try {
    if (dtype >= 0) at::autocast::set_autocast_dtype(device_of(device), type_of(dtype));
    at::autocast::set_autocast_enabled(device_of(device), enabled != 0);
    return 0;
  } catch (...) {
    return -1;
  }
}

int medfen_autocast_enter() {
  try {
    at::autocast::increment_nesting();
    return 0;
  } catch (...) {
    return -1;
  }
}

int medfen_autocast_leave() {
  try {
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    return 0;
  } catch (...) {
    return -1;
  }
}

}  // extern "C"
