/* moDNN backend interface: what every device implementation provides.
 *
 * A device is a table of functions plus a context pointer. Each backend is
 * its own shared module (libmodnn_<name>.so) exporting modnn_backend_open,
 * loaded by name at start-up only where its hardware exists, so the shim and
 * the worker never link the heavy libraries of backends they do not use.
 *
 * Entries marked OPTIONAL may be NULL; the core then supplies the default
 * named in the comment. Capability is a question (supports_*), never a
 * failure discovered halfway through a launch. Structs passed across this
 * boundary start with their size and only ever grow at the end.
 *
 * Addresses: the client mints every device pointer in its own virtual
 * address space. A buffer is told the virtual address it occupies, so a
 * backend that runs kernels can translate (and bounds-check) the pointers a
 * kernel receives as parameters.
 */
#ifndef MODNN_BACKEND_H
#define MODNN_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "modnn/ops.h"
#include "modnn/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MODNN_BACKEND_ABI_VERSION 1

typedef struct modnn_buffer modnn_buffer; /* opaque, owned by the backend */
typedef struct modnn_module modnn_module; /* opaque, owned by the backend */

typedef struct modnn_device_props {
  size_t struct_size;
  char name[256];           /* human-readable, e.g. "CPU (AMD EPYC 7B13, 2 threads)" */
  char kind[32];            /* scheduler's device kind: "cpu", "h100", ... */
  uint8_t uuid[16];         /* stable across restarts of the same device */
  uint64_t total_memory;    /* bytes the device offers */
  int multiprocessor_count; /* SMs, or cores for a CPU */
  int cc_major, cc_minor;   /* compute capability the device presents */
  int max_threads_per_block;
  int max_threads_per_multiprocessor;
  int max_blocks_per_multiprocessor;
  int regs_per_multiprocessor;
  uint64_t shared_memory_per_block;      /* default limit */
  uint64_t shared_memory_per_block_optin;/* with cudaFuncAttributeMaxDynamicSharedMemorySize */
  uint64_t shared_memory_per_multiprocessor;
  int clock_khz;
  int memory_clock_khz;
  int memory_bus_width;     /* bits */
  uint64_t l2_cache_bytes;
  double peak_flops_fp32;   /* FLOP/s, for the planner's cost model */
  double memory_bandwidth;  /* bytes/s */
  bool integrated;          /* device memory is host memory */
  bool block_ranges;        /* launch_kernel honours modnn_kernel_launch's block range */
} modnn_device_props;

/* A module-level variable (__device__ / __constant__) whose storage the
 * client already allocated at `va`. */
typedef struct modnn_module_symbol {
  const char* name;         /* mangled name as in the PTX/ELF */
  uint64_t va;
  uint64_t size;
} modnn_module_symbol;

/* The module as the client registered it. */
typedef struct modnn_module_image {
  size_t struct_size;
  const void* data;         /* the fatbin */
  size_t size;
  uint64_t content_hash;    /* modules are deduplicated by this */
  const char* ptx;          /* the PTX the client chose for this device, or NULL */
  size_t ptx_size;
  const modnn_module_symbol* symbols; /* variables with client-allocated storage */
  size_t symbol_count;
} modnn_module_image;

typedef struct modnn_kernel_launch {
  size_t struct_size;
  modnn_module* module;
  const char* kernel_name;  /* mangled device name */
  uint32_t grid[3];
  uint32_t block[3];
  uint32_t dynamic_shared_bytes;
  const void* params;       /* packed parameter buffer, kernel's layout */
  uint32_t param_bytes;
  /* Run only the blocks whose linear index (x fastest) is in [block_begin,
   * block_end); %ctaid and %nctaid stay those of the whole grid. block_end 0:
   * every block. A device whose props lack block_ranges runs every block, so
   * a caller that splits a grid across devices must not rely on it. */
  uint64_t block_begin, block_end;
  /* Discard the kernel's printf output: the caller runs the same blocks on
   * another device too (a replica) and shows that one's. */
  bool quiet;
} modnn_kernel_launch;

typedef struct modnn_device_i {
  size_t struct_size;

  /* Fills *out (out->struct_size set by the caller). */
  void (*get_props)(void* ctx, modnn_device_props* out);

  /* Allocates `size` bytes that the client addresses at virtual address `va`. */
  modnn_status (*buffer_alloc)(void* ctx, uint64_t va, uint64_t size, modnn_buffer** out);
  /* Releases a buffer; pending work on it has completed. */
  void (*buffer_free)(void* ctx, modnn_buffer* buf);
  /* Host -> device. Ranges are validated by the client before the call. */
  modnn_status (*buffer_write)(void* ctx, modnn_buffer* dst, uint64_t offset, const void* src, uint64_t size);
  /* Device -> host. */
  modnn_status (*buffer_read)(void* ctx, modnn_buffer* src, uint64_t offset, void* dst, uint64_t size);
  /* Device -> device on this device. */
  modnn_status (*buffer_copy)(void* ctx, modnn_buffer* dst, uint64_t dst_offset,
                              modnn_buffer* src, uint64_t src_offset, uint64_t size);
  /* Writes `count` elements of `elem_size` (1, 2 or 4) bytes, each `value`. */
  modnn_status (*buffer_fill)(void* ctx, modnn_buffer* dst, uint64_t offset, uint64_t count,
                              uint32_t value, uint32_t elem_size);
  /* OPTIONAL: host address of the buffer's bytes when the device's memory is
   * host memory (CPU), else NULL. Default: NULL, copies go through read/write. */
  void* (*buffer_host_pointer)(void* ctx, modnn_buffer* buf);

  /* Waits until all submitted work has finished; returns its first error. */
  modnn_status (*synchronize)(void* ctx);
  /* The device's clock in nanoseconds once all submitted work has finished
   * (event timing). */
  uint64_t (*timestamp_ns)(void* ctx);
  /* OPTIONAL: sends whatever the device has buffered (a remote device batches
   * one-way commands); called when a stream runs out of work. Default: none. */
  void (*flush)(void* ctx);

  /* OPTIONAL: loads a module image. Default: the device runs no kernels. */
  modnn_status (*module_load)(void* ctx, const modnn_module_image* image, modnn_module** out);
  /* OPTIONAL: unloads a module loaded by module_load. */
  void (*module_unload)(void* ctx, modnn_module* module);
  /* OPTIONAL: can this device run `kernel_name` of `module`? Default: false. */
  bool (*supports_kernel)(void* ctx, modnn_module* module, const char* kernel_name);
  /* OPTIONAL: runs a kernel; required where supports_kernel can say true. */
  modnn_status (*launch_kernel)(void* ctx, const modnn_kernel_launch* launch);

  /* OPTIONAL: can this device run `op` (kind, dtypes, epilogue)? Default: false. */
  bool (*supports_op)(void* ctx, const modnn_op* op);
  /* OPTIONAL: runs `op`; required where supports_op can say true. The client
   * has checked that every address range the op touches is allocated. */
  modnn_status (*run_op)(void* ctx, const modnn_op* op);

  /* Frees the device and everything it still holds. */
  void (*destroy)(void* ctx);

  /* OPTIONAL: the device dereferences device pointers itself (a GPU running
   * the program's kernels), so the addresses the client mints must be the
   * device's own. Reserves `size` bytes of the device's address space at
   * `hint` (0: anywhere) and sets *out_base; fails unless it got exactly
   * `hint` when one was given. *out_host_held: the range is also held in
   * this process's host address space (an in-process driver with unified
   * addressing), so the client must not map it itself. Buffers are then only
   * allocated inside the range. MODNN_OK with *out_base = 0: this device
   * takes any address after all (a remote device that is not a GPU). A
   * second call, before any buffer is allocated, replaces the first range.
   * Default: any client address works. */
  modnn_status (*reserve_address_range)(void* ctx, uint64_t size, uint64_t hint, uint64_t* out_base,
                                        bool* out_host_held);

  /* OPTIONAL: copies `size` bytes from this device's `src` to `dst` on
   * `peer`, another device of the same backend, without passing through the
   * client (a worker sends them to another worker). Complete when it
   * returns. MODNN_ERR_NOT_SUPPORTED (or absent): the client stages the
   * bytes through its own memory. */
  modnn_status (*buffer_copy_to_peer)(void* ctx, modnn_buffer* src, uint64_t src_offset, const struct modnn_device* peer,
                                      modnn_buffer* dst, uint64_t dst_offset, uint64_t size);

  /* OPTIONAL, together: events the device completes itself. event_record
   * marks the point after all work submitted so far, without waiting (one
   * message to a remote device); event_query sets *out_ns, the device's
   * clock when that work had run, or returns MODNN_ERR_NOT_READY (with
   * `wait`: blocks until it can answer). `event` is the caller's id,
   * increasing. Default: the client times events with timestamp_ns. */
  void (*event_record)(void* ctx, uint64_t event);
  modnn_status (*event_query)(void* ctx, uint64_t event, bool wait, uint64_t* out_ns);

  /* OPTIONAL, together: devices leased as a set that a scheduler may resize.
   * lease_devices returns 0 when the set has not changed since the last
   * call; otherwise fills `out` with the whole new set, in order (a device
   * the caller holds comes back with the same ctx; new ones are opened), and
   * returns its size. The caller moves its data off the devices no longer
   * listed, destroys them, then calls lease_confirm on a device it kept. */
  int (*lease_devices)(void* ctx, struct modnn_device* out, int capacity);
  void (*lease_confirm)(void* ctx);

  /* OPTIONAL: the client's forecast of the job's peak memory on this device
   * (live allocations plus the largest workspace of the ops seen) and the
   * most it has held allocated so far, in bytes. A leased device tells the
   * scheduler, which sizes the job's share of a shared device by it. Cheap:
   * called on allocations. Default: ignored. */
  void (*memory_forecast)(void* ctx, uint64_t predicted_peak, uint64_t peak_allocated);
  /* OPTIONAL: bytes the job may allocate on this device when it shares it
   * with other jobs (it may grow), 0 = no quota. cudaMemGetInfo reports it
   * as the device's size, as CUDA MPS does with a pinned memory limit.
   * Default: no quota. */
  uint64_t (*memory_quota)(void* ctx);

  /* OPTIONAL: buffer_copy_to_peer without waiting. The copy is ordered on
   * both devices' streams: it reads `src` after the work already submitted
   * to this device, and writes `dst` before the work submitted to `peer`
   * after this call; it returns at once. Any number of such copies may be
   * in flight, between any members, in both directions at once. Complete by
   * the peer's next synchronize; a failure (the other device gone, a bad
   * range) is reported by the next synchronize of either device, within a
   * bounded time. MODNN_ERR_NOT_SUPPORTED (or absent): use
   * buffer_copy_to_peer. */
  modnn_status (*buffer_send_to_peer)(void* ctx, modnn_buffer* src, uint64_t src_offset, const struct modnn_device* peer,
                                      modnn_buffer* dst, uint64_t dst_offset, uint64_t size);
} modnn_device_i;

/* Does `iface` provide the OPTIONAL entry `fn`? (A table from an older
 * backend is shorter: entries past its struct_size are absent.) */
#define MODNN_HAS_ENTRY(iface, fn) \
  ((iface)->struct_size >= offsetof(modnn_device_i, fn) + sizeof((iface)->fn) && (iface)->fn != NULL)

/* Does the struct at `s` (of `type`, sized by its struct_size) reach `field`?
 * A caller built against an older header passes a shorter struct. */
#define MODNN_STRUCT_HAS(s, type, field) ((s)->struct_size >= offsetof(type, field) + sizeof((s)->field))

typedef struct modnn_device {
  const modnn_device_i* iface;
  void* ctx;
} modnn_device;

/* What the host asks of a backend module when it opens it. */
typedef struct modnn_backend_config {
  size_t struct_size;
  int abi_version;          /* MODNN_BACKEND_ABI_VERSION of the caller */
  int device_count;         /* CPU: how many devices to expose (>= 1) */
  uint64_t memory_per_device; /* CPU: bytes per device, 0 = backend default */
  int threads_per_device;   /* CPU: worker threads per device, 0 = all cores */
  const char* scheduler;    /* remote: moai-sched endpoint to lease devices from */
  const char* worker;       /* remote: a worker to use directly (no scheduler), with... */
  const char* worker_token; /* ...the token it was started to accept */
  const char* device_namespace; /* CPU: mixed into the devices' UUIDs, so two workers on
                                 * one host (different namespaces) never share one; NULL = none */
  uint64_t predicted_memory; /* remote: bytes per device the job is predicted to need at its
                              * peak, asked for by a shareable lease; 0 = unknown */
} modnn_backend_config;

/* Exported by every backend module as `modnn_backend_open`. Fills up to
 * `capacity` devices, sets *out_count; returns MODNN_ERR_NOT_SUPPORTED when
 * the hardware is absent. */
typedef modnn_status (*modnn_backend_open_fn)(const modnn_backend_config* config,
                                              modnn_device* out_devices, int capacity,
                                              int* out_count);

#ifdef __cplusplus
}
#endif

#endif
