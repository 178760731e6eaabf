// `kpx trace SRC[:PORT] DST:PORT[/PROTO] [--from pod|external]`.

import { helpText, parseFlags } from '../cli/flags.js';
import { DEFAULT_PIN_DIR } from '../datapath/datapath.js';
import { BadFlagError } from '../errors.js';
import { renderTrace } from './explain.js';
import { runTrace, type TraceFrom } from './trace.js';

export const TRACE_USAGE = 'kpx trace SRC[:PORT] DST:PORT[/TCP|/UDP] [--from pod|external] [--bpffs-dir DIR] [-o json]';

export const TRACE_FLAGS = {
  from: { type: 'string', arg: 'WHERE', default: 'pod', help: 'pod: sent by a pod on this node (kpx_from_pod); external: arriving on the external device (kpx_xdp_ext)' },
  'bpffs-dir': { type: 'string', arg: 'DIR', default: DEFAULT_PIN_DIR, help: 'the agent\'s pin directory (live state to copy)' },
  object: { type: 'string', arg: 'PATH', help: 'datapath object to run (default: the one kpx ships)' },
  output: { type: 'string', arg: 'FORMAT', default: 'text', help: 'text or json (also -o)' },
  help: { type: 'boolean', help: 'show this help' },
} as const;

const DEFAULT_SPORT = 40000;

function ipv4(flagish: string, text: string): string {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) throw new BadFlagError(flagish, `not an IPv4 address: ${text}`);
  return parts.map(Number).join('.');
}

function port(flagish: string, text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535) throw new BadFlagError(flagish, `not a port: ${text}`);
  return n;
}

/** "10.0.0.1" or "10.0.0.1:40000". */
export function parseSource(text: string): { src: string; sport: number } {
  const [addr, p] = text.split(':');
  return { src: ipv4('SRC', addr ?? ''), sport: p === undefined ? DEFAULT_SPORT : port('SRC', p) };
}

/** "10.96.0.10:8080/TCP" (protocol defaults to TCP, any case). */
export function parseDestination(text: string): { dst: string; dport: number; proto: 'TCP' | 'UDP' } {
  const m = /^([^:/]+):(\d+)(?:\/(tcp|udp))?$/i.exec(text);
  if (!m) throw new BadFlagError('DST', `want ADDRESS:PORT/TCP or /UDP, got ${text}`);
  return { dst: ipv4('DST', m[1]!), dport: port('DST', m[2]!), proto: (m[3]?.toUpperCase() ?? 'TCP') as 'TCP' | 'UDP' };
}

export async function runTraceCommand(argv: string[], out: (line: string) => void): Promise<number> {
  const args = argv.map((a) => (a === '-o' ? '--output' : a));
  const { values, positionals } = parseFlags(args, TRACE_FLAGS);
  if (values.help) {
    out(helpText(TRACE_USAGE, TRACE_FLAGS));
    return 0;
  }
  if (positionals.length !== 2) throw new BadFlagError('(arguments)', `want SRC and DST\nusage: ${TRACE_USAGE}`);
  const from = values.from as TraceFrom;
  if (from !== 'pod' && from !== 'external') throw new BadFlagError('--from', 'must be pod or external');
  if (values.output !== 'text' && values.output !== 'json') throw new BadFlagError('--output', 'must be text or json');
  const result = runTrace({
    ...parseSource(positionals[0]!),
    ...parseDestination(positionals[1]!),
    from,
    pinDir: values['bpffs-dir']!,
    ...(values.object ? { objectPath: values.object } : {}),
  });
  if (values.output === 'json') out(JSON.stringify(result, null, 2));
  else for (const l of renderTrace(result)) out(l);
  return 0;
}
