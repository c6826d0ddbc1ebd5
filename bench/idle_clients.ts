/**
 * The memory scenario's clients, in their own Node process: opens `count` keep-alive
 * connections to 127.0.0.1:`port`, sends one `GET /` on each, waits for every response and
 * keeps them all open and idle.
 *
 *     node bench/idle_clients.ts <port> <count>
 *
 * Prints one JSON line when done (`{"open", "failed", "ms"}`); then each line `count` read on
 * stdin is answered with `{"open"}` (connections the server has not closed). Exits when stdin
 * ends.
 *
 * @module
 */

import process from "node:process";
import { createInterface } from "node:readline";
import { Connection } from "./client.ts";

const port = Number(process.argv[2]);
const count = Number(process.argv[3] ?? 10_000);
/** Connects (and requests) in flight at once: below every runtime's listen backlog. */
const CONCURRENCY = 200;

/** Runs `task(i)` for `i < n`, at most `limit` at a time. */
async function pool(n: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
}

const started = performance.now();
const conns: Connection[] = [];
let failed = 0;
await pool(count, CONCURRENCY, async () => {
  try {
    conns.push(await Connection.connect(port, 10_000));
  } catch {
    failed++;
  }
});
await pool(conns.length, CONCURRENCY, async (i) => {
  try {
    await conns[i]!.get(20_000);
  } catch {
    failed++;
  }
});
const open = (): number => conns.filter((c) => c.usable).length;
console.log(JSON.stringify({ open: open(), failed, ms: Math.round(performance.now() - started) }));

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  if (line.trim() === "count") console.log(JSON.stringify({ open: open() }));
});
lines.on("close", () => {
  for (const c of conns) c.destroy();
  process.exit(0);
});
