/**
 * lameduck before and after a change, in one interleaved run: P1 (Deno, Bun) and P1n (Node)
 * with the same handler and the same benchmark server script on both sides; only the library
 * differs (`BENCH_LAMEDUCK_ENTRY`). The "before" side is a git worktree of `--base` in
 * `.tmp/ab/`; the "after" side is this working tree. On Node both sides serve their built npm
 * package, as `npm run bench` does.
 *
 *     node bench/ab.ts --base=REF [--runtimes=deno,bun,node] [--apps=plain,hono]
 *                      [--rounds=5] [--seconds=3]
 *
 * Prints one table (medians of req/s and CPU µs per request, after/before ratios with their
 * min–max) and writes every sample to `.tmp/ab/results.json`.
 *
 * @module
 */

import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { processCpuUs, ROOT, type Runtime, RUNTIMES, startServer, stopServer } from "./proc.ts";
import { ratios, ratioSpan, rotate, summarize } from "./stats.ts";
import { findWrk, runWrk, wrkArgs } from "./wrk.ts";

function option(name: string): string | undefined {
  return process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

const base = option("base");
if (!base) throw new TypeError("Missing --base: the git revision to compare against");
const runtimes = (option("runtimes")?.split(",") ?? [...RUNTIMES]) as Runtime[];
for (const r of runtimes) {
  if (!RUNTIMES.includes(r)) throw new RangeError(`Invalid --runtimes: unknown runtime ${r}`);
}
const apps = option("apps")?.split(",") ?? ["plain", "hono"];
for (const a of apps) {
  if (a !== "plain" && a !== "hono") throw new RangeError(`Invalid --apps: unknown app ${a}`);
}
const rounds = Number(option("rounds") ?? 5);
const seconds = Number(option("seconds") ?? 3);
if (!Number.isInteger(rounds) || rounds < 1) {
  throw new RangeError(`Invalid --rounds: expected a positive integer, got ${rounds}`);
}
if (!Number.isInteger(seconds) || seconds < 1) {
  throw new RangeError(`Invalid --seconds: expected a positive integer, got ${seconds}`);
}

const BODIES = [
  { id: "hello", path: "/" },
  { id: "16k", path: "/16k" },
  { id: "headers", path: "/headers" },
] as const;

/** The base revision, checked out beside the working tree. */
function checkout(revision: string): { dir: string; commit: string } {
  const commit = execFileSync("git", ["rev-parse", "--short", revision], {
    cwd: ROOT,
    encoding: "utf8",
  }).trim();
  const dir = join(ROOT, ".tmp", "ab", commit);
  if (!existsSync(dir)) {
    mkdirSync(join(ROOT, ".tmp", "ab"), { recursive: true });
    execFileSync("git", ["worktree", "add", "--detach", dir, commit], { cwd: ROOT });
    symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  }
  return { dir, commit };
}

function build(dir: string): void {
  const run = spawnSync(process.execPath, ["scripts/build_npm.ts"], { cwd: dir, encoding: "utf8" });
  if (run.status !== 0) throw new Error(`${dir}: scripts/build_npm.ts failed:\n${run.stderr}`);
}

const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" })
  .trim();
const dirty = execFileSync("git", ["status", "--porcelain", "src", "mod.ts"], {
  cwd: ROOT,
  encoding: "utf8",
}).trim() !== "";
const before = checkout(base);
if (runtimes.includes("node")) {
  build(before.dir);
  build(ROOT);
}
const sides = [
  { id: "before", label: `before (${before.commit})`, dir: before.dir },
  { id: "after", label: `after (${head}${dirty ? ", uncommitted changes" : ""})`, dir: ROOT },
] as const;

function entryOf(dir: string, runtime: Runtime): string {
  return runtime === "node" ? join(dir, "npm", "mod.js") : join(dir, "mod.ts");
}

const wrk = findWrk();
type Samples = { rps: number[]; cpuUs: number[] };
const samples: Record<string, Samples> = {};
const key = (runtime: string, app: string, side: string, body: string) =>
  `${runtime}/${app}/${side}/${body}`;

for (let round = 0; round < rounds; round++) {
  for (const runtime of runtimes) {
    for (const app of apps) {
      for (const side of rotate(sides, round)) {
        const server = await startServer(runtime, "bench/servers/lameduck.ts", {
          env: { BENCH_APP: app, BENCH_LAMEDUCK_ENTRY: entryOf(side.dir, runtime) },
        });
        try {
          for (const body of BODIES) await runWrk(wrk, wrkArgs(server.port, body.path, 1));
          for (const body of rotate(BODIES, round)) {
            const cpu = processCpuUs(server.pid);
            const result = await runWrk(wrk, wrkArgs(server.port, body.path, seconds));
            const used = processCpuUs(server.pid) - cpu;
            const s = samples[key(runtime, app, side.id, body.id)] ??= { rps: [], cpuUs: [] };
            s.rps.push(result.requestsPerSec);
            s.cpuUs.push(used / result.requests);
            process.stderr.write(
              `[ab] round ${round + 1} ${runtime} ${app} ${side.id} ${body.id}: ` +
                `${Math.round(result.requestsPerSec)} req/s${
                  result.errors ? `, ${result.errors} errors` : ""
                }\n`,
            );
          }
        } finally {
          await stopServer(server);
        }
      }
    }
  }
}

const lines = [
  `lameduck ${sides[1].label} / ${sides[0].label}: wrk -t1 -c50 -d${seconds}s, ${rounds} ` +
  "interleaved rounds, medians; CPU is the server's µs per request (ratio > 1: after is faster)",
  "",
  "| runtime | app | body | before req/s | after req/s | after/before req/s | " +
  "before CPU µs | after CPU µs | before/after CPU |",
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
];
for (const runtime of runtimes) {
  for (const app of apps) {
    for (const body of BODIES) {
      const b = samples[key(runtime, app, "before", body.id)]!;
      const a = samples[key(runtime, app, "after", body.id)]!;
      lines.push(
        `| ${runtime} | ${app} | ${body.id} | ${Math.round(summarize(b.rps).median)} | ${
          Math.round(summarize(a.rps).median)
        } | ${ratioSpan(ratios(a.rps, b.rps))} | ${summarize(b.cpuUs).median.toFixed(2)} | ${
          summarize(a.cpuUs).median.toFixed(2)
        } | ${ratioSpan(ratios(b.cpuUs, a.cpuUs))} |`,
      );
    }
  }
}
const out = join(ROOT, ".tmp", "ab");
writeFileSync(
  join(out, "results.json"),
  JSON.stringify({ base: before.commit, head, dirty, rounds, seconds, samples }, null, 2),
);
console.log(lines.join("\n"));
if (process.argv.includes("--remove")) {
  execFileSync("git", ["worktree", "remove", "--force", before.dir], { cwd: ROOT });
  rmSync(before.dir, { recursive: true, force: true });
}
