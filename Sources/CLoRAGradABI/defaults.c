// The parts of the C ABI that are plain data: defaults of the argument structs, status names and
// the version string. The calls themselves are implemented in Swift (the LoRAGradC target).

#include "loragrad.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

const char *lgr_version(void) { return "1.1.0"; }

const char *lgr_status_name(int32_t status) {
  switch (status) {
    case LGR_OK: return "LGR_OK";
    case LGR_INVALID_ARGUMENT: return "LGR_INVALID_ARGUMENT";
    case LGR_UNSUPPORTED: return "LGR_UNSUPPORTED";
    case LGR_TOLERANCE_UNREACHABLE: return "LGR_TOLERANCE_UNREACHABLE";
    case LGR_OUT_OF_RANGE: return "LGR_OUT_OF_RANGE";
    case LGR_RESOURCE_EXHAUSTED: return "LGR_RESOURCE_EXHAUSTED";
    case LGR_INTERNAL: return "LGR_INTERNAL";
    default: return "LGR_UNKNOWN_STATUS";
  }
}

void lgr_layer_desc_init(lgr_layer_desc *desc) {
  if (desc == NULL) return;
  memset(desc, 0, sizeof *desc);
  desc->abi_version = LGR_ABI_VERSION;
  desc->heads = 1;
  desc->alpha = NAN;
  desc->beta = NAN;
}

void lgr_options_init(lgr_options *options) {
  if (options == NULL) return;
  memset(options, 0, sizeof *options);
  options->abi_version = LGR_ABI_VERSION;
  options->method = LGR_METHOD_EXACT;
  options->tolerance = 1e-3;
  options->backend = LGR_BACKEND_DISPATCH;
  const long cores = sysconf(_SC_NPROCESSORS_ONLN);
  options->threads = cores >= 1 && cores <= 4096 ? (int32_t)cores : 1;
  options->precision = LGR_PRECISION_FLOAT32;
}
