// koffi declarations for the parts of libbpf 1.1 (libbpf.so.1) and libc that kpx uses.
// Struct layouts mirror /usr/include/bpf/{libbpf,bpf}.h and linux/bpf.h field for field;
// test/native/layout.test.ts compiles a C program that prints the real sizes and offsets
// and compares them with koffi's, so a mismatch fails a test instead of corrupting memory.
// Nothing here holds policy: the classes in object.ts, map.ts, program.ts, attach.ts wrap it.
import koffi from 'koffi';

const lib = koffi.load('libbpf.so.1');
const libc = koffi.load('libc.so.6');

// ---- opaque handles ------------------------------------------------------------------
koffi.opaque('bpf_object');
koffi.opaque('bpf_map');
koffi.opaque('bpf_program');

/** A pointer owned by libbpf (bpf_object *, bpf_map *, …); null when the call failed. */
export type NativePtr = object;

// ---- structs -------------------------------------------------------------------------

/** struct bpf_object_open_opts (libbpf.h, 1.1). `_stub` is the removed attach_prog_fd. */
export const BpfObjectOpenOpts = koffi.struct('bpf_object_open_opts', {
  sz: 'size_t',
  object_name: 'const char *',
  relaxed_maps: 'bool',
  pin_root_path: 'const char *',
  _stub: 'uint32_t',
  kconfig: 'const char *',
  btf_custom_path: 'const char *',
  kernel_log_buf: 'void *',
  kernel_log_size: 'size_t',
  kernel_log_level: 'uint32_t',
});

/** struct bpf_test_run_opts (bpf.h). */
export const BpfTestRunOpts = koffi.struct('bpf_test_run_opts', {
  sz: 'size_t',
  data_in: 'void *',
  data_out: 'void *',
  data_size_in: 'uint32_t',
  data_size_out: 'uint32_t',
  ctx_in: 'void *',
  ctx_out: 'void *',
  ctx_size_in: 'uint32_t',
  ctx_size_out: 'uint32_t',
  retval: 'uint32_t',
  repeat: 'int',
  duration: 'uint32_t',
  flags: 'uint32_t',
  cpu: 'uint32_t',
  batch_size: 'uint32_t',
});

/** struct bpf_map_batch_opts (bpf.h). */
export const BpfMapBatchOpts = koffi.struct('bpf_map_batch_opts', {
  sz: 'size_t',
  elem_flags: 'uint64_t',
  flags: 'uint64_t',
});

/** struct bpf_map_info (linux/bpf.h), aligned(8). */
export const BpfMapInfo = koffi.struct('bpf_map_info', {
  type: 'uint32_t',
  id: 'uint32_t',
  key_size: 'uint32_t',
  value_size: 'uint32_t',
  max_entries: 'uint32_t',
  map_flags: 'uint32_t',
  name: 'char[16]',
  ifindex: 'uint32_t',
  btf_vmlinux_value_type_id: 'uint32_t',
  netns_dev: 'uint64_t',
  netns_ino: 'uint64_t',
  btf_id: 'uint32_t',
  btf_key_type_id: 'uint32_t',
  btf_value_type_id: 'uint32_t',
  _pad: 'uint32_t',
  map_extra: 'uint64_t',
});

/**
 * The leading fields of struct bpf_prog_info (linux/bpf.h), up to `name`. The kernel
 * accepts a shorter info_len and fills only what fits, so the rest is not mirrored.
 */
export const BpfProgInfoHead = koffi.struct('bpf_prog_info_head', {
  type: 'uint32_t',
  id: 'uint32_t',
  tag: 'uint8_t[8]',
  jited_prog_len: 'uint32_t',
  xlated_prog_len: 'uint32_t',
  jited_prog_insns: 'uint64_t',
  xlated_prog_insns: 'uint64_t',
  load_time: 'uint64_t',
  created_by_uid: 'uint32_t',
  nr_map_ids: 'uint32_t',
  map_ids: 'uint64_t',
  name: 'char[16]',
});

/** struct bpf_tc_hook (libbpf.h). */
export const BpfTcHook = koffi.struct('bpf_tc_hook', {
  sz: 'size_t',
  ifindex: 'int',
  attach_point: 'int',
  parent: 'uint32_t',
});

/** struct bpf_tc_opts (libbpf.h). */
export const BpfTcOpts = koffi.struct('bpf_tc_opts', {
  sz: 'size_t',
  prog_fd: 'int',
  flags: 'uint32_t',
  prog_id: 'uint32_t',
  handle: 'uint32_t',
  priority: 'uint32_t',
});

export const BPF_TC_INGRESS = 1;
export const BPF_TC_EGRESS = 2;
export const BPF_TC_F_REPLACE = 1;

export const XDP_FLAGS = {
  UPDATE_IF_NOEXIST: 1,
  SKB_MODE: 2,
  DRV_MODE: 4,
  HW_MODE: 8,
  REPLACE: 16,
} as const;

/** enum bpf_map_type values whose lookups return one value slot per possible CPU. */
export const PERCPU_MAP_TYPES: ReadonlySet<number> = new Set([
  5, // BPF_MAP_TYPE_PERCPU_HASH
  6, // BPF_MAP_TYPE_PERCPU_ARRAY
  10, // BPF_MAP_TYPE_LRU_PERCPU_HASH
  21, // BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE
]);

// ---- libbpf functions ----------------------------------------------------------------
// libbpf 1.x: int-returning calls return -errno; pointer-returning calls return NULL and
// set errno (read it with koffi.errno() immediately after the call).

export const bpf = {
  object_open_file: lib.func(
    'bpf_object *bpf_object__open_file(const char *path, const bpf_object_open_opts *opts)',
  ),
  object_load: lib.func('int bpf_object__load(bpf_object *obj)'),
  object_close: lib.func('void bpf_object__close(bpf_object *obj)'),
  object_name: lib.func('const char *bpf_object__name(const bpf_object *obj)'),
  object_find_map_by_name: lib.func(
    'bpf_map *bpf_object__find_map_by_name(const bpf_object *obj, const char *name)',
  ),
  object_find_program_by_name: lib.func(
    'bpf_program *bpf_object__find_program_by_name(const bpf_object *obj, const char *name)',
  ),
  object_next_map: lib.func('bpf_map *bpf_object__next_map(const bpf_object *obj, const bpf_map *map)'),
  object_next_program: lib.func(
    'bpf_program *bpf_object__next_program(const bpf_object *obj, bpf_program *prog)',
  ),

  map_fd: lib.func('int bpf_map__fd(const bpf_map *map)'),
  map_name: lib.func('const char *bpf_map__name(const bpf_map *map)'),
  map_type: lib.func('int bpf_map__type(const bpf_map *map)'),
  map_key_size: lib.func('uint32_t bpf_map__key_size(const bpf_map *map)'),
  map_value_size: lib.func('uint32_t bpf_map__value_size(const bpf_map *map)'),
  map_max_entries: lib.func('uint32_t bpf_map__max_entries(const bpf_map *map)'),
  map_set_max_entries: lib.func('int bpf_map__set_max_entries(bpf_map *map, uint32_t max_entries)'),
  map_pin_path: lib.func('const char *bpf_map__pin_path(const bpf_map *map)'),
  map_is_pinned: lib.func('bool bpf_map__is_pinned(const bpf_map *map)'),

  program_fd: lib.func('int bpf_program__fd(const bpf_program *prog)'),
  program_name: lib.func('const char *bpf_program__name(const bpf_program *prog)'),
  program_type: lib.func('int bpf_program__type(const bpf_program *prog)'),

  map_update_elem: lib.func('int bpf_map_update_elem(int fd, const void *key, const void *value, uint64_t flags)'),
  map_lookup_elem: lib.func('int bpf_map_lookup_elem(int fd, const void *key, void *value)'),
  map_delete_elem: lib.func('int bpf_map_delete_elem(int fd, const void *key)'),
  map_get_next_key: lib.func('int bpf_map_get_next_key(int fd, const void *key, void *next_key)'),
  map_update_batch: lib.func(
    'int bpf_map_update_batch(int fd, const void *keys, const void *values, _Inout_ uint32_t *count, const bpf_map_batch_opts *opts)',
  ),
  map_delete_batch: lib.func(
    'int bpf_map_delete_batch(int fd, const void *keys, _Inout_ uint32_t *count, const bpf_map_batch_opts *opts)',
  ),

  obj_pin: lib.func('int bpf_obj_pin(int fd, const char *pathname)'),
  obj_get: lib.func('int bpf_obj_get(const char *pathname)'),
  obj_get_info_by_fd: lib.func('int bpf_obj_get_info_by_fd(int bpf_fd, void *info, _Inout_ uint32_t *info_len)'),

  prog_test_run_opts: lib.func('int bpf_prog_test_run_opts(int prog_fd, _Inout_ bpf_test_run_opts *opts)'),

  tc_hook_create: lib.func('int bpf_tc_hook_create(bpf_tc_hook *hook)'),
  tc_hook_destroy: lib.func('int bpf_tc_hook_destroy(bpf_tc_hook *hook)'),
  tc_attach: lib.func('int bpf_tc_attach(const bpf_tc_hook *hook, _Inout_ bpf_tc_opts *opts)'),
  tc_detach: lib.func('int bpf_tc_detach(const bpf_tc_hook *hook, const bpf_tc_opts *opts)'),
  tc_query: lib.func('int bpf_tc_query(const bpf_tc_hook *hook, _Inout_ bpf_tc_opts *opts)'),

  xdp_attach: lib.func('int bpf_xdp_attach(int ifindex, int prog_fd, uint32_t flags, const void *opts)'),
  xdp_detach: lib.func('int bpf_xdp_detach(int ifindex, uint32_t flags, const void *opts)'),
  xdp_query_id: lib.func('int bpf_xdp_query_id(int ifindex, int flags, _Out_ uint32_t *prog_id)'),

  num_possible_cpus: lib.func('int libbpf_num_possible_cpus(void)'),
  strerror: lib.func('int libbpf_strerror(int err, char *buf, size_t size)'),
};

// libbpf's print callback: `int (*)(enum libbpf_print_level, const char *fmt, va_list)`.
// va_list is passed on as an opaque pointer to vsnprintf (see log.ts).
export const LibbpfPrintFn = koffi.proto('int libbpf_print_fn_t(int level, const char *fmt, void *ap)');
export const libbpfSetPrint = lib.func('void *libbpf_set_print(libbpf_print_fn_t *fn)');

// ---- libc ----------------------------------------------------------------------------
export const c = {
  vsnprintf: libc.func('int vsnprintf(uint8_t *buf, size_t size, const char *fmt, void *ap)'),
  if_nametoindex: libc.func('unsigned int if_nametoindex(const char *ifname)'),
  statfs: libc.func('int statfs(const char *path, uint8_t *buf)'),
  mount: libc.func(
    'int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)',
  ),
  close: libc.func('int close(int fd)'),
};

/** errno of the last native call on this thread; read it right after the call. */
export function lastErrno(): number {
  return koffi.errno();
}

/** Reset errno before a call whose failure is signalled only by errno. */
export function clearErrno(): void {
  koffi.errno(0);
}

export { koffi };
