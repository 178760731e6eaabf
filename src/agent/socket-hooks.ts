// Node-originated traffic (processes in the node's namespace, hostNetwork pods) reaches
// Services through cgroup socket hooks: see docs/node-originated.md for why. Links are
// pinned under the pin directory, so a restarted agent swaps programs in place.

import { join } from 'node:path';
import { cgroupAttach, cgroupDetach, cgroupV2Root, type CgroupAttachType } from '../../native/index.js';
import type { Datapath } from '../datapath/datapath.js';
import type { ProgramRole } from '../datapath/abi.js';

export const SOCKET_HOOKS: ReadonlyArray<[CgroupAttachType, ProgramRole]> = [
  ['connect4', 'sockConnect4'],
  ['sendmsg4', 'sockSendmsg4'],
  ['recvmsg4', 'sockRecvmsg4'],
  ['getpeername4', 'sockGetpeername4'],
];

export function socketHookPin(pinDir: string, type: CgroupAttachType): string {
  return join(pinDir, 'links', `sock_${type}`);
}

export function attachSocketHooks(dp: Datapath, cgroup = cgroupV2Root()): void {
  for (const [type, role] of SOCKET_HOOKS) {
    cgroupAttach(cgroup, dp.programs[role], type, { pinPath: socketHookPin(dp.pinDir, type) }).close();
  }
}

/** Detaches kpx's socket hooks (their pinned links); true when any was attached. */
export function detachSocketHooks(pinDir: string): boolean {
  let any = false;
  for (const [type] of SOCKET_HOOKS) any = cgroupDetach(socketHookPin(pinDir, type)) || any;
  return any;
}
