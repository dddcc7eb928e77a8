/**
 * Things a sweep found wrong, remembered across sweeps: one is acted on only once it has been
 * seen for a grace, so a request in flight (a row written, its job not yet added) is left
 * alone. What a pass did not see again is forgotten.
 */
export class Suspects {
  private readonly since = new Map<string, number>();
  private seen = new Set<string>();

  /** Starts a pass: what it does not see again is forgotten at {@link endPass}. */
  startPass(): void {
    this.seen = new Set();
  }

  /** Has `key` been seen for at least `graceMs`? (Remembers it from `now` on otherwise.) */
  isSuspectFor(key: string, graceMs: number, now: number): boolean {
    this.seen.add(key);
    const since = this.since.get(key);
    if (since === undefined) {
      this.since.set(key, now);
      return graceMs <= 0;
    }
    return now - since >= graceMs;
  }

  endPass(): void {
    for (const key of this.since.keys()) if (!this.seen.has(key)) this.since.delete(key);
  }
}
