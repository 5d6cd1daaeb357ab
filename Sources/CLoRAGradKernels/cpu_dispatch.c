// Runtime CPU dispatch: pick the widest instruction set the CPU supports, once.

#include "CLoRAGradKernels.h"
#include "internal.h"

static lgk_isa detect(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return lgk_isa_avx512f;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return lgk_isa_avx2_fma;
#endif
  return lgk_isa_portable;
}

static int lgk_detected = -1;
int lgk_active_isa = -1;

lgk_isa lgk_isa_detected(void) {
  int isa = __atomic_load_n(&lgk_detected, __ATOMIC_RELAXED);
  if (isa < 0) {
    isa = (int)detect();
    __atomic_store_n(&lgk_detected, isa, __ATOMIC_RELAXED);
  }
  return (lgk_isa)isa;
}

lgk_isa lgk_isa_active(void) {
  int isa = __atomic_load_n(&lgk_active_isa, __ATOMIC_RELAXED);
  if (isa < 0) {
    isa = (int)lgk_isa_detected();
    __atomic_store_n(&lgk_active_isa, isa, __ATOMIC_RELAXED);
  }
  return (lgk_isa)isa;
}

lgk_isa lgk_isa_override(lgk_isa isa) {
  lgk_isa detected = lgk_isa_detected();
  lgk_isa chosen = isa < 0 ? lgk_isa_portable : (isa > detected ? detected : isa);
  __atomic_store_n(&lgk_active_isa, (int)chosen, __ATOMIC_RELAXED);
  return chosen;
}

const char *lgk_isa_name(lgk_isa isa) {
  switch (isa) {
    case lgk_isa_avx512f: return "avx512f";
    case lgk_isa_avx2_fma: return "avx2+fma";
    default: return "portable";
  }
}

int64_t lgk_claim_tile(int64_t *counter) {
  return __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}
