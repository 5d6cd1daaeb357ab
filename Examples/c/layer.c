// LoRAGrad from C: a causal, RoPE-rotated, key-padded layer with biases and two adapters,
// forward and backward through the C ABI (loragrad.h), on a fixed problem.
//
//   cc -std=c11 -I Sources/CLoRAGradABI/include Examples/c/layer.c -L .build/release -lLoRAGradC
//      -Wl,-rpath,$PWD/.build/release -lm -o layer && ./layer OUT
//
// It writes the problem to OUT/problem (a problem directory `loragrad grad` reads) and what the
// C calls returned to OUT/c (raw float32: z.f32, lse.f32, grad_*.f32), so that check.sh can
// compare them, bit for bit, with the Swift API's results through the command-line tool. It also
// shows the error reporting: a NULL weight and an unsupported precision, each with its message.

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "loragrad.h"

enum { N = 2, L = 37, D = 16, H = 2, R = 4 };

/// Deterministic inputs: a small linear congruential generator mapped to [-scale, scale).
static uint64_t state = 0x2545F4914F6CDD1Dull;
static void fill(float *values, size_t count, float scale) {
  for (size_t i = 0; i < count; i++) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    values[i] = scale * ((float)(state >> 40) / (float)(1ull << 24) * 2.0f - 1.0f);
  }
}

/// Writes a float32 array as .npy (format 1.0, little-endian, C order).
static int write_npy(const char *directory, const char *name, const float *values, const int64_t *shape, int rank) {
  char path[4096], dims[128] = "";
  snprintf(path, sizeof path, "%s/%s.npy", directory, name);
  size_t count = 1;
  for (int i = 0; i < rank; i++) {
    char dim[32];
    snprintf(dim, sizeof dim, rank == 1 ? "%lld," : (i + 1 < rank ? "%lld, " : "%lld"), (long long)shape[i]);
    strcat(dims, dim);
    count *= (size_t)shape[i];
  }
  char header[256];
  int length = snprintf(header, sizeof header, "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", dims);
  int padded = ((10 + length + 1 + 63) / 64) * 64 - 10;  // header + '\n' to a multiple of 64 bytes
  memset(header + length, ' ', (size_t)(padded - length - 1));
  header[padded - 1] = '\n';
  FILE *file = fopen(path, "wb");
  if (!file) return -1;
  const unsigned char magic[8] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  const unsigned char size[2] = {(unsigned char)(padded & 0xff), (unsigned char)(padded >> 8)};
  int ok = fwrite(magic, 1, 8, file) == 8 && fwrite(size, 1, 2, file) == 2 && fwrite(header, 1, (size_t)padded, file) == (size_t)padded &&
           fwrite(values, sizeof(float), count, file) == count;
  return fclose(file) == 0 && ok ? 0 : -1;
}

/// Writes raw float32 values.
static int write_raw(const char *directory, const char *name, const float *values, size_t count) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.f32", directory, name);
  FILE *file = fopen(path, "wb");
  if (!file) return -1;
  int ok = fwrite(values, sizeof(float), count, file) == count;
  return fclose(file) == 0 && ok ? 0 : -1;
}

static int make_directory(const char *path) { return mkdir(path, 0755) == 0 || errno == EEXIST ? 0 : -1; }

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s OUT\n", argv[0]);
    return 2;
  }
  char problem[4096], results[4096];
  snprintf(problem, sizeof problem, "%s/problem", argv[1]);
  snprintf(results, sizeof results, "%s/c", argv[1]);
  if (make_directory(argv[1]) || make_directory(problem) || make_directory(results)) {
    perror("mkdir");
    return 1;
  }

  static float x[N * L * D], dz[N * L * D], w[3][D * D], bias[2][D], a[2][R * D], b[2][D * R];
  fill(x, N * L * D, 1.0f);
  fill(dz, N * L * D, 0.5f);
  for (int mu = 0; mu < 3; mu++) fill(w[mu], D * D, 0.25f);
  for (int i = 0; i < 2; i++) fill(bias[i], D, 0.1f);
  for (int i = 0; i < 2; i++) fill(a[i], R * D, 0.2f), fill(b[i], D * R, 0.2f);
  const int64_t key_lengths[N] = {L, 30};

  lgr_layer_desc desc;
  lgr_layer_desc_init(&desc);
  desc.width = D;
  desc.heads = H;
  desc.lora_rank = R;
  for (int mu = 0; mu < 3; mu++) desc.weights[mu] = w[mu];
  desc.biases[LGR_QUERY] = bias[0];
  desc.biases[LGR_KEY] = bias[1];
  desc.lora_a[LGR_QUERY] = a[0], desc.lora_b[LGR_QUERY] = b[0];
  desc.lora_a[LGR_VALUE] = a[1], desc.lora_b[LGR_VALUE] = b[1];
  desc.alpha = 8;
  desc.rope_theta = 10000;
  desc.causal = 1;

  lgr_error error;
  // Errors come back as a status and a message; nothing aborts.
  lgr_layer *layer = NULL;
  desc.weights[LGR_KEY] = NULL;
  lgr_status status = lgr_layer_create(&desc, &layer, &error);
  printf("a NULL W_k: %s: %s\n", lgr_status_name(status), error.message);
  if (status != LGR_INVALID_ARGUMENT || layer != NULL) return 1;
  desc.weights[LGR_KEY] = w[1];

  if (lgr_layer_create(&desc, &layer, &error) != LGR_OK) {
    fprintf(stderr, "lgr_layer_create: %s\n", error.message);
    return 1;
  }
  lgr_options options;
  lgr_options_init(&options);
  options.precision = LGR_PRECISION_BFLOAT16;
  options.method = LGR_METHOD_POLY;
  static float z[N * L * D], lse[N * H * L];
  status = lgr_forward(layer, x, N, L, key_lengths, &options, z, lse, NULL, &error);
  printf("bfloat16 with poly: %s: %s\n", lgr_status_name(status), error.message);
  if (status != LGR_INVALID_ARGUMENT) return 1;
  options.method = LGR_METHOD_EXACT;

  // bfloat16 products on the exact path (SPEC §2.1): forward and backward.
  static float z16[N * L * D], grad_a16[2][R * D], grad_b16[2][D * R], grad_x16[N * L * D];
  float *const grad_lora_a16[3] = {grad_a16[0], NULL, grad_a16[1]};
  float *const grad_lora_b16[3] = {grad_b16[0], NULL, grad_b16[1]};
  lgr_saved *saved16 = NULL;
  if (lgr_forward(layer, x, N, L, key_lengths, &options, z16, NULL, &saved16, &error) != LGR_OK ||
      lgr_backward(layer, x, N, L, saved16, dz, &options, grad_lora_a16, grad_lora_b16, grad_x16, NULL, &error) != LGR_OK) {
    fprintf(stderr, "bfloat16: %s\n", error.message);
    return 1;
  }
  lgr_saved_destroy(saved16);
  options.precision = LGR_PRECISION_FLOAT32;

  lgr_saved *saved = NULL;
  if (lgr_forward(layer, x, N, L, key_lengths, &options, z, lse, &saved, &error) != LGR_OK) {
    fprintf(stderr, "lgr_forward: %s\n", error.message);
    return 1;
  }
  static float grad_a[2][R * D], grad_b[2][D * R], grad_x[N * L * D];
  float *const grad_lora_a[3] = {grad_a[0], NULL, grad_a[1]};
  float *const grad_lora_b[3] = {grad_b[0], NULL, grad_b[1]};
  char *report = NULL;
  if (lgr_backward(layer, x, N, L, saved, dz, &options, grad_lora_a, grad_lora_b, grad_x, &report, &error) != LGR_OK) {
    fprintf(stderr, "lgr_backward: %s\n", error.message);
    return 1;
  }
  printf("backward: %s\n", report);
  lgr_string_free(report);
  char *regime = NULL;
  if (lgr_regime(layer, x, N, L, key_lengths, &options, &regime, &error) != LGR_OK) {
    fprintf(stderr, "lgr_regime: %s\n", error.message);
    return 1;
  }
  printf("regime: %s\n", regime);
  lgr_string_free(regime);

  // A training step's next layer: A_μ − 0.01·∂A_μ, the frozen part and the working buffers shared
  // (no fresh working buffers for its calls). Arrays held as float *[3] are passed with a cast.
  static float a_next[2][R * D], z_next[N * L * D];
  for (int k = 0; k < 2; k++)
    for (int t = 0; t < R * D; t++) a_next[k][t] = a[k][t] - 0.01f * grad_a[k][t];
  float *lora_a_next[3] = {a_next[0], NULL, a_next[1]};
  const float *lora_b_same[3] = {b[0], NULL, b[1]};
  lgr_layer *next = NULL;
  if (lgr_layer_with_adapters(layer, (const float *const *)lora_a_next, lora_b_same, &next, &error) != LGR_OK ||
      lgr_forward(next, x, N, L, key_lengths, &options, z_next, NULL, NULL, &error) != LGR_OK) {
    fprintf(stderr, "the next step's layer: %s\n", error.message);
    return 1;
  }
  double loss = 0, loss_next = 0;  // ½‖Z − Y‖² with Y = Z − dZ, before and after the step
  for (int t = 0; t < N * L * D; t++) {
    const double y = (double)z[t] - dz[t];
    loss += 0.5 * ((double)z[t] - y) * ((double)z[t] - y);
    loss_next += 0.5 * ((double)z_next[t] - y) * ((double)z_next[t] - y);
  }
  printf("after one step on A: loss %.6g -> %.6g\n", loss, loss_next);
  lgr_layer_release_buffers(next);
  lgr_layer_destroy(next);
  if (!(loss_next < loss)) return 1;

  lgr_saved_destroy(saved);
  lgr_layer_destroy(layer);

  const int64_t x_shape[3] = {N, L, D}, w_shape[2] = {D, D}, b_shape[1] = {D}, a_shape[2] = {R, D}, bt_shape[2] = {D, R};
  const char *weight_names[3] = {"w_q", "w_k", "w_v"};
  int failed = write_npy(problem, "x", x, x_shape, 3) || write_npy(problem, "dz", dz, x_shape, 3);
  for (int mu = 0; mu < 3; mu++) failed |= write_npy(problem, weight_names[mu], w[mu], w_shape, 2);
  failed |= write_npy(problem, "b_q", bias[0], b_shape, 1) || write_npy(problem, "b_k", bias[1], b_shape, 1);
  failed |= write_npy(problem, "lora_a_q", a[0], a_shape, 2) || write_npy(problem, "lora_b_q", b[0], bt_shape, 2);
  failed |= write_npy(problem, "lora_a_v", a[1], a_shape, 2) || write_npy(problem, "lora_b_v", b[1], bt_shape, 2);
  char config[8192];
  snprintf(config, sizeof config, "%s/config.json", problem);
  FILE *file = fopen(config, "w");
  failed |= !file || fprintf(file, "{\"heads\": %d, \"alpha\": 8, \"causal\": true, \"rope_theta\": 10000, \"lengths\": [%d, 30]}\n", H, L) < 0;
  if (file) failed |= fclose(file) != 0;
  failed |= write_raw(results, "z", z, N * L * D) || write_raw(results, "lse", lse, N * H * L);
  failed |= write_raw(results, "grad_lora_a_q", grad_a[0], R * D) || write_raw(results, "grad_lora_b_q", grad_b[0], D * R);
  failed |= write_raw(results, "grad_lora_a_v", grad_a[1], R * D) || write_raw(results, "grad_lora_b_v", grad_b[1], D * R);
  failed |= write_raw(results, "grad_x", grad_x, N * L * D);
  failed |= write_raw(results, "bf16_z", z16, N * L * D) || write_raw(results, "bf16_grad_lora_a_q", grad_a16[0], R * D);
  failed |= write_raw(results, "bf16_grad_lora_b_v", grad_b16[1], D * R);
  failed |= write_raw(results, "bf16_grad_x", grad_x16, N * L * D);
  if (failed) {
    perror("writing the results");
    return 1;
  }
  printf("wrote %s and %s\n", problem, results);
  return 0;
}
