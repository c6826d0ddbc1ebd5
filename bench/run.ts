/**
 * `npm run bench`: lameduck's benchmarks on Deno, Bun and Node, with wrk and raw-socket
 * clients on 127.0.0.1. Writes `results.json` (every sample) and `RESULTS.md` (tables with
 * medians, min–max and ratios, and the exact commands) to bench/.
 *
 *     node bench/run.ts [--quick] [--only=p1,p2,p3,p5,p6,memory,profile,frameworks,peers,pm2]
 *                       [--runtimes=deno,bun,node] [--rounds=N] [--out=DIR]
 *
 * `frameworks`, `peers` and `pm2` (Express, Fastify, Koa and their shutdown peers) run on Node
 * only, when `--runtimes` includes it. `--quick` (1 round, short durations, for validation) and
 * partial runs (`--only`, `--runtimes`) write to .tmp/bench/ unless `--out` is given, so bench/
 * always holds one complete run. The full run takes about 35 minutes (`frameworks`, `peers` and
 * `pm2` about 8 of them). Progress goes to stderr. Exits 1 when a scenario failed.
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { cpus, platform, release } from "node:os";
import { join } from "node:path";
import process from "node:process";
import {
  cpuTicks,
  loadAverage,
  now,
  othersBetween,
  ROOT,
  type Runtime,
  RUNTIMES,
  versionOf,
} from "./proc.ts";
import { profileSection } from "./report_profile.ts";
import { memorySection, p1nSection, p1Section, p5Section } from "./report_serving.ts";
import { p2Section, p3Section } from "./report_shutdown.ts";
import { type CoreResults, runCore } from "./scenarios/core.ts";
import { type DrainResults, runDrain } from "./scenarios/drain.ts";
import { type MemoryResults, runMemory } from "./scenarios/memory.ts";
import { type ProfileResults, runProfile } from "./scenarios/profile.ts";
import { runShutdown, type ShutdownResults } from "./scenarios/shutdown.ts";
import { runThroughput, type ThroughputResults } from "./scenarios/throughput.ts";
import { runSupervised, type SupervisedResults } from "./scenarios/supervised.ts";
import { p6Section, p7Section } from "./report_supervised.ts";
import { findWrk } from "./wrk.ts";
import { f1Section, f2Section, f3Section } from "./report_frameworks.ts";
import { type FrameworksResults, runFrameworks } from "./scenarios/frameworks.ts";
import { type PeersResults, runPeers } from "./scenarios/peers.ts";
import { type RestartsResults, runRestarts } from "./scenarios/restarts.ts";

function option(name: string): string | undefined {
  return process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

const SCENARIOS = [
  "p1",
  "p2",
  "p3",
  "p5",
  "p6",
  "memory",
  "profile",
  "frameworks",
  "peers",
  "pm2",
] as const;
const quick = process.argv.includes("--quick");
const only = option("only")?.split(",") ?? [...SCENARIOS];
const runtimes = (option("runtimes")?.split(",") ?? [...RUNTIMES]) as Runtime[];
for (const r of runtimes) {
  if (!RUNTIMES.includes(r)) throw new RangeError(`Invalid --runtimes: unknown runtime ${r}`);
}
const rounds = Number(option("rounds") ?? (quick ? 1 : 5));
if (!Number.isInteger(rounds) || rounds < 1) {
  throw new RangeError(`Invalid --rounds: expected a positive integer, got ${rounds}`);
}
const partial = only.length < SCENARIOS.length || runtimes.length < RUNTIMES.length;
const outDir = join(ROOT, option("out") ?? (quick || partial ? ".tmp/bench" : "bench"));

const started = now();
function progress(line: string): void {
  const at = ((now() - started) / 1000).toFixed(0).padStart(4);
  process.stderr.write(`[bench ${at} s] ${line}\n`);
}

interface Results {
  meta: Record<string, unknown>;
  p1?: ThroughputResults | undefined;
  p2?: ShutdownResults | undefined;
  p3?: DrainResults | undefined;
  p5?: CoreResults | undefined;
  /** P6 and P7: through `lameduck run`. */
  p6?: SupervisedResults | undefined;
  memory?: MemoryResults | undefined;
  profile?: ProfileResults | { error: string } | undefined;
  /** F1, F2, F3: Express, Fastify and Koa on Node. */
  frameworks?: FrameworksResults | undefined;
  peers?: PeersResults | undefined;
  pm2?: RestartsResults | undefined;
}

/** The newest modification time under src/, and what git says differs from HEAD there. */
function sourceState(): { newest: string; dirty: string[] } {
  const files = readdirSync(join(ROOT, "src"), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile()).map((e) => statSync(join(e.parentPath, e.name)).mtimeMs);
  const git = spawnSync("git", ["status", "--porcelain", "--", "src"], { cwd: ROOT });
  const dirty = String(git.stdout ?? "").split("\n").filter((l) => l.trim() !== "");
  return { newest: new Date(Math.max(...files)).toISOString(), dirty };
}
const sourceBefore = sourceState();
const loadBefore = loadAverage();
const loadSamples: number[] = [];
const sampler = setInterval(() => loadSamples.push(loadAverage()[0]), 10_000);
progress(`load average before: ${loadBefore.join(" ")}; runtimes ${runtimes.join(", ")}`);
const wrk = findWrk();
const wrkVersion = spawnSync(wrk, ["-v"], { encoding: "utf8" });
const versions: Record<string, string> = {
  wrk: `${wrkVersion.stdout}${wrkVersion.stderr}`.split("\n")[0]!.trim(),
};
for (const r of RUNTIMES) versions[r] = await versionOf(r);
if (runtimes.includes("node")) {
  // Node's lameduck servers import the built package (see bench/servers/lameduck.ts).
  progress("building the npm package for the Node servers (scripts/build_npm.ts)");
  const build = spawnSync(process.execPath, ["scripts/build_npm.ts"], {
    cwd: ROOT,
    encoding: "utf8",
  });
  if (build.status !== 0) throw new Error(`scripts/build_npm.ts failed:\n${build.stderr}`);
  process.env.BENCH_NODE_PACKAGE = join(ROOT, "npm", "mod.js");
}

const results: Results = { meta: {} };
const failures: string[] = [];
/** Per scenario: cores other processes kept busy, and hypervisor steal, on average. */
const contention: Record<string, { others: number; steal: number }> = {};
const firstTicks = cpuTicks();
async function scenario<T>(name: string, run: () => Promise<T>): Promise<T | undefined> {
  if (!only.includes(name)) return undefined;
  progress(`${name}: start (load average ${loadAverage().join(" ")})`);
  const ticks = cpuTicks();
  try {
    return await run();
  } catch (error) {
    failures.push(`${name}: ${error}`);
    progress(`${name}: FAILED: ${error}`);
    return undefined;
  } finally {
    contention[name] = othersBetween(ticks, cpuTicks());
    const { others, steal } = contention[name]!;
    progress(
      `${name}: done; other processes used ${others.toFixed(2)} cores, steal ${steal.toFixed(2)}`,
    );
  }
}

results.p1 = await scenario("p1", () =>
  runThroughput({
    wrk,
    rounds,
    runtimes,
    seconds: quick ? 1 : 3,
    warmupSeconds: 1,
    connections: 50,
  }, progress));
results.p2 = await scenario(
  "p2",
  () => runShutdown({ rounds, runtimes, connections: 100, idleMs: 200 }, progress),
);
results.p3 = await scenario("p3", () => {
  const lameDuckMs = quick ? 300 : 1_000;
  return runDrain({
    rounds,
    runtimes,
    connections: 32,
    beforeMs: quick ? 600 : 1_500,
    lameDuckMs,
    boundMs: lameDuckMs + (quick ? 2_000 : 4_000),
    retryMs: 10,
  }, progress);
});
results.p5 = await scenario("p5", () => runCore(runtimes, quick, progress));
results.p6 = await scenario("p6", () =>
  runSupervised({
    wrk,
    rounds,
    runtimes,
    seconds: quick ? 1 : 3,
    warmupSeconds: 1,
    connections: 50,
  }, progress));
results.memory = await scenario("memory", () =>
  runMemory(
    { rounds: quick ? 1 : Math.min(rounds, 3), runtimes, count: 10_000, settleMs: 500 },
    wrk,
    progress,
  ));
if (only.includes("profile") && runtimes.includes("node")) {
  results.profile = await scenario("profile", () => runProfile(wrk, quick ? 2 : 5)) ??
    { error: failures.at(-1) ?? "unknown" };
}
if (runtimes.includes("node")) {
  results.frameworks = await scenario("frameworks", () =>
    runFrameworks({
      wrk,
      rounds,
      seconds: quick ? 1 : 3,
      warmupSeconds: 1,
      connections: 50,
    }, progress));
  results.peers = await scenario("peers", () =>
    runPeers({
      rounds,
      deadlineMs: 400,
      slowMs: 300,
      signalAfterMs: 100,
      idleConnections: 100,
      idleMs: 200,
      killAfterMs: 3_000,
      connections: 32,
      beforeMs: quick ? 600 : 1_000,
      boundMs: 3_000,
      retryMs: 10,
    }, progress));
  results.pm2 = await scenario("pm2", () =>
    runRestarts({
      rounds: quick ? 1 : Math.min(rounds, 3),
      restarts: 5,
      clientsPerKind: 6,
      slowMs: 400,
      pauseMs: 150,
    }, progress));
}
clearInterval(sampler);
contention.total = othersBetween(firstTicks, cpuTicks());

const loadAfter = loadAverage();
const cpu = cpus();
results.meta = {
  generated: new Date().toISOString(),
  quick,
  rounds,
  runtimes,
  scenarios: only,
  durationS: Math.round((now() - started) / 1000),
  machine: `${cpu.length} × ${cpu[0]?.model ?? "unknown CPU"}, ${platform()} ${release()}`,
  versions,
  loadBefore,
  loadAfter,
  loadDuring: loadSamples,
  contention,
  sourceBefore,
  sourceAfter: sourceState(),
  failures,
};
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, "results.json"), JSON.stringify(results, null, 2) + "\n");
writeFileSync(join(outDir, "RESULTS.md"), render(results));
// The repository's formatter has the last word on layout (`deno fmt --check` runs in npm test).
spawnSync(join(ROOT, "node_modules", ".bin", "deno"), [
  "fmt",
  "--quiet",
  join(outDir, "RESULTS.md"),
  join(outDir, "results.json"),
], { cwd: ROOT, stdio: "ignore" });
progress(`wrote ${join(outDir, "RESULTS.md")} and results.json${partial ? " (partial run)" : ""}`);
process.exit(failures.length ? 1 : 0);

function render(r: Results): string {
  const m = r.meta;
  const total = contention.total!;
  const busy = loadBefore[0] >= 1.0 || total.others >= 0.25;
  const perScenario = Object.entries(contention).filter(([k]) => k !== "total")
    .map(([k, v]) => `${k} ${v.others.toFixed(2)}`).join(", ");
  const during = loadSamples.length ? Math.max(...loadSamples).toFixed(2) : "n/a";
  const head = [
    "# Benchmarks",
    "",
    `Generated by \`npm run bench\` (\`node bench/run.ts${
      process.argv.slice(2).map((a) => ` ${a}`).join("")
    }\`) on ` +
    `${m.generated}, in ${m.durationS} s. Machine: ${m.machine}. ` +
    `Versions: ${Object.entries(versions).map(([k, v]) => `${k} \`${v}\``).join(", ")}.`,
    "",
    `Every scenario runs ${
      quick ? "1 round (--quick: validation only, not results)" : `${rounds} rounds`
    }; ` +
    "in each round every server of a comparison is started afresh, in an order rotated from " +
    "round to round (A/B interleaved in one session), and ratios are taken within a round. " +
    "Tables give the median of the rounds and (min–max). Quote the ratios: absolute numbers " +
    "hold for this machine only. Everything runs on 127.0.0.1; wrk and the server share the " +
    "machine's cores (not pinned).",
    "",
    `Load average (1, 5, 15 min) before the run: ${loadBefore.join(", ")}; after: ` +
    `${loadAfter.join(", ")}; highest 1-min value sampled during the run: ${during} (the ` +
    "benchmark itself keeps about two cores busy, so the load average alone cannot tell " +
    "whether the machine was shared). CPU used by processes other than the benchmark's own, " +
    "averaged over the run (/proc/stat minus this process tree; approximate): " +
    `${total.others.toFixed(2)} of ${cpu.length} cores (per scenario: ${perScenario}); ` +
    `hypervisor steal ${total.steal.toFixed(2)} cores.`,
    ...(busy
      ? [
        "",
        `**The machine was shared (1-min load ${loadBefore[0]} at the start; other processes ` +
        `used ${total.others.toFixed(2)} cores on average during the run): they competed for ` +
        "the two cores, so every number here is noisier than usual. " +
        "Interleaving keeps the ratios usable; re-run on an idle machine before relying on " +
        "small differences.**",
      ]
      : []),
    "",
    `Code measured: the working tree of src/ (newest file ${sourceBefore.newest}; differs from ` +
    `git HEAD in: ${sourceBefore.dirty.map((l) => l.slice(3)).join(", ") || "nothing"}).` +
    ((m.sourceAfter as { newest: string }).newest !== sourceBefore.newest
      ? " **src/ changed while the benchmark ran: later rounds measured newer code.**"
      : ""),
    ...(failures.length ? ["", `Failed scenarios: ${failures.join("; ")}`] : []),
  ];
  const sections: string[] = [head.join("\n")];
  if (r.p1) sections.push(p1Section(r.p1, runtimes));
  if (r.p1 && runtimes.includes("node")) sections.push(p1nSection(r.p1));
  if (r.profile) sections.push(profileSection(r.profile));
  if (r.p2) sections.push(p2Section(r.p2, runtimes));
  if (r.p3) sections.push(p3Section(r.p3, runtimes));
  if (r.p5) sections.push(p5Section(r.p5, runtimes));
  if (r.p6) sections.push(p6Section(r.p6, runtimes), p7Section(r.p6, runtimes));
  if (r.memory) sections.push(memorySection(r.memory, runtimes));
  if (r.frameworks) sections.push(f1Section(r.frameworks));
  if (r.peers) sections.push(f2Section(r.peers));
  if (r.pm2) sections.push(f3Section(r.pm2));
  return sections.join("\n\n") + "\n";
}
