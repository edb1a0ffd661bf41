// An async iterator of single items over an async generator of batches: what lets a batch-producing
// parser offer a per-event stream at little more than the cost of the batches.

/**
 * Events one at a time from batches. Hand-written rather than `yield*`: an async generator step per event
 * cost a third of the parse; this one settles each event with one already-resolved promise.
 */
export class Unbatch<T> implements AsyncGenerator<T> {
  private batch: T[] = [];
  private i = 0;
  /** A refill in flight: next() calls made meanwhile wait for it, so order is kept. */
  private refilling: Promise<IteratorResult<T>> | null = null;

  constructor(private readonly src: AsyncGenerator<T[]>) {}

  next(): Promise<IteratorResult<T>> {
    if (this.refilling !== null) return this.refilling.then(() => this.next());
    if (this.i < this.batch.length) return Promise.resolve({ value: this.batch[this.i++]!, done: false });
    const p = this.refill();
    this.refilling = p;
    const clear = (): void => { if (this.refilling === p) this.refilling = null; };
    p.then(clear, clear);
    return p;
  }

  private async refill(): Promise<IteratorResult<T>> {
    for (;;) {
      const r = await this.src.next();
      if (r.done === true) { this.batch = []; this.i = 0; return { value: undefined, done: true }; }
      if (r.value.length === 0) continue;
      this.batch = r.value;
      this.i = 1;
      return { value: r.value[0]!, done: false };
    }
  }

  async return(value?: unknown): Promise<IteratorResult<T>> {
    this.batch = [];
    this.i = 0;
    await this.src.return([]);
    return { value: value as T, done: true };
  }

  async throw(err: unknown): Promise<IteratorResult<T>> {
    this.batch = [];
    this.i = 0;
    await this.src.return([]);
    throw err;
  }

  [Symbol.asyncIterator](): AsyncGenerator<T> {
    return this;
  }
}
