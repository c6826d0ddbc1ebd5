/**
 * `lameduck run --log json` with real workers: every line on stderr, the supervisor's and the
 * workers' (`serve()`'s default logger, JSON through `LAMEDUCK_LOG`), parses with `JSON.parse`;
 * the lines about a worker and the lines a worker writes carry `worker: { id, pid }`; pino-pretty
 * reads them. In text, a worker's lines are prefixed `lameduck[worker N, pid P]:` on every
 * runtime.
 *
 * @module
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { binaryOf, ROOT, RUNTIMES } from "../contract/runtimes.ts";
import { within } from "../shared/time.ts";
import { LOOPBACK, supervise, WORKER } from "./spawn.ts";

interface Record {
  level: number;
  time: number;
  msg: string;
  name?: string;
  event?: string;
  type?: string;
  worker?: { id: number; pid: number };
}

/** pino-pretty's output for `input`. */
async function pretty(input: string): Promise<{ code: number | null; out: string }> {
  const bin = join(ROOT, "node_modules", "pino-pretty", "bin.js");
  const child = spawn(binaryOf("node"), [bin, "--colorize", "false"], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk));
  child.stdin.end(input);
  const code = await within(
    new Promise<number | null>((resolve) => child.once("close", resolve)),
    15_000,
    "pino-pretty",
  );
  return { code, out };
}

test("--log json: every line parses; supervisor and worker lines name the worker; pino-pretty reads them", async () => {
  const sup = supervise(["--log", "json", ...LOOPBACK], { env: { WORKER_LOG: "1" } });
  try {
    await sup.until(/"event":"worker-ready"/, "worker 1");
    sup.child.kill("SIGHUP");
    await sup.until(/"event":"restart-done"/, "the restart");
    sup.child.kill("SIGTERM");
    assert.equal(await within(sup.exited, 15_000, "exit"), 0, sup.log());
    const lines = sup.log().trimEnd().split("\n");
    const records: Record[] = lines.map((line) => {
      try {
        return JSON.parse(line);
      } catch {
        assert.fail(`not JSON: ${line}\nlog:\n${sup.log()}`);
      }
    });
    for (const r of records) {
      assert.deepEqual([typeof r.level, typeof r.time, typeof r.msg], [
        "number",
        "number",
        "string",
      ]);
    }
    const started = new Map(
      records.filter((r) => r.event === "worker-started").map((r) => [r.worker!.id, r.worker!.pid]),
    );
    assert.deepEqual([...started.keys()], [1, 2]);
    const ours = records.filter((r) => r.name === "lameduck run");
    for (const event of ["worker-ready", "worker-replaced", "worker-exited"]) {
      const about = ours.filter((r) => r.event === event);
      assert.ok(about.length > 0, event);
      for (const r of about) assert.equal(r.worker!.pid, started.get(r.worker!.id), r.msg);
    }
    // serve()'s own lines in each worker: listening, draining, closed; each names its worker.
    const theirs = records.filter((r) => r.name === undefined);
    for (const id of [1, 2]) {
      const types = theirs.filter((r) => r.worker?.id === id).map((r) => r.type);
      for (const type of ["listening", "draining", "closed"]) {
        assert.ok(types.includes(type), `${id}: ${types}`);
      }
    }
    for (const r of theirs) assert.equal(r.worker!.pid, started.get(r.worker!.id), r.msg);

    const { code, out } = await pretty(sup.log());
    assert.equal(code, 0);
    assert.match(out, /INFO.*\(lameduck run\/\d+.*\): worker 1 \(pid \d+\) ready after \d+ ms/);
    assert.match(out, /INFO.*: restart done in \d+ ms/);
    assert.match(out, /INFO.*: listening on http:\/\/127\.0\.0\.1:\d+\//);
    assert.match(out, /worker: \{\n\s+"id": 2,\n\s+"pid": \d+/);
  } finally {
    sup.kill();
  }
});

for (const runtime of RUNTIMES) {
  test(`--log text: a ${runtime} worker's own lines are prefixed lameduck[worker N, pid P]:`, async () => {
    const command = runtime === "deno"
      ? [binaryOf("deno"), "run", "-A", WORKER]
      : runtime === "bun"
      ? [binaryOf("bun"), WORKER]
      : [binaryOf("node"), WORKER];
    const sup = supervise(["--handover", "fd", ...LOOPBACK], { env: { WORKER_LOG: "1" } }, command);
    try {
      const [, pid] = await sup.until(/worker 1 \(pid (\d+)\) ready/, "worker 1", 30_000);
      await sup.until(new RegExp(`lameduck\\[worker 1, pid ${pid}\\]: listening on `), "listening");
      sup.child.kill("SIGTERM");
      assert.equal(await within(sup.exited, 15_000, "exit"), 0, sup.log());
      const lines = sup.log().trimEnd().split("\n");
      for (const line of lines.filter((l) => !l.startsWith("lameduck run: "))) {
        assert.ok(line.startsWith(`lameduck[worker 1, pid ${pid}]: `), line);
      }
      assert.ok(lines.some((l) => / closed after \d+ ms \(graceful\)/.test(l)), sup.log());
    } finally {
      sup.kill();
    }
  });
}
