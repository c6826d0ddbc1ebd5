/**
 * CPU profiles of lameduck's Node server and of raw `node:http` under the same wrk load (hello
 * world, 50 connections): Node's `--cpu-prof`, written when the process exits after SIGTERM,
 * summarised as self time per area, function and file, in µs of CPU per request (comparable
 * between the two) and as a share. Not a measurement round: profiling slows servers down.
 *
 * @module
 */

import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { commandOf, now, ROOT, startServer, stopServer } from "../proc.ts";
import { runWrk, wrkArgs, type WrkResult } from "../wrk.ts";

/** A line of a self-time table. */
export interface SelfTime {
  name: string;
  /** Self CPU time per request, in µs. */
  us: number;
  /** Share of all non-idle time, in percent. */
  percent: number;
}

/** One profiled server. */
export interface Profile {
  command: string;
  /** Where the raw profile was written (git-ignored). */
  file: string;
  requestsPerSec: number;
  /** Non-idle CPU time of the main thread per request, in µs. */
  usPerRequest: number;
  areas: SelfTime[];
  functions: SelfTime[];
  files: SelfTime[];
}

/** Both profiles. */
export interface ProfileResults {
  wrkCommand: string;
  lameduck: Profile;
  raw: Profile;
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  /** Microseconds before each sample, since the previous one. */
  timeDeltas: number[];
}

const DIR = ".tmp/bench";

function shortUrl(url: string): string {
  return url.replace(`file://${ROOT}/`, "").replace(/^file:\/\//, "");
}

/** Which part of the stack a function belongs to. */
function areaOf(url: string, name: string): string {
  if (url === "" && name.startsWith("(")) return name; // (garbage collector), (program)
  if (/\/src\/adapters\/node\/(?:request|response|head|fields|pipe|url)\./.test(url)) {
    return "lameduck: Node bridge";
  }
  if (url.includes("/src/adapters/")) return "lameduck: Node adapter";
  if (url.includes("/src/core/")) return "lameduck: core";
  if (url.includes("/bench/")) return "benchmark handler";
  if (url.includes("undici") || url.includes("internal/webstreams")) {
    return "Fetch (undici) + web streams";
  }
  if (/node:_http|node:internal\/http|node:http/.test(url)) return "node:http";
  if (/node:net|node:internal\/(stream_base|net|streams)|node:stream/.test(url)) {
    return "node:net + node streams";
  }
  if (url === "") return "native (V8 builtins, syscalls such as writev)";
  return "other node internals";
}

/** Self time by area, function and file, of the samples between `fromMs` and `toMs`. */
function summarize(profile: CpuProfile, fromMs: number, toMs: number, requests: number) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const functions = new Map<string, number>();
  const files = new Map<string, number>();
  const areas = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, us: number) => m.set(k, (m.get(k) ?? 0) + us);
  let all = 0;
  let at = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    at += (profile.timeDeltas[i] ?? 0) / 1000;
    if (at < fromMs || at > toMs) continue;
    const frame = byId.get(profile.samples[i]!);
    if (!frame || frame.functionName === "(idle)") continue;
    const us = profile.timeDeltas[i + 1] ?? 0; // this sample lasts until the next one
    all += us;
    const url = shortUrl(frame.url);
    const name = frame.functionName || "(anonymous)";
    add(functions, url ? `${name} ${url}:${frame.lineNumber + 1}` : name, us);
    add(files, url || (name.startsWith("(") ? name : "(native)"), us);
    add(areas, areaOf(frame.url, name), us);
  }
  const top = (m: Map<string, number>, n: number): SelfTime[] =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, us]) => ({
      name,
      us: Math.round((us / requests) * 100) / 100,
      percent: Math.round((us / all) * 1000) / 10,
    }));
  return {
    usPerRequest: Math.round((all / requests) * 100) / 100,
    areas: top(areas, 12),
    functions: top(functions, 25),
    files: top(files, 12),
  };
}

async function profileOne(
  wrk: string,
  seconds: number,
  script: string,
  name: string,
  env: Record<string, string>,
): Promise<Profile> {
  const dir = join(ROOT, DIR);
  mkdirSync(dir, { recursive: true });
  rmSync(join(dir, name), { force: true });
  const flags = [
    "--cpu-prof",
    `--cpu-prof-dir=${DIR}`,
    `--cpu-prof-name=${name}`,
    "--cpu-prof-interval=250",
  ];
  const spawnedAt = now();
  const server = await startServer("node", script, { flags, env });
  let fromMs = 0;
  let toMs = Infinity;
  let result: WrkResult | undefined;
  try {
    await runWrk(wrk, wrkArgs(server.port, "/", 1));
    fromMs = now() - spawnedAt;
    result = await runWrk(wrk, wrkArgs(server.port, "/", seconds));
    toMs = now() - spawnedAt;
  } finally {
    await stopServer(server, 10_000);
  }
  if (result === undefined) throw new Error("wrk gave no result");
  // The profile's clock starts a little after the spawn: the window is approximate (±50 ms).
  const profile = JSON.parse(readFileSync(join(dir, name), "utf8")) as CpuProfile;
  const envText = Object.entries(env).map(([k, v]) => `${k}=${v} `).join("");
  return {
    command: envText + commandOf("node", script, flags).join(" "),
    file: `${DIR}/${name}`,
    requestsPerSec: result.requestsPerSec,
    ...summarize(profile, fromMs, toMs, result.requests),
  };
}

/** Profiles lameduck's Node server, then raw node:http, for `seconds` of wrk load each. */
export async function runProfile(wrk: string, seconds: number): Promise<ProfileResults> {
  const lameduck = await profileOne(
    wrk,
    seconds,
    "bench/servers/lameduck.ts",
    "node-lameduck.cpuprofile",
    {},
  );
  const raw = await profileOne(wrk, seconds, "bench/servers/bare.ts", "node-raw.cpuprofile", {
    BENCH_GRACEFUL: "1",
  });
  return { wrkCommand: `wrk -t1 -c50 -d${seconds}s http://127.0.0.1:$PORT/`, lameduck, raw };
}
