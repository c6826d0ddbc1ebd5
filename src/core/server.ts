/**
 * The runtime-free server: lifecycle state and the shutdown sequence. The object users hold
 * ({@linkcode LameduckServer}) exposes only the documented `Server` API; adapters talk to its
 * {@linkcode Gate}, the signal hub to a private target.
 *
 * @module
 */

import type { Adapter } from "./adapter.ts";
import { type Clock, realClock, sleep } from "./clock.ts";
import type { Exchange, Handler } from "./exchange.ts";
import { Flights, settled } from "./flights.ts";
import type { Passage } from "./passage.ts";
import { Gate } from "./gate.ts";
import { Hooks } from "./hooks.ts";
import { Latch } from "./latch.ts";
import { emitTo } from "./emit.ts";
import { loadOtel, recordOnOtel } from "./otel.ts";
import { describe, type ResolvedOptions, resolveShutdown } from "./options.ts";
import { errorResponse } from "./responses.ts";
import type { SignalHub } from "./signals.ts";
import type {
  HookOptions,
  LifecycleEvent,
  ListenAddress,
  Logger,
  Runtime,
  Server,
  ServerState,
  ShutdownOptions,
  ShutdownReport,
} from "./types.ts";

/** How long a forced shutdown waits for forced answers and for the runtime to let go. */
const FORCE_GRACE_MS = 50;

/** What forced the drain: `"deadline"`, `"close()"` or the second signal's name. */
type ForceCause = string;

/** What a server is built from besides its options. */
export interface ServerParts {
  /** The runtime the process runs on. */
  runtime: Runtime;
  /** The adapter, once loaded. */
  adapter: Promise<Adapter>;
  /** The process's signal wiring. */
  hub: SignalHub;
  /** An inherited listening socket to adopt. */
  fd?: number | undefined;
  /** Bind `hostname:port` with `SO_REUSEPORT` (`lameduck run --handover reuseport`). */
  reusePort?: boolean;
  /** Time; the real clock by default. */
  clock?: Clock;
}

/** The `fetch` of a server that serves a Node listener: never called. */
function listenerOnly(): never {
  throw new TypeError("fetch called on a server that serves a listener");
}

/** The `Server` returned by `serve()`, for any adapter. */
export class LameduckServer implements Server {
  readonly runtime: Runtime;
  readonly ready: Promise<ListenAddress>;
  readonly finished: Promise<ShutdownReport>;
  #options: ResolvedOptions;
  #adapter: Promise<Adapter>;
  #listening: Adapter | undefined;
  #state: ServerState = "serving";
  #shutdownController = new AbortController();
  #flights = new Flights<Exchange | Passage>();
  #gate: Gate;
  #hooks = new Hooks();
  #shutdown: Promise<ShutdownReport> | undefined;
  #resolveFinished!: (report: ShutdownReport) => void;
  #forced = new Latch<ForceCause>();
  #bySignal = false;
  #unregister: (exitCode?: number) => void;

  #clock: Clock;

  constructor(options: ResolvedOptions, parts: ServerParts) {
    const { runtime, adapter, hub, fd, reusePort, clock = realClock } = parts;
    this.#clock = clock;
    this.#options = options;
    this.runtime = runtime;
    this.#adapter = adapter;
    this.finished = new Promise((resolve) => this.#resolveFinished = resolve);
    const handler: Handler = {
      // With a `listener`, no exchange calls `fetch` (the adapter admits passages instead).
      fetch: options.fetch ?? listenerOnly,
      failed: (error, request, stage) => this.#failed(error, request, stage),
      cut: (error, request) => this.#emit({ type: "error", error, request, stage: "send" }),
      log: (event) => this.#emit(event),
    };
    // deno-lint-ignore no-this-alias
    const server = this;
    this.#gate = new Gate(this.#flights, handler, this.#shutdownController.signal, options, {
      source: {
        get state() {
          return server.state;
        },
        get inFlight() {
          return server.#inFlight(1); // read while answering the scrape
        },
        signal: this.#shutdownController.signal,
        finished: this.finished,
      },
      clock,
      // Read outside any request: the plain in-flight count.
      otel: () =>
        void loadOtel().then((api) => {
          try {
            if (api) recordOnOtel(api, this);
          } catch (error) {
            this.#emit({ type: "warning", message: `OpenTelemetry metrics failed: ${error}` });
          }
        }),
    });
    this.#unregister = hub.add({ onSignal: (signal) => this.#onSignal(signal) }, options.signals);
    const { port, hostname, websocket, tls } = options;
    const listener = options.listener ? { listener: options.listener } : {};
    this.ready = adapter.then((a) =>
      a.listen(
        fd === undefined
          ? { port, hostname, websocket, tls, ...listener, ...(reusePort ? { reusePort } : {}) }
          : { port, hostname, fd, websocket, tls, ...listener },
        this.#gate,
      ).then((address) => {
        this.#listening = a;
        return address;
      })
    ).then((address) => {
      this.#emit({ type: "listening", address, runtime }, !options.onListen);
      try {
        options.onListen?.(address);
      } catch (error) {
        // The caller's bug, not a listen failure: the server is listening and says so.
        this.#emit({ type: "error", error });
      }
      return address;
    });
    this.ready.catch((error) => {
      const address = fd === undefined ? `${hostname}:${port}` : `inherited socket (fd ${fd})`;
      this.#shutdown ??= this.#failedStart(error, address);
    });
  }

  get state(): ServerState {
    return this.#state;
  }

  get inFlight(): number {
    return this.#inFlight(0);
  }

  /**
   * `answering`: requests the core is answering itself that the runtime may count (a metrics
   * scrape on Bun, whose `pendingRequests` counts the request being answered).
   */
  #inFlight(answering: number): number {
    const requests = this.#flights.size;
    return this.#listening?.inFlight(requests, answering) ?? requests;
  }

  get signal(): AbortSignal {
    return this.#shutdownController.signal;
  }

  onShutdown(hook: () => unknown, options?: HookOptions): Disposable {
    return this.#hooks.add(hook, options);
  }

  shutdown(options?: ShutdownOptions): Promise<ShutdownReport> {
    if (this.#shutdown) return this.#shutdown;
    const { drainTimeout, reason } = resolveShutdown(options, this.#options.drainTimeout);
    this.#shutdown = this.#stop(reason, drainTimeout);
    return this.#shutdown;
  }

  close(): Promise<ShutdownReport> {
    this.#forced.set("close()");
    this.#shutdown ??= this.#stop("close()", 0);
    return this.#shutdown;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  /**
   * The first signal drains, the next one forces. (A closed server has unregistered, or closed
   * after a failed start, where a forced latch changes nothing.)
   */
  #onSignal(signal: string): void {
    if (this.#shutdown) return this.#forced.set(signal);
    this.#bySignal = true;
    this.#shutdown = this.#stop(signal, this.#options.drainTimeout);
  }

  async #failed(error: unknown, request: Request, stage?: "send"): Promise<Response> {
    this.#emit(
      stage ? { type: "error", error, request, stage } : { type: "error", error, request },
    );
    const onError = this.#options.onError;
    if (onError) {
      try {
        const response = await onError(error, request);
        if (response instanceof Response) return response;
        this.#emit({ type: "error", error: new TypeError("onError did not return a Response") });
      } catch (failure) {
        this.#emit({ type: "error", error: failure, request });
      }
    }
    return errorResponse();
  }

  #emit(event: LifecycleEvent, print = true): void {
    emitTo(this.#options.logger, event, print);
  }

  /** Never listened: nothing to drain. Hooks still run; with `exit`, the process exits 1. */
  async #failedStart(error: unknown, address: string): Promise<ShutdownReport> {
    this.#state = "closed";
    this.#shutdownController.abort(new DOMException("Failed to start", "AbortError"));
    this.#emit({ type: "failed", error, address });
    const hooks = await this.#hooks.run(
      this.#clock,
      (hook, error) =>
        this.#emit(error === undefined ? { type: "hook", hook } : { type: "hook", hook, error }),
    );
    const report: ShutdownReport = {
      reason: `listen failed: ${describe(error instanceof Error ? error.message : error)}`,
      graceful: false,
      durationMs: 0,
      completed: 0,
      aborted: 0,
      hooks,
    };
    this.#resolveFinished(report);
    this.#unregister(this.#options.exit ? 1 : undefined);
    return report;
  }

  /** The shutdown sequence of the README, steps 1 to 6. */
  async #stop(reason: string, drainTimeout: number): Promise<ShutdownReport> {
    const clock = this.#clock;
    const started = clock.now();
    const elapsed = () => Math.round(clock.now() - started);
    const flights = this.#flights;
    const forced = this.#forced;
    // 1. Draining: readiness fails, server.signal aborts.
    this.#state = "draining";
    this.#gate.draining = true;
    this.#shutdownController.abort(new DOMException(`Shutting down: ${reason}`, "AbortError"));
    const inFlight = this.inFlight;
    flights.startDrain(inFlight);
    this.#emit({
      type: "draining",
      reason,
      inFlight,
      lameDuckMs: this.#options.lameDuck,
      drainTimeoutMs: drainTimeout,
      signals: this.#options.signals,
    });
    const stopProgress = clock.every(1000, () => {
      const inFlight = this.inFlight;
      if (inFlight > 0) this.#emit({ type: "progress", inFlight, elapsedMs: elapsed() });
    });
    let adapter: Adapter | undefined;
    try {
      await this.ready;
      adapter = this.#listening;
    } catch {
      // Never listened: #failedStart reports it.
    }
    if (adapter) {
      // 2. Lame-duck window: still serving, every response says Connection: close.
      if (this.#options.lameDuck > 0) await sleep(clock, this.#options.lameDuck, forced.promise);
      // 3. The listener closes; idle connections are closed.
      const closed = adapter.close().catch(() => {});
      // 4. Drain, at most drainTimeout, then force.
      if (!forced.isSet) {
        let drained = false;
        const done = Promise.all([flights.empty(), closed]).then(() => {
          drained = true;
        });
        await sleep(clock, drainTimeout, Promise.race([done, forced.promise]));
        if (!drained) forced.set(forced.value ?? "deadline");
      }
      if (forced.isSet) {
        const inFlight = this.inFlight;
        this.#emit({ type: "forced", inFlight, cause: forced.value!, elapsedMs: elapsed() });
        const cause = new DOMException(`Forced shutdown: ${reason}`, "AbortError");
        // Forced answers (503 for handlers that never responded) get a moment to reach the
        // runtime before the connections are cut.
        const answered = flights.force(cause, inFlight - flights.size);
        await sleep(clock, FORCE_GRACE_MS, answered);
        adapter.force();
        await sleep(clock, FORCE_GRACE_MS, closed);
      }
      adapter.force();
    }
    stopProgress();
    // 5. Hooks, last registered first.
    const hooks = await this.#hooks.run(
      clock,
      (hook, error) =>
        this.#emit(error === undefined ? { type: "hook", hook } : { type: "hook", hook, error }),
    );
    // 6. Closed.
    this.#state = "closed";
    const counts = flights.counts;
    const report: ShutdownReport = {
      reason,
      graceful: !forced.isSet,
      durationMs: elapsed(),
      completed: settled(counts),
      aborted: counts.aborted,
      hooks,
    };
    const code = report.graceful && hooks.every((h) => h.ok) ? 0 : 1;
    const exitCode = this.#bySignal && this.#options.exit ? code : undefined;
    this.#emit({ type: "closed", report, ...(exitCode === undefined ? {} : { exitCode }) });
    this.#resolveFinished(report);
    this.#unregister(exitCode);
    return report;
  }
}
