/**
 * Helpers of the torture suite: start tests/torture/fixture.ts on a runtime (through the
 * contract's fixture_process.ts), read everything a raw socket receives, look for leaked errors,
 * and ask the fixture for its `inFlight`.
 *
 * @module
 */

import net from "node:net";
import type { TortureConfig } from "../shared/fixture_config.ts";
import { now, sleep } from "../shared/time.ts";
import {
  exitOf,
  type Fixture,
  start,
  withFixture as withContractFixture,
} from "../contract/fixture_process.ts";
import type { RuntimeName } from "../contract/runtimes.ts";

const SCRIPT = "tests/torture/fixture.ts";

/** The marker in every error the fixture's handlers throw (see fixture.ts). */
export const SECRET = "torture-secret";

/** Starts the torture fixture on `runtime` and waits for its `ready` line. */
export function launch(runtime: RuntimeName, config: TortureConfig = {}): Promise<Fixture> {
  return start(runtime, config, 20_000, SCRIPT);
}

/** Runs `body` with a torture fixture and always kills it afterwards. */
export function withFixture(
  runtime: RuntimeName,
  config: TortureConfig,
  body: (fx: Fixture) => Promise<void>,
): Promise<void> {
  return withContractFixture(runtime, config, body, launch);
}

export { exitOf };

/** Everything one raw connection received, and how it ended. */
export interface Received {
  text: string;
  /** `"fin"`, `"rst"`, `"timeout"` (still open after `ms`; closed by us) or another error code. */
  end: string;
  /** The status of the first response, or 0 when no status line arrived. */
  status: number;
}

/**
 * Opens a connection, writes `request` (a string, or pieces written `gapMs` apart), and reads
 * until the server closes or `ms` pass. Never rejects for what the server does.
 */
export async function exchange(
  port: number,
  request: string | string[],
  opts: { ms?: number; gapMs?: number; onSocket?: (socket: net.Socket) => void } = {},
): Promise<Received> {
  const socket = net.connect({ host: "127.0.0.1", port });
  socket.setNoDelay(true);
  const chunks: Buffer[] = [];
  let end = "timeout";
  const closed = new Promise<void>((resolve) => {
    socket.on("data", (b: Buffer) => chunks.push(b));
    socket.on("error", (e: NodeJS.ErrnoException) => {
      end = e.code === "ECONNRESET" ? "rst" : e.code ?? e.message;
    });
    socket.on("end", () => socket.end());
    socket.on("close", () => {
      if (end === "timeout") end = "fin";
      resolve();
    });
  });
  opts.onSocket?.(socket);
  const deadline = now() + (opts.ms ?? 5_000);
  for (const piece of typeof request === "string" ? [request] : request) {
    if (socket.destroyed || now() > deadline) break;
    socket.write(piece);
    if (opts.gapMs) await sleep(opts.gapMs);
  }
  const left = deadline - now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([closed, new Promise((r) => (timer = setTimeout(r, Math.max(0, left))))]);
  clearTimeout(timer);
  if (!socket.destroyed) socket.destroy();
  const text = Buffer.concat(chunks).toString("latin1");
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
  return { text, end, status };
}

/** A `GET` (or other body-less request) that asks the server to close after answering. */
export function get(path: string, method = "GET"): string {
  return `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`;
}

/** What in `text` looks like a leaked error: a stack frame, the handlers' marker, a message. */
export function leaks(text: string): string[] {
  const found: string[] = [];
  const frame = /\bat .*:\d+:\d+/.exec(text);
  if (frame) found.push(`stack frame ${JSON.stringify(frame[0].slice(0, 120))}`);
  if (text.includes(SECRET)) found.push(`the error message (${SECRET})`);
  const named = /\b(?:Type|Range|Reference|Syntax)?Error: .{0,60}/.exec(text);
  if (named) found.push(`an error text ${JSON.stringify(named[0])}`);
  return found;
}

/** Asks the fixture (started with `probe: true`) for its servers' `inFlight`. */
export async function inFlightOf(fx: Fixture): Promise<number[]> {
  const sent = fx.signal("SIGUSR2");
  const line = await fx.waitFor(
    (e) => e.event === "inflight" && e.at >= sent,
    5_000,
    "an inflight line after SIGUSR2",
  );
  return line.inFlight as number[];
}

/** Probes until every server's `inFlight` is 0 or `ms` pass; returns the last values seen. */
export async function settleInFlight(fx: Fixture, ms: number): Promise<number[]> {
  const deadline = now() + ms;
  let seen = await inFlightOf(fx);
  while (seen.some((n) => n !== 0) && now() < deadline) {
    await sleep(100);
    seen = await inFlightOf(fx);
  }
  return seen;
}
