// The phase: the unit in which Swift asks C for work.
//
// A phase is `tiles` independent tiles of one tile function over one parameter struct. Tiles of
// a phase write disjoint outputs, so they may run in any order on any thread; a sum over tiles is
// never formed inside a phase but by a later reduction phase in a fixed order, so results do not
// depend on the thread count. Each worker gets `scratch_floats` floats of its own (64-byte
// aligned, uninitialised) for the whole phase: no allocation happens inside a tile.

#ifndef LGK_PHASE_H
#define LGK_PHASE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Does the work of tile number `tile` of the phase whose parameter struct is `params`, using the
/// calling worker's `scratch`.
typedef void (*lgk_tile_fn)(const void *params, int64_t tile, float *scratch);

/// A phase ready to run: built by one of the `lgk_*_phase` constructors from its parameters.
typedef struct lgk_phase {
  const char *name;        ///< The phase's name, for messages and profiles ("flash forward").
  lgk_tile_fn tile;        ///< The tile function.
  int64_t tiles;           ///< How many tiles; tile indices are 0 ..< tiles.
  int64_t scratch_floats;  ///< Floats of scratch each worker needs (a multiple of 16).
  const void *params;      ///< The parameter struct (owned by the caller, alive while the phase runs).
} lgk_phase;

/// Claims the next tile index from a shared counter (relaxed atomic fetch-and-add).
int64_t lgk_claim_tile(int64_t *counter);

/// Runs the tiles claimed from `counter` until none are left, with this worker's scratch.
void lgk_run_claimed_tiles(const lgk_phase *phase, int64_t *counter, float *scratch);

#ifdef __cplusplus
}
#endif

#endif
