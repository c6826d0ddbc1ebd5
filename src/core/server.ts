/**
 * The runtime-free server: lifecycle state, in-flight accounting and the shutdown sequence.
 *
 * @module
 */

import type { Adapter, ExchangeInit, Host } from "./adapter.ts";
import { Exchange, type Tracker } from "./exchange.ts";
import { Hooks } from "./hooks.ts";
import { logToStderr } from "./log.ts";
import { describe, type ResolvedOptions, resolveShutdown } from "./options.ts";
import { errorResponse, overloadedResponse, pathOf, readinessResponse } from "./responses.ts";
import type { SignalHub } from "./signals.ts";
import type {
  HookOptions,
  LifecycleEvent,
  ListenAddress,
  Runtime,
  Server,
  ServerState,
  ShutdownOptions,
  ShutdownReport,
} from "./types.ts";

/** How long a forced shutdown waits for the runtime to let go of its connections. */
const FORCE_GRACE_MS = 50;

function sleep(ms: number, cancel: Promise<void>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    new Promise<void>((resolve) => timer = setTimeout(resolve, ms)),
    cancel,
  ]).finally(() => clearTimeout(timer));
}

/** The `Server` returned by `serve()`, for any adapter. */
export class LameduckServer implements Server, Host, Tracker {
  readonly runtime: Runtime;
  readonly ready: Promise<ListenAddress>;
  readonly finished: Promise<ShutdownReport>;
  #options: ResolvedOptions;
  #adapter: Promise<Adapter>;
  #runtimeAdapter: Adapter | undefined;
  #state: ServerState = "serving";
  #shutdownController = new AbortController();
  #exchanges = new Set<Exchange>();
  #hooks = new Hooks();
  #completed = 0;
  #aborted = 0;
  /** In flight when the shutdown started, and requests started since (for `pending` runtimes). */
  #inFlightAtDrain = 0;
  #openedDuringDrain = 0;
  #shutdown: Promise<ShutdownReport> | undefined;
  #resolveFinished!: (report: ShutdownReport) => void;
  #forced = false;
  #force!: () => void;
  #forcedPromise = new Promise<void>((resolve) => this.#force = resolve);
  #idle: (() => void) | undefined;
  #bySignal = false;
  #unregister: (exitCode?: number) => void;

  constructor(
    options: ResolvedOptions,
    runtime: Runtime,
    adapter: Promise<Adapter>,
    hub: SignalHub,
    fd?: number,
  ) {
    this.#options = options;
    this.runtime = runtime;
    this.#adapter = adapter;
    this.finished = new Promise((resolve) => this.#resolveFinished = resolve);
    this.#unregister = hub.add(this, options.signals);
    const { port, hostname, websocket } = options;
    this.ready = adapter.then((a) => {
      this.#runtimeAdapter = a;
      return a.listen(
        fd === undefined ? { port, hostname, websocket } : { port, hostname, fd },
        this,
      );
    }).then(
      (address) => {
        this.#emit({ type: "listening", address, runtime }, !options.onListen);
        try {
          options.onListen?.(address);
        } catch (error) {
          // The caller's bug, not a listen failure: the server is listening and must say so
          // (it used to reject `ready` and report "closed" while still serving).
          this.#emit({ type: "error", error });
        }
        return address;
      },
    );
    this.ready.catch((error) => {
      if (!this.#shutdown) {
        this.#shutdown = this.#stop(`listen failed: ${describe(String(error))}`, 0, true);
      }
    });
  }

  get state(): ServerState {
    return this.#state;
  }

  get inFlight(): number {
    return Math.max(this.#exchanges.size, this.#pending());
  }

  get signal(): AbortSignal {
    return this.#shutdownController.signal;
  }

  /** Host: `true` once responses should say `Connection: close`. */
  get draining(): boolean {
    return this.#state !== "serving";
  }

  /** Tracker: the shutdown signal given to every request context. */
  get shutdownSignal(): AbortSignal {
    return this.#shutdownController.signal;
  }

  onShutdown(hook: () => unknown, options?: HookOptions): Disposable {
    return this.#hooks.add(hook, options);
  }

  shutdown(options?: ShutdownOptions): Promise<ShutdownReport> {
    if (this.#shutdown) return this.#shutdown;
    const { drainTimeout, reason } = resolveShutdown(options, this.#options.drainTimeout);
    this.#shutdown = this.#stop(reason, drainTimeout, false);
    return this.#shutdown;
  }

  close(): Promise<ShutdownReport> {
    if (this.#shutdown) {
      this.#forceNow();
      return this.#shutdown;
    }
    this.#shutdown = this.#stop("close()", 0, true);
    return this.#shutdown;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  /** SignalHub: the first signal drains, the next one forces. */
  onSignal(signal: string): void {
    if (this.#state === "closed") return;
    if (this.#shutdown) {
      this.#forceNow();
      return;
    }
    this.#bySignal = true;
    this.#shutdown = this.#stop(signal, this.#options.drainTimeout, false);
  }

  /** Host: starts a request, or answers it at once (readiness, overload). */
  open(request: Request, init: ExchangeInit): Exchange | Response {
    const { readiness, maxInFlight } = this.#options;
    if (readiness !== false && pathOf(request.url) === readiness) {
      const method = request.method;
      if (method === "GET" || method === "HEAD") {
        return readinessResponse(this.#state === "serving", method === "HEAD");
      }
    }
    // lameduck's own count: Bun's pendingRequests already includes this very request.
    if (this.#exchanges.size >= maxInFlight) return overloadedResponse();
    const exchange = new Exchange(this, request, init);
    this.#exchanges.add(exchange);
    if (this.#state !== "serving") this.#openedDuringDrain++;
    return exchange;
  }

  /**
   * Tracker: runs `fetch`, falling back to `onError`; never throws or rejects. A `Response`
   * returned synchronously comes back as it is, without a promise.
   */
  respond(exchange: Exchange): Response | Promise<Response> {
    let result: unknown;
    try {
      result = this.#options.fetch(exchange.request, exchange.ctx);
    } catch (error) {
      return this.#failed(error, exchange.request);
    }
    if (result instanceof Response) return result;
    if (!(result instanceof Promise)) return this.#failed(notAResponse(result), exchange.request);
    // The exchange gets the promise's own resolve function for a forced answer. Storing a
    // closure there instead (`() => resolve(forcedResponse())`) made V8 (Node 24.21) keep up
    // to 40% of the young generation alive through each scavenge with an async `fetch`, in
    // most runs (under 1% otherwise): V8 then grows the young generation to its maximum, GC
    // pauses grew 5x and throughput fell by a quarter. No upstream issue found; regression
    // test: tests/unit/exchange_gc_test.ts.
    return new Promise<Response>((resolve) => {
      exchange.resolveOnForce = resolve;
      result.then(
        (response: unknown) => {
          exchange.resolveOnForce = undefined;
          resolve(
            response instanceof Response
              ? response
              : this.#failed(notAResponse(response), exchange.request),
          );
        },
        (error: unknown) => {
          exchange.resolveOnForce = undefined;
          resolve(this.#failed(error, exchange.request));
        },
      );
    });
  }

  /** Tracker: an exchange ended. */
  release(exchange: Exchange, outcome: "completed" | "aborted"): void {
    if (!this.#exchanges.delete(exchange)) return;
    if (this.#state !== "serving") {
      if (outcome === "completed") this.#completed++;
      else this.#aborted++;
    }
    if (this.#exchanges.size === 0) this.#idle?.();
  }

  /**
   * Requests that finished during the drain. Where the runtime counts streaming bodies the core
   * cannot see (Bun's pendingRequests), every request in flight at the start or started since
   * ended either aborted or completed; client disconnects mid-stream count as completed there.
   */
  #completedCount(): number {
    if (!this.#runtimeAdapter?.pending) return this.#completed;
    const ended = this.#inFlightAtDrain + this.#openedDuringDrain - this.#aborted;
    return Math.max(this.#completed, ended);
  }

  #pending(): number {
    return this.#runtimeAdapter?.pending?.() ?? 0;
  }

  async #failed(error: unknown, request: Request): Promise<Response> {
    this.#emit({ type: "error", error, request });
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
    const logger = this.#options.logger;
    if (logger === false) return;
    if (logger === undefined) {
      if (print) logToStderr(event);
      return;
    }
    try {
      logger(event);
    } catch (error) {
      console.error("lameduck: the logger threw:", error);
    }
  }

  #forceNow(): void {
    if (this.#forced) return;
    this.#forced = true;
    this.#force();
  }

  /** Resolves once no exchange is in flight. */
  #drained(): Promise<void> {
    if (this.#exchanges.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#idle = () => {
        this.#idle = undefined;
        resolve();
      };
    });
  }

  /** The shutdown sequence of the README, steps 1 to 6. */
  async #stop(reason: string, drainTimeout: number, immediate: boolean): Promise<ShutdownReport> {
    const started = performance.now();
    // 1. Draining: readiness fails, server.signal aborts.
    this.#state = "draining";
    this.#shutdownController.abort(new DOMException(`Shutting down: ${reason}`, "AbortError"));
    this.#inFlightAtDrain = this.inFlight;
    this.#emit({ type: "draining", reason, inFlight: this.#inFlightAtDrain });
    const progress = setInterval(() => {
      const inFlight = this.inFlight;
      if (inFlight > 0) {
        this.#emit({
          type: "progress",
          inFlight,
          elapsedMs: Math.round(performance.now() - started),
        });
      }
    }, 1000);
    if (immediate) this.#forceNow();
    let adapter: Adapter | undefined;
    try {
      await this.ready;
      adapter = await this.#adapter;
    } catch {
      // Never listened: nothing to drain.
    }
    if (adapter) {
      // 2. Lame-duck window: still serving, every response says Connection: close.
      if (this.#options.lameDuck > 0) await sleep(this.#options.lameDuck, this.#forcedPromise);
      // 3. The listener closes; idle connections are closed.
      const closed = adapter.close().catch(() => {});
      // 4. Drain, at most drainTimeout, then force.
      if (!this.#forced) {
        let complete = false;
        const drained = Promise.all([this.#drained(), closed]).then(() => {
          complete = true;
        });
        await sleep(drainTimeout, Promise.race([drained, this.#forcedPromise]));
        if (!complete) this.#forceNow();
      }
      if (this.#forced) {
        this.#emit({ type: "forced", inFlight: this.inFlight });
        this.#aborted += this.inFlight;
        const cause = new DOMException(`Forced shutdown: ${reason}`, "AbortError");
        for (const exchange of this.#exchanges) exchange.force(cause);
        this.#exchanges.clear();
        adapter.force();
        await sleep(FORCE_GRACE_MS, closed);
      }
      adapter.force();
    }
    clearInterval(progress);
    // 5. Hooks, last registered first.
    const hooks = await this.#hooks.run((hook) => this.#emit({ type: "hook", hook }));
    // 6. Closed.
    this.#state = "closed";
    const report: ShutdownReport = {
      reason,
      graceful: !this.#forced,
      durationMs: Math.round(performance.now() - started),
      completed: this.#completedCount(),
      aborted: this.#aborted,
      hooks,
    };
    this.#emit({ type: "closed", report });
    this.#resolveFinished(report);
    const code = report.graceful && hooks.every((h) => h.ok) ? 0 : 1;
    this.#unregister(this.#bySignal && this.#options.exit ? code : undefined);
    return report;
  }
}

function notAResponse(value: unknown): TypeError {
  return new TypeError(`fetch returned ${describe(value)} instead of a Response`);
}
