/**
 * Options fuzzing with fast-check, in-process on whatever runtime imports it: random option
 * objects (the real keys with valid and junk values, plus random keys) go to `serve()`, which must
 * either work (it listens, answers, shuts down, and its signal listeners are gone) or throw a
 * `TypeError`/`RangeError` naming one of the options at the call. Nothing else may escape: no
 * other error, no rejected `ready`, no unhandled rejection.
 *
 * Every server binds 127.0.0.1 on a free port: the generators never produce another valid
 * `hostname` or a valid non-zero `port`.
 *
 * @module
 */

import fc from "fast-check";
import net from "node:net";
import process from "node:process";
import { serve } from "../../mod.ts";
import type { ServeOptions, Server } from "../../mod.ts";
import { OPTION_NAMES as NAMES } from "../../src/core/options.ts";
import { within } from "../shared/time.ts";

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"];
/** The handler of every fuzzed server. */
export const hello = (): Response => new Response("hello");

const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything(),
  fc.constantFrom(NaN, Infinity, -Infinity, -0, -1, 1.5, 2 ** 53, "", " ", [], {}, null, true),
  fc.constantFrom(undefined, Symbol("junk"), 10n, () => "not a response", new Date(0)),
);

const isValidPort = (v: unknown) =>
  typeof v === "number" && Number.isInteger(v) && v > 0 && v <= 65535;
const isOtherHost = (v: unknown) =>
  typeof v === "string" && v !== "127.0.0.1" && v.trim() === v && v !== "";

/** Mostly valid values; one in eight a near miss or junk (which may happen to be valid). */
function option(valid: fc.Arbitrary<unknown>, ...nearMisses: unknown[]): fc.Arbitrary<unknown> {
  const invalid = nearMisses.length === 0 ? junk : fc.oneof(junk, fc.constantFrom(...nearMisses));
  return fc.oneof({ weight: 7, arbitrary: valid }, { weight: 1, arbitrary: invalid });
}

const duration = option(
  fc.oneof(fc.nat(30), fc.double({ min: 0, max: 1e9, noNaN: true })),
  -1,
  NaN,
  2 ** 31,
);
const throws = (what: string) => () => {
  throw new Error(`${what} fails on purpose`);
};

/** Per real option (the compiler holds it to every option of `ServeOptions`). */
const OPTION_VALUES: { [K in keyof ServeOptions]-?: fc.Arbitrary<unknown> } = {
  fetch: option(fc.constant(hello)),
  listener: option(fc.constant(undefined)),
  port: option(fc.constant(0), 65536, -1, 80.5, "0").filter((v) => !isValidPort(v)),
  hostname: option(fc.constant("127.0.0.1"), "", " ", "127.0.0.1 ").filter((v) => !isOtherHost(v)),
  signals: option(
    fc.oneof(fc.constant(false), fc.subarray(SIGNALS)),
    true,
    "SIGTERM",
    ["SIGKILL"],
    ["SIGFOO"],
    ["sigterm"],
    [""],
    ["SIGTERM", 15],
  ),
  lameDuck: duration,
  drainTimeout: duration,
  readiness: option(
    fc.oneof(
      fc.constantFrom(false, "/readyz", "/"),
      fc.stringMatching(/^\/[\w./-]{0,12}$/),
      fc.constant({ path: "/ready-checked", checks: { ok: () => true }, timeout: 100 }),
    ),
    "readyz",
    { path: "/r", checks: { bad: 1 } },
    "/ready z",
    "/r?x",
    "/r#x",
    true,
  ),
  liveness: option(fc.constantFrom(false, "/livez"), "livez", true),
  metrics: option(fc.constantFrom(false, "/metrics"), "/m?x", 1),
  maxInFlight: option(fc.oneof(fc.constant(Infinity), fc.integer({ min: 1 })), 0, -1, 0.5, NaN),
  exit: option(fc.boolean(), "yes", 0),
  onListen: option(fc.constantFrom(() => {}, throws("onListen"))),
  onError: option(fc.constant(() => new Response("e", { status: 500 }))),
  logger: option(fc.constantFrom(false, () => {}, throws("logger")), true, "stderr"),
  websocket: option(fc.constantFrom({ message() {} }, () => {}), null, "handlers", 1),
  // Never a valid certificate: every value set is invalid (PEM strings are only read at listen).
  tls: fc.constantFrom(undefined, null, "pem", [], {}, { cert: 1, key: "k" }, {
    cert: "",
    key: "",
  }),
  overrideGlobals: option(fc.boolean(), "yes", 1, null),
};

/** A random options value: usually an object with some real and some random keys. */
export const optionsArbitrary: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 9,
    arbitrary: fc.tuple(
      fc.record(OPTION_VALUES, { requiredKeys: ["fetch", "port", "hostname"] }),
      fc.oneof(
        { weight: 5, arbitrary: fc.constant({}) },
        { weight: 1, arbitrary: fc.dictionary(fc.string(), junk, { maxKeys: 2 }) },
      ),
    ).map(([known, extra]) => ({ ...extra, ...known })),
  },
  { weight: 1, arbitrary: junk },
);

/** How one call to `serve()` went. */
export type Outcome = "served" | "threw";

function listenerCounts(): number[] {
  return SIGNALS.map((s) => process.listenerCount?.(s) ?? 0);
}

const OPTION_NAMES: ReadonlySet<string> = new Set(NAMES);

/**
 * Why `message` does not name the option that is wrong in `options` (`undefined` when it does).
 * The oracle: the message has the form `Invalid <name>: ...` or `Invalid option "<key>": ...`,
 * and <name> is a culprit that really is in `options`: `options` itself when it is not an
 * object, an unknown key it holds, `fetch` when its `fetch` is not a function, or a known
 * option it sets (to something other than `undefined`).
 */
function misnamed(message: string, options: unknown): string | undefined {
  const unknownKey = /^Invalid option ("(?:[^"\\]|\\.)*"): not an option of serve\(\)$/.exec(
    message,
  );
  // A dotted name (`tls.cert`, `readiness.checks.db`) names its first part's option.
  const named = /^Invalid ([A-Za-z]+)(?:\.[^:\s]+)?: expected .+, got .+$/.exec(message);
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    return named?.[1] === "options" ? undefined : "options is not an object";
  }
  const o = options as Record<string, unknown>;
  if (unknownKey) {
    const key = JSON.parse(unknownKey[1]!) as string;
    return Object.hasOwn(o, key) && !OPTION_NAMES.has(key) ? undefined : `no unknown key ${key}`;
  }
  if (!named) return "not of the form `Invalid <option>: expected ..., got ...`";
  const name = named[1]!;
  if (name === "fetch") return typeof o.fetch !== "function" ? undefined : "fetch is a function";
  if (!OPTION_NAMES.has(name)) return `${name} is not an option`;
  return o[name] !== undefined ? undefined : `${name} is not set`;
}

/** Tries one options value; throws (failing the property) when the contract is broken. */
export async function tryOptions(options: unknown): Promise<Outcome> {
  const before = listenerCounts();
  let server: Server;
  try {
    server = serve(options as ServeOptions);
  } catch (error) {
    if (!(error instanceof TypeError || error instanceof RangeError)) {
      throw new Error(`serve() threw something else: ${String(error)}`);
    }
    const wrong = misnamed(error.message, options);
    if (wrong !== undefined) {
      throw new Error(`the message does not name the culprit (${wrong}): ${error.message}`);
    }
    if (listenerCounts().join() !== before.join()) {
      throw new Error("a throwing serve() left signal listeners");
    }
    return "threw";
  }
  const ready = await within(
    server.ready.then(() => "ok", (e) => `rejected: ${String(e)}`),
    10_000,
    "ready",
  );
  const status = ready === "ok" ? await within(statusOf(server), 5_000, "a GET") : "not ready";
  const o = options as Record<string, unknown>;
  const quick = [o.lameDuck, o.drainTimeout].every((v) =>
    v === undefined || (v as number) <= 1_000
  );
  const report = await within(quick ? server.shutdown() : server.close(), 10_000, "the shutdown");
  if (ready !== "ok") throw new Error(`serve() accepted the options but ready ${ready}`);
  // A junk `fetch` function returns something that is not a Response: a plain 500; a readiness
  // path of "/" answers 200 without calling fetch.
  const expected = o.fetch === hello || o.readiness === "/" ? "200" : "500";
  if (status !== expected) throw new Error(`GET / answered ${status}, not ${expected}`);
  if (server.state !== "closed" || report !== (await server.finished)) {
    throw new Error(`not closed after the shutdown: ${server.state}`);
  }
  if (listenerCounts().join() !== before.join()) {
    throw new Error(`signal listeners left behind: ${before} → ${listenerCounts()}`);
  }
  return "served";
}

/** The status line's code of a `GET /` on a fresh connection, or the error. */
async function statusOf(server: Server): Promise<string> {
  return getStatus((await server.ready).port);
}

/** The status code of `GET path` on a fresh connection to 127.0.0.1:`port`, or the error. */
export function getStatus(port: number, path = "/"): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    let text = "";
    socket.setEncoding("latin1");
    socket.on("data", (s: string) => (text += s));
    socket.on("error", (e: Error) => resolve(`error ${e.message}`));
    socket.on(
      "close",
      () => resolve(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? `no status: ${text}`),
    );
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  });
}

/** Runs the property `numRuns` times; resolves with the outcome counts, rejects on a failure. */
export async function fuzzOptions(numRuns: number, seed?: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = { served: 0, threw: 0 };
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);
  process.on("unhandledRejection", onUnhandled);
  const quiet = console.error;
  console.error = () => {}; // the default logger and a throwing logger/onListen write here
  try {
    await fc.assert(
      fc.asyncProperty(optionsArbitrary, async (options) => {
        const outcome = await tryOptions(options);
        counts[outcome]!++;
        await new Promise((resolve) => setTimeout(resolve, 0));
        if (unhandled.length > 0) throw new Error(`unhandled rejection: ${String(unhandled[0])}`);
      }),
      { numRuns, ...(seed === undefined ? {} : { seed }) },
    );
  } finally {
    console.error = quiet;
    process.off("unhandledRejection", onUnhandled);
  }
  return counts;
}
