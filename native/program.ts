// A loaded BPF program by file descriptor: pinning and BPF_PROG_TEST_RUN.
import { BpfError } from '../src/errors.js';
import { BpfProgInfoHead, BpfTestRunOpts, bpf, c, koffi } from './libbpf.js';
import { bpfError, check, ERRNO, errnoOfRc } from './fail.js';
import { resetLibbpfLog } from './log.js';
import { openPinnedFd } from './fdkind.js';

export interface TestRunOptions {
  /** The packet. tc (sched_cls) programs need at least an Ethernet header (14 bytes). */
  data: Buffer;
  /** Run the program this many times (the kernel reports the average duration). Default 1. */
  repeat?: number;
  /** Room for the output packet. Default: input length + 1024 (room for encapsulation). */
  dataOutSize?: number;
  /** Context in (e.g. struct __sk_buff for tc); the context out is returned as `ctx`. */
  ctx?: Buffer;
}

export interface TestRunResult {
  retval: number;
  /** The packet after the program ran (data_out, truncated to data_size_out). */
  data: Buffer;
  /** Average run time per repetition, in nanoseconds, as the kernel measured it. */
  durationNs: number;
  /** The context after the run, when a context was given. */
  ctx?: Buffer;
}

export class BpfProgram {
  readonly name: string;
  /** enum bpf_prog_type. */
  readonly type: number;
  #fd: number;
  readonly #owned: boolean;

  constructor(fd: number, name: string, type: number, owned: boolean) {
    this.#fd = fd;
    this.name = name;
    this.type = type;
    this.#owned = owned;
  }

  get fd(): number {
    if (this.#fd < 0) throw new BpfError(`program ${this.name}`, ERRNO.EBADF, 'program handle is closed');
    return this.#fd;
  }

  /** Open a program pinned on bpffs; the returned handle owns its fd. */
  static openPinned(path: string): BpfProgram {
    return openPinnedFd(path, 'prog', (fd) => {
      const size = koffi.sizeof(BpfProgInfoHead);
      const buf = Buffer.alloc(size);
      check(`bpf_obj_get_info_by_fd ${path}`, bpf.obj_get_info_by_fd(fd, buf, [size]) as number);
      const info = koffi.decode(buf, BpfProgInfoHead) as { name: string; type: number };
      return new BpfProgram(fd, info.name, info.type, true);
    });
  }

  pin(path: string): void {
    resetLibbpfLog();
    check(`bpf_obj_pin ${this.name} at ${path}`, bpf.obj_pin(this.fd, path) as number);
  }

  /** Run the program once (or `repeat` times) on `data` with BPF_PROG_TEST_RUN. */
  testRun(opts: TestRunOptions): TestRunResult {
    const outSize = opts.dataOutSize ?? opts.data.length + 1024;
    const ctxSize = opts.ctx?.length ?? 0;
    // Stable native memory for everything the kernel reads or writes during the call.
    const dataIn = copyToNative(opts.data);
    const dataOut = koffi.alloc('uint8_t', Math.max(outSize, 1));
    const ctxIn = opts.ctx ? copyToNative(opts.ctx) : null;
    const ctxOut = opts.ctx ? koffi.alloc('uint8_t', Math.max(ctxSize, 1)) : null;
    try {
      const run = {
        sz: koffi.sizeof(BpfTestRunOpts),
        data_in: dataIn,
        data_out: dataOut,
        data_size_in: opts.data.length,
        data_size_out: outSize,
        ctx_in: ctxIn,
        ctx_out: ctxOut,
        ctx_size_in: ctxSize,
        ctx_size_out: ctxSize,
        retval: 0,
        repeat: opts.repeat ?? 1,
        duration: 0,
        flags: 0,
        cpu: 0,
        batch_size: 0,
      };
      const rc = bpf.prog_test_run_opts(this.fd, run) as number;
      if (rc < 0) {
        const errno = errnoOfRc(rc);
        if (errno === ERRNO.ENOSPC) {
          throw new BpfError(
            `test run ${this.name}`,
            errno,
            `output packet is larger than dataOutSize (${outSize} bytes); pass a larger dataOutSize`,
          );
        }
        throw bpfError(`test run ${this.name}`, errno);
      }
      const result: TestRunResult = {
        retval: run.retval,
        data: readNative(dataOut, Math.min(run.data_size_out, outSize)),
        durationNs: run.duration,
      };
      if (ctxOut) result.ctx = readNative(ctxOut, Math.min(run.ctx_size_out, ctxSize));
      return result;
    } finally {
      koffi.free(dataIn);
      koffi.free(dataOut);
      if (ctxIn) koffi.free(ctxIn);
      if (ctxOut) koffi.free(ctxOut);
    }
  }

  /** Close an owned fd; a program borrowed from a BpfObject is closed with its object. */
  close(): void {
    if (this.#owned && this.#fd >= 0) c.close(this.#fd);
    this.#fd = -1;
  }

  /** Called by BpfObject.close(): the borrowed fd is gone. */
  invalidate(): void {
    if (!this.#owned) this.#fd = -1;
  }
}

function copyToNative(buf: Buffer): unknown {
  const ptr = koffi.alloc('uint8_t', Math.max(buf.length, 1));
  if (buf.length > 0) new Uint8Array(koffi.view(ptr, buf.length)).set(buf);
  return ptr;
}

function readNative(ptr: unknown, len: number): Buffer {
  if (len <= 0) return Buffer.alloc(0);
  return Buffer.from(new Uint8Array(koffi.view(ptr, len))); // a copy: ptr is freed next
}
