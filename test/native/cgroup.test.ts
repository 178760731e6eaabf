// cgroup socket-hook links: attach, pin, replace in place (a restarted agent), two links
// side by side on one cgroup (two node agents), detach — against the real kernel, on a
// child cgroup of our own (kpxsk-*) so no other process runs the test programs, and with
// a real connect() from a process moved into that cgroup.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BpfObject,
  cgroupAttach,
  cgroupDetach,
  cgroupLinkInfo,
  cgroupQuery,
  cgroupV2Root,
  ensureBpffs,
  programId,
  type CgroupLink,
} from '../../native/index.js';
import { fsMagic } from '../../native/bpffs.js';
import { AttachError } from '../../src/errors.js';

const PREFIX = `kpxsk-${process.pid}`;
const CGROUP2_SUPER_MAGIC = 0x63677270;

// Three tiny sock_addr programs: two connect4 ones that differ (allow / deny), so a
// replace is visible in behaviour, and a sendmsg4 one.
const SOURCE = `
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
SEC("cgroup/connect4") int allow_connect(struct bpf_sock_addr *ctx) { return 1; }
SEC("cgroup/connect4") int deny_connect(struct bpf_sock_addr *ctx) { return 0; }
SEC("cgroup/sendmsg4") int allow_sendmsg(struct bpf_sock_addr *ctx) { return 1; }
`;

function buildFixture(dir: string): string {
  const src = join(dir, 'cgroup_test.bpf.c');
  const out = join(dir, 'cgroup_test.bpf.o');
  writeFileSync(src, SOURCE);
  const multiarch = `/usr/include/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`;
  execFileSync('clang', ['-O2', '-g', '-Wall', '-target', 'bpf', `-I${multiarch}`, '-c', src, '-o', out]);
  return out;
}

/** connect() to 127.0.0.1:1 from a process inside `cgroup` and a fresh network namespace
 * (unshare -n: the host network is never touched). Returns the error code, e.g.
 * ECONNREFUSED (nothing listens: the hook allowed it) or EPERM (the hook denied it). */
function connectFromCgroup(cgroup: string): string {
  const script = `
    const s = require('node:net').connect(1, '127.0.0.1');
    s.on('connect', () => { console.log('CONNECTED'); s.destroy(); });
    s.on('error', (e) => console.log(e.code));`;
  const r = spawnSync(
    'unshare',
    ['-n', 'sh', '-c', `echo $$ > ${cgroup}/cgroup.procs && ip link set lo up && exec "$0" -e "$1"`, process.execPath, script],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

describe('cgroup links', () => {
  let build: string;
  let objA: BpfObject;
  let objB: BpfObject;
  let cgroup: string;
  let pins: string;

  before(() => {
    build = mkdtempSync(join(tmpdir(), `${PREFIX}-build-`));
    const path = buildFixture(build);
    ensureBpffs();
    pins = `/sys/fs/bpf/${PREFIX}-native`;
    rmSync(pins, { recursive: true, force: true });
    ensureBpffs(pins);
    // Two loads of the same object: two distinct program ids per function, as an old and
    // a restarted agent would have.
    objA = BpfObject.open(path);
    objA.load();
    objB = BpfObject.open(path);
    objB.load();
    cgroup = join(cgroupV2Root(), `${PREFIX}-native`);
    mkdirSync(cgroup, { recursive: true });
  });

  after(() => {
    for (const type of ['connect4', 'sendmsg4'] as const) {
      if (!cgroup || !existsSync(cgroup)) break;
      for (const id of cgroupQuery(cgroup, type)) process.stderr.write(`leftover program ${id} on ${cgroup} ${type}\n`);
    }
    if (pins) {
      for (const name of ['a-connect4', 'b-connect4', 'sendmsg4', 'gone']) {
        try {
          cgroupDetach(join(pins, name));
        } catch {
          // best effort
        }
      }
      rmSync(pins, { recursive: true, force: true });
    }
    objA?.close();
    objB?.close();
    if (cgroup && existsSync(cgroup)) rmdirSync(cgroup);
    if (build) rmSync(build, { recursive: true, force: true });
  });

  test('cgroupV2Root finds the cgroup2 mount', () => {
    const root = cgroupV2Root();
    assert.equal(fsMagic(root), CGROUP2_SUPER_MAGIC);
    const fake = join(build, 'mounts');
    writeFileSync(fake, 'cgroup /sys/fs/cgroup/cpu cgroup rw 0 0\ncgroup2 /sys/fs/cgroup/my\\040root cgroup2 rw 0 0\n');
    assert.equal(cgroupV2Root(fake), '/sys/fs/cgroup/my root');
  });

  test('attach pins a link; replace swaps the program in the same link; detach removes both', () => {
    const pin = join(pins, 'a-connect4');
    const allowA = objA.program('allow_connect');
    const denyB = objB.program('deny_connect');
    assert.deepEqual(cgroupQuery(cgroup, 'connect4'), []);
    assert.equal(connectFromCgroup(cgroup), 'ECONNREFUSED', 'no program: the kernel answers');

    const first = cgroupAttach(cgroup, allowA, 'connect4', { pinPath: pin });
    const info = first.info();
    first.close(); // pinned: stays attached without our fd, as after an agent exits
    assert.equal(first.replaced, false);
    assert.equal(info.progId, programId(allowA));
    assert.equal(info.attachType, 'connect4');
    assert.equal(info.cgroupId, statSync(cgroup, { bigint: true }).ino);
    assert.deepEqual(cgroupQuery(cgroup, 'connect4'), [programId(allowA)]);
    assert.ok(existsSync(pin));
    assert.equal(connectFromCgroup(cgroup), 'ECONNREFUSED', 'allow program: connect goes ahead');

    // A restarted agent: same pin, new program; the link (and its id) stays.
    const second = cgroupAttach(cgroup, denyB, 'connect4', { pinPath: pin });
    second.close();
    assert.equal(second.replaced, true);
    const after = cgroupLinkInfo(pin)!;
    assert.equal(after.linkId, info.linkId, 'same link');
    assert.equal(after.progId, programId(denyB));
    assert.deepEqual(cgroupQuery(cgroup, 'connect4'), [programId(denyB)], 'the old program is gone, not stacked');
    assert.equal(connectFromCgroup(cgroup), 'EPERM', 'the deny program now runs');

    assert.equal(cgroupDetach(pin), true);
    assert.equal(existsSync(pin), false);
    assert.deepEqual(cgroupQuery(cgroup, 'connect4'), []);
    assert.equal(connectFromCgroup(cgroup), 'ECONNREFUSED');
    assert.equal(cgroupDetach(pin), false, 'second detach finds nothing');
    assert.equal(cgroupLinkInfo(pin), undefined);
  });

  test('two links side by side on one cgroup (two node agents); detaching one keeps the other', () => {
    const pinA = join(pins, 'a-connect4');
    const pinB = join(pins, 'b-connect4');
    const a = objA.program('allow_connect');
    const b = objB.program('allow_connect');
    cgroupAttach(cgroup, a, 'connect4', { pinPath: pinA }).close();
    cgroupAttach(cgroup, b, 'connect4', { pinPath: pinB }).close();
    assert.deepEqual(new Set(cgroupQuery(cgroup, 'connect4')), new Set([programId(a), programId(b)]));

    // Agent A restarts with a new program: B's is untouched.
    const aNew = objB.program('deny_connect');
    cgroupAttach(cgroup, aNew, 'connect4', { pinPath: pinA }).close();
    assert.deepEqual(new Set(cgroupQuery(cgroup, 'connect4')), new Set([programId(aNew), programId(b)]));

    cgroupDetach(pinA);
    assert.deepEqual(cgroupQuery(cgroup, 'connect4'), [programId(b)]);
    cgroupDetach(pinB);
    assert.deepEqual(cgroupQuery(cgroup, 'connect4'), []);
  });

  test('a pin holding another hook is replaced by a new link, attached before the old one goes', () => {
    const pin = join(pins, 'sendmsg4');
    cgroupAttach(cgroup, objA.program('allow_connect'), 'connect4', { pinPath: pin }).close();
    const link = cgroupAttach(cgroup, objA.program('allow_sendmsg'), 'sendmsg4', { pinPath: pin });
    link.close();
    assert.equal(link.replaced, false);
    assert.equal(cgroupLinkInfo(pin)?.attachType, 'sendmsg4');
    assert.deepEqual(cgroupQuery(cgroup, 'connect4'), [], 'the old connect4 link is detached');
    assert.deepEqual(cgroupQuery(cgroup, 'sendmsg4'), [programId(objA.program('allow_sendmsg'))]);
    cgroupDetach(pin);
    assert.deepEqual(cgroupQuery(cgroup, 'sendmsg4'), []);
  });

  test('an unpinned link lives as long as its handle', () => {
    const link: CgroupLink = cgroupAttach(cgroup, objA.program('allow_connect'), 'connect4');
    assert.equal(link.pinPath, undefined);
    assert.deepEqual(cgroupQuery(cgroup, 'connect4'), [programId(objA.program('allow_connect'))]);
    link.close();
    assert.deepEqual(cgroupQuery(cgroup, 'connect4'), []);
  });

  test('errors are typed: wrong hook for the program, not a cgroup', () => {
    assert.throws(
      () => cgroupAttach(cgroup, objA.program('allow_sendmsg'), 'connect4', { pinPath: join(pins, 'gone') }),
      (e: unknown) => e instanceof AttachError && e.errno === 22,
    );
    assert.equal(existsSync(join(pins, 'gone')), false, 'nothing pinned after a failed attach');
    assert.throws(() => cgroupAttach(build, objA.program('allow_connect'), 'connect4'), /not on a cgroup v2 filesystem/);
  });
});
