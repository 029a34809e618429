/**
 * The feed's storage: an immutable log that keeps the newest `capacity` items and costs O(1)
 * (amortised) per append, whatever its length.
 *
 * Why not an array copied on append: the view model is immutable, and copying a 2,000-item
 * feed on each of 10,000 `target-finished` events is 20 million element copies; it also made
 * each state's feed a fresh array, so everything that compares or diffs the feed saw 2,000
 * changed entries per event (React's development build diffed and kept them: see
 * ./index.ts loadInkReporter).
 *
 * How: versions share one backing array. A version sees `#items[#start, #end)`; appending to
 * the newest version pushes in place (older versions never look past their own `#end`), while
 * appending to an older version copies its window first (a branch, which the reducer never
 * makes in practice). Items beyond `capacity` are dropped by moving `#start`; when the dropped
 * prefix is as long as the capacity, the window moves to a fresh array, so the backing array
 * holds at most twice the capacity and each item is copied at most once per `capacity`
 * appends.
 *
 * Items are numbered by `seq`, 1, 2, … without gaps (dropped items keep their numbers), so a
 * reader that remembers the last `seq` it printed can ask for what came after (`since`) and
 * learn how many items it missed.
 */

/** What the log stores: anything with a `kind` (the view model's FeedItem). */
export interface FeedEntry {
  seq: number;
  kind: string;
}

/** An item before it is numbered (for each member of a union). */
export type Unnumbered<T> = T extends unknown ? Omit<T, "seq"> : never;

/** Items after a given `seq`, and how many between it and them were already dropped. */
export interface FeedSince<T> {
  items: T[];
  /** Items appended after the given `seq` that the log no longer holds. */
  dropped: number;
}

/** An immutable, bounded, append-only log of feed items; see the module comment. */
export class FeedLog<T extends FeedEntry> implements Iterable<T> {
  /** Shared with other versions; only `[#start, #end)` belongs to this one. */
  readonly #items: T[];
  readonly #start: number;
  readonly #end: number;
  /** The most items kept. */
  readonly capacity: number;
  /** `seq` the next appended item gets (one more than the last item's). */
  readonly nextSeq: number;
  /** How many items of each kind were ever appended, dropped ones included. */
  readonly appended: Readonly<Record<string, number>>;

  private constructor(items: T[], start: number, end: number, capacity: number, nextSeq: number, appended: Readonly<Record<string, number>>) {
    this.#items = items;
    this.#start = start;
    this.#end = end;
    this.capacity = capacity;
    this.nextSeq = nextSeq;
    this.appended = appended;
  }

  /** An empty log that keeps at most `capacity` (≥ 1) items. */
  static empty<T extends FeedEntry>(capacity: number): FeedLog<T> {
    return new FeedLog<T>([], 0, 0, Math.max(1, capacity), 1, {});
  }

  /** Items kept (at most `capacity`). */
  get length(): number {
    return this.#end - this.#start;
  }

  /** Length of the backing array (at most twice the capacity, plus one); for tests. */
  get retained(): number {
    return this.#items.length;
  }

  /** A new version with `payloads` appended, numbered from `nextSeq`; this one is unchanged. */
  append(...payloads: Array<Unnumbered<T>>): FeedLog<T> {
    if (payloads.length === 0) return this;
    let items = this.#items;
    let start = this.#start;
    // Another version appended past our end already: branch off with a copy of our window.
    if (items.length !== this.#end) {
      items = items.slice(start, this.#end);
      start = 0;
    }
    let seq = this.nextSeq;
    const appended = { ...this.appended };
    for (const p of payloads) {
      items.push({ ...p, seq: seq++ } as T);
      appended[p.kind] = (appended[p.kind] ?? 0) + 1;
    }
    let end = items.length;
    if (end - start > this.capacity) start = end - this.capacity;
    if (start >= this.capacity) {
      items = items.slice(start);
      end -= start;
      start = 0;
    }
    return new FeedLog(items, start, end, this.capacity, seq, appended);
  }

  /** The items numbered after `seq`, oldest first (O(number returned)). */
  since(seq: number): FeedSince<T> {
    const firstSeq = this.nextSeq - this.length;
    const from = Math.max(seq + 1, firstSeq);
    const items = from >= this.nextSeq ? [] : this.#items.slice(this.#start + (from - firstSeq), this.#end);
    return { items, dropped: Math.max(0, firstSeq - Math.max(seq + 1, 1)) };
  }

  /** The item at `i` (negative: from the end), as Array.prototype.at. */
  at(i: number): T | undefined {
    const k = i < 0 ? this.length + i : i;
    return k >= 0 && k < this.length ? this.#items[this.#start + k] : undefined;
  }

  *[Symbol.iterator](): Iterator<T> {
    for (let i = this.#start; i < this.#end; i++) yield this.#items[i];
  }

  /** The items kept, as a new array. */
  toArray(): T[] {
    return this.#items.slice(this.#start, this.#end);
  }
}
