// The userspace mirror (src/datapath/abi.ts) against the BTF of the committed object:
// every struct's size and every field's offset and size, no field missing or extra, the
// maps' key and value types, and enum kpx_reason against REASONS. Drift fails here
// instead of corrupting packets.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { CT_FLAGS, LAYOUTS, MAP_NAMES, REASONS, REASON_MAX, type StructLayout } from '../../src/datapath/abi.js';
import { OBJECT_PATH } from './harness.js';

interface BtfMember {
  name: string;
  type_id: number;
  bits_offset: number;
  bitfield_size?: number;
}
interface BtfType {
  id: number;
  kind: string;
  name: string;
  size?: number;
  type_id?: number;
  nr_elems?: number;
  members?: BtfMember[];
  values?: Array<{ name: string; val: number }>;
}

const btf: BtfType[] = (
  JSON.parse(execFileSync('bpftool', ['btf', 'dump', 'file', OBJECT_PATH, '-j'], { encoding: 'utf8' })) as { types: BtfType[] }
).types;
const byId = new Map(btf.map((t) => [t.id, t]));

function typeById(id: number): BtfType {
  const t = byId.get(id);
  if (!t) throw new Error(`BTF type ${id} not found`);
  return t;
}

/** Size in bytes of a BTF type, through typedefs, qualifiers and arrays. */
function sizeOf(id: number): number {
  const t = typeById(id);
  switch (t.kind) {
    case 'INT':
    case 'ENUM':
    case 'STRUCT':
    case 'UNION':
      return t.size!;
    case 'TYPEDEF':
    case 'CONST':
    case 'VOLATILE':
      return sizeOf(t.type_id!);
    case 'ARRAY':
      return t.nr_elems! * sizeOf(t.type_id!);
    default:
      throw new Error(`no size for BTF kind ${t.kind}`);
  }
}

function structNamed(name: string): BtfType {
  const found = btf.filter((t) => t.kind === 'STRUCT' && t.name === name);
  assert.equal(found.length, 1, `exactly one struct ${name} in the object's BTF`);
  return found[0]!;
}

describe('ABI layouts match the BTF of bpf/kpx.bpf.o', () => {
  for (const [role, layout] of Object.entries(LAYOUTS) as Array<[string, StructLayout]>) {
    test(`${role}: struct ${layout.cName}`, () => {
      const s = structNamed(layout.cName);
      assert.equal(s.size, layout.size, 'struct size');
      const members = s.members ?? [];
      assert.deepEqual(members.map((m) => m.name).sort(), Object.keys(layout.fields).sort(), 'field names');
      for (const m of members) {
        const want = layout.fields[m.name]!;
        assert.equal(m.bitfield_size ?? 0, 0, `${m.name} is not a bitfield`);
        assert.equal(m.bits_offset % 8, 0, `${m.name} is byte aligned`);
        assert.equal(m.bits_offset / 8, want.offset, `${m.name} offset`);
        assert.equal(sizeOf(m.type_id), want.size, `${m.name} size`);
      }
    });
  }
});

describe('maps carry the ABI structs', () => {
  // The BTF-defined map: a VAR named like the map, whose struct has key/value pointers.
  function mapKeyValue(name: string): { key: BtfType; value: BtfType } {
    const v = btf.find((t) => t.kind === 'VAR' && t.name === name);
    assert.ok(v, `map ${name} is in the object`);
    const def = typeById(v.type_id!);
    const member = (n: string) => {
      const m = def.members?.find((x) => x.name === n);
      assert.ok(m, `map ${name} declares its ${n} type`);
      let t = typeById(typeById(m.type_id).type_id!); // PTR -> pointee
      while (t.kind === 'TYPEDEF') t = typeById(t.type_id!);
      return t;
    };
    return { key: member('key'), value: member('value') };
  }
  const expected: Record<string, [string, string]> = {
    [MAP_NAMES.services]: [LAYOUTS.svcKey.cName, LAYOUTS.svcValue.cName],
    [MAP_NAMES.backends]: ['unsigned int', LAYOUTS.backend.cName],
    [MAP_NAMES.backendGen]: ['unsigned int', 'unsigned int'],
    [MAP_NAMES.snatCursor]: ['unsigned int', 'unsigned int'],
    [MAP_NAMES.conntrack]: [LAYOUTS.ctKey.cName, LAYOUTS.ctValue.cName],
    [MAP_NAMES.frags]: [LAYOUTS.fragKey.cName, LAYOUTS.fragValue.cName],
    [MAP_NAMES.affinity]: [LAYOUTS.affinityKey.cName, LAYOUTS.affinityValue.cName],
    [MAP_NAMES.counters]: ['unsigned int', LAYOUTS.counter.cName],
    [MAP_NAMES.config]: ['unsigned int', LAYOUTS.config.cName],
    [MAP_NAMES.srcRanges]: [LAYOUTS.srcRangeKey.cName, 'unsigned char'],
    [MAP_NAMES.sockRev]: [LAYOUTS.sockRevKey.cName, LAYOUTS.sockRevValue.cName],
    [MAP_NAMES.svcStatsDense]: ['unsigned int', LAYOUTS.svcStats.cName],
    [MAP_NAMES.svcStats]: ['unsigned int', LAYOUTS.svcStats.cName],
  };
  for (const [name, [key, value]] of Object.entries(expected)) {
    test(`${name}: ${key} -> ${value}`, () => {
      const kv = mapKeyValue(name);
      assert.equal(kv.key.name, key);
      assert.equal(kv.value.name, value);
    });
  }
});

test('enum kpx_reason matches REASONS name for name, value for value', () => {
  const found = btf.filter((t) => t.kind === 'ENUM' && t.name === 'kpx_reason');
  assert.equal(found.length, 1, 'enum kpx_reason is in the BTF');
  const values = found[0]!.values!;
  const inC = values.filter((v) => v.name !== 'KPX_R_MAX').map((v) => [v.val, v.name.replace(/^KPX_R_/, '')]);
  assert.deepEqual(inC, REASONS.map((name, i) => [i, name]));
  assert.equal(values.find((v) => v.name === 'KPX_R_MAX')?.val, REASON_MAX);
  assert.ok(REASONS.length <= REASON_MAX);
});

test('CT_FLAGS matches the KPX_CT_F_* defines of bpf/constants.h, bit for bit', () => {
  // Macros are not in the BTF; the header is the source.
  const header = readFileSync(new URL('../../bpf/constants.h', import.meta.url), 'utf8');
  const inC = [...header.matchAll(/^#define KPX_CT_F_(\w+)\s+\(1 << (\d+)\)/gm)].map((m) => [m[1], 1 << Number(m[2])]);
  assert.deepEqual(inC, Object.entries(CT_FLAGS));
});
