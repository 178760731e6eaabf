// Number of possible CPUs: the number of value slots in a per-CPU map lookup.
import { bpf } from './libbpf.js';
import { check } from './fail.js';

let cached: number | undefined;

export function numPossibleCpus(): number {
  cached ??= check('libbpf_num_possible_cpus', bpf.num_possible_cpus() as number);
  return cached;
}
