/**
 * Signal wiring shared by every server in the process: one listener per signal, the first
 * signal drains every server, the next one forces, and the process exits once all servers a
 * signal stopped are closed.
 *
 * @module
 */

/** Process-level services: signals, exit and the environment. */
export interface Platform {
  /** This process's ID. */
  readonly pid: number;
  /** Reads an environment variable; `undefined` when unset or not permitted (Deno). */
  env(name: string): string | undefined;
  /** Removes an environment variable, so child processes do not inherit it (best effort). */
  unsetEnv(name: string): void;
  /** Listens for a signal; returns a function that removes the listener. */
  onSignal(signal: string, listener: () => void): () => void;
  /** Ends the process. */
  exit(code: number): void;
}

/** What the hub needs from a server. */
export interface SignalTarget {
  /** Called on each signal, with the signal's name. */
  onSignal(signal: string): void;
}

interface Registration {
  target: SignalTarget;
  signals: readonly string[];
}

/** The signal listeners of one process. */
export class SignalHub {
  #platform: Platform;
  #registrations = new Set<Registration>();
  #listeners = new Map<string, () => void>();
  #exitCode = 0;
  #exitWanted = false;

  constructor(platform: Platform) {
    this.#platform = platform;
  }

  /**
   * Starts delivering `signals` to `target`. The returned function stops it; pass it an exit
   * code when a signal-started shutdown of this server wants the process to exit: the process
   * exits with the worst code once no other server is still registered.
   */
  add(target: SignalTarget, signals: readonly string[]): (exitCode?: number) => void {
    const registration = { target, signals };
    this.#registrations.add(registration);
    for (const signal of signals) {
      if (this.#listeners.has(signal)) continue;
      this.#listeners.set(signal, this.#platform.onSignal(signal, () => this.#deliver(signal)));
    }
    return (exitCode) => this.#remove(registration, exitCode);
  }

  #deliver(signal: string): void {
    for (const { target, signals } of [...this.#registrations]) {
      if (signals.includes(signal)) target.onSignal(signal);
    }
  }

  #remove(registration: Registration, exitCode: number | undefined): void {
    if (!this.#registrations.delete(registration)) return;
    if (exitCode !== undefined) {
      this.#exitWanted = true;
      this.#exitCode = Math.max(this.#exitCode, exitCode);
    }
    for (const [signal, remove] of this.#listeners) {
      const used = [...this.#registrations].some((r) => r.signals.includes(signal));
      if (!used) {
        remove();
        this.#listeners.delete(signal);
      }
    }
    this.#maybeExit();
  }

  #maybeExit(): void {
    if (this.#exitWanted && this.#registrations.size === 0) {
      this.#exitWanted = false;
      const code = this.#exitCode;
      this.#exitCode = 0;
      // On the next macrotask, so code awaiting `server.finished` runs first.
      setTimeout(() => this.#platform.exit(code), 0);
    }
  }
}
