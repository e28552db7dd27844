// jemalloc's built-in options for the faceage program (MALLOC_CONF in the environment overrides them).
//
// Why no decay: with jemalloc's default (dirty pages purged over 10 s), a training step frees and
// re-allocates a few hundred MB of activations per batch, and jemalloc kept handing those pages back
// to the kernel: 325,000 page faults a second, a third of the CPU in the kernel, training at 38 img/s
// instead of 57-62 on the same machine (docs/decisions/allocator.md). Keeping freed pages means the resident set stays at
// the working set's peak, which is what bounds it anyway; it does not grow with the number of images.
#if defined(FACEAGE_WITH_JEMALLOC)
extern "C" {
// Read by jemalloc at start-up; the name is jemalloc's (Debian's build has no symbol prefix).
extern const char* malloc_conf;
const char* malloc_conf = "dirty_decay_ms:-1,muzzy_decay_ms:-1";
}
#endif
