// The two API-server settings a manifest source stands in for, parsed with errors that name
// the flag (the CLI passes its own flag names).

import { BadFlagError } from '../../errors.js';
import { parseCidr, type Cidr } from '../../net/ipv4.js';

export const DEFAULT_SERVICE_CIDR = '10.96.0.0/12';
export const DEFAULT_NODE_PORT_RANGE = '30000-32767';

export function parseServiceCidr(text: string, flag = '--service-cidr'): Cidr {
  const c = parseCidr(text);
  if (!c) throw new BadFlagError(flag, `not an IPv4 CIDR: ${JSON.stringify(text)} (e.g. ${DEFAULT_SERVICE_CIDR})`);
  if (c.bits > 30) throw new BadFlagError(flag, `${c.text} is too small for Services (at most /30)`);
  return c;
}

export function parseNodePortRange(text: string, flag = '--nodeport-range'): { min: number; max: number } {
  const m = /^\s*(\d{1,5})\s*-\s*(\d{1,5})\s*$/.exec(text);
  const min = Number(m?.[1]);
  const max = Number(m?.[2]);
  if (!m || min < 1 || max > 65535 || min > max) {
    throw new BadFlagError(flag, `not a port range: ${JSON.stringify(text)} (e.g. ${DEFAULT_NODE_PORT_RANGE})`);
  }
  return { min, max };
}
