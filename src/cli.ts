// The `kpx` command: one subcommand per job. Errors from kpx itself are printed as one
// clear line (with the stable error code) and exit 1; flag errors exit 2.

import { helpText, parseFlags } from './cli/flags.js';
import { AGENT_FLAGS } from './agent/flags.js';
import { runAgent } from './agent/agent.js';
import { BadFlagError, KpxError } from './errors.js';
import { LAB_DEFAULTS, labDown, labUp } from './lab/command.js';

const USAGE = `kpx — an eBPF service load balancer for Kubernetes (a kube-proxy replacement)

Usage:
  kpx lab [--pod-cidr CIDR] [--service-cidr CIDR]   build a namespace lab and show traffic being balanced
  kpx lab down                                      remove the lab
  kpx agent [flags]                                 run the per-node proxy (kpx agent --help)
`;

const LAB_FLAGS = {
  'pod-cidr': { type: 'string', arg: 'CIDR', default: LAB_DEFAULTS.podCidr, help: 'pod addresses of the lab' },
  'service-cidr': { type: 'string', arg: 'CIDR', default: LAB_DEFAULTS.serviceCidr, help: 'ClusterIPs of the lab' },
  help: { type: 'boolean', help: 'show this help' },
} as const;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'lab': {
      if (rest[0] === 'down') {
        labDown((l) => console.log(l));
        return 0;
      }
      const { values, positionals } = parseFlags(rest, LAB_FLAGS);
      if (values.help) {
        console.log(helpText('kpx lab [flags] | kpx lab down', LAB_FLAGS));
        return 0;
      }
      if (positionals.length) throw new BadFlagError(positionals[0]!, 'unknown lab subcommand (only "down")');
      const ok = await labUp({ podCidr: values['pod-cidr']!, serviceCidr: values['service-cidr']!, out: (l) => console.log(l) });
      return ok ? 0 : 1;
    }
    case 'agent':
      if (rest.includes('--help')) {
        console.log(helpText('kpx agent [flags]', AGENT_FLAGS));
        return 0;
      }
      await runAgent(rest);
      return -1; // keeps running
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
