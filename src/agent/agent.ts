// `kpx agent`: the per-node service proxy. Wires one source (API server or manifest
// files) into the change tracker; a bounded-frequency runner drives syncs (model →
// encoder → reconciler → pinned maps); the tc program is kept attached to every
// pod-facing interface. On start it loads the datapath over the pinned maps and adopts
// what they hold, so a restart never flushes working state.

import type { Server } from 'node:http';
import { hostname } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import { parseDuration, parseFlags } from '../cli/flags.js';
import { DEFAULT_OBJECT, type Datapath } from '../datapath/datapath.js';
import { IdAllocator } from '../encoder/id-allocator.js';
import { BadFlagError, MapFullError } from '../errors.js';
import { jsonLogger, LEVELS, type Level, type Logger } from '../log.js';
import { checkModelOptions } from '../model/model-services.js';
import type { ModelOptions } from '../model/types.js';
import { Reconciler } from '../reconciler/reconciler.js';
import { ApiServerSource } from '../sources/apiserver.js';
import { ManifestSource } from '../sources/manifests.js';
import type { Source } from '../sources/types.js';
import { ownersOf, writeOwnersFile } from '../inspect/owners-file.js';
import { BoundedFrequencyRunner } from '../sync/bounded-runner.js';
import { SyncEngine } from '../sync/sync-engine.js';
import { ChangeTracker } from '../tracker/change-tracker.js';
import { AGENT_FLAGS } from './flags.js';
import { startHealthServer } from './health.js';
import { AgentMetrics } from './metrics.js';
import { ChangeMetrics } from './metrics-changes.js';
import { liveSvcIds, resetSvcStats, svcStatsMaps } from './metrics-datapath.js';
import { PodAttacher } from './pod-attacher.js';
import { attachSocketHooks } from './socket-hooks.js';
import { prepareInterface } from './sysctls.js';
import { attachExternal, parseExternalMode, type ExternalMode } from './external-attach.js';
import { HealthCheckNodePorts } from './healthcheck-nodeports.js';
import { buildConfig, chooseNodeAddr, parsePortRange, reserveSnatPorts, writeConfig, type NodeConfigSettings } from './node-config.js';
import { ifIndex, netnsCookie } from '../../native/index.js';
import { isIpv4 } from '../net/ipv4.js';
import { parseMapSizes, type MapSizes } from './map-sizes.js';
import { loadDatapath, preflight } from './preflight.js';

export interface AgentConfig {
  source: { kind: 'manifests'; dir: string; serviceCidr: string; nodePortRange: string } | { kind: 'apiserver'; kubeconfig?: string };
  nodeName: string;
  podInterfaces: string[];
  externalInterface?: string;
  xdpMode: ExternalMode;
  /** cgroup v2 directory for the socket hooks (default: the cgroup v2 root). */
  cgroupRoot?: string;
  node: NodeConfigSettings;
  bpffsDir: string;
  /** The BPF object to load (--datapath-object): a new build upgrades the programs in place. */
  objectPath: string;
  mapSizes: MapSizes;
  maxBackendsPerService: number;
  model: ModelOptions;
  minSyncMs: number;
  syncPeriodMs: number;
  healthzBind: string;
  metricsBind: string;
  logLevel: Level;
}

export function agentConfigFromFlags(argv: string[]): AgentConfig {
  const { values: f, positionals } = parseFlags(argv, AGENT_FLAGS);
  if (positionals.length) throw new BadFlagError(positionals[0]!, 'unexpected argument');
  if (f.manifests && f.kubeconfig) throw new BadFlagError('--manifests', 'give either --manifests or --kubeconfig, not both');
  const nodeName = f['node-name'] ?? process.env.NODE_NAME ?? hostname();
  const level = f['log-level'] as Level;
  if (!LEVELS.includes(level)) throw new BadFlagError('--log-level', `must be one of ${LEVELS.join(', ')}`);
  const model: ModelOptions = {
    nodeName,
    family: 'IPv4',
    ...(f['proxy-name'] ? { proxyName: f['proxy-name'] } : {}),
    ...(f['nodeport-addresses'] ? { nodePortAddresses: f['nodeport-addresses'].split(',').map((s) => s.trim()) } : {}),
  };
  checkModelOptions(model);
  return {
    source: f.manifests
      ? { kind: 'manifests', dir: f.manifests, serviceCidr: f['service-cidr']!, nodePortRange: f['service-node-port-range']! }
      : { kind: 'apiserver', ...(f.kubeconfig ? { kubeconfig: f.kubeconfig } : {}) },
    nodeName,
    podInterfaces: f['pod-interfaces']!.split(','),
    ...(f['external-interface'] ? { externalInterface: f['external-interface'] } : {}),
    xdpMode: parseExternalMode(f['xdp-mode']!),
    ...(f['cgroup-root'] ? { cgroupRoot: f['cgroup-root'] } : {}),
    node: {
      ...(f['node-ip'] ? { nodeIp: checkIp('--node-ip', f['node-ip']) } : {}),
      ...(f['external-interface'] ? { externalInterface: f['external-interface'] } : {}),
      hairpinAddr: checkIp('--hairpin-address', f['hairpin-address']!),
      snatPorts: parsePortRange('--snat-port-range', f['snat-port-range']!),
    },
    bpffsDir: f['bpffs-dir']!,
    objectPath: f['datapath-object'] ?? DEFAULT_OBJECT,
    mapSizes: f['map-size'] ? parseMapSizes('--map-size', f['map-size']) : {},
    maxBackendsPerService: parseCount('--max-backends-per-service', f['max-backends-per-service']!, 65535),
    model,
    minSyncMs: parseDuration('--min-sync-period', f['min-sync-period']!),
    syncPeriodMs: parseDuration('--sync-period', f['sync-period']!),
    healthzBind: f['healthz-bind-address']!,
    metricsBind: f['metrics-bind-address']!,
    logLevel: level,
  };
}

function parseCount(flag: string, text: string, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > max) throw new BadFlagError(flag, `must be a whole number 1..${max}, not "${text}"`);
  return n;
}

function checkIp(flag: string, text: string): string {
  if (!isIpv4(text)) throw new BadFlagError(flag, `not an IPv4 address: "${text}"`);
  return text;
}

function makeSource(cfg: AgentConfig, log: Logger, metrics: AgentMetrics): Source {
  if (cfg.source.kind === 'manifests') {
    return new ManifestSource({
      dir: cfg.source.dir,
      nodeName: cfg.nodeName,
      serviceCidr: cfg.source.serviceCidr,
      nodePortRange: cfg.source.nodePortRange,
      logger: log,
      onError: (err) => {
        metrics.objectErrors.inc();
        log.error('invalid object skipped', { err });
      },
    });
  }
  const kc = new KubeConfig();
  if (cfg.source.kubeconfig) kc.loadFromFile(cfg.source.kubeconfig);
  else kc.loadFromCluster();
  return new ApiServerSource({ kubeConfig: kc, nodeName: cfg.nodeName, watchPods: true, logger: log });
}

export class Agent {
  private readonly log: Logger;
  private readonly metrics = new AgentMetrics();
  private datapath: Datapath | undefined;
  private source: Source | undefined;
  private runner: BoundedFrequencyRunner | undefined;
  private attacher: PodAttacher | undefined;
  private servers: Server[] = [];
  private healthChecks: HealthCheckNodePorts | undefined;
  private lastSuccess: number | undefined;
  private firstSyncDone = false;
  /** What owners.json holds now (JSON of the table), so unchanged syncs do not rewrite it. */
  private ownersWritten: string | undefined;

  constructor(private readonly cfg: AgentConfig) {
    this.log = jsonLogger(cfg.logLevel, 2, { node: cfg.nodeName });
  }

  async start(): Promise<void> {
    const { cfg, log, metrics } = this;
    preflight({
      objectPath: cfg.objectPath,
      pinDir: cfg.bpffsDir,
      ...(cfg.source.kind === 'manifests' ? { manifestsDir: cfg.source.dir } : {}),
      ...(cfg.externalInterface ? { externalInterface: cfg.externalInterface } : {}),
    });
    const dp = (this.datapath = loadDatapath({ pinDir: cfg.bpffsDir, objectPath: cfg.objectPath, maxEntries: cfg.mapSizes, pinPrograms: true }));
    const reconciler = new Reconciler(dp.maps);
    const tracker = new ChangeTracker({ onChange: () => this.runner?.request() });
    const engine = new SyncEngine(tracker, reconciler, new IdAllocator(), cfg.model, log, { maxBackendsPerSvc: cfg.maxBackendsPerService });
    const adopted = engine.adopt();
    log.info('datapath loaded', { pinDir: cfg.bpffsDir, object: cfg.objectPath, adoptedFrontends: adopted });
    // Metrics. Statistics of frontend ids the maps no longer hold (pins of an earlier run)
    // start over, so an id handed out again does not inherit them.
    resetSvcStats(svcStatsMaps(dp.maps), liveSvcIds(reconciler.current()));
    metrics.observeDatapath(dp, { desired: () => engine.desiredState(), programmed: () => reconciler.current() });
    const changes = new ChangeMetrics(tracker, metrics);

    reserveSnatPorts(cfg.node.snatPorts);
    const cookie = netnsCookie();
    const extIfindex = cfg.externalInterface ? ifIndex(cfg.externalInterface) : 0;
    let configured = '';
    const configure = (): void => {
      const c = buildConfig(cfg.node, chooseNodeAddr(cfg.node, tracker.currentNode?.addresses ?? []), extIfindex, cookie);
      const text = JSON.stringify(c, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
      if (text === configured) return;
      writeConfig(dp.maps.config, c);
      configured = text;
      log.info('node config written', { nodeAddr: c.nodeAddr, hairpinAddr: c.hairpinAddr, snatPorts: `${c.snatPortMin}-${c.snatPortMax}` });
    };
    configure();
    if (cfg.externalInterface) {
      prepareInterface(cfg.externalInterface, log);
      const how = attachExternal(cfg.externalInterface, dp.programs, cfg.xdpMode);
      log.info('attached external device', { interface: cfg.externalInterface, mode: how });
    }
    attachSocketHooks(dp, cfg.cgroupRoot);
    log.info('attached socket hooks', { cgroup: cfg.cgroupRoot ?? 'cgroup v2 root' });
    const healthChecks = (this.healthChecks = new HealthCheckNodePorts(log));

    this.attacher = new PodAttacher(dp.programs, cfg.podInterfaces, {
      attached: (i) => {
        prepareInterface(i, log);
        log.info('attached', { interface: i });
      },
      detached: (i) => log.info('interface gone', { interface: i }),
      failed: (i, err, repeat) => {
        metrics.attachFailures.inc({ interface: i });
        if (!repeat) log.error('attach failed; retrying every scan', { interface: i, err });
      },
    });
    this.attacher.start(1000);

    this.runner = new BoundedFrequencyRunner(
      async (full) => {
        const end = metrics.syncDuration.startTimer();
        const triggers = changes.beginSync();
        try {
          const r = engine.sync(full);
          if (!r) {
            changes.syncFailed(triggers);
            return;
          }
          end();
          changes.syncSucceeded(triggers);
          configure();
          healthChecks.update(engine.healthChecks.values());
          this.lastSuccess = Date.now();
          metrics.lastSync.set(this.lastSuccess / 1000);
          metrics.mapWrites.inc(r.writes);
          for (const err of r.errors) {
            metrics.objectErrors.inc();
            log.error('invalid object skipped', { err });
          }
          log.debug('synced', { full: r.full, services: r.services, frontends: r.changedFrontends, writes: r.writes, ms: r.durationMs.toFixed(2) });
          this.writeOwners(engine);
          if (!this.firstSyncDone) {
            this.firstSyncDone = true;
            log.info('ready', { frontends: engine.desiredState().size });
          }
        } catch (err) {
          changes.syncFailed(triggers);
          metrics.syncErrors.inc();
          if (err instanceof MapFullError) metrics.mapFull.inc({ map: err.map });
          log.error('sync failed; retrying with a full sync', { err });
          throw err;
        }
      },
      { minIntervalMs: cfg.minSyncMs, maxIntervalMs: cfg.syncPeriodMs, retryIntervalMs: Math.max(cfg.minSyncMs, 1000) },
    );
    this.runner.start();

    this.servers.push(
      await startHealthServer(cfg.healthzBind, { ready: () => this.firstSyncDone, lastSuccessMs: () => this.lastSuccess }, 2 * cfg.syncPeriodMs),
      await metrics.serve(cfg.metricsBind),
    );
    this.source = makeSource(cfg, log, metrics);
    await this.source.start(changes);
    log.info('started', { source: cfg.source.kind, interfaces: cfg.podInterfaces });
  }

  /** owners.json (frontend id -> Service port) for `kpx inspect` and `kpx trace`; only
   *  when the table changed. A failure here is logged, never fails the sync. */
  private writeOwners(engine: SyncEngine): void {
    const table = ownersOf(engine.desiredState().values());
    const text = JSON.stringify(table);
    if (text === this.ownersWritten) return;
    try {
      writeOwnersFile(this.cfg.bpffsDir, table);
      this.ownersWritten = text;
    } catch (err) {
      this.log.warn('cannot write owners.json', { err });
    }
  }

  /** Stops watching and syncing. Programs and maps stay: traffic keeps flowing. */
  async stop(): Promise<void> {
    this.runner?.stop();
    this.attacher?.stop();
    await this.source?.stop();
    for (const s of this.servers) s.close();
    this.healthChecks?.close();
    this.datapath?.close();
  }
}

export async function runAgent(argv: string[]): Promise<void> {
  const cfg = agentConfigFromFlags(argv);
  const agent = new Agent(cfg);
  const shutdown = (sig: string): void => {
    void agent.stop().finally(() => {
      process.stderr.write(JSON.stringify({ ts: new Date().toISOString(), level: 'info', msg: 'stopped', signal: sig }) + '\n');
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  await agent.start();
}
