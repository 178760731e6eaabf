// Start-up failures say what is wrong and how to fix it: `kpx agent` in a scratch network
// namespace, misconfigured one way at a time, must exit 1 with one line
// `kpx: … [KPX_…]` carrying a hint — and leave nothing pinned or attached behind.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { isBpffs } from '../../native/index.js';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Datapath } from '../../src/datapath/datapath.js';
import { createNetns, deleteNetns, NETNS_DIR } from '../../src/lab/netns.js';

const KPX = fileURLToPath(new URL('../../bin/kpx.js', import.meta.url));
const NS = `kpxt-rst-${process.pid}`;
const PINS = `/sys/fs/bpf/kpxt-rst-${process.pid}`;
let work: string;

before(() => {
  createNetns(NS);
  work = mkdtempSync(join(tmpdir(), 'kpxt-rst-'));
  mkdirSync(join(work, 'manifests'));
});

after(() => {
  deleteNetns(NS);
  rmSync(PINS, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stderr: string;
}

/** Runs `kpx agent ARGS` in the scratch namespace, optionally without the capabilities
 *  `drop` (e.g. "sys_admin,bpf": setpriv takes them out of the bounding set, so even
 *  root cannot have them). */
function agent(args: string[], drop?: string): Promise<Run> {
  const base = ['--node-name', 'n1', '--healthz-bind-address', '127.0.0.1:0', '--metrics-bind-address', '127.0.0.1:0', '--pod-interfaces', 'kv-*'];
  const argv = [process.execPath, KPX, 'agent', ...base, ...args];
  const cmd = drop ? ['setpriv', `--bounding-set=${drop.split(',').map((c) => `-${c}`).join(',')}`, '--', ...argv] : argv;
  return new Promise((resolve) => {
    const child = execFile('nsenter', [`--net=${NETNS_DIR}/${NS}`, ...cmd], { timeout: 60_000 }, (err, _out, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stderr });
    });
    child.stdin?.end();
  });
}

/** Exit 1 and exactly one line, `kpx: … [CODE]`, matching `re`. */
function assertOneLine(r: Run, re: RegExp, code = 'KPX_ENVIRONMENT'): void {
  assert.equal(r.code, 1, `exit code 1; stderr:\n${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line, got:\n${r.stderr}`);
  assert.match(lines[0]!, new RegExp(`^kpx: .+ \\[${code}\\]$`));
  assert.match(lines[0]!, re);
}

const manifests = (): string[] => ['--manifests', join(work, 'manifests')];

test('a pin directory on no bpffs: says where and how to mount one, and never mounts over it', async () => {
  const dir = join(work, 'nobpffs');
  mkdirSync(dir);
  const r = await agent([...manifests(), '--bpffs-dir', join(dir, 'pins')]);
  assertOneLine(r, /nobpffs is not a bpffs; .*mount -t bpf bpf .*nobpffs/);
  assert.equal(isBpffs(dir), false, 'kpx mounts bpffs only at /sys/fs/bpf');
});

test('pin directory not writable: names it and the fix', async () => {
  const ro = `${PINS}-ro`;
  mkdirSync(ro, { recursive: true });
  chmodSync(ro, 0o500);
  try {
    const r = await agent([...manifests(), '--bpffs-dir', join(ro, 'pins')], 'dac_override,dac_read_search');
    assertOneLine(r, /the pin directory .*-ro\/pins is not writable: EACCES.*--bpffs-dir/);
  } finally {
    rmSync(ro, { recursive: true, force: true });
  }
});

test('datapath object missing: names the path and how to build it', async () => {
  const r = await agent([...manifests(), '--bpffs-dir', PINS, '--datapath-object', join(work, 'nope.bpf.o')]);
  assertOneLine(r, /cannot read the datapath object .*nope\.bpf\.o: ENOENT.*scripts\/build-bpf/);
  assert.equal(existsSync(PINS), false, 'nothing pinned');
});

test('the kernel refuses (no CAP_BPF / CAP_SYS_ADMIN / CAP_NET_ADMIN): says which capabilities', async () => {
  const r = await agent([...manifests(), '--bpffs-dir', PINS], 'bpf,sys_admin,net_admin,perfmon');
  assertOneLine(r, /kernel refused to load the datapath .*operation not permitted.*CAP_BPF/);
  rmSync(PINS, { recursive: true, force: true });
});

test('external interface missing: names it', async () => {
  const r = await agent([...manifests(), '--bpffs-dir', PINS, '--external-interface', 'nope0']);
  assertOneLine(r, /external interface "nope0" does not exist.*ip link show/);
  assert.equal(existsSync(PINS), false, 'nothing pinned');
});

test('manifests directory missing: names it', async () => {
  const r = await agent(['--manifests', join(work, 'missing'), '--bpffs-dir', PINS]);
  assertOneLine(r, /cannot read the manifests directory .*missing: ENOENT/);
  assert.equal(existsSync(PINS), false, 'nothing pinned');
});

test('pins made with another map capacity: says a capacity change needs new pins', async () => {
  Datapath.load({ pinDir: PINS, maxEntries: { services: 128 } }).close();
  try {
    const r = await agent([...manifests(), '--bpffs-dir', PINS, '--map-size', 'services=64']);
    assertOneLine(r, /pinned kpx_services_v1 under .* does not match .*kpx cleanup --bpffs-dir/);
  } finally {
    rmSync(PINS, { recursive: true, force: true });
  }
});

test('a malformed --map-size is a flag error (exit 2)', async () => {
  const r = await agent([...manifests(), '--bpffs-dir', PINS, '--map-size', 'servics=64']);
  assert.equal(r.code, 2);
  assert.match(r.stderr.trim(), /^kpx: --map-size: "servics=64" is not ROLE=ENTRIES .*\[KPX_BAD_FLAG\]$/);
});
