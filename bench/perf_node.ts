/**
 * Where a Node server's time per request goes, by Linux `perf` with call graphs (V8's JIT frames
 * named through `--perf-basic-prof`): raw `node:http`, `@hono/node-server` and lameduck (the
 * built package) serve the hello route (or `--path`) under `wrk -t1 -c50`, interleaved,
 * `--rounds` times.
 *
 *     node bench/perf_node.ts [--rounds=3] [--path=/16k]
 *
 * For each server it prints, in µs per request (medians): the time inside the server's request
 * listener, and that time less the writing of the response (`writeHead` and `end`, which
 * includes the `write` system call and the loopback TCP work it triggers). The second figure is
 * what the server's own code costs per request: everything that differs between the three, the
 * same `node:http` parsing and socket reads aside. Needs `perf` (linux-perf) and
 * `kernel.perf_event_paranoid` ≤ 2 (the default); nothing is changed on the machine.
 *
 * @module
 */

import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { ROOT, sleep, startServer } from "./proc.ts";
import { median } from "./stats.ts";
import { findWrk, runWrk, wrkArgs } from "./wrk.ts";

const rounds = Number(process.argv.find((a) => a.startsWith("--rounds="))?.slice(9) ?? 3);
/** The route requested: `/` (hello, the default) or `/16k` (bench/servers/routes.ts). */
const path = process.argv.find((a) => a.startsWith("--path="))?.slice(7) ?? "/";
if (!path.startsWith("/")) throw new RangeError(`Invalid --path: expected /..., got ${path}`);
if (!Number.isInteger(rounds) || rounds < 1) {
  throw new RangeError(`Invalid --rounds: expected a positive integer, got ${rounds}`);
}
if (spawnSync("perf", ["--version"]).status !== 0) {
  throw new Error("perf is not installed (Debian: apt-get install linux-perf)");
}

const build = spawnSync(process.execPath, ["scripts/build_npm.ts"], {
  cwd: ROOT,
  encoding: "utf8",
});
if (build.status !== 0) throw new Error(`scripts/build_npm.ts failed:\n${build.stderr}`);

/** The servers, and the frame that is their request listener in the profile. */
const SERVERS = [
  {
    id: "node:http",
    script: "bench/servers/bare.ts",
    listener: /'handler .*bench\/servers\/bare\.ts/,
  },
  {
    id: "@hono/node-server",
    script: "bench/servers/hono_node.ts",
    listener: /@hono\/node-server\/dist\/index\.mjs:\d+:\d+$/,
  },
  {
    id: "lameduck",
    script: "bench/servers/lameduck.ts",
    listener: /'handle .*\/src\/adapters\/node\.(?:ts|js)/,
  },
] as const;
const WRITES = /'(?:end|writeHead) node:_http_(?:outgoing|server)/;

const wrk = findWrk();
const dir = mkdtempSync(join(tmpdir(), "lameduck-perf-"));
const results = new Map<string, { listener: number[]; own: number[] }>();

/** Microseconds per request in the listener, and in it but not under a write. */
function attribute(data: string, listener: RegExp, requests: number): [number, number] {
  const script = execFileSync("perf", ["script", "-i", data, "-F", "period,ip,sym"], {
    maxBuffer: 1 << 30,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });
  let inListener = 0;
  let inWrites = 0;
  for (const sample of script.split("\n\n")) {
    const lines = sample.split("\n").filter((l) => l.trim() !== "");
    if (lines.length < 2) continue;
    const period = Number(lines[0]!.trim().split(/\s+/)[0]);
    // Leaf first; each frame is "address symbol (object)".
    const frames = lines.slice(1).map((l) => l.trim().replace(/ \([^)]*\)$/, ""));
    const at = frames.findLastIndex((f) => listener.test(f)); // the outermost
    if (at < 0 || !Number.isFinite(period)) continue;
    inListener += period;
    if (frames.slice(0, at).some((f) => WRITES.test(f))) inWrites += period;
  }
  const us = (ns: number) => ns / 1e3 / requests;
  return [us(inListener), us(inListener - inWrites)];
}

try {
  for (let round = 1; round <= rounds; round++) {
    for (const s of SERVERS) {
      const server = await startServer("node", s.script, {
        // --perf-basic-prof also makes V8 write a code log, by default into the working
        // directory (the repository): keep it with the recordings.
        flags: [
          "--perf-basic-prof",
          "--no-logfile-per-isolate",
          `--logfile=${join(dir, `v8-${round}-${s.id.replace(/\W/g, "_")}.log`)}`,
        ],
        env: { BENCH_NODE_PACKAGE: join(ROOT, "npm", "mod.js") },
      });
      try {
        await runWrk(wrk, wrkArgs(server.port, path, 1, 50)); // warm-up
        const data = join(dir, `${round}-${results.size}.data`);
        const perf = spawn("perf", [
          "record",
          "-g",
          "-F",
          "2000",
          "-p",
          String(server.pid),
          "-o",
          data,
          "--",
          "sleep",
          "3.4",
        ], { stdio: "ignore" });
        const recorded = new Promise((resolve) => perf.once("exit", resolve));
        await sleep(200);
        const load = await runWrk(wrk, wrkArgs(server.port, path, 3, 50));
        await recorded;
        const [listener, own] = attribute(data, s.listener, load.requests);
        const r = results.get(s.id) ?? { listener: [], own: [] };
        r.listener.push(listener);
        r.own.push(own);
        results.set(s.id, r);
        process.stderr.write(
          `round ${round} ${s.id}: listener ${listener.toFixed(2)} µs/request, ` +
            `beyond writing ${own.toFixed(2)}\n`,
        );
      } finally {
        server.kill("SIGKILL");
        await server.exited;
      }
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

console.log("| server | request listener, µs/request | beyond writeHead + end, µs/request |");
console.log("| --- | --- | --- |");
for (const [id, r] of results) {
  const f = (xs: number[]) =>
    `${median(xs).toFixed(2)} (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})`;
  console.log(`| ${id} | ${f(r.listener)} | ${f(r.own)} |`);
}
