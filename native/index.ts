// The native binding of kpx: a thin layer over libbpf.so.1 (through koffi). No policy
// lives here; see object.ts, map.ts, program.ts, attach.ts for each part.
export { BpfObject, type OpenOptions } from './object.js';
export { BpfMap, UPDATE_FLAGS, type UpdateFlag, type MapMeta } from './map.js';
export { BpfProgram, type TestRunOptions, type TestRunResult } from './program.js';
export { numPossibleCpus } from './cpus.js';
export { ensureBpffs, isBpffs, BPF_FS_MAGIC, DEFAULT_BPFFS } from './bpffs.js';
export {
  tcAttach,
  tcDetach,
  tcQuery,
  tcRemoveClsact,
  xdpAttach,
  xdpDetach,
  xdpQuery,
  TC_DEFAULTS,
  type TcDirection,
  type TcFilterOptions,
  type XdpMode,
} from './attach.js';
export { ifIndex } from './netif.js';
export { netnsCookie } from './netns-cookie.js';
export {
  cgroupAttach,
  cgroupDetach,
  cgroupLinkInfo,
  cgroupQuery,
  cgroupV2Root,
  programId,
  CgroupLink,
  CGROUP_ATTACH_TYPES,
  type CgroupAttachType,
  type CgroupAttachOptions,
  type CgroupLinkInfo,
} from './cgroup.js';
