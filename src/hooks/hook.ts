/**
 * A typed hook: an ordered chain of handlers. Each handler receives the event and a `next` function and
 * decides whether (and when) to continue the chain, so it can act before, after, or stop the operation
 * by throwing. Handlers have ids (to replace or unbind them), priorities and optional collection tags.
 */
export type HookHandler<E> = (event: E, next: () => Promise<void>) => Promise<void> | void;

export interface HookOptions<E = never> {
  id?: string;
  /** Lower runs first. Default 0; equal priorities keep bind order. */
  priority?: number;
  /** Only fire for events whose `tag` (the collection name or id) is in this list. */
  tags?: string[];
  /**
   * Plinth-internal: true when, for this event, the handler needs nothing from the operation before its commit
   * (it only queues statements for the commit), so the write itself may be sent with the COMMIT. A chain is
   * `deferrable` only if every handler in it says so; user hooks never do.
   */
  deferWrite?: (event: E) => boolean;
}

interface Bound<E> {
  id: string;
  priority: number;
  seq: number;
  tags: Set<string> | null;
  handler: HookHandler<E>;
  deferWrite: ((event: E) => boolean) | null;
}

let seqCounter = 0;

export class Hook<E extends { tags?: readonly string[] }> {
  private handlers: Bound<E>[] = [];

  /** Adds (or replaces, by id) a handler; returns its id. */
  bind(handler: HookHandler<E>, options: HookOptions<E> = {}): string {
    const id = options.id ?? `h${++seqCounter}`;
    this.handlers = this.handlers.filter((h) => h.id !== id);
    this.handlers.push({
      id,
      priority: options.priority ?? 0,
      seq: ++seqCounter,
      tags: options.tags ? new Set(options.tags) : null,
      handler,
      deferWrite: options.deferWrite ?? null,
    });
    this.handlers.sort((a, b) => a.priority - b.priority || a.seq - b.seq);
    return id;
  }

  unbind(id: string): void {
    this.handlers = this.handlers.filter((h) => h.id !== id);
  }

  get length(): number {
    return this.handlers.length;
  }

  /** Whether every handler that `event` would run lets its write be sent with the COMMIT (see `deferWrite`). */
  deferrable(event: E): boolean {
    return this.chainFor(event).every((h) => h.deferWrite !== null && h.deferWrite(event));
  }

  /** The handlers `event` runs: those without tags and those tagged with one of its tags. */
  private chainFor(event: E): Bound<E>[] {
    return this.handlers.filter((h) => !h.tags || (event.tags ?? []).some((t) => h.tags!.has(t)));
  }

  /**
   * Runs the chain and, at its end, `final` (the operation itself). A handler that does not call
   * `next` stops the chain (and the operation); a handler that throws aborts it with that error.
   */
  async trigger(event: E, final?: (event: E) => Promise<void> | void): Promise<void> {
    const chain = this.chainFor(event);
    if (chain.length === 0) {
      if (final) await final(event);
      return;
    }
    let index = -1;
    const dispatch = async (i: number): Promise<void> => {
      if (i <= index) throw new Error('hook handler called next() more than once');
      index = i;
      const bound = chain[i];
      if (!bound) {
        if (final) await final(event);
        return;
      }
      await bound.handler(event, () => dispatch(i + 1));
    };
    await dispatch(0);
  }
}
