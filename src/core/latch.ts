/**
 * A one-way switch that can be awaited: set once, with a value, never reset.
 *
 * @module
 */

/** A one-shot event carrying a value. */
export class Latch<T> {
  #value: T | undefined = undefined;
  #set = false;
  #resolve!: () => void;
  /** Resolves when the latch is set. */
  readonly promise: Promise<void> = new Promise((resolve) => this.#resolve = resolve);

  /** Whether the latch is set. */
  get isSet(): boolean {
    return this.#set;
  }

  /** The value it was set with. */
  get value(): T | undefined {
    return this.#value;
  }

  /** Sets the latch; only the first call counts. */
  set(value: T): void {
    if (this.#set) return;
    this.#set = true;
    this.#value = value;
    this.#resolve();
  }
}
