/**
 * Option validation: every invalid option throws `TypeError`/`RangeError` at the call, naming
 * the option and the value.
 *
 * @module
 */

import type {
  FetchHandler,
  HookOptions,
  ListenAddress,
  Logger,
  NodeListener,
  ServeOptions,
  ShutdownOptions,
  ShutdownSignal,
  TlsOptions,
} from "./types.ts";

import { describe, duration, invalid, MAX_DURATION_MS } from "./option_values.ts";
import { checkProbePaths, probePath, readiness, type ReadinessConfig } from "./probe_options.ts";

const SIGNALS: ReadonlySet<string> = new Set<ShutdownSignal>([
  "SIGINT",
  "SIGTERM",
  "SIGHUP",
  "SIGQUIT",
  "SIGUSR1",
  "SIGUSR2",
]);

export { describe, duration, MAX_DURATION_MS };

/**
 * Bun's WebSocket handler object, or on Node a function given the `node:http` server to attach
 * an `upgrade` listener (`injectWebSocket` of `@hono/node-ws`). Checked on every runtime so a
 * mistake shows everywhere.
 */
function websocketHandlers(value: unknown): unknown {
  if (value === undefined) return undefined;
  if (value === null || (typeof value !== "object" && typeof value !== "function")) {
    throw new TypeError(
      invalid("websocket", "Bun's WebSocket handler object or a function (server) => void", value),
    );
  }
  return value;
}

/** `{ cert, key }`, PEM strings; whether the runtime can use them shows at listen. */
function tls(value: unknown): TlsOptions | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(invalid("tls", "an object { cert, key } of PEM strings", value));
  }
  const { cert, key } = value as Record<string, unknown>;
  for (const [name, pem] of [["tls.cert", cert], ["tls.key", key]] as const) {
    if (typeof pem !== "string") throw new TypeError(invalid(name, "a PEM string", pem));
    if (pem === "") throw new RangeError(invalid(name, "a PEM string", pem));
  }
  return { cert: cert as string, key: key as string };
}

function optionalFunction<T>(name: string, value: unknown): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "function") throw new TypeError(invalid(name, "a function", value));
  return value as T;
}

function boolean(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw new TypeError(invalid(name, "a boolean", value));
  return value;
}

function port(value: unknown): number {
  if (value === undefined) return 8000;
  const expected = "an integer from 0 to 65535";
  if (typeof value !== "number") throw new TypeError(invalid("port", expected, value));
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    throw new RangeError(invalid("port", expected, value));
  }
  return value;
}

function hostname(value: unknown): string {
  if (value === undefined) return "0.0.0.0";
  if (typeof value !== "string") {
    throw new TypeError(invalid("hostname", "a non-empty string", value));
  }
  if (value === "" || /\s/.test(value)) {
    throw new RangeError(invalid("hostname", "a host name or address", value));
  }
  return value;
}

function signals(value: unknown): readonly ShutdownSignal[] {
  if (value === undefined) return ["SIGINT", "SIGTERM"];
  if (value === false) return [];
  const expected = `false or an array of ${[...SIGNALS].join(", ")}`;
  if (!Array.isArray(value)) throw new TypeError(invalid("signals", expected, value));
  for (const signal of value) {
    if (typeof signal !== "string") throw new TypeError(invalid("signals", expected, signal));
    if (!SIGNALS.has(signal)) throw new RangeError(invalid("signals", expected, signal));
  }
  return [...new Set(value as ShutdownSignal[])];
}

function maxInFlight(value: unknown): number {
  if (value === undefined) return Infinity;
  const expected = "a positive integer or Infinity";
  if (typeof value !== "number") throw new TypeError(invalid("maxInFlight", expected, value));
  if (value !== Infinity && (!Number.isInteger(value) || value < 1)) {
    throw new RangeError(invalid("maxInFlight", expected, value));
  }
  return value;
}

function logger(value: unknown): Logger | undefined {
  if (value === undefined || value === false || value === "json" || typeof value === "function") {
    return value as Logger | undefined;
  }
  throw new TypeError(invalid("logger", 'false, "json" or a function', value));
}

/** Has `value` a method named each of `names`? (Read as properties: nothing is called.) */
function hasMethods(value: object, ...names: string[]): boolean {
  return names.every((name) => typeof (value as Record<string, unknown>)[name] === "function");
}

/**
 * What a Node listener or a framework's app object given as `fetch` is, and what to pass as
 * `listener` instead; `undefined` when nothing says so. The rule (documented on
 * `ServeOptions.listener`) reads properties only: the function is never called.
 */
function nodeListenerHint(value: unknown): string | undefined {
  if (value === null || (typeof value !== "object" && typeof value !== "function")) {
    return undefined;
  }
  if (typeof value === "function") {
    if (hasMethods(value, "handle", "use", "listen")) {
      return "an Express or Connect app (a Node request listener): pass it as listener";
    }
    if (value.name === "handleRequest") {
      return "a Node request listener (Koa's app.callback()): pass it as listener";
    }
    return undefined;
  }
  if (hasMethods(value, "routing", "ready")) {
    return "a Fastify instance: pass listener: app.routing after await app.ready()";
  }
  if (hasMethods(value, "getHttpAdapter")) {
    return "a NestJS app: pass listener: app.getHttpAdapter().getInstance() after " +
      "await app.init()";
  }
  if (hasMethods(value, "callback", "use")) {
    return "a Koa app: pass listener: app.callback()";
  }
  return undefined;
}

function fetchHandler(value: unknown): FetchHandler | undefined {
  if (value === undefined) return undefined; // exactly one of fetch and listener: checkHandler
  const hint = nodeListenerHint(value);
  if (hint !== undefined) {
    throw new TypeError(
      `Invalid fetch: expected a function (request, ctx) => Response, got ${hint}`,
    );
  }
  if (typeof value !== "function") {
    throw new TypeError(invalid("fetch", "a function (request, ctx) => Response", value));
  }
  return value as FetchHandler;
}

function listener(value: unknown): NodeListener | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "function") {
    const hint = nodeListenerHint(value);
    const expected = "a Node request listener (req, res) => void";
    throw new TypeError(
      hint
        ? `Invalid listener: expected ${expected}, got ${hint}`
        : invalid("listener", expected, value),
    );
  }
  return value as NodeListener;
}

/** Exactly one of `fetch` and `listener`. */
function checkHandler(options: ResolvedOptions): void {
  if (options.fetch !== undefined && options.listener !== undefined) {
    const expected = "undefined when fetch is set (exactly one of fetch and listener)";
    throw new TypeError(invalid("listener", expected, options.listener));
  }
  if (options.fetch === undefined && options.listener === undefined) {
    throw new TypeError(invalid("fetch", "a function (request, ctx) => Response", undefined));
  }
}

/**
 * One validator per option of `ServeOptions`, in the order they are checked: each takes the
 * value given (`undefined` when unset) and returns it with its default filled in, or throws
 * naming the option. The compiler holds the table to `ServeOptions`' keys, no more, no fewer.
 */
const VALIDATORS = {
  fetch: fetchHandler,
  listener,
  port,
  hostname,
  signals,
  lameDuck: (value: unknown): number => duration("lameDuck", value, 0),
  drainTimeout: (value: unknown): number => duration("drainTimeout", value, 10_000),
  readiness: (value: unknown): ReadinessConfig => readiness(value),
  liveness: (value: unknown): string | false => probePath("liveness", value),
  metrics: (value: unknown): string | false => probePath("metrics", value),
  maxInFlight,
  exit: (value: unknown): boolean => boolean("exit", value, true),
  onListen: (value: unknown): ((address: ListenAddress) => void) | undefined =>
    optionalFunction("onListen", value),
  onError: (value: unknown): ServeOptions["onError"] => optionalFunction("onError", value),
  logger,
  websocket: websocketHandlers,
  tls,
  /** `undefined`: the runtime's default (see `ServeOptions.overrideGlobals`). */
  overrideGlobals: (value: unknown): boolean | undefined =>
    value === undefined ? undefined : boolean("overrideGlobals", value, false),
} satisfies { [K in keyof ServeOptions]-?: (value: unknown) => unknown };

/** `ServeOptions` with every default filled in, and which of them the caller set. */
export type ResolvedOptions =
  & { [K in keyof typeof VALIDATORS]: ReturnType<(typeof VALIDATORS)[K]> }
  & {
    /** The options given a value other than `undefined` (a default may depend on it). */
    readonly set: ReadonlySet<keyof ServeOptions>;
  };

/** The name of every option of `serve()`. */
export const OPTION_NAMES: readonly (keyof ServeOptions)[] = Object.keys(
  VALIDATORS,
) as (keyof ServeOptions)[];

const KNOWN: ReadonlySet<string> = new Set(OPTION_NAMES);

/** Validates `serve()`'s options and fills in the defaults. */
export function resolveOptions(options: unknown): ResolvedOptions {
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new TypeError(invalid("options", "an object with a fetch function", options));
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KNOWN.has(key)) {
      throw new TypeError(`Invalid option ${JSON.stringify(key)}: not an option of serve()`);
    }
  }
  const resolved: Record<string, unknown> = {};
  const set = new Set<keyof ServeOptions>();
  for (const name of OPTION_NAMES) {
    resolved[name] = VALIDATORS[name](o[name]);
    if (o[name] !== undefined) set.add(name);
  }
  resolved["set"] = set;
  const r = resolved as ResolvedOptions;
  checkHandler(r);
  checkProbePaths(r);
  return r;
}

/** Validates `onShutdown()`'s arguments. */
export function resolveHook(
  hook: unknown,
  options: HookOptions | undefined,
  index: number,
): { hook: () => unknown; name: string; timeout: number } {
  if (typeof hook !== "function") throw new TypeError(invalid("hook", "a function", hook));
  if (options !== undefined && (options === null || typeof options !== "object")) {
    throw new TypeError(invalid("hook options", "an object", options));
  }
  const name = options?.name;
  if (name !== undefined && typeof name !== "string") {
    throw new TypeError(invalid("name", "a string", name));
  }
  return {
    hook: hook as () => unknown,
    name: name ?? `hook ${index}`,
    timeout: duration("timeout", options?.timeout, 5000),
  };
}

/** Validates `shutdown()`'s options. */
export function resolveShutdown(
  options: ShutdownOptions | undefined,
  drainTimeout: number,
): { drainTimeout: number; reason: string } {
  if (options !== undefined && (options === null || typeof options !== "object")) {
    throw new TypeError(invalid("shutdown options", "an object", options));
  }
  const reason = options?.reason;
  if (reason !== undefined && typeof reason !== "string") {
    throw new TypeError(invalid("reason", "a string", reason));
  }
  return {
    drainTimeout: duration("drainTimeout", options?.drainTimeout, drainTimeout),
    reason: reason ?? "shutdown()",
  };
}
