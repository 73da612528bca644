// Unanswered appends by request id. Ids are handed out in increasing order and almost always
// answered in order, so they live in a window of slots starting at the oldest unanswered id: a
// lookup is an index, where a Map would hash every id (the load generator's busiest line). An id
// left unanswered while WINDOW_SLOTS_MAX newer ones were handed out moves to a Map of stragglers,
// so one lost request cannot make the window grow with everything sent after it.

const WINDOW_SLOTS_MAX = 65_536;

export class RequestTable<T> {
  private slots: (T | undefined)[] = [];
  /** Index in `slots` of the id `base`. */
  private head = 0;
  private base = 0;
  private readonly stragglers = new Map<number, T>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Adds `id`, which must be above every id added before (gaps are allowed). */
  set(id: number, value: T): void {
    if (this.count === this.stragglers.size) {
      // The window is empty: start it here.
      this.slots = [];
      this.head = 0;
      this.base = id;
    }
    const next = this.base + this.slots.length - this.head;
    if (id < next) throw new Error(`request table: id ${id} added after ${next - 1}`);
    while (this.base + this.slots.length - this.head < id) this.slots.push(undefined);
    this.slots.push(value);
    this.count++;
    while (this.slots.length - this.head > WINDOW_SLOTS_MAX) this.retireOldest();
  }

  get(id: number): T | undefined {
    const i = id - this.base;
    if (i < 0) return this.stragglers.get(id);
    return i < this.slots.length - this.head ? this.slots[this.head + i] : undefined;
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  delete(id: number): void {
    const i = id - this.base;
    if (i < 0) {
      if (this.stragglers.delete(id)) this.count--;
      return;
    }
    if (i >= this.slots.length - this.head || this.slots[this.head + i] === undefined) return;
    this.slots[this.head + i] = undefined;
    this.count--;
    while (this.head < this.slots.length && this.slots[this.head] === undefined) this.advance();
  }

  clear(): void {
    this.slots = [];
    this.head = 0;
    this.stragglers.clear();
    this.count = 0;
  }

  /** Every value, once per id it is stored under (stragglers first, then by id). */
  *values(): IterableIterator<T> {
    yield* this.stragglers.values();
    for (let i = this.head; i < this.slots.length; i++) {
      const value = this.slots[i];
      if (value !== undefined) yield value;
    }
  }

  /** Moves the oldest slot out of the window, into the stragglers if it is still unanswered. */
  private retireOldest(): void {
    const value = this.slots[this.head];
    if (value !== undefined) this.stragglers.set(this.base, value);
    this.advance();
  }

  private advance(): void {
    this.head++;
    this.base++;
    // Drop the slots behind the window now and then, not on every step.
    if (this.head >= 1024 && this.head * 2 >= this.slots.length) {
      this.slots = this.slots.slice(this.head);
      this.head = 0;
    }
  }
}
