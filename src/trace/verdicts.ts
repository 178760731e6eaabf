// Program return codes by program type: what the kernel does with the packet next.

const BPF_PROG_TYPE_SCHED_CLS = 3;
const BPF_PROG_TYPE_XDP = 6;

const TC: Record<number, [string, string]> = {
  [-1]: ['TC_ACT_UNSPEC', 'the next tc filter decides'],
  0: ['TC_ACT_OK', 'the packet goes on into the node\'s network stack'],
  1: ['TC_ACT_RECLASSIFY', 'tc classifies it again'],
  2: ['TC_ACT_SHOT', 'the packet is dropped'],
  3: ['TC_ACT_STOLEN', 'the program consumed the packet'],
  7: ['TC_ACT_REDIRECT', 'the packet is sent out of another interface (bpf_redirect)'],
};

const XDP: Record<number, [string, string]> = {
  0: ['XDP_ABORTED', 'the program failed; the packet is dropped'],
  1: ['XDP_DROP', 'the packet is dropped'],
  2: ['XDP_PASS', 'the packet goes on into the node\'s network stack'],
  3: ['XDP_TX', 'the packet is sent back out of the interface it came in on'],
  4: ['XDP_REDIRECT', 'the packet is sent out of another interface'],
};

export function verdictOf(progType: number, retval: number): { code: number; name: string; meaning: string } {
  const table = progType === BPF_PROG_TYPE_XDP ? XDP : progType === BPF_PROG_TYPE_SCHED_CLS ? TC : {};
  const code = progType === BPF_PROG_TYPE_SCHED_CLS ? retval | 0 : retval; // tc codes are signed
  const [name, meaning] = table[code] ?? [`retval ${retval}`, 'unknown return code'];
  return { code, name, meaning };
}
