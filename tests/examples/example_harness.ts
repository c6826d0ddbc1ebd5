/**
 * Runs an example as a user would (`PORT=0`, on 127.0.0.1, its own runtime) and checks what every
 * example promises (tests/examples/*_test.ts register it for their examples with
 * {@linkcode exampleCases}): `/whoami` sees the client (where the example has it), `/readyz`
 * answers, and on SIGTERM an open SSE stream gets its final event and a complete chunked body, an
 * open WebSocket (where the example has one) is closed with 1001, both while the lame-duck window
 * still serves, then the shutdown hook runs and the process exits 0.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";
import { after, before, describe, test } from "node:test";
import { binaryOf, ROOT, type RuntimeName } from "../contract/runtimes.ts";
import { now, within } from "../shared/time.ts";
import { RawConnection } from "../contract/client_raw_http.ts";

/** The lame-duck window the examples get here: long enough to observe, short enough to wait. */
export const LAME_DUCK_MS = 5_000;

export interface Example {
  child: ChildProcess;
  port: number;
  stdout: () => string;
  /** Resolves when the process exits. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** The last output, for failure messages. */
  describe: () => string;
}

/** Starts an example and waits for the `listening on <url>` line it prints on stdout. */
export async function startExample(runtime: RuntimeName, args: string[]): Promise<Example> {
  const child = spawn(binaryOf(runtime), args, {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: "0",
      HOST: "127.0.0.1",
      LAME_DUCK_MS: String(LAME_DUCK_MS),
      NO_COLOR: "1",
      DENO_NO_UPDATE_CHECK: "1",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (s: string) => (stdout += s));
  child.stderr!.setEncoding("utf8").on("data", (s: string) => (stderr += s));
  const exited = new Promise<Awaited<Example["exited"]>>((resolve) => {
    child.on("exit", (code, signal) => resolve({ code, signal, at: now() }));
  });
  const describe = () =>
    `[${runtime} pid ${child.pid}]\nstdout:\n${stdout.slice(-1500)}\nstderr:\n${
      stderr.slice(-1500)
    }`;
  const listening = new Promise<number>((resolve, reject) => {
    const check = () => {
      const match = /listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(stdout);
      if (match) resolve(Number(match[1]));
    };
    child.stdout!.on("data", check);
    child.once("error", reject);
    exited.then(() => reject(new Error(`The example exited before listening\n${describe()}`)));
  });
  const port = await within(listening, 30_000, `the listening line\n${describe()}`);
  return { child, port, stdout: () => stdout, exited, describe };
}

/** One GET on a fresh raw connection; returns the response and the client's local port. */
export async function get(port: number, path: string) {
  const conn = await RawConnection.connect(port);
  try {
    return { res: await conn.request("GET", path), localPort: conn.localPort };
  } finally {
    conn.destroy();
  }
}

/** Splits an SSE body into its events' `event:` names (`message` when there is none). */
function sseEventNames(body: string): string[] {
  return body.split("\n\n").filter((block) => block.trim() !== "").map((block) =>
    /^event: (.*)$/m.exec(block)?.[1] ?? "message"
  );
}

/** Opens a WebSocket and checks the echo; `closed` resolves with the close event's code. */
async function openWebSocket(port: number): Promise<{ closed: Promise<number> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  const closed = new Promise<number>((resolve) =>
    ws.addEventListener("close", (e) => resolve(e.code))
  );
  const echoed = new Promise<string>((resolve, reject) => {
    ws.addEventListener("open", () => ws.send("hi"));
    ws.addEventListener("message", (e) => resolve(String(e.data)));
    ws.addEventListener("error", () => reject(new Error("WebSocket error before the echo")));
  });
  assert.equal(await within(echoed, 10_000, "the WebSocket echo"), "echo: hi");
  return { closed };
}

/** What a client saw; a failure is kept as its message so each test reports its own part. */
export type Seen<T> = T | { error: string };

/** Settles `promise` into a value or `{ error }`. */
export function seen<T>(promise: Promise<T>): Promise<Seen<T>> {
  return promise.then((v) => v, (e: unknown) => ({ error: String(e) }));
}

/** Returns the value, or fails the calling test with the recorded error. */
export function value<T>(outcome: Seen<T>): T {
  if (typeof outcome === "object" && outcome !== null && "error" in outcome) {
    assert.fail(outcome.error);
  }
  return outcome as T;
}

interface ShutdownOutcome {
  sse: Seen<{ status: number; headers: Record<string, string>; events: string[] }>;
  /** Seconds from SIGTERM to the end of the SSE body (`undefined` when it failed). */
  sseEndedSeconds: number | undefined;
  sseConnection: Seen<string>;
  wsCloseCode: Seen<number>;
  readyzAfterEnd: Seen<number>;
  exit: { code: number | null; signal: NodeJS.Signals | null; seconds: number };
  stdout: string;
}

/** Opens an SSE stream (and a WebSocket), sends SIGTERM after two ticks, and records it all. */
async function shutDownMidStream(example: Example, webSocket: boolean): Promise<ShutdownOutcome> {
  const ws = webSocket ? await openWebSocket(example.port) : undefined;
  const conn = await RawConnection.connect(example.port);
  let raw = "";
  const twoTicks = new Promise<void>((resolve) => {
    conn.socket.on("data", (chunk: Buffer) => {
      raw += chunk.toString("utf8");
      if (raw.split("event: tick").length > 2) resolve();
    });
  });
  conn.send("GET", "/events", { Accept: "text/event-stream" });
  const response = seen(conn.read({ timeoutMs: 30_000 }));
  await within(twoTicks, 15_000, `two SSE ticks\n${example.describe()}`);

  const sigterm = now();
  example.child.kill("SIGTERM");
  const sse = await response;
  const wsCloseCode = ws
    ? await seen(within(ws.closed, 15_000, "the WebSocket close"))
    : { error: "no WebSocket" };
  // Both ended at shutdown start, so the lame-duck window still serves, and readiness fails.
  const readyzAfterEnd = await seen(get(example.port, "/readyz").then(({ res }) => res.status));
  const exit = await within(example.exited, 30_000, `the process exit\n${example.describe()}`);
  return {
    sse: "error" in sse
      ? sse
      : { status: sse.status, headers: sse.headers, events: sseEventNames(sse.body) },
    sseEndedSeconds: "error" in sse ? undefined : (sse.doneAt - sigterm) / 1000,
    sseConnection: await seen(within(conn.ended, 10_000, "the SSE connection to end")),
    wsCloseCode,
    readyzAfterEnd,
    exit: { code: exit.code, signal: exit.signal, seconds: (exit.at - sigterm) / 1000 },
    stdout: example.stdout(),
  };
}

/** One example to run: its runtime, its command line, and what it serves besides SSE. */
export interface ExampleRow {
  runtime: RuntimeName;
  args: string[];
  webSocket: boolean;
  /** Whether it answers `/whoami` with the client's address and port. */
  whoami: boolean;
}

/** Registers the example cases for each row. */
export function exampleCases(rows: ExampleRow[]): void {
  for (const { runtime, args, webSocket, whoami } of rows) {
    describe(`examples/${args.at(-1)!.split("/").at(-1)} on ${runtime}`, () => {
      let example: Example;
      let outcome: Promise<ShutdownOutcome>;

      before(async () => {
        example = await startExample(runtime, args);
      });
      after(() => {
        const child = example?.child;
        if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      });

      if (whoami) {
        test("/whoami reports 127.0.0.1 and the client's port", async () => {
          const { res, localPort } = await get(example.port, "/whoami");
          assert.equal(res.status, 200, example.describe());
          const remote = JSON.parse(res.body) as { address?: string; port?: number };
          assert.equal(remote.address, "127.0.0.1");
          assert.equal(remote.port, localPort);
        });
      }

      test("readiness answers 200 while serving", async () => {
        const { res } = await get(example.port, "/readyz");
        assert.equal(res.status, 200);
      });

      test("SIGTERM mid-stream starts a graceful shutdown: the stream ends cleanly, then the process exits by itself", async () => {
        outcome = shutDownMidStream(example, webSocket);
        const { sse, sseEndedSeconds, exit } = await outcome;
        // Without lameduck's listener SIGTERM's default action kills the process: signal set,
        // the SSE body cut off mid-chunk.
        assert.equal(exit.signal, null, `killed by ${exit.signal}\n${example.describe()}`);
        assert.ok(!("error" in sse), `the SSE response failed: ${"error" in sse ? sse.error : ""}`);
        assert.ok(
          sseEndedSeconds !== undefined && sseEndedSeconds <= exit.seconds,
          `the stream ended ${sseEndedSeconds} s after SIGTERM, the process exited after ${exit.seconds} s`,
        );
      });

      test("the SSE client gets the final event and a complete chunked body", async () => {
        const sse = value((await outcome).sse);
        assert.equal(sse.status, 200);
        assert.match(sse.headers["content-type"] ?? "", /^text\/event-stream/);
        // Chunked: the harness resolved the read only on the terminating zero-length chunk.
        assert.match(sse.headers["transfer-encoding"] ?? "", /chunked/);
        assert.ok(sse.events.filter((e) => e === "tick").length >= 2, sse.events.join(","));
        assert.equal(sse.events.at(-1), "bye", sse.events.join(","));
        assert.equal(
          value((await outcome).sseConnection),
          "fin",
          "the connection ended with a FIN, not a reset",
        );
      });

      if (webSocket) {
        test("an open WebSocket is closed with 1001 (going away)", async () => {
          assert.equal(value((await outcome).wsCloseCode), 1001);
        });
      }

      test("streams end when shutdown starts, while readiness fails in the lame-duck window", async () => {
        assert.equal(value((await outcome).readyzAfterEnd), 503);
      });

      test("the onShutdown hook runs and the process exits 0", async () => {
        const { exit, stdout } = await outcome;
        assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null });
        assert.ok(exit.seconds < LAME_DUCK_MS / 1000 + 15, `exited after ${exit.seconds} s`);
        assert.match(stdout, /db pool closed/);
        assert.match(stdout, /shut down \(graceful\): SIGTERM/);
      });
    });
  }
}
