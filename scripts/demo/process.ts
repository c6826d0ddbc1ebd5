/**
 * Starts a demo server (the example or the naive baseline) on one runtime and watches it: its
 * listening URL, lameduck's lifecycle events (JSON lines on stdout with `LOG_JSON=1`), and
 * when it exits.
 *
 * @module
 */

import { spawn } from "node:child_process";
import process from "node:process";
import { join } from "node:path";
import { binaryOf, ROOT, type RuntimeName } from "../../tests/contract/runtimes.ts";
import { now } from "./client.ts";

/** Which server program. */
export type ServerKind = "lameduck" | "naive";

const SCRIPTS: Record<ServerKind, string> = {
  lameduck: join("examples", "fetch.ts"),
  naive: join("scripts", "demo", "naive.ts"),
};

/** How the process ended. */
export interface Ended {
  code: number | null;
  signal: string | null;
  /** Driver clock at the child's `exit`. */
  at: number;
}

/** A running demo server. */
export interface DemoServer {
  pid: number;
  port: number;
  /** lameduck's lifecycle events, in order (none for the naive server). */
  events: Record<string, unknown>[];
  /** Resolves when the process exits. */
  exited: Promise<Ended>;
  /** Sends `signal`; returns the driver clock just before. */
  kill(signal: NodeJS.Signals): number;
  /** The tail of what the process wrote to stderr. */
  stderr(): string;
}

/**
 * Spawns `kind` on `runtime` with `PORT=0`, `HOST=127.0.0.1` and `env`, and resolves once it
 * prints its URL (or rejects, after SIGKILLing it, within `timeoutMs`).
 */
export function startServer(
  runtime: RuntimeName,
  kind: ServerKind,
  env: Record<string, string>,
  timeoutMs = 20_000,
): Promise<DemoServer> {
  const script = SCRIPTS[kind];
  const args = runtime === "deno" ? ["run", "-A", script] : [script];
  const child = spawn(binaryOf(runtime), args, {
    cwd: ROOT,
    env: {
      ...process.env,
      ...env,
      PORT: "0",
      HOST: "127.0.0.1",
      LOG_JSON: "1",
      NO_COLOR: "1",
      DENO_NO_UPDATE_CHECK: "1",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const events: Record<string, unknown>[] = [];
  let stderr = "";
  let rest = "";
  const exited = new Promise<Ended>((resolve) => {
    child.on("exit", (code, signal) => resolve({ code, signal, at: now() }));
  });
  const kill = (signal: NodeJS.Signals): number => {
    const at = now();
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return at;
  };
  process.once("exit", () => kill("SIGKILL"));
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (s: string) => (stderr = (stderr + s).slice(-4000)));

  return new Promise<DemoServer>((resolve, reject) => {
    const timer = setTimeout(() => {
      kill("SIGKILL");
      reject(new Error(`${kind} on ${runtime} printed no URL within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    exited.then((e) => {
      clearTimeout(timer);
      reject(new Error(`${kind} on ${runtime} exited (${e.code ?? e.signal}) early\n${stderr}`));
    });
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (s: string) => {
      const lines = (rest + s).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) {
        let port: number | undefined;
        if (line.startsWith("{")) {
          const event = JSON.parse(line) as Record<string, unknown>;
          events.push(event);
          if (event.type === "listening") {
            port = (event.address as { port: number }).port;
          }
        } else {
          const match = /listening on http:\/\/[^:]+:(\d+)\//.exec(line);
          if (match) port = Number(match[1]);
        }
        if (port !== undefined) {
          clearTimeout(timer);
          resolve({
            pid: child.pid!,
            port,
            events,
            exited,
            kill,
            stderr: () => stderr,
          });
        }
      }
    });
  });
}
