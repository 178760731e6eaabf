// kube-proxy's {previous, current} pairs, reduced to signatures: per item, the signature
// it had when it first changed since the last take. An item that ends where it started is
// dropped, so flapping objects and no-op updates cause no sync.

export class PendingChanges {
  private readonly previous = new Map<string, { readonly group: string; readonly before: string | undefined }>();

  /** Records that `item` (belonging to `group`, e.g. its Service key) went from `before`
   *  to `after` (undefined = absent). */
  note(group: string, item: string, before: string | undefined, after: string | undefined): void {
    const id = `${group}\u0000${item}`;
    let entry = this.previous.get(id);
    if (!entry) this.previous.set(id, (entry = { group, before }));
    if (entry.before === after) this.previous.delete(id);
  }

  /** Groups with at least one item that really changed. */
  groups(): Set<string> {
    return new Set([...this.previous.values()].map((e) => e.group));
  }

  get size(): number {
    return this.previous.size;
  }

  clear(): void {
    this.previous.clear();
  }
}
