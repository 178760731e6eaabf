// Run inside the lab's external namespace: attaches the pinned XDP pass program to the
// given veths, so XDP_TX from the nodes' eth1 is delivered (a veth delivers XDP frames
// only to a peer that runs XDP). Uses the native binding rather than `ip … pinned`,
// which would leave iproute2's own directories in bpffs.
//   node --import tsx src/lab/attach-peer-pass.ts PIN IFNAME…
import { BpfProgram, xdpAttach } from '../../native/index.js';

const [pin, ...ifaces] = process.argv.slice(2);
if (!pin || ifaces.length === 0) {
  process.stderr.write('usage: attach-peer-pass PIN IFNAME...\n');
  process.exit(2);
}
const prog = BpfProgram.openPinned(pin);
for (const i of ifaces) xdpAttach(i, prog, 'native');
prog.close();
