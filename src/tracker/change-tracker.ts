// The change tracker: informer handlers only record here (kube-proxy style); the sync
// loop takes what changed. It keeps the current Services, EndpointSlices (grouped by
// their kubernetes.io/service-name label, keyed by slice name), this node's Node fields
// and host ports, plus the pending {previous, current} pairs.

import type { V1EndpointSlice, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';
import { nodeInfoFromNode } from '../model/node-info.js';
import { namespaceOf, serviceKey, sliceName, sliceServiceKey } from '../model/object-keys.js';
import type { NodeInfo, ServiceInput } from '../model/types.js';
import type { SourceSink } from '../sources/types.js';
import { PendingChanges } from './pending.js';
import { hostPortsOf, hostPortsSignature, nodeSignature, serviceSignature, sliceSignature, type HostPort } from './signatures.js';
import type { TrackedChanges, TrackerSnapshot } from './types.js';

interface Held<T> {
  readonly obj: T;
  readonly sig: string;
}

/** A slice filed under its Service, with its name. */
interface HeldSlice extends Held<V1EndpointSlice> {
  readonly name: string;
}

export interface ChangeTrackerOptions {
  /** Called after a handler leaves something to sync (or on synced()); a bounded runner
   *  hooks in here. Must not call back into the tracker synchronously. */
  readonly onChange?: () => void;
}

export class ChangeTracker implements SourceSink {
  private readonly services = new Map<string, Held<V1Service>>();
  /** Service key -> its slices. An array, not a Map by name: almost every Service has one
   *  slice, and 10,000 one-entry Maps cost ~6 MB more than 10,000 one-entry arrays. */
  private readonly slices = new Map<string, HeldSlice[]>();
  /** "namespace/sliceName" -> the Service key it is filed under, to move or delete it
   *  even when its label changed or the source's `prev` is stale. */
  private readonly sliceHome = new Map<string, string>();
  private nodeInfo: NodeInfo | undefined;
  private readonly hostPorts = new Map<string, Held<HostPort[]>>();
  private isSynced = false;

  private readonly pendingServices = new PendingChanges();
  private readonly pendingSlices = new PendingChanges();
  private readonly pendingNode = new PendingChanges();
  private readonly pendingPods = new PendingChanges();

  constructor(private readonly opts: ChangeTrackerOptions = {}) {}

  // ---- SourceSink: record only -------------------------------------------------------

  service(prev: V1Service | undefined, cur: V1Service | undefined): void {
    const obj = cur ?? prev;
    if (!obj) return;
    const key = serviceKey(obj);
    const before = this.services.get(key)?.sig;
    const next = cur ? { obj: cur, sig: serviceSignature(cur) } : undefined;
    if (next) this.services.set(key, next);
    else this.services.delete(key);
    this.pendingServices.note(key, '', before, next?.sig);
    this.changed();
  }

  endpointSlice(prev: V1EndpointSlice | undefined, cur: V1EndpointSlice | undefined): void {
    const obj = cur ?? prev;
    if (!obj) return;
    const name = sliceName(obj);
    const id = `${namespaceOf(obj)}/${name}`;
    const oldHome = this.sliceHome.get(id);
    // A slice without the service-name label belongs to no Service a proxy knows.
    const newHome = cur ? sliceServiceKey(cur) : undefined;
    if (oldHome !== undefined && oldHome !== newHome) this.fileSlice(oldHome, name, undefined);
    if (newHome !== undefined && cur) this.fileSlice(newHome, name, { name, obj: cur, sig: sliceSignature(cur) });
    if (newHome !== undefined) this.sliceHome.set(id, newHome);
    else this.sliceHome.delete(id);
    this.changed();
  }

  node(cur: V1Node | undefined): void {
    const before = nodeSignature(this.nodeInfo);
    this.nodeInfo = cur ? nodeInfoFromNode(cur) : undefined;
    this.pendingNode.note('node', '', before, nodeSignature(this.nodeInfo));
    this.changed();
  }

  pod(prev: V1Pod | undefined, cur: V1Pod | undefined): void {
    const obj = cur ?? prev;
    if (!obj) return;
    const key = `${namespaceOf(obj)}/${obj.metadata?.name ?? ''}`;
    const before = this.hostPorts.get(key)?.sig;
    const ports = cur ? hostPortsOf(cur) : [];
    const next = ports.length ? { obj: ports, sig: hostPortsSignature(ports) } : undefined;
    if (next) this.hostPorts.set(key, next);
    else this.hostPorts.delete(key);
    this.pendingPods.note('pods', key, before, next?.sig);
    this.changed();
  }

  synced(): void {
    this.isSynced = true;
    this.opts.onChange?.();
  }

  // ---- for the sync loop -------------------------------------------------------------

  /** This node's Node fields as last delivered. */
  get currentNode(): NodeInfo | undefined {
    return this.nodeInfo;
  }

  /** Every initial list has been delivered. */
  get ready(): boolean {
    return this.isSynced;
  }

  hasChanges(): boolean {
    return this.pendingServices.size + this.pendingSlices.size + this.pendingNode.size + this.pendingPods.size > 0;
  }

  /** The Services whose desired state may have changed since the last call (all of them
   *  when the Node changed), with their current objects; then forgets the pending pairs.
   *  `withInputs: false` (a full sync, which reads every Service itself) leaves `services`
   *  empty: building an input per pending Service (every one, on the first sync) would be
   *  garbage that lives through the whole sync. */
  takeChanges(withInputs = true): TrackedChanges {
    const all = this.pendingNode.size > 0;
    const services = new Map<string, ServiceInput>();
    if (withInputs) {
      const keys = new Set([...this.pendingServices.groups(), ...this.pendingSlices.groups()]);
      if (all) for (const k of this.knownKeys()) keys.add(k);
      for (const k of [...keys].sort()) services.set(k, this.input(k));
    }
    const hostPortsChanged = this.pendingPods.size > 0;
    this.pendingServices.clear();
    this.pendingSlices.clear();
    this.pendingNode.clear();
    this.pendingPods.clear();
    return { all, services, node: this.nodeInfo, hostPortsChanged, synced: this.isSynced };
  }

  /** Everything currently known, for a full sync. Does not touch pending changes. */
  snapshot(): TrackerSnapshot {
    const services = new Map<string, ServiceInput>();
    for (const k of [...this.knownKeys()].sort()) services.set(k, this.input(k));
    return { services, node: this.nodeInfo, hostPorts: this.snapshotHostPorts(), synced: this.isSynced };
  }

  /** Every Service key known (a Service, or slices filed under its name), sorted: what a
   *  full sync goes through, without building a snapshot of every input. */
  sortedKeys(): string[] {
    return [...this.knownKeys()].sort();
  }

  /** Whether a Service or a slice is filed under `key`. */
  knows(key: string): boolean {
    return this.services.has(key) || this.slices.has(key);
  }

  /** Every host port on this node. */
  snapshotHostPorts(): HostPort[] {
    return [...this.hostPorts.values()].flatMap((h) => h.obj);
  }

  /** The current Service and slices under `key` (service undefined when not known). */
  inputOf(key: string): ServiceInput {
    return this.input(key);
  }

  /**
   * What a model of `key` reads, as the signatures the tracker holds: the Service's (''
   * when absent), then each slice's name and signature, slices by name, as `inputOf` hands
   * them over. Equal lists mean equal inputs (signatures cover every field the model
   * uses; see signatures.ts). Undefined when the tracker knows nothing under `key`.
   */
  inputSignatures(key: string): string[] | undefined {
    const svc = this.services.get(key);
    const group = this.slices.get(key);
    if (!svc && !group) return undefined;
    const sig = svc?.sig ?? '';
    // Exact-size arrays (the engine keeps one per Service): pushing onto [sig] would grow
    // its backing store to 17 slots, ~1.8 MB more at 10,000 Services.
    if (!group) return [sig];
    if (group.length === 1) return [sig, group[0]!.name, group[0]!.sig];
    const sorted = [...group].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const out = new Array<string>(1 + 2 * sorted.length);
    out[0] = sig;
    sorted.forEach((h, i) => {
      out[1 + 2 * i] = h.name;
      out[2 + 2 * i] = h.sig;
    });
    return out;
  }

  /** Whether `inputSignatures(key)` would equal `seen`, without building it. */
  inputUnchanged(key: string, seen: readonly string[]): boolean {
    const svc = this.services.get(key);
    const group = this.slices.get(key) ?? [];
    if ((svc?.sig ?? '') !== seen[0] || seen.length !== 1 + 2 * group.length) return false;
    if (group.length === 1) return group[0]!.name === seen[1] && group[0]!.sig === seen[2];
    // Several slices: `seen` lists them by name; match each by its name.
    for (const h of group) {
      let found = false;
      for (let i = 1; i < seen.length; i += 2) {
        if (seen[i] === h.name) {
          found = seen[i + 1] === h.sig;
          break;
        }
      }
      if (!found) return false;
    }
    return true;
  }

  // ---- internals ---------------------------------------------------------------------

  private fileSlice(svcKey: string, name: string, next: HeldSlice | undefined): void {
    const group = this.slices.get(svcKey);
    const at = group ? group.findIndex((h) => h.name === name) : -1;
    const before = at >= 0 ? group![at]!.sig : undefined;
    if (next) {
      if (!group) this.slices.set(svcKey, [next]);
      else if (at >= 0) group[at] = next;
      else group.push(next);
    } else if (group && at >= 0) {
      group.splice(at, 1);
      if (group.length === 0) this.slices.delete(svcKey);
    }
    this.pendingSlices.note(svcKey, name, before, next?.sig);
  }

  private knownKeys(): Set<string> {
    return new Set([...this.services.keys(), ...this.slices.keys()]);
  }

  private input(key: string): ServiceInput {
    const group = this.slices.get(key);
    const slices = !group ? [] : group.length === 1 ? [group[0]!.obj] : [...group].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((h) => h.obj);
    return { key, service: this.services.get(key)?.obj, slices };
  }

  private changed(): void {
    if (this.hasChanges()) this.opts.onChange?.();
  }
}
