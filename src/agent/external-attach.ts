// Attaches the external-device program: XDP (native, else generic) where the driver
// allows, otherwise the tc version of the same logic. Either replaces what an earlier
// kpx attached, so a restart swaps programs without a gap.

import { tcAttach, tcDetach, xdpAttach, xdpDetach, type BpfProgram } from '../../native/index.js';
import { BadFlagError } from '../errors.js';

export type ExternalMode = 'native' | 'generic' | 'auto';
export type AttachedAs = 'xdp-native' | 'xdp-generic' | 'tc';

export function parseExternalMode(text: string): ExternalMode {
  if (text === 'native' || text === 'generic' || text === 'auto') return text;
  throw new BadFlagError('--xdp-mode', `must be native, generic or auto, not "${text}"`);
}

export function attachExternal(ifname: string, progs: { xdpExt: BpfProgram; tcExt: BpfProgram }, mode: ExternalMode): AttachedAs {
  const tries: Array<'native' | 'generic'> = mode === 'auto' ? ['native', 'generic'] : [mode];
  let lastErr: unknown;
  for (const m of tries) {
    try {
      xdpAttach(ifname, progs.xdpExt, m);
      tcDetach(ifname, 'ingress'); // a tc fallback left by an earlier run would translate twice
      return m === 'native' ? 'xdp-native' : 'xdp-generic';
    } catch (err) {
      lastErr = err;
    }
  }
  if (mode !== 'auto') throw lastErr;
  xdpDetach(ifname);
  tcAttach(ifname, progs.tcExt, 'ingress');
  return 'tc';
}
