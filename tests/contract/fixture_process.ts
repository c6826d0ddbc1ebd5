/**
 * Runs a fixture program as a child process of a runtime and reads its JSON event lines: the
 * contract fixture (tests/contract/fixture/main.ts) by default, or another program that speaks
 * the same lines (tests/torture/fixture.ts); `withFixture` scopes one to a case, `exitOf` waits
 * for its end. Reading its events: fixture_events.ts.
 *
 * Every wait is bounded, so a hang fails instead of blocking.
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import type { FixtureConfig, TortureConfig } from "../shared/fixture_config.ts";
import { now, within } from "../shared/time.ts";
import { commandFor, ROOT, type RuntimeName } from "./runtimes.ts";

const FIXTURE = join("tests", "contract", "fixture", "main.ts");

/** One JSON line the fixture wrote, stamped with its arrival time on the driver's clock. */
export interface FixtureEvent {
  event: string;
  at: number;
  [key: string]: unknown;
}

/** How the fixture process ended. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Driver clock at the child's `exit` event. */
  atMs: number;
}

/** A running fixture. */
export interface Fixture {
  runtime: RuntimeName;
  port: number;
  pid: number;
  /** Every event line so far, in arrival order. */
  events: FixtureEvent[];
  /** Resolves with the first event (past or future) matching `predicate`. */
  waitFor(
    predicate: (e: FixtureEvent) => boolean,
    timeoutMs?: number,
    what?: string,
  ): Promise<FixtureEvent>;
  /** Sends a signal; returns the driver clock just before sending. */
  signal(name: NodeJS.Signals): number;
  /** Resolves when the process exits. */
  exited: Promise<Exit>;
  /** Resolves once the process exited and its stdout/stderr are fully read. */
  closed: Promise<Exit>;
  /** What the child wrote to stderr (for failure messages). */
  stderr(): string;
  /** A short diagnostic: the last events and stderr. */
  describe(): string;
  /** SIGKILLs the process if it is still running (cleanup only). */
  kill(): void;
}

const children = new Set<ChildProcess>();

/** SIGKILLs every fixture this process started that is still running. */
export function killLeftovers(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
  }
  children.clear();
}

process.on("exit", killLeftovers);

/**
 * Spawns the fixture on `runtime` with `config` and waits for its `ready` line.
 * `config.mode === "selftest"` does not wait for `ready` (port is then 0).
 * `script` (relative to the repository root) runs another fixture program that speaks the same
 * JSON lines (tests/torture/ has its own). `inherit` is a listening socket's descriptor to pass
 * as systemd does (the inherited-socket path).
 */
export async function start(
  runtime: RuntimeName,
  config: FixtureConfig | TortureConfig = {},
  readyTimeoutMs = 20_000,
  script: string = FIXTURE,
  inherit?: number,
): Promise<Fixture> {
  const [bin, binArgs] = commandFor(runtime, script);
  // An inherited listening socket, as systemd and `lameduck run` pass it: descriptor 3, with
  // LISTEN_PID naming the process that execs the runtime.
  const [cmd, args] = inherit === undefined
    ? [bin, binArgs]
    : ["/bin/sh", ["-c", 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$@"', "sh", bin, ...binArgs]];
  const child = spawn(cmd, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      FIXTURE: JSON.stringify(config),
      NO_COLOR: "1",
      DENO_NO_UPDATE_CHECK: "1",
      DENO_NO_PROMPT: "1",
    },
    stdio: inherit === undefined ? ["ignore", "pipe", "pipe"] : ["ignore", "pipe", "pipe", inherit],
  });
  children.add(child);

  const events: FixtureEvent[] = [];
  const waiters: { predicate: (e: FixtureEvent) => boolean; resolve: (e: FixtureEvent) => void }[] =
    [];
  let stderr = "";
  let stdoutRest = "";
  let stdoutJunk = "";

  const exited = new Promise<Exit>((resolve) => {
    child.on("exit", (code, signal) => resolve({ code, signal, atMs: now() }));
  });
  const closed = new Promise<Exit>((resolve, reject) => {
    child.on("close", (code, signal) => {
      children.delete(child);
      resolve({ code, signal, atMs: now() });
    });
    child.on("error", (error) => {
      children.delete(child);
      reject(error);
    });
  });
  closed.catch(() => {});

  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (s: string) => {
    stderr += s;
  });
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (s: string) => {
    const at = now();
    const lines = (stdoutRest + s).split("\n");
    stdoutRest = lines.pop() ?? "";
    for (const line of lines) {
      if (line.trim() === "") continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        stdoutJunk += line + "\n";
        continue;
      }
      const e = { ...(parsed as object), at } as FixtureEvent;
      events.push(e);
      for (let i = waiters.length - 1; i >= 0; i--) {
        const w = waiters[i]!;
        if (w.predicate(e)) {
          waiters.splice(i, 1);
          w.resolve(e);
        }
      }
    }
  });

  const describe = (): string => {
    const last = events.slice(-15).map((e) => {
      const { at: _at, ...rest } = e;
      return "  " + JSON.stringify(rest);
    });
    return [
      `[${runtime} pid ${child.pid}] exit=${child.exitCode ?? child.signalCode ?? "running"}`,
      `last events:\n${last.join("\n") || "  (none)"}`,
      `stderr (tail):\n${stderr.slice(-2000) || "  (empty)"}`,
      stdoutJunk ? `non-JSON stdout (tail):\n${stdoutJunk.slice(-1000)}` : "",
    ].join("\n");
  };

  const waitFor = (
    predicate: (e: FixtureEvent) => boolean,
    timeoutMs = 5_000,
    what = "an event",
  ): Promise<FixtureEvent> => {
    const found = events.find(predicate);
    if (found) return Promise.resolve(found);
    let waiter!: { predicate: (e: FixtureEvent) => boolean; resolve: (e: FixtureEvent) => void };
    const p = new Promise<FixtureEvent>((resolve, reject) => {
      waiter = { predicate, resolve };
      waiters.push(waiter);
      // The process ending means the event will never come: fail early.
      closed.then(
        () => reject(new Error(`The fixture ended before ${what}\n${describe()}`)),
        reject,
      );
    });
    return within(p, timeoutMs, `${what}\n${describe()}`).finally(() => {
      const i = waiters.indexOf(waiter);
      if (i >= 0) waiters.splice(i, 1);
    });
  };

  const signal = (name: NodeJS.Signals): number => {
    const t = now();
    child.kill(name);
    return t;
  };

  const spawned = new Promise<void>((resolve, reject) => {
    child.once("spawn", () => resolve());
    child.once("error", reject);
  });
  await spawned;

  let port = 0;
  if (!("mode" in config && config.mode === "selftest")) {
    try {
      const ready = await waitFor((e) => e.event === "ready", readyTimeoutMs, "the ready line");
      port = ready.port as number;
    } catch (error) {
      if (child.exitCode === null) child.kill("SIGKILL");
      throw error;
    }
  }

  return {
    runtime,
    port,
    pid: child.pid!,
    events,
    waitFor,
    signal,
    exited,
    closed,
    stderr: () => stderr,
    describe,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}

/** Runs `body` with a fixture and always kills it afterwards. */
export async function withFixture<C extends FixtureConfig | TortureConfig = FixtureConfig>(
  runtime: RuntimeName,
  config: C,
  body: (fx: Fixture) => Promise<void>,
  launch: (runtime: RuntimeName, config: C) => Promise<Fixture> = start,
): Promise<void> {
  const fx = await launch(runtime, config);
  try {
    await body(fx);
  } finally {
    fx.kill();
  }
}

/** Waits for the fixture to exit and its output to be read. */
export async function exitOf(fx: Fixture, ms = 15_000): Promise<Exit> {
  const exit = await within(fx.exited, ms, `the fixture to exit\n${fx.describe()}`);
  await within(fx.closed, 5_000, "stdout to close");
  return exit;
}
