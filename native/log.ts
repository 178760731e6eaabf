// libbpf's own messages ("map 'x': couldn't reuse pinned map", "prog 'y': failed to
// load", …). By default libbpf prints them to stderr; kpx instead keeps the recent ones
// so that errors can carry them (see fail.ts), and echoes them only when
// KPX_LIBBPF_DEBUG is set (1 = warnings and info, 2 = also debug).
import { bpf, c, koffi, LibbpfPrintFn, libbpfSetPrint } from './libbpf.js';

const LEVEL_DEBUG = 2;
const KEEP = 200;

const echoLevel = Number(process.env.KPX_LIBBPF_DEBUG ?? '-1');
const recent: string[] = [];
const lineBuf = Buffer.alloc(4096);

function onPrint(level: number, fmt: string, ap: unknown): number {
  if (level >= LEVEL_DEBUG && echoLevel < 2) return 0;
  const n = c.vsnprintf(lineBuf, lineBuf.length, fmt, ap) as number;
  if (n <= 0) return 0;
  const text = lineBuf.toString('utf8', 0, Math.min(n, lineBuf.length - 1)).replace(/\n$/, '');
  if (echoLevel >= level) process.stderr.write(`${text}\n`);
  recent.push(text);
  if (recent.length > KEEP) recent.splice(0, recent.length - KEEP);
  return 0;
}

// Registered once for the life of the process: libbpf keeps the pointer.
const printCallback = koffi.register(onPrint, koffi.pointer(LibbpfPrintFn));
libbpfSetPrint(printCallback);

/** Forget libbpf messages so far; call before an operation whose messages you want. */
export function resetLibbpfLog(): void {
  recent.length = 0;
}

/** libbpf messages since the last reset (at most the last 200 lines), then reset. */
export function takeLibbpfLog(): string[] {
  return recent.splice(0, recent.length);
}

/** libbpf_strerror: its own codes (4000+) and strerror for the rest. */
export function describeErrno(errno: number): string {
  const buf = Buffer.alloc(256);
  bpf.strerror(errno, buf, buf.length);
  const end = buf.indexOf(0);
  return buf.toString('utf8', 0, end < 0 ? buf.length : end);
}
