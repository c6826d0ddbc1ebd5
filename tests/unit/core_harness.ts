/**
 * In-process doubles for the core's unit tests: an adapter that records what the core asks of
 * it, a platform whose signals the test sends, and a clock the test drives.
 *
 * @module
 */

import type { Adapter, Host, ListenOptions } from "../../src/core/adapter.ts";
import type { Cancel, Clock } from "../../src/core/clock.ts";
import { Context } from "../../src/core/context.ts";
import { resolveOptions } from "../../src/core/options.ts";
import { LameduckServer } from "../../src/core/server.ts";
import { type Platform, SignalHub } from "../../src/core/signals.ts";
import type { LifecycleEvent, RemoteAddress, ServeOptions } from "../../src/core/types.ts";

interface Timer {
  at: number;
  fn: () => void;
  every: number | undefined;
}

/** Lets pending promise callbacks run (real macrotasks; the core's timers are fake). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 4; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

/** A clock that moves only when the test says so. */
export class FakeClock implements Clock {
  #now = 0;
  #timers = new Set<Timer>();

  now(): number {
    return this.#now;
  }

  after(ms: number, fn: () => void): Cancel {
    const timer = { at: this.#now + ms, fn, every: undefined };
    this.#timers.add(timer);
    return () => this.#timers.delete(timer);
  }

  every(ms: number, fn: () => void): Cancel {
    const timer = { at: this.#now + ms, fn, every: ms };
    this.#timers.add(timer);
    return () => this.#timers.delete(timer);
  }

  /** How many timers are waiting. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, firing every timer due on the way, in order. */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    await settle();
    for (;;) {
      let next: Timer | undefined;
      for (const t of this.#timers) if (t.at <= end && (!next || t.at < next.at)) next = t;
      if (!next) break;
      this.#now = Math.max(this.#now, next.at);
      if (next.every === undefined) this.#timers.delete(next);
      else next.at += next.every;
      next.fn();
      await settle();
    }
    this.#now = end;
    await settle();
  }
}

/** An adapter that records the core's calls; the test decides when `close()` resolves. */
export class FakeAdapter implements Adapter {
  readonly runtime = "node" as const;
  host: Host | undefined;
  calls: string[] = [];
  /** What `listen()` was given. */
  listenOptions: ListenOptions | undefined;
  #listenError: unknown;
  #closeError: unknown;
  #closed!: () => void;
  readonly closed: Promise<void> = new Promise((resolve) => this.#closed = resolve);

  constructor(
    options: { listenError?: unknown; closeError?: unknown; closesAtOnce?: boolean } = {},
  ) {
    this.#listenError = options.listenError;
    this.#closeError = options.closeError;
    if (options.closesAtOnce !== false) this.#closed();
  }

  listen(options: ListenOptions, host: Host) {
    this.calls.push("listen");
    this.listenOptions = options;
    if (this.#listenError !== undefined) return Promise.reject(this.#listenError);
    this.host = host;
    return Promise.resolve({ hostname: "127.0.0.1", port: 1, url: "http://127.0.0.1:1/" });
  }

  close(): Promise<void> {
    this.calls.push("close");
    if (this.#closeError !== undefined) return Promise.reject(this.#closeError);
    return this.closed;
  }

  /** Lets `close()` resolve (when it did not at once). */
  finishClose(): void {
    this.#closed();
  }

  force(): void {
    this.calls.push("force");
  }

  /** The core's count, as a test's replacement may not be. */
  inFlight(requests: number): number {
    return requests;
  }
}

/** A context as an adapter makes it; `client` aborts like a runtime's request signal. */
export class TestContext extends Context {
  readonly remoteAddr: RemoteAddress = { transport: "tcp", hostname: "127.0.0.1", port: 1 };
  readonly client = new AbortController();
  readonly #afterResponse: boolean;

  constructor(shutdown: AbortSignal, afterResponse = true) {
    super(shutdown);
    this.#afterResponse = afterResponse;
  }

  protected override watchClient(): void {
    this.client.signal.addEventListener("abort", () => {
      if (this.#afterResponse || !this.responded) Context.clientGone(this);
    });
  }
}

/** A platform whose signals the test sends and whose exits it records. */
export function fakePlatform() {
  const listeners = new Map<string, Set<() => void>>();
  const exits: number[] = [];
  const platform: Platform = {
    pid: 1,
    env: () => undefined,
    unsetEnv: () => {},
    onSignal(signal, listener) {
      const set = listeners.get(signal) ?? new Set();
      listeners.set(signal, set);
      set.add(listener);
      return () => set.delete(listener);
    },
    exit: (code) => void exits.push(code),
  };
  const send = (signal: string) => {
    for (const listener of [...(listeners.get(signal) ?? [])]) listener();
  };
  const listening = (signal: string) => listeners.get(signal)?.size ?? 0;
  return { platform, send, exits, listening };
}

/** A server on a fake adapter, platform and clock, with its lifecycle events recorded. */
export async function fakeServer(
  options: { [K in keyof ServeOptions]?: ServeOptions[K] | undefined } = {},
  env: {
    adapter?: FakeAdapter;
    clock?: FakeClock;
    hub?: SignalHub;
    platform?: ReturnType<typeof fakePlatform>;
    fd?: number;
    reusePort?: boolean;
  } = {},
) {
  const adapter = env.adapter ?? new FakeAdapter();
  const clock = env.clock ?? new FakeClock();
  const platform = env.platform ?? fakePlatform();
  const hub = env.hub ?? new SignalHub(platform.platform);
  const events: LifecycleEvent[] = [];
  const resolved = resolveOptions({
    fetch: () => new Response("ok"),
    logger: (event: LifecycleEvent) => void events.push(event),
    onListen: () => {},
    ...options,
  });
  const server = new LameduckServer(resolved, {
    runtime: "node",
    adapter: Promise.resolve(adapter),
    hub,
    clock,
    ...(env.fd === undefined ? {} : { fd: env.fd }),
    ...(env.reusePort === undefined ? {} : { reusePort: env.reusePort }),
  });
  await server.ready.catch(() => {});
  await settle();
  /** Sends a request through the adapter's host, as an adapter would. */
  const request = (path = "/", method = "GET", afterResponse = true) => {
    const host = adapter.host!;
    const ctx = new TestContext(host.signal, afterResponse);
    const opened = host.open(new Request(`http://127.0.0.1:1${path}`, { method }), ctx);
    return { opened, ctx };
  };
  const types = () => events.map((e) => e.type);
  return { server, adapter, clock, platform, hub, events, types, request };
}
