// `kpx inspect`: the datapath's state read from the pinned maps on this node (not from
// the API server), with Service names from owners.json; and `kpx inspect diff`, the
// difference between what the control plane wants and what the maps hold.

import { agentConfigFromFlags } from '../agent/agent.js';
import { AGENT_FLAGS } from '../agent/flags.js';
import { helpText, parseFlags } from '../cli/flags.js';
import { DEFAULT_PIN_DIR } from '../datapath/datapath.js';
import { BadFlagError } from '../errors.js';
import { readProgrammed } from '../reconciler/read-programmed.js';
import { desiredWithAdoptedIds, readSource } from './desired-from-source.js';
import { diffStates, renderDiff } from './diff.js';
import { readOwners } from './owners-file.js';
import { withPinnedMaps } from './pinned-maps.js';
import { renderAffinity, renderBackends, renderCounters, renderFlows, renderServices } from './render.js';
import { affinityView, backendsView, countersView, flowsView, natView, servicesView } from './views.js';

export const INSPECT_USAGE = `kpx inspect VIEW [--bpffs-dir DIR] [-o text|json]

Views (read from the maps pinned under --bpffs-dir; names from owners.json):
  services    frontends: address:port/protocol, scope, flags, id, owner, slots and backends
  backends    every backend: id, address, state, frontend id, owner
  conntrack   tracked flows: tuple, direction, backend, NAT addresses, flags, idle time
  affinity    ClientIP session affinity entries (A1)
  nat         flows whose source was translated too (SNAT: external and hairpin flows)
  counters    packets and bytes per datapath decision reason

kpx inspect diff [--manifests DIR | --kubeconfig PATH] [agent flags] [-o json]
  computes what the control plane wants from that source (with the agent's flags, e.g.
  --node-name, --proxy-name, --service-cidr) and prints the map entries that differ.
  Exit status 1 when the maps differ from the desired state.
`;

export const INSPECT_FLAGS = {
  'bpffs-dir': { type: 'string', arg: 'DIR', default: DEFAULT_PIN_DIR, help: 'the agent\'s pin directory' },
  output: { type: 'string', arg: 'FORMAT', default: 'text', help: 'text or json (also -o)' },
  help: { type: 'boolean', help: 'show this help' },
} as const;

const VIEWS = ['services', 'backends', 'conntrack', 'affinity', 'nat', 'counters'] as const;
type View = (typeof VIEWS)[number];

/** `-o X` is `--output X` (node's parser takes long names only here). */
function expandShort(argv: string[]): string[] {
  return argv.map((a) => (a === '-o' ? '--output' : a.startsWith('-o') && !a.startsWith('--') ? `--output=${a.slice(2)}` : a));
}

function outputFormat(v: string | undefined): 'text' | 'json' {
  if (v !== 'text' && v !== 'json') throw new BadFlagError('--output', 'must be text or json');
  return v;
}

const json = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x), 2);

/** Runs `kpx inspect ARGV…`; returns the exit status. */
export async function runInspect(argv: string[], out: (line: string) => void): Promise<number> {
  const [view, ...rest] = expandShort(argv);
  if (view === undefined || view === '--help' || view === 'help') {
    out(INSPECT_USAGE);
    return view === undefined ? 2 : 0;
  }
  if (view === 'diff') return runDiff(rest, out);
  if (!(VIEWS as readonly string[]).includes(view)) throw new BadFlagError(view, `unknown inspect view\n${INSPECT_USAGE}`);
  const { values, positionals } = parseFlags(rest, INSPECT_FLAGS);
  if (values.help) {
    out(helpText(`kpx inspect ${view} [flags]`, INSPECT_FLAGS));
    return 0;
  }
  if (positionals.length) throw new BadFlagError(positionals[0]!, 'unexpected argument');
  const format = outputFormat(values.output);
  const pinDir = values['bpffs-dir']!;
  const owners = readOwners(pinDir);
  withPinnedMaps(pinDir, (maps) => {
    const lines = (v: View): { data: unknown; text: () => string[] } => {
      switch (v) {
        case 'services': {
          const d = servicesView(maps, owners);
          return { data: d, text: () => renderServices(d) };
        }
        case 'backends': {
          const d = backendsView(maps, owners);
          return { data: d, text: () => renderBackends(d) };
        }
        case 'conntrack': {
          const d = flowsView(maps, owners);
          return { data: d, text: () => renderFlows(d) };
        }
        case 'nat': {
          const d = natView(maps, owners);
          return { data: d, text: () => renderFlows(d, 'SNAT entries') };
        }
        case 'affinity': {
          const d = affinityView(maps, owners);
          return { data: d, text: () => renderAffinity(d) };
        }
        case 'counters': {
          const d = countersView(maps);
          return { data: d, text: () => renderCounters(d) };
        }
      }
    };
    const r = lines(view as View);
    if (format === 'json') out(json(r.data));
    else for (const l of r.text()) out(l);
  });
  return 0;
}

const DIFF_FLAGS = { ...AGENT_FLAGS, output: INSPECT_FLAGS.output } as const;

async function runDiff(argv: string[], out: (line: string) => void): Promise<number> {
  const { values } = parseFlags(argv, DIFF_FLAGS);
  if (values.help) {
    out(helpText('kpx inspect diff [--manifests DIR | --kubeconfig PATH] [agent flags]', DIFF_FLAGS));
    return 0;
  }
  const format = outputFormat(values.output);
  // Everything but --output is an agent flag: the agent's own parser gives the same
  // source and model options the agent would run with.
  const agentArgv: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--output') i++;
    else if (!a.startsWith('--output=')) agentArgv.push(a);
  }
  const cfg = agentConfigFromFlags(agentArgv);
  const src = await readSource(cfg);
  const result = withPinnedMaps(cfg.bpffsDir, (maps) => {
    const programmed = readProgrammed(maps.get('services'), maps.get('backends'), maps.get('srcRanges'));
    const desired = desiredWithAdoptedIds(src.snapshot, cfg, programmed.frontends);
    return { diff: diffStates(programmed, desired.state), desired };
  });
  const warnings = [...src.errors, ...result.desired.errors].map((e) => e.message);
  if (format === 'json') {
    out(json({ ...result.diff, source: src.describe, pinDir: cfg.bpffsDir, warnings }));
  } else {
    for (const w of warnings) out(`warning: ${w}`);
    for (const l of renderDiff(result.diff, cfg.bpffsDir, src.describe)) out(l);
  }
  return result.diff.equal ? 0 : 1;
}
