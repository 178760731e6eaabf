// The one error hierarchy of kpx. Every error carries a stable `code` that logs, metrics
// and tests key on; subclasses add the context an operator needs to act on it.
// test/errors.test.ts checks every class in ERROR_CLASSES.

export class KpxError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A libbpf or bpf(2) call failed. `errno` is positive (EPERM = 1, …). */
export class BpfError extends KpxError {
  readonly errno: number;
  readonly op: string;
  constructor(op: string, errno: number, detail: string, code = 'KPX_BPF') {
    super(code, `${op}: ${detail} (errno ${errno})`);
    this.op = op;
    this.errno = errno;
  }
}

/** The kernel verifier refused a program; `log` is its output. */
export class VerifierError extends BpfError {
  readonly log: string;
  constructor(op: string, errno: number, detail: string, log: string) {
    super(op, errno, `${detail}\n--- verifier log (tail) ---\n${log.slice(-4000)}`, 'KPX_VERIFIER');
    this.log = log;
  }
}

/** A map update failed because the map is at capacity. */
export class MapFullError extends BpfError {
  readonly map: string;
  constructor(map: string, errno: number) {
    super(`update ${map}`, errno, `map ${map} is full`, 'KPX_MAP_FULL');
    this.map = map;
  }
}

/** Attaching or detaching a program on an interface failed. */
export class AttachError extends BpfError {
  readonly iface: string;
  constructor(iface: string, op: string, errno: number, detail: string) {
    super(`${op} on ${iface}`, errno, detail, 'KPX_ATTACH');
    this.iface = iface;
  }
}

/** A Service, Endpoints, EndpointSlice, Node or Pod object (or manifest) is invalid. */
export class BadObjectError extends KpxError {
  readonly where: string;
  readonly field: string;
  constructor(where: string, field: string, reason: string) {
    super('KPX_BAD_OBJECT', `${where}: ${field}: ${reason}`);
    this.where = where;
    this.field = field;
  }
}

/** A command-line flag is missing, unknown or malformed. */
export class BadFlagError extends KpxError {
  readonly flag: string;
  constructor(flag: string, reason: string) {
    super('KPX_BAD_FLAG', `${flag}: ${reason}`);
    this.flag = flag;
  }
}

/** The machine lacks something kpx needs (capability, bpffs, kernel feature, interface). */
export class EnvironmentError extends KpxError {
  readonly hint: string;
  constructor(what: string, hint: string) {
    super('KPX_ENVIRONMENT', `${what}; ${hint}`);
    this.hint = hint;
  }
}

/** The lab refuses to run (address overlap, missing tool). */
export class LabError extends KpxError {
  constructor(message: string) {
    super('KPX_LAB', message);
  }
}

export const ERROR_CLASSES = {
  KpxError,
  BpfError,
  VerifierError,
  MapFullError,
  AttachError,
  BadObjectError,
  BadFlagError,
  EnvironmentError,
  LabError,
} as const;
