// The `kpx` command: one subcommand per job. Errors from kpx itself are printed as one
// clear line (with the stable error code) and exit 1; flag errors exit 2.

import { helpText, parseFlags } from './cli/flags.js';
import { AGENT_FLAGS } from './agent/flags.js';
import { runAgent } from './agent/agent.js';
import { BadFlagError, KpxError } from './errors.js';
import { LAB_PATHS, labDown, labShow, labUp } from './lab/command.js';
import { runInspect } from './inspect/command.js';
import { runTraceCommand } from './trace/command.js';
import { runCleanupCommand } from './cleanup/command.js';

const USAGE = `kpx — an eBPF service load balancer for Kubernetes (a kube-proxy replacement)

Usage:
  kpx lab                                           build a two-node namespace lab and show traffic being balanced
  kpx lab down                                      remove the lab
  kpx agent [flags]                                 run the per-node proxy (kpx agent --help)
  kpx inspect VIEW [-o json]                        read the pinned maps: services, backends, conntrack, affinity, nat, counters
  kpx inspect diff --manifests DIR | --kubeconfig P what the control plane wants vs what the maps hold (exit 1 if they differ)
  kpx trace SRC[:PORT] DST:PORT/PROTO [--from pod|external]
                                                    run one synthetic packet through the datapath and explain its fate
  kpx cleanup [flags]                               remove every filter, hook and pin kpx left on this node
`;

const LAB_FLAGS = {
  help: { type: 'boolean', help: 'show this help' },
} as const;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'lab': {
      if (rest[0] === 'down') {
        labDown(LAB_PATHS, (l) => console.log(l));
        return 0;
      }
      const { values, positionals } = parseFlags(rest, LAB_FLAGS);
      if (values.help) {
        console.log(helpText('kpx lab [flags] | kpx lab down', LAB_FLAGS));
        return 0;
      }
      if (positionals.length) throw new BadFlagError(positionals[0]!, 'unknown lab subcommand (only "down")');
      const lab = await labUp({ out: (l) => console.log(l) });
      await labShow(lab, (l) => console.log(l));
      console.log('');
      console.log(`The lab stays up. Try: nsenter --net=/run/netns/${LAB_PATHS.prefix}client curl -s 10.96.0.10:8080`);
      console.log(`Manifests: ${LAB_PATHS.stateDir}/manifests (the agents follow edits). Remove everything: kpx lab down`);
      return 0;
    }
    case 'agent':
      if (rest.includes('--help')) {
        console.log(helpText('kpx agent [flags]', AGENT_FLAGS));
        return 0;
      }
      await runAgent(rest);
      return -1; // keeps running
    case 'inspect':
      return runInspect(rest, (l) => console.log(l));
    case 'trace':
      return runTraceCommand(rest, (l) => console.log(l));
    case 'cleanup':
      return runCleanupCommand(rest, (l) => console.log(l));
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return cmd === undefined ? 2 : 0;
    default:
      throw new BadFlagError(cmd, `unknown command\n${USAGE}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    if (err instanceof KpxError) {
      console.error(`kpx: ${err.message} [${err.code}]`);
      process.exit(err instanceof BadFlagError ? 2 : 1);
    }
    console.error(err);
    process.exit(1);
  },
);
