// A BPF ELF object: open, size maps, load (verifier), and hand out its maps and programs.
// Maps declared with LIBBPF_PIN_BY_NAME are pinned under `pinRoot` on load; when a
// compatible pin already exists libbpf reuses it instead of creating a new map, which
// is how kpx adopts its state across restarts.
import { BpfError, VerifierError } from '../src/errors.js';
import { BpfObjectOpenOpts, bpf, koffi, type NativePtr } from './libbpf.js';
import { bpfError, check, detailFor, ERRNO, errnoAfterNull, errnoOfRc } from './fail.js';
import { clearErrno } from './libbpf.js';
import { resetLibbpfLog } from './log.js';
import { BpfMap } from './map.js';
import { BpfProgram } from './program.js';

export interface OpenOptions {
  /**
   * Root directory (on bpffs, existing: see ensureBpffs) for maps declared with
   * LIBBPF_PIN_BY_NAME. Without it libbpf pins them directly under /sys/fs/bpf.
   */
  pinRoot?: string;
  /** Override max_entries of maps by name before load. */
  maxEntries?: Record<string, number>;
  /** Size of the verifier log buffer kept for load failures. Default 16 MiB. */
  logSize?: number;
}

const DEFAULT_LOG_SIZE = 16 * 1024 * 1024;

export class BpfObject {
  readonly path: string;
  #obj: NativePtr | null;
  #logBuf: unknown;
  readonly #logSize: number;
  #loaded = false;
  readonly #maps = new Map<string, BpfMap>();
  readonly #programs = new Map<string, BpfProgram>();

  private constructor(path: string, obj: NativePtr, logBuf: unknown, logSize: number) {
    this.path = path;
    this.#obj = obj;
    this.#logBuf = logBuf;
    this.#logSize = logSize;
  }

  static open(path: string, opts: OpenOptions = {}): BpfObject {
    const logSize = opts.logSize ?? DEFAULT_LOG_SIZE;
    // libbpf keeps this pointer and writes the verifier log into it during load(), so it
    // must be native memory that outlives this call (koffi.alloc), not a JS Buffer.
    const logBuf = koffi.alloc('char', logSize);
    const openOpts = {
      sz: koffi.sizeof(BpfObjectOpenOpts),
      object_name: null,
      relaxed_maps: false,
      pin_root_path: opts.pinRoot ?? null,
      _stub: 0,
      kconfig: null,
      btf_custom_path: null,
      kernel_log_buf: logBuf,
      kernel_log_size: logSize,
      // 0: no log on success; on failure libbpf retries the load with level 1 into our buffer.
      kernel_log_level: 0,
    };
    resetLibbpfLog();
    clearErrno();
    const obj = bpf.object_open_file(path, openOpts) as NativePtr | null;
    if (!obj) {
      koffi.free(logBuf);
      throw bpfError(`open ${path}`, errnoAfterNull());
    }
    const self = new BpfObject(path, obj, logBuf, logSize);
    try {
      for (const [name, n] of Object.entries(opts.maxEntries ?? {})) self.#setMaxEntries(name, n);
    } catch (err) {
      self.close();
      throw err;
    }
    return self;
  }

  /** Create (or reuse pinned) maps and load every program; VerifierError if one is refused. */
  load(): void {
    const obj = this.#handle();
    if (this.#loaded) throw new BpfError(`load ${this.path}`, ERRNO.EINVAL, 'object is already loaded');
    this.#clearLog();
    resetLibbpfLog();
    const rc = bpf.object_load(obj) as number;
    if (rc < 0) {
      const errno = errnoOfRc(rc);
      const log = this.#readLog();
      const detail = detailFor(errno);
      if (log.trim() !== '') throw new VerifierError(`load ${this.path}`, errno, detail, log);
      throw new BpfError(`load ${this.path}`, errno, detail);
    }
    this.#loaded = true;
  }

  /** A map of this object. Valid after load() (before it, the fd is not created yet). */
  map(name: string): BpfMap {
    const cached = this.#maps.get(name);
    if (cached) return cached;
    const m = this.#findMap(name);
    const fd = bpf.map_fd(m) as number;
    if (fd < 0) throw new BpfError(`map ${name}`, ERRNO.EINVAL, 'object is not loaded yet');
    const map = new BpfMap(
      fd,
      {
        name: bpf.map_name(m) as string,
        type: bpf.map_type(m) as number,
        keySize: bpf.map_key_size(m) as number,
        valueSize: bpf.map_value_size(m) as number,
        maxEntries: bpf.map_max_entries(m) as number,
      },
      false,
    );
    this.#maps.set(name, map);
    return map;
  }

  /** A program of this object, by its C function name. Valid after load(). */
  program(name: string): BpfProgram {
    const cached = this.#programs.get(name);
    if (cached) return cached;
    clearErrno();
    const p = bpf.object_find_program_by_name(this.#handle(), name) as NativePtr | null;
    if (!p) throw new BpfError(`program ${name}`, ERRNO.ENOENT, `no program named ${name} in ${this.path}`);
    const fd = bpf.program_fd(p) as number;
    if (fd < 0) throw new BpfError(`program ${name}`, ERRNO.EINVAL, 'object is not loaded yet');
    const prog = new BpfProgram(fd, bpf.program_name(p) as string, bpf.program_type(p) as number, false);
    this.#programs.set(name, prog);
    return prog;
  }

  /** Names of all maps in the object (including .data/.rodata/.bss internal maps). */
  mapNames(): string[] {
    const names: string[] = [];
    const obj = this.#handle();
    for (let m = bpf.object_next_map(obj, null) as NativePtr | null; m; m = bpf.object_next_map(obj, m) as NativePtr | null) {
      names.push(bpf.map_name(m) as string);
    }
    return names;
  }

  /** Names of all programs in the object. */
  programNames(): string[] {
    const names: string[] = [];
    const obj = this.#handle();
    for (
      let p = bpf.object_next_program(obj, null) as NativePtr | null;
      p;
      p = bpf.object_next_program(obj, p) as NativePtr | null
    ) {
      names.push(bpf.program_name(p) as string);
    }
    return names;
  }

  /** Where libbpf pinned (or found) a map, if it is pinned. */
  pinPath(mapName: string): string | undefined {
    const m = this.#findMap(mapName);
    const path = bpf.map_pin_path(m) as string | null;
    return path && (bpf.map_is_pinned(m) as boolean) ? path : undefined;
  }

  /**
   * Close the object: its map and program fds close (pins, and programs attached to
   * hooks, stay). Handles obtained from map()/program() stop working.
   */
  close(): void {
    for (const m of this.#maps.values()) m.invalidate();
    for (const p of this.#programs.values()) p.invalidate();
    this.#maps.clear();
    this.#programs.clear();
    if (this.#obj) bpf.object_close(this.#obj);
    this.#obj = null;
    if (this.#logBuf) koffi.free(this.#logBuf);
    this.#logBuf = null;
  }

  #handle(): NativePtr {
    if (!this.#obj) throw new BpfError(`object ${this.path}`, ERRNO.EBADF, 'object is closed');
    return this.#obj;
  }

  #findMap(name: string): NativePtr {
    clearErrno();
    const m = bpf.object_find_map_by_name(this.#handle(), name) as NativePtr | null;
    if (!m) throw new BpfError(`map ${name}`, ERRNO.ENOENT, `no map named ${name} in ${this.path}`);
    return m;
  }

  #setMaxEntries(name: string, n: number): void {
    check(`set max_entries of ${name} to ${n}`, bpf.map_set_max_entries(this.#findMap(name), n) as number);
  }

  #clearLog(): void {
    new Uint8Array(koffi.view(this.#logBuf, 1))[0] = 0;
  }

  #readLog(): string {
    const bytes = new Uint8Array(koffi.view(this.#logBuf, this.#logSize));
    const end = bytes.indexOf(0);
    return Buffer.from(bytes.subarray(0, end < 0 ? bytes.length : end)).toString('utf8');
  }
}
