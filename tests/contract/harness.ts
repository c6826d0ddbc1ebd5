/**
 * Helpers for the contract suite: spawn the fixture on a runtime, read its JSON event lines,
 * talk raw HTTP/1.1 over a socket, and drive a pooled keep-alive client.
 *
 * Everything runs on 127.0.0.1 and every wait is bounded, so a hang fails instead of blocking.
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** The runtimes the suite knows. */
export const RUNTIMES = ["deno", "bun", "node"] as const;
/** One of {@linkcode RUNTIMES}. */
export type RuntimeName = (typeof RUNTIMES)[number];

const HERE = dirname(fileURLToPath(import.meta.url));
/** The repository root (`/work/main`). */
export const ROOT: string = join(HERE, "..", "..");
const BIN = join(ROOT, "node_modules", ".bin");
const FIXTURE = join("tests", "contract", "fixture.ts");

/** The pinned binary of a runtime (never the machine's default `node`). */
export function binaryOf(runtime: RuntimeName): string {
  return join(BIN, runtime);
}

/** The runtimes selected by `LAMEDUCK_RUNTIMES` (comma list), `deno,bun,node` by default. */
export function selectedRuntimes(): string[] {
  const raw = process.env.LAMEDUCK_RUNTIMES;
  if (raw === undefined || raw.trim() === "") return [...RUNTIMES];
  return raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

function commandFor(runtime: RuntimeName, script: string): [string, string[]] {
  const bin = binaryOf(runtime);
  if (!existsSync(bin)) throw new Error(`The ${runtime} binary is missing: ${bin}`);
  switch (runtime) {
    case "deno":
      return [bin, ["run", "-A", script]];
    case "bun":
      return [bin, [script]];
    case "node":
      return [bin, [script]];
  }
}

/** Milliseconds on the driver's monotonic clock. */
export function now(): number {
  return performance.now();
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejects with a message naming `what` when `promise` does not settle within `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** One JSON line the fixture wrote, stamped with its arrival time on the driver's clock. */
export interface FixtureEvent {
  event: string;
  at: number;
  [key: string]: unknown;
}

/** How the fixture process ended. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Driver clock at the child's `exit` event. */
  atMs: number;
}

/** A running fixture. */
export interface Fixture {
  runtime: RuntimeName;
  port: number;
  pid: number;
  /** Every event line so far, in arrival order. */
  events: FixtureEvent[];
  /** Resolves with the first event (past or future) matching `predicate`. */
  waitFor(
    predicate: (e: FixtureEvent) => boolean,
    timeoutMs?: number,
    what?: string,
  ): Promise<FixtureEvent>;
  /** Sends a signal; returns the driver clock just before sending. */
  signal(name: NodeJS.Signals): number;
  /** Resolves when the process exits. */
  exited: Promise<Exit>;
  /** Resolves once the process exited and its stdout/stderr are fully read. */
  closed: Promise<Exit>;
  /** What the child wrote to stderr (for failure messages). */
  stderr(): string;
  /** A short diagnostic: the last events and stderr. */
  describe(): string;
  /** SIGKILLs the process if it is still running (cleanup only). */
  kill(): void;
}

const children = new Set<ChildProcess>();

/** SIGKILLs every fixture this process started that is still running. */
export function killLeftovers(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
  }
  children.clear();
}

process.on("exit", killLeftovers);

/** Fixture configuration: `serve()` options plus fixture-only switches (see fixture.ts). */
export type FixtureConfig = Record<string, unknown>;

/**
 * Spawns the fixture on `runtime` with `config` and waits for its `ready` line.
 * `config.mode === "selftest"` does not wait for `ready` (port is then 0).
 * `script` (relative to the repository root) runs another fixture program that speaks the same
 * JSON lines (tests/torture/ has its own).
 */
export async function start(
  runtime: RuntimeName,
  config: FixtureConfig = {},
  readyTimeoutMs = 20_000,
  script: string = FIXTURE,
): Promise<Fixture> {
  const [cmd, args] = commandFor(runtime, script);
  const child = spawn(cmd, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      FIXTURE: JSON.stringify(config),
      NO_COLOR: "1",
      DENO_NO_UPDATE_CHECK: "1",
      DENO_NO_PROMPT: "1",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);

  const events: FixtureEvent[] = [];
  const waiters: { predicate: (e: FixtureEvent) => boolean; resolve: (e: FixtureEvent) => void }[] =
    [];
  let stderr = "";
  let stdoutRest = "";
  let stdoutJunk = "";

  const exited = new Promise<Exit>((resolve) => {
    child.on("exit", (code, signal) => resolve({ code, signal, atMs: now() }));
  });
  const closed = new Promise<Exit>((resolve, reject) => {
    child.on("close", (code, signal) => {
      children.delete(child);
      resolve({ code, signal, atMs: now() });
    });
    child.on("error", (error) => {
      children.delete(child);
      reject(error);
    });
  });
  closed.catch(() => {});

  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (s: string) => {
    stderr += s;
  });
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (s: string) => {
    const at = now();
    const lines = (stdoutRest + s).split("\n");
    stdoutRest = lines.pop() ?? "";
    for (const line of lines) {
      if (line.trim() === "") continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        stdoutJunk += line + "\n";
        continue;
      }
      const e = { ...(parsed as object), at } as FixtureEvent;
      events.push(e);
      for (let i = waiters.length - 1; i >= 0; i--) {
        const w = waiters[i]!;
        if (w.predicate(e)) {
          waiters.splice(i, 1);
          w.resolve(e);
        }
      }
    }
  });

  const describe = (): string => {
    const last = events.slice(-15).map((e) => {
      const { at: _at, ...rest } = e;
      return "  " + JSON.stringify(rest);
    });
    return [
      `[${runtime} pid ${child.pid}] exit=${child.exitCode ?? child.signalCode ?? "running"}`,
      `last events:\n${last.join("\n") || "  (none)"}`,
      `stderr (tail):\n${stderr.slice(-2000) || "  (empty)"}`,
      stdoutJunk ? `non-JSON stdout (tail):\n${stdoutJunk.slice(-1000)}` : "",
    ].join("\n");
  };

  const waitFor = (
    predicate: (e: FixtureEvent) => boolean,
    timeoutMs = 5_000,
    what = "an event",
  ): Promise<FixtureEvent> => {
    const found = events.find(predicate);
    if (found) return Promise.resolve(found);
    let waiter!: { predicate: (e: FixtureEvent) => boolean; resolve: (e: FixtureEvent) => void };
    const p = new Promise<FixtureEvent>((resolve, reject) => {
      waiter = { predicate, resolve };
      waiters.push(waiter);
      // The process ending means the event will never come: fail early.
      closed.then(
        () => reject(new Error(`The fixture ended before ${what}\n${describe()}`)),
        reject,
      );
    });
    return within(p, timeoutMs, `${what}\n${describe()}`).finally(() => {
      const i = waiters.indexOf(waiter);
      if (i >= 0) waiters.splice(i, 1);
    });
  };

  const signal = (name: NodeJS.Signals): number => {
    const t = now();
    child.kill(name);
    return t;
  };

  const spawned = new Promise<void>((resolve, reject) => {
    child.once("spawn", () => resolve());
    child.once("error", reject);
  });
  await spawned;

  let port = 0;
  if (config.mode !== "selftest") {
    try {
      const ready = await waitFor((e) => e.event === "ready", readyTimeoutMs, "the ready line");
      port = ready.port as number;
    } catch (error) {
      if (child.exitCode === null) child.kill("SIGKILL");
      throw error;
    }
  }

  return {
    runtime,
    port,
    pid: child.pid!,
    events,
    waitFor,
    signal,
    exited,
    closed,
    stderr: () => stderr,
    describe,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP/1.1 over a socket

/** How a connection ended, as seen from the client. */
export type CloseKind = "fin" | "rst" | "local" | `error:${string}`;

/** A parsed response read off a raw socket. */
export interface RawResponse {
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: string;
  /** Decoded body pieces (one per HTTP chunk when chunked) with their arrival time. */
  pieces: { at: number; text: string }[];
  /** Driver clock when the head was parsed / when the body was complete. */
  headAt: number;
  doneAt: number;
}

interface Pending {
  head: boolean;
  resolve: (r: RawResponse) => void;
  reject: (e: Error) => void;
  parsed?: {
    status: number;
    headers: Record<string, string>;
    headAt: number;
    mode: "none" | "length" | "chunked" | "eof";
    remaining: number;
    pieces: { at: number; text: string }[];
  };
}

/** One TCP connection speaking raw HTTP/1.1; responses are parsed in order. */
export class RawConnection {
  readonly socket: net.Socket;
  /** Resolves with how the connection ended. */
  readonly ended: Promise<CloseKind>;
  #buf: Buffer = Buffer.alloc(0);
  #pending: Pending[] = [];
  #closeKind: CloseKind | undefined;
  #destroyedLocally = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    let sawEnd = false;
    let error: NodeJS.ErrnoException | undefined;
    this.ended = new Promise<CloseKind>((resolve) => {
      socket.on("data", (chunk: Buffer) => {
        this.#buf = Buffer.concat([this.#buf, chunk]);
        this.#pump(now());
      });
      socket.on("end", () => {
        sawEnd = true;
        this.#closeKind ??= "fin";
        this.#pump(now());
        this.#failPending("fin");
        socket.end();
      });
      socket.on("error", (e: NodeJS.ErrnoException) => {
        error = e;
      });
      socket.on("close", () => {
        let kind: CloseKind;
        if (error) {
          kind = error.code === "ECONNRESET" ? "rst" : `error:${error.code ?? error.message}`;
        } else if (sawEnd) kind = "fin";
        else if (this.#destroyedLocally) kind = "local";
        else kind = "fin";
        this.#closeKind = kind;
        this.#pump(now());
        this.#failPending(kind);
        resolve(kind);
      });
    });
  }

  /** Connects to 127.0.0.1:`port`; rejects with the connect error (e.g. `ECONNREFUSED`). */
  static connect(port: number, timeoutMs = 5_000): Promise<RawConnection> {
    return within(
      new Promise<RawConnection>((resolve, reject) => {
        const socket = net.connect({ host: "127.0.0.1", port });
        socket.setNoDelay(true);
        const onError = (e: Error) => reject(e);
        socket.once("error", onError);
        socket.once("connect", () => {
          socket.off("error", onError);
          resolve(new RawConnection(socket));
        });
      }),
      timeoutMs,
      `connect to port ${port}`,
    );
  }

  /** The client's local port. */
  get localPort(): number {
    return this.socket.localPort!;
  }

  /** Writes one request (HTTP/1.1, keep-alive unless a header says otherwise). */
  send(method: string, path: string, headers: Record<string, string> = {}): void {
    const lines = [`${method} ${path} HTTP/1.1`, `Host: 127.0.0.1`];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    this.socket.write(lines.join("\r\n") + "\r\n\r\n");
  }

  /** Reads the next response. HEAD responses must be flagged: they have no body. */
  read(opts: { head?: boolean; timeoutMs?: number } = {}): Promise<RawResponse> {
    const p = new Promise<RawResponse>((resolve, reject) => {
      this.#pending.push({ head: opts.head ?? false, resolve, reject });
    });
    this.#pump(now());
    return within(p, opts.timeoutMs ?? 10_000, "a response on a raw connection");
  }

  /** `send` then `read`. */
  request(
    method: string,
    path: string,
    opts: { headers?: Record<string, string>; timeoutMs?: number } = {},
  ): Promise<RawResponse> {
    this.send(method, path, opts.headers);
    return this.read({ head: method === "HEAD", timeoutMs: opts.timeoutMs ?? 10_000 });
  }

  /** Closes the connection from the client side at once. */
  destroy(): void {
    this.#destroyedLocally = true;
    this.socket.destroy();
  }

  #failPending(kind: CloseKind): void {
    while (this.#pending.length > 0) {
      const p = this.#pending[0]!;
      if (p.parsed?.mode === "eof") {
        this.#pending.shift();
        p.resolve(this.#finish(p, now()));
        continue;
      }
      this.#pending.shift();
      const got = p.parsed
        ? `status ${p.parsed.status}, ${
          p.parsed.pieces.map((x) => x.text).join("").length
        } body chars`
        : `${this.#buf.length} unparsed bytes`;
      p.reject(new Error(`Connection closed (${kind}) before the response was complete (${got})`));
    }
  }

  #finish(p: Pending, at: number): RawResponse {
    const parsed = p.parsed!;
    return {
      status: parsed.status,
      headers: parsed.headers,
      body: parsed.pieces.map((x) => x.text).join(""),
      pieces: parsed.pieces,
      headAt: parsed.headAt,
      doneAt: at,
    };
  }

  #pump(at: number): void {
    while (this.#pending.length > 0) {
      const p = this.#pending[0]!;
      if (!p.parsed) {
        const end = this.#buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = this.#buf.subarray(0, end).toString("latin1");
        this.#buf = this.#buf.subarray(end + 4);
        const [statusLine = "", ...headerLines] = head.split("\r\n");
        const status = Number(statusLine.split(" ")[1]);
        const headers: Record<string, string> = {};
        for (const line of headerLines) {
          const i = line.indexOf(":");
          if (i < 0) continue;
          const name = line.slice(0, i).trim().toLowerCase();
          const value = line.slice(i + 1).trim();
          headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
        }
        let mode: "none" | "length" | "chunked" | "eof";
        let remaining = 0;
        if (p.head || status === 204 || status === 304 || (status >= 100 && status < 200)) {
          mode = "none";
        } else if (/\bchunked\b/i.test(headers["transfer-encoding"] ?? "")) mode = "chunked";
        else if (headers["content-length"] !== undefined) {
          mode = "length";
          remaining = Number(headers["content-length"]);
        } else mode = "eof";
        p.parsed = { status, headers, headAt: at, mode, remaining, pieces: [] };
        if (status >= 100 && status < 200) {
          // Informational: drop it and parse the real response.
          delete p.parsed;
          continue;
        }
      }
      const parsed = p.parsed;
      if (parsed.mode === "none" || (parsed.mode === "length" && parsed.remaining === 0)) {
        this.#pending.shift();
        p.resolve(this.#finish(p, at));
        continue;
      }
      if (parsed.mode === "length") {
        const take = Math.min(parsed.remaining, this.#buf.length);
        if (take > 0) {
          parsed.pieces.push({ at, text: this.#buf.subarray(0, take).toString("utf8") });
          this.#buf = this.#buf.subarray(take);
          parsed.remaining -= take;
        }
        if (parsed.remaining > 0) return;
        this.#pending.shift();
        p.resolve(this.#finish(p, at));
        continue;
      }
      if (parsed.mode === "eof") {
        if (this.#buf.length > 0) {
          parsed.pieces.push({ at, text: this.#buf.toString("utf8") });
          this.#buf = Buffer.alloc(0);
        }
        return; // completes in #failPending when the server closes
      }
      // chunked
      let done = false;
      for (;;) {
        const lineEnd = this.#buf.indexOf("\r\n");
        if (lineEnd < 0) break;
        const size = parseInt(this.#buf.subarray(0, lineEnd).toString("latin1").split(";")[0]!, 16);
        if (Number.isNaN(size)) {
          this.#pending.shift();
          p.reject(
            new Error(
              `Bad chunk size line: ${JSON.stringify(this.#buf.subarray(0, lineEnd).toString())}`,
            ),
          );
          return;
        }
        if (size === 0) {
          // Last chunk, then optional trailers, then an empty line.
          const trailerEnd = this.#buf.indexOf("\r\n\r\n", lineEnd);
          const simpleEnd =
            this.#buf.subarray(lineEnd, lineEnd + 4).toString("latin1") === "\r\n\r\n";
          if (!simpleEnd && trailerEnd < 0) break;
          this.#buf = this.#buf.subarray((simpleEnd ? lineEnd : trailerEnd) + 4);
          done = true;
          break;
        }
        if (this.#buf.length < lineEnd + 2 + size + 2) break;
        parsed.pieces.push({
          at,
          text: this.#buf.subarray(lineEnd + 2, lineEnd + 2 + size).toString("utf8"),
        });
        this.#buf = this.#buf.subarray(lineEnd + 2 + size + 2);
      }
      if (!done) return;
      this.#pending.shift();
      p.resolve(this.#finish(p, at));
    }
  }
}

/** Connects, sends one request, reads its response; the connection stays open. */
export async function rawRequest(
  port: number,
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ conn: RawConnection; res: RawResponse }> {
  const conn = await RawConnection.connect(port);
  const res = await conn.request(method, path, opts);
  return { conn, res };
}

/** Tries to open a TCP connection: `"connected"` (then closed again) or the error code. */
export function tryConnect(port: number, timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve("timeout");
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(e.code ?? e.message);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Pooled keep-alive client (like a load balancer's upstream pool)

/** The outcome of one pooled request. */
export type PoolResult =
  | { ok: true; status: number; headers: http.IncomingHttpHeaders; body: string; reused: boolean }
  | { ok: false; code: string; message: string; reused: boolean };

/** A keep-alive pool on `http.Agent`. */
export interface Pool {
  agent: http.Agent;
  /** GETs `path`; never rejects. */
  get(path: string, timeoutMs?: number): Promise<PoolResult>;
  /** Idle pooled sockets that a new request would reuse. */
  freeSockets(): number;
  destroy(): void;
}

/** Creates a keep-alive pool to 127.0.0.1:`port` with at most `maxSockets` connections. */
export function createPool(port: number, maxSockets: number): Pool {
  const agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  const get = (path: string, timeoutMs = 5_000): Promise<PoolResult> =>
    new Promise((resolve) => {
      let settled = false;
      const settle = (r: PoolResult) => {
        if (settled) return;
        settled = true;
        resolve(r);
      };
      const req = http.request({ host: "127.0.0.1", port, path, agent, method: "GET" });
      req.setTimeout(timeoutMs, () =>
        req.destroy(Object.assign(new Error("request timed out"), { code: "TIMEOUT" })));
      req.on("error", (e: NodeJS.ErrnoException) =>
        settle({
          ok: false,
          code: e.code ?? "ERROR",
          message: e.message,
          reused: req.reusedSocket,
        }));
      req.on("response", (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (s: string) => (body += s));
        res.on("end", () =>
          settle({
            ok: true,
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            reused: req.reusedSocket,
          }));
        res.on("error", (e: NodeJS.ErrnoException) =>
          settle({
            ok: false,
            code: e.code ?? "ERROR",
            message: e.message,
            reused: req.reusedSocket,
          }));
        res.on("aborted", () =>
          settle({
            ok: false,
            code: "ABORTED",
            message: "response aborted",
            reused: req.reusedSocket,
          }));
      });
      req.end();
    });
  const freeSockets = (): number => {
    let n = 0;
    for (const list of Object.values(agent.freeSockets)) {
      for (const s of list ?? []) if (!s.destroyed) n++;
    }
    return n;
  };
  return { agent, get, freeSockets, destroy: () => agent.destroy() };
}
