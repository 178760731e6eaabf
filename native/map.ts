// A BPF map by file descriptor: element ops, batch ops, iteration, pinning.
// Keys and values are raw Buffers in the map's own layout (src/datapath/abi.ts encodes
// them); their lengths are checked here because the kernel reads exactly key_size /
// value_size bytes from the pointers it is given.
import { BpfError, MapFullError } from '../src/errors.js';
import { BpfMapBatchOpts, BpfMapInfo, bpf, c, koffi, PERCPU_MAP_TYPES } from './libbpf.js';
import { bpfError, check, ERRNO, errnoOfRc } from './fail.js';
import { numPossibleCpus } from './cpus.js';
import { resetLibbpfLog } from './log.js';
import { openPinnedFd } from './fdkind.js';

export const UPDATE_FLAGS = { ANY: 0, NOEXIST: 1, EXIST: 2 } as const;
export type UpdateFlag = (typeof UPDATE_FLAGS)[keyof typeof UPDATE_FLAGS];

/** What the kernel (or libbpf) says about a map. */
export interface MapMeta {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
}

const BATCH_UNSUPPORTED: ReadonlySet<number> = new Set([ERRNO.EINVAL, ERRNO.ENOTSUPP, ERRNO.EOPNOTSUPP]);
const MAP_FULL: ReadonlySet<number> = new Set([ERRNO.E2BIG, ERRNO.ENOSPC]);

export class BpfMap {
  readonly name: string;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  /** Lookups and updates carry one value slot per possible CPU. */
  readonly perCpu: boolean;
  /** Bytes of one value as exchanged with the kernel: per-CPU maps round valueSize up to 8 per CPU. */
  readonly valueBufferSize: number;
  #fd: number;
  readonly #owned: boolean;

  /**
   * Wraps an fd. `owned` fds are closed by close(); fds borrowed from a BpfObject stay
   * open until the object closes (and then this handle refuses further use).
   */
  constructor(fd: number, meta: MapMeta, owned: boolean) {
    this.#fd = fd;
    this.#owned = owned;
    this.name = meta.name;
    this.type = meta.type;
    this.keySize = meta.keySize;
    this.valueSize = meta.valueSize;
    this.maxEntries = meta.maxEntries;
    this.perCpu = PERCPU_MAP_TYPES.has(meta.type);
    this.valueBufferSize = this.perCpu ? roundUp8(meta.valueSize) * numPossibleCpus() : meta.valueSize;
  }

  get fd(): number {
    if (this.#fd < 0) throw new BpfError(`map ${this.name}`, ERRNO.EBADF, 'map handle is closed');
    return this.#fd;
  }

  /** Open a map pinned on bpffs; the returned handle owns its fd. */
  static openPinned(path: string): BpfMap {
    return openPinnedFd(path, 'map', (fd) => new BpfMap(fd, mapInfoByFd(fd, path), true));
  }

  pin(path: string): void {
    resetLibbpfLog();
    check(`bpf_obj_pin ${this.name} at ${path}`, bpf.obj_pin(this.fd, path) as number);
  }

  lookup(key: Buffer): Buffer | undefined {
    this.#checkKey(key);
    const value = Buffer.alloc(this.valueBufferSize);
    const rc = bpf.map_lookup_elem(this.fd, key, value) as number;
    if (rc === -ERRNO.ENOENT) return undefined;
    check(`lookup ${this.name}`, rc);
    return value;
  }

  /** For per-CPU maps: the value of each possible CPU, valueSize bytes each. */
  lookupPerCpu(key: Buffer): Buffer[] | undefined {
    if (!this.perCpu) throw new BpfError(`lookup ${this.name}`, ERRNO.EINVAL, 'not a per-CPU map');
    const all = this.lookup(key);
    if (!all) return undefined;
    const stride = roundUp8(this.valueSize);
    const out: Buffer[] = [];
    for (let off = 0; off < all.length; off += stride) out.push(all.subarray(off, off + this.valueSize));
    return out;
  }

  update(key: Buffer, value: Buffer, flags: number = UPDATE_FLAGS.ANY): void {
    this.#checkKey(key);
    this.#checkValue(value);
    const rc = bpf.map_update_elem(this.fd, key, value, flags) as number;
    if (rc < 0) throw this.#updateError(errnoOfRc(rc));
  }

  /** Delete one element; false when it was not there. */
  delete(key: Buffer): boolean {
    this.#checkKey(key);
    const rc = bpf.map_delete_elem(this.fd, key) as number;
    if (rc === -ERRNO.ENOENT) return false;
    check(`delete ${this.name}`, rc);
    return true;
  }

  /**
   * Update many elements with BPF_MAP_UPDATE_BATCH (BPF_ANY each). Falls back to one
   * update per element from where the kernel stopped if the map type or kernel does
   * not do batches. Not atomic: on error, the elements before the failing one are written.
   */
  updateBatch(keys: Buffer[], values: Buffer[]): void {
    if (keys.length !== values.length) {
      throw new BpfError(`update batch ${this.name}`, ERRNO.EINVAL, `${keys.length} keys but ${values.length} values`);
    }
    if (keys.length === 0) return;
    keys.forEach((k) => this.#checkKey(k));
    values.forEach((v) => this.#checkValue(v));
    this.updateBatchPacked(Buffer.concat(keys), Buffer.concat(values), keys.length);
  }

  /**
   * updateBatch for `count` keys and values already laid out back to back: the caller
   * encodes straight into two buffers instead of one small Buffer per entry (a full sync
   * writes hundreds of thousands of entries).
   */
  updateBatchPacked(keys: Buffer, values: Buffer, count: number): void {
    if (count === 0) return;
    const vsize = this.valueBufferSize;
    if (keys.length !== count * this.keySize || values.length !== count * vsize) {
      throw new BpfError(
        `update batch ${this.name}`,
        ERRNO.EINVAL,
        `${count} entries need ${count * this.keySize} key and ${count * vsize} value bytes, got ${keys.length} and ${values.length}`,
      );
    }
    const done = [count];
    const opts = { sz: koffi.sizeof(BpfMapBatchOpts), elem_flags: 0, flags: 0 };
    const rc = bpf.map_update_batch(this.fd, keys, values, done, opts) as number;
    if (rc === 0) return;
    const errno = errnoOfRc(rc);
    const first = doneBeforeError(done[0], count);
    if (!BATCH_UNSUPPORTED.has(errno)) throw this.#updateError(errno);
    for (let i = first; i < count; i++) {
      this.update(keys.subarray(i * this.keySize, (i + 1) * this.keySize), values.subarray(i * vsize, (i + 1) * vsize));
    }
  }

  deleteBatch(keys: Buffer[]): number {
    keys.forEach((k) => this.#checkKey(k));
    const opts = { sz: koffi.sizeof(BpfMapBatchOpts), elem_flags: 0, flags: 0 };
    let deleted = 0;
    let start = 0;
    while (start < keys.length) {
      const rest = keys.slice(start);
      const count = [rest.length];
      const rc = bpf.map_delete_batch(this.fd, Buffer.concat(rest), count, opts) as number;
      if (rc === 0) return deleted + rest.length;
      const done = doneBeforeError(count[0], rest.length);
      const errno = errnoOfRc(rc);
      deleted += done;
      if (errno === ERRNO.ENOENT) {
        start += done + 1; // the kernel stopped at a missing key: skip it, go on
        continue;
      }
      if (!BATCH_UNSUPPORTED.has(errno)) throw bpfError(`delete batch ${this.name}`, errno);
      for (const k of rest.slice(done)) if (this.delete(k)) deleted++;
      return deleted;
    }
    return deleted;
  }

  /**
   * Every key, walked with BPF_MAP_GET_NEXT_KEY. When an element is deleted under the
   * walk the kernel restarts from the first key; keys already seen are skipped, and the
   * walk is bounded so that heavy churn cannot make it loop forever.
   */
  keys(): Buffer[] {
    const out: Buffer[] = [];
    const seen = new Set<string>();
    let prev: Buffer | null = null;
    let budget = 2 * this.maxEntries + 64;
    while (budget-- > 0) {
      const next = Buffer.alloc(this.keySize);
      const rc = bpf.map_get_next_key(this.fd, prev, next) as number;
      if (rc === -ERRNO.ENOENT) break;
      check(`get_next_key ${this.name}`, rc);
      const id = next.toString('hex');
      if (!seen.has(id)) {
        seen.add(id);
        out.push(next);
      }
      prev = next;
    }
    return out;
  }

  /**
   * How many keys the map holds, walked as keys() does but keeping none: two key buffers,
   * reused. For a map that nothing writes during the walk (a check after a sync); a walk
   * the kernel visibly restarts (the first key again) is redone with keys(). keys() of
   * 210,000 entries leaves ~50 MB of Buffers and strings for the next major GC.
   */
  count(): number {
    let prev: Buffer | null = null;
    let next: Buffer = Buffer.alloc(this.keySize);
    let spare: Buffer = Buffer.alloc(this.keySize);
    let first: Buffer | undefined;
    let n = 0;
    let budget = 2 * this.maxEntries + 64;
    while (budget-- > 0) {
      const rc = bpf.map_get_next_key(this.fd, prev, next) as number;
      if (rc === -ERRNO.ENOENT) return n;
      check(`get_next_key ${this.name}`, rc);
      if (!first) first = Buffer.from(next);
      else if (next.equals(first)) return this.keys().length;
      n++;
      prev = next;
      next = spare;
      spare = prev;
    }
    return this.keys().length;
  }

  /** Every [key, value] pair; elements deleted between the walk and the lookup are left out. */
  entries(): Array<[Buffer, Buffer]> {
    const out: Array<[Buffer, Buffer]> = [];
    for (const key of this.keys()) {
      const value = this.lookup(key);
      if (value) out.push([key, value]);
    }
    return out;
  }

  /** Close an owned fd; a map borrowed from a BpfObject is closed with its object. */
  close(): void {
    if (this.#owned && this.#fd >= 0) c.close(this.#fd);
    this.#fd = -1;
  }

  /** Called by BpfObject.close(): the borrowed fd is gone. */
  invalidate(): void {
    if (!this.#owned) this.#fd = -1;
  }

  #checkKey(key: Buffer): void {
    if (key.length !== this.keySize) {
      throw new BpfError(`map ${this.name}`, ERRNO.EINVAL, `key is ${key.length} bytes, map wants ${this.keySize}`);
    }
  }

  #checkValue(value: Buffer): void {
    if (value.length !== this.valueBufferSize) {
      const what = this.perCpu ? ` (${this.valueSize} rounded to 8, × ${numPossibleCpus()} CPUs)` : '';
      throw new BpfError(
        `map ${this.name}`,
        ERRNO.EINVAL,
        `value is ${value.length} bytes, map wants ${this.valueBufferSize}${what}`,
      );
    }
  }

  #updateError(errno: number): BpfError {
    if (MAP_FULL.has(errno)) return new MapFullError(this.name, errno);
    return bpfError(`update ${this.name}`, errno);
  }
}

/** Type, sizes and name of the map behind `fd` (BPF_OBJ_GET_INFO_BY_FD). */
export function mapInfoByFd(fd: number, what: string): MapMeta {
  const size = koffi.sizeof(BpfMapInfo);
  const buf = Buffer.alloc(size);
  const len = [size];
  check(`bpf_obj_get_info_by_fd ${what}`, bpf.obj_get_info_by_fd(fd, buf, len) as number);
  const info = koffi.decode(buf, BpfMapInfo) as {
    type: number;
    key_size: number;
    value_size: number;
    max_entries: number;
    name: string;
  };
  return {
    name: info.name,
    type: info.type,
    keySize: info.key_size,
    valueSize: info.value_size,
    maxEntries: info.max_entries,
  };
}

/**
 * How many elements a failed batch call processed. The kernel writes the count back
 * only when it got as far as the elements; when it refuses the whole call (ENOTSUPP
 * for a map type without batch ops, EINVAL for bad attributes) the count still holds
 * our input, and since a failed call cannot have done everything, that means none.
 */
function doneBeforeError(count: number | undefined, asked: number): number {
  const n = count ?? 0;
  return n >= asked ? 0 : n;
}

function roundUp8(n: number): number {
  return (n + 7) & ~7;
}
