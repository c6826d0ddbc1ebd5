/**
 * Drives the recipe server (app.ts) in the recipe tests: its command line on each runtime, its
 * events file, one-shot and pooled HTTP clients, and the fenced blocks of the recipe docs.
 *
 * Everything runs on 127.0.0.1 and every wait is bounded.
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { join } from "node:path";
import process from "node:process";
import { binaryOf, ROOT, type RuntimeName } from "../contract/runtimes.ts";
import { sleep } from "../shared/time.ts";

/** The recipe server. */
export const APP: string = join(ROOT, "tests", "recipes", "app.ts");

/** The command line that runs `script` on `runtime` with the pinned binary. */
export function commandLine(runtime: RuntimeName, script: string = APP): string[] {
  const bin = binaryOf(runtime);
  return runtime === "deno" ? [bin, "run", "-A", script] : [bin, script];
}

/** The environment every runtime child gets (no update checks, no colours). */
export function childEnv(extra: Record<string, string>): Record<string, string> {
  return {
    ...process.env as Record<string, string>,
    NO_COLOR: "1",
    DENO_NO_UPDATE_CHECK: "1",
    DENO_NO_PROMPT: "1",
    ...extra,
  };
}

/** One line of app.ts's events file. */
export interface AppEvent {
  type: string;
  runtime: string;
  pid: number;
  at: number;
  [key: string]: unknown;
}

/** Every event written to `file` so far (none when it does not exist yet). */
export function readEvents(file: string): AppEvent[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  return text.split("\n").filter((line) => line !== "").map((line) => JSON.parse(line));
}

/**
 * Resolves with the first event of `type` in `file`. The file is written by another process,
 * so it is re-read every 50 ms, for at most `timeoutMs`.
 */
export async function waitForEvent(
  file: string,
  type: string,
  timeoutMs = 20_000,
): Promise<AppEvent> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const found = readEvents(file).find((e) => e.type === type);
    if (found) return found;
    if (performance.now() > deadline) {
      throw new Error(
        `No "${type}" event in ${file} within ${timeoutMs} ms: ` +
          JSON.stringify(readEvents(file)),
      );
    }
    await sleep(50);
  }
}

/** What a request ended with: a status and body, or an error code. */
export type Outcome = { status: number; body: string } | { error: string };

/** Sends `GET path`, on a new connection unless `agent` is given; never rejects. */
export function get(
  port: number,
  path: string,
  agent: http.Agent | false = false,
  timeoutMs = 15_000,
): Promise<Outcome> {
  return new Promise((resolve) => {
    const request = http.get({ host: "127.0.0.1", port, path, agent }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      response.on("error", (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    });
    request.setTimeout(timeoutMs, () => request.destroy(new Error("client timeout")));
    request.on("error", (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
  });
}

/** True when the outcome is a `200`. */
export function ok(outcome: Outcome): boolean {
  return "status" in outcome && outcome.status === 200;
}

/** A port that was free a moment ago (for servers that cannot take port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Keeps sending `GET path` until `stopAt` (driver clock), one request every `everyMs` per
 * client, and returns every outcome. `agent: false` opens a new connection per request (like
 * a client routed by kube-proxy); an `http.Agent` reuses pooled keep-alive connections (like an
 * ingress or a sidecar with upstream keep-alive).
 */
export async function sendUntil(
  port: number,
  path: string,
  stopAt: number,
  agent: http.Agent | false,
  everyMs = 25,
): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  while (performance.now() < stopAt) {
    outcomes.push(await get(port, path, agent, 5_000));
    await sleep(everyMs);
  }
  return outcomes;
}

/** The fenced code blocks of `info` (e.g. `yaml`) in a file under docs/. */
export function fencedBlocks(doc: string, info: string): string[] {
  const text = readFileSync(join(ROOT, "docs", doc), "utf8");
  const blocks: string[] = [];
  const fence = new RegExp("^```" + info + "[^\\n]*\\n([\\s\\S]*?)^```", "gm");
  for (const match of text.matchAll(fence)) blocks.push(match[1]!);
  return blocks;
}

/** The text of a file under docs/. */
export function docText(doc: string): string {
  return readFileSync(join(ROOT, "docs", doc), "utf8");
}

/** A running app.ts. */
export interface RunningApp {
  port: number;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts app.ts on `runtime` with `env` (plus `PORT=0`) and waits until it listens. */
export async function startApp(
  runtime: RuntimeName,
  events: string,
  env: Record<string, string>,
): Promise<RunningApp> {
  const [command, ...args] = commandLine(runtime);
  const child = spawn(command!, args, {
    cwd: ROOT,
    env: childEnv({ PORT: "0", EVENTS: events, ...env }),
    stdio: "ignore",
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal }))
  );
  try {
    const listening = await waitForEvent(events, "listening");
    return { port: listening.port as number, child, exited };
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
}
