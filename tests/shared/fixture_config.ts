/**
 * The configuration of the fixture programs, in one place: what the drivers write into the
 * `FIXTURE` environment variable (JSON) and what the fixtures read back. Functions cannot cross
 * a process boundary, so options that take one (`onError`, `onListen`) are chosen by name here.
 *
 * @module
 */

import type { ServeOptions } from "../../mod.ts";

/** The `serve()` options a driver can pass as JSON (everything but the functions). */
export type JsonServeOptions = Partial<
  Pick<
    ServeOptions,
    | "port"
    | "hostname"
    | "signals"
    | "lameDuck"
    | "drainTimeout"
    | "readiness"
    | "liveness"
    | "metrics"
    | "maxInFlight"
    | "exit"
    | "tls"
  >
>;

/** A cleanup hook of the contract fixture, registered in order with `server.onShutdown()`. */
export interface HookSpec {
  name: string;
  /** `"ok"` (default) sleeps `ms` then resolves; `"throw"` rejects; `"hang"` never settles. */
  kind?: "ok" | "throw" | "hang";
  ms?: number;
  /** The hook's own `timeout` option. */
  timeout?: number;
}

/** tests/contract/fixture/main.ts: `serve()` options plus the fixture's own switches. */
export interface FixtureConfig extends JsonServeOptions {
  /** `"serve"` (default) or `"selftest"` (in-process API checks, contract cases 13-14). */
  mode?: "serve" | "selftest";
  hooks?: HookSpec[];
  /** Write a `fetch` line for every request that reaches the Hono app. */
  trace?: boolean;
  /**
   * An `onError` handler: `"teapot"` answers `418` with the body `onError: <message>`;
   * `"throw"` throws itself (lameduck must then fall back to its plain 500); `"unsendable"`
   * answers with a header value the wire forbids (cases_send.ts).
   */
  onError?: "teapot" | "throw" | "unsendable";
  /** An `onError` that answers `500` with `onError: <error>` (cases_request.ts). */
  onErrorText?: boolean;
  /**
   * `readiness: { path: "/readyz", timeout, checks: { db, slow } }` (cases_probes.ts): `db`
   * throws the message `GET /check?db=<message>` set (`ok`: passes), `slow` sleeps the `ms` of
   * `GET /check?slowMs=<ms>` and counts its runs (`GET /check` answers the state as JSON).
   */
  readinessChecks?: { timeout: number };
  /** `logger: "json"` instead of the `log` lines on stdout: the JSON lines go to stderr. */
  jsonLogger?: boolean;
  /**
   * Serve the plain Node request listener of fixture/listener_app.ts (`serve({ listener })`,
   * `websocket` a `ws` upgrade) instead of the Hono app's `fetch`.
   */
  listener?: boolean;
}

/** A cleanup hook of the torture fixture, on one of its servers. */
export interface TortureHookSpec {
  server?: number;
  name: string;
  kind?: "ok" | "throw";
}

/** tests/torture/fixture.ts: `serve()` options (any value: it tests bad ones) plus switches. */
export interface TortureConfig extends JsonServeOptions {
  /** How many servers to start in this process (default 1), all with the same options. */
  servers?: number;
  hooks?: TortureHookSpec[];
  /** A signal the process sends itself just before calling `serve()`. */
  selfSignal?: string;
  /** Signals to report with a `signal` line each time one arrives. */
  traceSignals?: string[];
  /** On `SIGUSR2`, write an `inflight` line with every server's `inFlight` and `state`. */
  probe?: boolean;
  /** Keep the process alive this many ms after the servers closed. */
  stayAlive?: number;
}

/** Reads the configuration a driver passed in `FIXTURE` (`{}` when unset). */
export function readFixtureConfig<C extends object>(raw: string | undefined): C {
  return JSON.parse(raw ?? "{}") as C;
}

/** tests/torture/send_fixture.ts: `serve()` options plus the port of the test's upstream. */
export interface SendConfig extends JsonServeOptions {
  /** The port of the node:http upstream that `/proxy` fetches from. */
  upstream?: number;
}
