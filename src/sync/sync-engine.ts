// One sync: take what the tracker recorded, model and encode the Services that changed,
// and have the reconciler write the difference. Keeps the whole desired state so that
// identity clashes between Services are caught and a full sync can diff everything.
// Nothing is programmed before every source has synced: an agent restarted over pinned
// maps must not delete what it has not heard about yet.

import { emptyEncodeResult, encodeServiceInto, type EncodeOptions, type EncodeResult } from '../encoder/encode-state.js';
import type { IdAllocator } from '../encoder/id-allocator.js';
import type { EncodedFrontend } from '../encoder/types.js';
import type { KpxError } from '../errors.js';
import type { Logger } from '../log.js';
import { HOST_PORTS_KEY, modelHostPorts } from '../model/host-ports.js';
import { checkModelOptions } from '../model/model-services.js';
import { modelService } from '../model/service-model.js';
import type { HealthCheckTarget, ModelOptions } from '../model/types.js';
import type { Reconciler } from '../reconciler/reconciler.js';
import type { ChangeTracker } from '../tracker/change-tracker.js';

export interface SyncReport {
  full: boolean;
  services: number;
  changedFrontends: number;
  writes: number;
  errors: KpxError[];
  durationMs: number;
}

export class SyncEngine {
  private readonly desired = new Map<string, EncodedFrontend>();
  /** Service key -> identities of the frontends it owns in `desired`. */
  private readonly byService = new Map<string, string[]>();
  /** Services with a healthCheckNodePort, from their last good model (T6). */
  readonly healthChecks = new Map<string, HealthCheckTarget>();
  private needFull = true;

  constructor(
    private readonly tracker: ChangeTracker,
    private readonly reconciler: Reconciler,
    private readonly ids: IdAllocator,
    private readonly opts: ModelOptions,
    private readonly log: Logger,
    /** Encoder limits (the agent's --max-backends-per-service). */
    private readonly encodeOpts: EncodeOptions = {},
  ) {}

  /** Adopts what the pinned maps hold, ids included. Call once before the first sync. */
  adopt(): number {
    const programmed = this.reconciler.adopt();
    for (const p of this.ids.adoptState(programmed)) this.log.warn('id not adopted', { problem: p });
    return programmed.size;
  }

  get ready(): boolean {
    return this.tracker.ready;
  }

  desiredState(): ReadonlyMap<string, EncodedFrontend> {
    return this.desired;
  }

  /** Runs one sync; returns undefined while sources have not synced yet. */
  sync(fullRequested: boolean): SyncReport | undefined {
    if (!this.tracker.ready) return undefined;
    const t0 = performance.now();
    const full = fullRequested || this.needFull;
    const changes = this.tracker.takeChanges();
    const inputs = full ? this.tracker.snapshot().services : changes.services;
    const keys = [...inputs.keys()];
    if (full) {
      // Services the engine programmed that the tracker no longer knows: gone.
      for (const key of this.byService.keys()) if (key !== HOST_PORTS_KEY && !inputs.has(key)) keys.push(key);
    }
    // Key order makes id allocation and clash resolution deterministic.
    keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

    const touched = new Set<string>();
    const result: EncodeResult = { ...emptyEncodeResult(), state: this.desired };
    // Every affected Service's old entries go first, so that a frontend one Service gave
    // up is free for another one in this same sync, whatever their order.
    for (const key of keys) {
      for (const id of this.byService.get(key) ?? []) {
        this.desired.delete(id);
        touched.add(id);
      }
      this.byService.delete(key);
    }
    checkModelOptions(this.opts);
    const errors: KpxError[] = [];
    // One Service at a time, model then encode: a model is garbage as soon as it is
    // encoded, so a full sync never holds the models of every Service at once.
    for (const key of keys) {
      const outcome = modelService(inputs.get(key) ?? { key, service: undefined, slices: [] }, changes.node, this.opts);
      if (outcome.status !== 'ok') {
        this.healthChecks.delete(outcome.key);
        if (outcome.status === 'bad') errors.push(...outcome.errors);
        continue;
      }
      errors.push(...outcome.warnings);
      const mine = encodeServiceInto(result, outcome.model, this.ids, this.encodeOpts);
      if (result.failed.has(outcome.key)) {
        // Left out whole (e.g. too many backends): keep what the maps hold for it.
        for (const id of touched) {
          const kept = this.reconciler.current().get(id);
          if (kept && kept.owner.startsWith(`${outcome.key}:`)) {
            this.desired.set(id, kept);
            mine.push(id);
          }
        }
      }
      for (const id of mine) touched.add(id);
      this.byService.set(outcome.key, mine);
      const m = outcome.model;
      if (m.healthCheckNodePort !== undefined) {
        this.healthChecks.set(m.key, { key: m.key, healthCheckNodePort: m.healthCheckNodePort, localReadyEndpoints: m.localReadyEndpoints });
      } else {
        this.healthChecks.delete(m.key);
      }
    }
    if (full || changes.all || changes.hostPortsChanged) {
      for (const id of this.byService.get(HOST_PORTS_KEY) ?? []) {
        this.desired.delete(id);
        touched.add(id);
      }
      const snap = this.tracker.snapshot();
      const mine = encodeServiceInto(result, modelHostPorts(snap.hostPorts, snap.node), this.ids);
      for (const id of mine) touched.add(id);
      this.byService.set(HOST_PORTS_KEY, mine);
    }
    errors.push(...result.errors);
    for (const u of result.unsupported) this.log.warn('frontend not programmed', { owner: u.owner, frontend: u.frontend, reason: u.reason });

    try {
      const r = full ? this.reconciler.apply(this.desired) : this.reconciler.apply(this.desired, touched);
      this.needFull = false;
      if (full) this.ids.releaseUnused(this.reconciler.current());
      else this.releaseRemoved(touched);
      return {
        full,
        services: keys.length,
        changedFrontends: r.changed,
        writes: r.writes,
        errors,
        durationMs: performance.now() - t0,
      };
    } catch (err) {
      this.needFull = true;
      throw err;
    }
  }

  /** Frees ids of frontends (and backends) a partial sync removed. */
  private releaseRemoved(touched: Set<string>): void {
    for (const id of touched) if (!this.desired.has(id)) this.ids.releaseSvc(id);
  }
}
