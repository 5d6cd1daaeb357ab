// LoRAGrad's C ABI: one LoRA-adapted softmax attention layer (SPEC §1.1, §7), forward and
// backward, from any language that can call C. Link against libLoRAGradC.so (the LoRAGradC
// product: `swift build -c release --product LoRAGradC`).
//
//   Q = X W_qᵀ + b_q, K = X W_kᵀ + b_k, V = X W_vᵀ + b_v,  W_μ = W*_μ + s·B_μ A_μ,
//   RoPE on Q and K (optional), per head Z_j = softmax(β Q_j K_jᵀ + mask) V_j,  Z = concat_j Z_j,
//   s = α/r (α/√r with rsLoRA), the mask hiding keys j > i (causal) and keys j ≥ ℓ_n (padding).
//
// Conventions:
// - Arrays are caller-owned, C-contiguous (row-major) float32; weights in PyTorch nn.Linear layout
//   [out, in]. The library reads them during the call and keeps no pointer to them afterwards
//   (a layer copies its weights once, when it is created).
// - Every function that can fail returns an lgr_status and, when `error` is not NULL, fills it with
//   the status and a NUL-terminated message naming the argument or tensor at fault. No Swift error,
//   trap or exit crosses this boundary for bad input: null pointers, bad shapes and values,
//   non-finite numbers and sizes whose byte counts overflow are reported as errors.
// - Thread safety: a layer is immutable once created; any number of threads may call forward,
//   backward and regime on the same layer at once, each with its own saved state. Its one mutable
//   part is an internal cache, the working buffers it keeps for its next calls (locked, shared with
//   the layers lgr_layer_with_adapters makes from it); lgr_layer_release_buffers may be called from
//   any thread, during calls too. Results are the same bits for every backend and thread count,
//   and the same bits as the Swift API.
// - Struct arguments carry `abi_version`; initialise them with lgr_layer_desc_init and
//   lgr_options_init, then set the fields you need.

#ifndef LORAGRAD_H
#define LORAGRAD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The version of the structs and functions in this header.
#define LGR_ABI_VERSION 1

/// The outcome of a call.
typedef enum lgr_status {
  LGR_OK = 0,
  /// A null pointer, a bad shape, size or value, or a non-finite input.
  LGR_INVALID_ARGUMENT = 1,
  /// An option this build cannot honour (reserved: no option of this version returns it).
  LGR_UNSUPPORTED = 2,
  /// Method poly: no polynomial within the memory budget meets the tolerance (use exact or auto).
  LGR_TOLERANCE_UNREACHABLE = 3,
  /// Finite inputs whose logits, weights or gradients would overflow float32.
  LGR_OUT_OF_RANGE = 4,
  /// A buffer the call needs is larger than this machine can give.
  LGR_RESOURCE_EXHAUSTED = 5,
  /// A failure inside the library (a bug: please report it with the message).
  LGR_INTERNAL = 6,
} lgr_status;

/// What went wrong: the status again and a message (UTF-8, NUL-terminated, cut at 1023 bytes).
typedef struct lgr_error {
  int32_t status;
  char message[1024];
} lgr_error;

/// The three projections, as indices into the per-projection arrays below.
enum { LGR_QUERY = 0, LGR_KEY = 1, LGR_VALUE = 2 };

/// A layer's weights and settings. Adapted projections μ have both lora_a[μ] and lora_b[μ];
/// the others have both NULL.
typedef struct lgr_layer_desc {
  uint32_t abi_version;     ///< LGR_ABI_VERSION
  int64_t width;            ///< D, the model width
  int64_t heads;            ///< H, a divisor of D; the head width is h = D/H
  int64_t lora_rank;        ///< r, shared by every adapted projection (ignored when none is adapted)
  const float *weights[3];  ///< W*_μ [D, D] ([out, in]), all three required
  const float *biases[3];   ///< b_μ [D], or NULL for no bias
  const float *lora_a[3];   ///< A_μ [r, D], or NULL when μ is not adapted
  const float *lora_b[3];   ///< B_μ [D, r], or NULL when μ is not adapted
  double alpha;             ///< α; NAN for the default α = r
  double beta;              ///< β, the logit scale; NAN for the default 1/√h
  double rope_theta;        ///< RoPE base θ (Hugging Face Llama rotate_half); 0 for no RoPE
  int32_t use_rslora;       ///< nonzero: s = α/√r instead of α/r
  int32_t causal;           ///< nonzero: query i sees only keys j ≤ i
} lgr_layer_desc;

/// How a call computes.
typedef enum lgr_method {
  LGR_METHOD_EXACT = 0,      ///< the exact tiled path (FlashAttention-2 style)
  LGR_METHOD_POLY = 1,       ///< the polynomial path at `tolerance`, or LGR_TOLERANCE_UNREACHABLE
  LGR_METHOD_AUTO = 2,       ///< poly where it meets `tolerance` and is predicted faster, else exact
  LGR_METHOD_REFERENCE = 3,  ///< the Float64 reference (materialises P; L ≤ 16384)
} lgr_method;

/// Which parallel backend runs the tiles.
typedef enum lgr_backend {
  LGR_BACKEND_DISPATCH = 0,  ///< DispatchQueue.concurrentPerform
  LGR_BACKEND_OPENMP = 1,    ///< OpenMP (libomp)
  LGR_BACKEND_SERIAL = 2,    ///< the calling thread only
} lgr_backend;

/// The arithmetic of the exact path's products.
typedef enum lgr_precision {
  LGR_PRECISION_FLOAT32 = 0,
  LGR_PRECISION_BFLOAT16 = 1,  ///< bf16 products, fp32 accumulation (LGR_METHOD_EXACT only; SPEC §2.1)
} lgr_precision;

/// Per-call options; a NULL `options` argument means the defaults of lgr_options_init.
typedef struct lgr_options {
  uint32_t abi_version;  ///< LGR_ABI_VERSION
  int32_t method;        ///< an lgr_method (default exact)
  double tolerance;      ///< ε for poly and auto: the bound on P̃'s entrywise relative error (default 1e-3)
  int32_t backend;       ///< an lgr_backend (default dispatch)
  int32_t threads;       ///< worker threads ≥ 1 (default: the online cores); serial uses 1
  int32_t precision;     ///< an lgr_precision (default float32)
} lgr_options;

/// A created layer (opaque).
typedef struct lgr_layer lgr_layer;
/// What forward saves for backward: Z, the log-sum-exp, the path taken (opaque).
typedef struct lgr_saved lgr_saved;

/// The library's version, e.g. "1.1.0" (1.1.0 added lgr_layer_with_adapters and lgr_layer_release_buffers).
const char *lgr_version(void);
/// The name of a status, e.g. "LGR_INVALID_ARGUMENT".
const char *lgr_status_name(int32_t status);
/// Sets every field of `desc` to its default (abi_version, α and β NAN, no RoPE, nothing else set).
void lgr_layer_desc_init(lgr_layer_desc *desc);
/// Sets every field of `options` to its default (exact, ε = 1e-3, dispatch, the online cores, float32).
void lgr_options_init(lgr_options *options);

/// Validates `desc` and creates a layer in *layer (copies the weights; W_μ formed once).
lgr_status lgr_layer_create(const lgr_layer_desc *desc, lgr_layer **layer, lgr_error *error);
/// Frees a layer (NULL is ignored). Every call on it must have returned.
void lgr_layer_destroy(lgr_layer *layer);
/// A new layer in *out: `layer` with A_μ = lora_a[μ] [r, D] and B_μ = lora_b[μ] [D, r] for the
/// projections `layer` adapts, at its rank r (NULL entries for the others), e.g. after an optimiser
/// step. The frozen weights, biases and settings are shared, not copied or checked again; W_μ is
/// formed anew for the adapted projections; and the working buffers a layer keeps from its last
/// calls are shared: a training loop that makes each step's layer this way takes no fresh working
/// buffers for its calls after its first step. `layer` stays valid, and so do its saved states
/// (free each layer with lgr_layer_destroy). From C, arrays held as `float *a[3]` are passed with a
/// cast: `(const float *const *)a`.
lgr_status lgr_layer_with_adapters(const lgr_layer *layer, const float *const lora_a[3], const float *const lora_b[3],
                                   lgr_layer **out, lgr_error *error);
/// Frees the working buffers `layer` (and every layer sharing them) keeps for its next calls. They
/// are about its last two calls' worth (more while calls overlap on several threads), held until
/// then or until the last layer sharing them and its saved states are freed; buffers a saved state
/// still holds join them when it is freed, so free saved states first (NULL is ignored).
void lgr_layer_release_buffers(const lgr_layer *layer);

/// Z [N, L, D] and, when `lse` is not NULL, the per-row log-sum-exp [N, H, L] for X [N, L, D];
/// `key_lengths` (NULL: all keys visible) gives ℓ_n ∈ 1…L per sequence. When `saved` is not NULL
/// it receives the state `lgr_backward` needs (free it with lgr_saved_destroy).
lgr_status lgr_forward(const lgr_layer *layer, const float *x, int64_t sequences, int64_t length,
                       const int64_t *key_lengths, const lgr_options *options, float *z, float *lse,
                       lgr_saved **saved, lgr_error *error);

/// From dZ = ∂loss/∂Z [N, L, D]: ∂loss/∂A_μ [r, D] into grad_lora_a[μ] and ∂loss/∂B_μ [D, r] into
/// grad_lora_b[μ] for every adapted μ (NULL for the others), and dX [N, L, D] into grad_x unless it is
/// NULL (then dX is not computed). Runs the path `saved` took; x must be the X of that forward call.
/// `options` gives the backend and threads (its method is ignored). When `report` is not NULL it
/// receives a JSON object (free with lgr_string_free): "path" and, on the polynomial path,
/// "gradient_error_bound" {"lora_a_q": …, "grad_x": …} (each relative to the largest entry).
lgr_status lgr_backward(const lgr_layer *layer, const float *x, int64_t sequences, int64_t length,
                        const lgr_saved *saved, const float *dz, const lgr_options *options,
                        float *const grad_lora_a[3], float *const grad_lora_b[3], float *grad_x,
                        char **report, lgr_error *error);

/// The path a forward call took and its analysis as one JSON object (the keys of `loragrad grad`'s
/// JSON: "path", "verdict", "bound", "error_bound", "output_error_bound", …); free with lgr_string_free.
lgr_status lgr_saved_report(const lgr_saved *saved, char **json, lgr_error *error);
/// Frees saved state (NULL is ignored).
void lgr_saved_destroy(lgr_saved *saved);

/// The regime of X at options->tolerance as one JSON object (the keys of `loragrad regime`):
/// R, Γ, the degree and features the polynomial path needs, both paths' predicted cost, the verdict.
lgr_status lgr_regime(const lgr_layer *layer, const float *x, int64_t sequences, int64_t length,
                      const int64_t *key_lengths, const lgr_options *options, char **json, lgr_error *error);
/// Frees a string the library returned (NULL is ignored).
void lgr_string_free(char *string);

#ifdef __cplusplus
}
#endif

#endif
