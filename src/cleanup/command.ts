// `kpx cleanup [--bpffs-dir DIR] [--pod-interfaces PATTERNS] [--external-interface NAME]`.

import { AGENT_FLAGS } from '../agent/flags.js';
import { helpText, parseFlags } from '../cli/flags.js';
import { BadFlagError } from '../errors.js';
import { cleanup } from './cleanup.js';

export const CLEANUP_FLAGS = {
  'bpffs-dir': AGENT_FLAGS['bpffs-dir'],
  'pod-interfaces': AGENT_FLAGS['pod-interfaces'],
  'external-interface': { type: 'string', arg: 'NAME', help: 'the external device kpx attached XDP (or tc) to' },
  help: { type: 'boolean', help: 'show this help' },
} as const;

export function runCleanupCommand(argv: string[], out: (line: string) => void): number {
  const { values, positionals } = parseFlags(argv, CLEANUP_FLAGS);
  if (values.help) {
    out(helpText('kpx cleanup [flags]   (stop the agent first; acts in the current network namespace)', CLEANUP_FLAGS));
    return 0;
  }
  if (positionals.length) throw new BadFlagError(positionals[0]!, 'unexpected argument');
  const r = cleanup({
    pinDir: values['bpffs-dir']!,
    podInterfaces: values['pod-interfaces']!.split(','),
    ...(values['external-interface'] ? { externalInterface: values['external-interface'] } : {}),
  });
  for (const l of r.removed) out(`removed ${l}`);
  for (const l of r.kept) out(`kept ${l}`);
  for (const l of r.errors) out(`error: ${l}`);
  if (r.removed.length === 0 && r.errors.length === 0) out('nothing to remove');
  return r.errors.length ? 1 : 0;
}
