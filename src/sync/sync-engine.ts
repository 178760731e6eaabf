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
import type { HealthCheckTarget, ModelOptions, NodeInfo, ServiceInput } from '../model/types.js';
import type { Reconciler } from '../reconciler/reconciler.js';
import type { ChangeTracker } from '../tracker/change-tracker.js';
import { nodeSignature, stableStringify } from '../tracker/signatures.js';

export interface SyncReport {
  full: boolean;
  services: number;
  changedFrontends: number;
  writes: number;
  errors: KpxError[];
  durationMs: number;
}

interface EncodePass {
  result: EncodeResult;
  /** Frontend identities removed or (re)added. */
  touched: Set<string>;
  /** Model errors and warnings. */
  errors: KpxError[];
  /** Some frontend was left out because another Service holds its identity. */
  clash: boolean;
  /** Keys whose outcome was kept. */
  reused: number;
}

export class SyncEngine {
  private readonly desired = new Map<string, EncodedFrontend>();
  /** Service key -> identities of the frontends it owns in `desired`. */
  private readonly byService = new Map<string, string[]>();
  /** Services with a healthCheckNodePort, from their last good model (T6). */
  readonly healthChecks = new Map<string, HealthCheckTarget>();
  private needFull = true;
  /**
   * Service key -> the tracker's signatures of the inputs its current outcome (frontends
   * in `desired`, health check, or nothing programmed) was computed from, for Services
   * whose outcome reported no warning or error. Valid for `context` only.
   */
  private readonly seen = new Map<string, readonly string[]>();
  private context: string | undefined;
  /** The last full sync had a frontend clash: the next one recomputes every Service. */
  private clashed = false;

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
    const changes = this.tracker.takeChanges(!full);
    this.checkContext(changes.node);
    // Key order makes id allocation and clash resolution deterministic.
    const keys = full ? this.tracker.sortedKeys() : [...changes.services.keys()];
    if (full) {
      // Services the engine programmed that the tracker no longer knows: gone.
      const before = keys.length;
      for (const key of this.byService.keys()) if (key !== HOST_PORTS_KEY && !this.tracker.knows(key)) keys.push(key);
      if (keys.length > before) keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    }
    const input = (key: string): ServiceInput => (full ? this.tracker.inputOf(key) : changes.services.get(key)) ?? { key, service: undefined, slices: [] };

    // A full sync keeps what it computed last for a Service whose inputs did not change
    // (see `seen`), unless a frontend clash is in play: which Service wins a clash depends
    // on the order Services are encoded in, and a full sync must settle it by key order.
    let pass = this.encodePass(keys, input, changes.node, full && !this.clashed);
    if (pass.clash && pass.reused > 0) pass = this.encodePass(keys, input, changes.node, false);
    if (full) this.clashed = pass.clash;
    const { result, touched } = pass;

    if (full || changes.all || changes.hostPortsChanged) {
      for (const id of this.byService.get(HOST_PORTS_KEY) ?? []) {
        this.desired.delete(id);
        touched.add(id);
      }
      const snap = this.tracker.snapshotHostPorts();
      const mine = encodeServiceInto(result, modelHostPorts(snap, changes.node), this.ids);
      for (const id of mine) touched.add(id);
      this.byService.set(HOST_PORTS_KEY, mine);
    }
    const errors = [...pass.errors, ...result.errors];
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

  /**
   * Models and encodes the Services `keys` (sorted) into the desired state, in key order.
   * With `reuse`, a Service whose inputs are those of its last clean outcome keeps it: its
   * frontends stay in `desired` as the same objects, so the reconciler sees them equal to
   * what it programmed without comparing them entry by entry.
   */
  private encodePass(keys: readonly string[], input: (key: string) => ServiceInput, node: NodeInfo | undefined, reuse: boolean): EncodePass {
    // An array: `keys` are distinct, and a Set of every key would be garbage that lives
    // through the whole of a first sync.
    const recomputed: string[] = [];
    for (const key of keys) {
      const seen = reuse ? this.seen.get(key) : undefined;
      if (!seen || !this.tracker.inputUnchanged(key, seen)) recomputed.push(key);
    }
    const touched = new Set<string>();
    const result: EncodeResult = { ...emptyEncodeResult(), state: this.desired };
    // Every affected Service's old entries go first, so that a frontend one Service gave
    // up is free for another one in this same sync, whatever their order.
    for (const key of recomputed) {
      for (const id of this.byService.get(key) ?? []) {
        this.desired.delete(id);
        touched.add(id);
      }
      this.byService.delete(key);
    }
    checkModelOptions(this.opts);
    const errors: KpxError[] = [];
    let clash = false;
    // One Service at a time, model then encode: a model is garbage as soon as it is
    // encoded, so a full sync never holds the models of every Service at once.
    for (const key of recomputed) {
      this.seen.delete(key);
      const outcome = modelService(input(key), node, this.opts);
      if (outcome.status !== 'ok') {
        this.healthChecks.delete(outcome.key);
        if (outcome.status === 'bad') errors.push(...outcome.errors);
        else this.remember(key);
        continue;
      }
      errors.push(...outcome.warnings);
      const errorsBefore = result.errors.length;
      const unsupportedBefore = result.unsupported.length;
      const mine = encodeServiceInto(result, outcome.model, this.ids, this.encodeOpts);
      const failed = result.failed.has(outcome.key);
      if (failed) {
        // Left out whole (e.g. too many backends): keep what the maps hold for it.
        for (const id of touched) {
          const kept = this.reconciler.current().get(id);
          if (kept && kept.owner.startsWith(`${outcome.key}:`)) {
            this.desired.set(id, kept);
            mine.push(id);
          }
        }
      } else if (result.errors.length > errorsBefore) {
        clash = true; // the only error encoding reports for a Service it did not fail
      }
      for (const id of mine) touched.add(id);
      this.byService.set(outcome.key, mine);
      const m = outcome.model;
      if (m.healthCheckNodePort !== undefined) {
        this.healthChecks.set(m.key, { key: m.key, healthCheckNodePort: m.healthCheckNodePort, localReadyEndpoints: m.localReadyEndpoints });
      } else {
        this.healthChecks.delete(m.key);
      }
      // Only an outcome that reported nothing is kept: warnings and errors are reported by
      // every full sync, as before.
      if (!failed && outcome.warnings.length === 0 && result.errors.length === errorsBefore && result.unsupported.length === unsupportedBefore) this.remember(key);
    }
    return { result, touched, errors, clash, reused: keys.length - recomputed.length };
  }

  /** Notes that `key`'s current outcome came from its current inputs. */
  private remember(key: string): void {
    const sigs = this.tracker.inputSignatures(key);
    if (sigs) this.seen.set(key, sigs);
  }

  /** Forgets every kept outcome when something every model reads changed: this node's
   *  Node fields (name, zone, addresses) or the options. */
  private checkContext(node: NodeInfo | undefined): void {
    const context = `${nodeSignature(node)}\n${stableStringify(this.opts)}\n${stableStringify(this.encodeOpts)}`;
    if (context === this.context) return;
    this.context = context;
    this.seen.clear();
  }

  /** Frees ids of frontends (and backends) a partial sync removed. */
  private releaseRemoved(touched: Set<string>): void {
    for (const id of touched) if (!this.desired.has(id)) this.ids.releaseSvc(id);
  }
}
