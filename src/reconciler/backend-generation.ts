// The backend generation (kpx_backend_gen_v1): conntrack FORWARD entries cache their
// backend's address under the generation they read it at (bpf/conntrack.h), so after
// the control plane deletes or rewrites a backend it must bump the generation, or
// established flows would keep going to the removed backend instead of moving (C2).
// The bump follows the writes: a packet that sees the new generation also sees them.

/** The two map operations a generation needs; native BpfMap provides them. */
export interface GenerationMap {
  lookup(key: Buffer): Buffer | undefined;
  update(key: Buffer, value: Buffer): void;
}

const KEY = Buffer.alloc(4); // the array's only entry, key 0

/** The current generation (0 in a fresh map). */
export function readGeneration(map: GenerationMap): number {
  return map.lookup(KEY)?.readUInt32LE(0) ?? 0;
}

/** Increments the generation (wrapping at 2^32; the datapath keeps 16 bits). Only one
 *  writer exists (this node's agent), so read-then-write is enough. */
export function bumpGeneration(map: GenerationMap): number {
  const next = (readGeneration(map) + 1) >>> 0;
  const value = Buffer.alloc(4);
  value.writeUInt32LE(next, 0);
  map.update(KEY, value);
  return next;
}
