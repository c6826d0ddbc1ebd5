/**
 * docs/docker.md, tested without Docker: `unshare --pid --fork --mount-proc` makes the runtime
 * PID 1 of a new PID namespace, as `CMD ["node", "server.ts"]` does in a container, and the
 * driver signals it from the parent namespace, as `docker stop` does. Needs root and
 * util-linux `unshare`; without them every test here is skipped, with the reason.
 *
 * @module
 */

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { type RuntimeName, RUNTIMES } from "../contract/runtimes.ts";
import { sleep, within } from "../shared/time.ts";
import {
  childEnv,
  commandLine,
  get,
  ok,
  type Outcome,
  readEvents,
  waitForEvent,
} from "./app_driver.ts";

const NO_HANDLER = fileURLToPath(new URL("./no_handler.ts", import.meta.url));
// --kill-child: if unshare dies, its child (PID 1) is SIGKILLed and the whole namespace with it.
const UNSHARE = ["--pid", "--fork", "--mount-proc", "--kill-child"];

function unshareProblem(): string | undefined {
  const probe = spawnSync("unshare", [...UNSHARE, "true"], { encoding: "utf8", timeout: 10_000 });
  if (probe.error) return `unshare is not usable here: ${probe.error.message}`;
  if (probe.status !== 0) {
    return `unshare ${UNSHARE.join(" ")} failed (needs root or CAP_SYS_ADMIN): ` +
      `${probe.stderr.trim()}`;
  }
  return undefined;
}

const problem = unshareProblem();
if (problem) console.log(`# pid1_test.ts skipped: ${problem}`);
const skip = problem ?? false;

const dir = mkdtempSync(join(tmpdir(), "lameduck-pid1-"));
const started = new Set<ChildProcess>();
after(() => {
  for (const child of started) if (child.exitCode === null) child.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

interface Pid1 {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout: () => string;
  /** The host PID of the namespace's PID 1 (unshare's only child). */
  pid1: () => Promise<number>;
}

/** Runs `argv` as PID 1 of a new PID namespace. */
function asPid1(argv: string[], env: Record<string, string>): Pid1 {
  const child = spawn("unshare", [...UNSHARE, ...argv], {
    env: childEnv(env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.add(child);
  let out = "";
  child.stdout!.setEncoding("utf8").on("data", (s: string) => (out += s));
  child.stderr!.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal }))
  );
  const pid1 = async (): Promise<number> => {
    const file = `/proc/${child.pid}/task/${child.pid}/children`;
    for (let i = 0; i < 100; i++) {
      const text = readFileSync(file, "utf8").trim();
      if (text !== "") return Number(text.split(" ")[0]);
      await sleep(50);
    }
    throw new Error(`unshare (pid ${child.pid}) has no child after 5 s`);
  };
  return { child, exited, stdout: () => out, pid1 };
}

/** Whether `pid` has a handler for SIGTERM (bit 15 of SigCgt in /proc/<pid>/status). */
function catchesSigterm(pid: number): boolean {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").match(/^SigCgt:\s*([0-9a-f]+)$/m);
  return line !== null && (BigInt(`0x${line[1]}`) & (1n << 14n)) !== 0n;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("PID 1 with lameduck's handlers (docs/docker.md: the runtime as PID 1)", () => {
  for (const runtime of RUNTIMES) {
    test(
      `${runtime} as PID 1 drains an in-flight request on SIGTERM and exits 0`,
      { skip },
      async () => {
        const events = join(dir, `${runtime}.events`);
        const run = asPid1(commandLine(runtime), { PORT: "0", EVENTS: events });
        const listening = await waitForEvent(events, "listening");
        assert.equal(listening.pid, 1, "app.ts runs as PID 1 of its namespace");
        const port = listening.port as number;
        const slow = get(port, "/slow?ms=1500");
        await sleep(300);
        process.kill(await run.pid1(), "SIGTERM");
        const outcome: Outcome = await within(slow, 10_000, "the slow request");
        assert.deepEqual(outcome, { status: 200, body: "slow 1500" });
        const exit = await within(run.exited, 15_000, `${runtime} to exit`);
        assert.deepEqual(exit, { code: 0, signal: null }, "unshare passes PID 1's exit code on");
        const closed = readEvents(events).find((e) => e.type === "closed");
        const report = closed?.report as { graceful: boolean; completed: number; reason: string };
        assert.equal(report.graceful, true);
        assert.equal(report.reason, "SIGTERM");
        assert.equal(report.completed, 1);
      },
    );
  }
});

describe("PID 1 without a handler (docs/docker.md: what each runtime does)", () => {
  // Measured with deno 2.9.6, bun 1.4.5, node 24.21.0. The kernel gives PID 1 no default signal
  // actions: a signal whose disposition is the default is dropped. Node catches SIGTERM from the
  // start (to restore the terminal), re-raises it with the default action, and survives. Bun
  // does not catch it, so it is never delivered. Deno installs a handler of its own about half a
  // second after start: before that SIGTERM is dropped, after it Deno dies of SIGSEGV (status
  // 139, nothing on stderr). If one of these changes, update docs/docker.md.
  const expected: Record<RuntimeName, string> = {
    node: "ignores SIGTERM",
    bun: "ignores SIGTERM",
    deno: "ignores SIGTERM until its own handler is installed, then dies of SIGSEGV on it",
  };
  for (const runtime of RUNTIMES) {
    test(`${runtime} as PID 1 without a handler ${expected[runtime]}`, { skip }, async (t) => {
      const run = asPid1(commandLine(runtime, NO_HANDLER), {});
      for (let i = 0; i < 200 && !run.stdout().includes("up"); i++) await sleep(50);
      assert.match(run.stdout(), /up/, `${runtime} started`);
      const pid = await run.pid1();
      const startedAt = performance.now();
      t.diagnostic(`${runtime}: catches SIGTERM at "up": ${catchesSigterm(pid)}`);
      if (runtime !== "deno") {
        assert.equal(catchesSigterm(pid), runtime === "node");
        process.kill(pid, "SIGTERM");
        await sleep(2_000);
        assert.ok(alive(pid), `${runtime} still running 2 s after SIGTERM`);
        process.kill(pid, "SIGKILL"); // what Docker does after `docker stop -t`
        await within(run.exited, 5_000, `${runtime} to die of SIGKILL`);
        return;
      }
      if (!catchesSigterm(pid)) {
        process.kill(pid, "SIGTERM");
        await sleep(300);
        assert.ok(alive(pid), "deno ignores SIGTERM before its handler exists");
      } else t.diagnostic("deno had its handler already at 'up': the early case was not tried");
      for (let i = 0; i < 200 && !catchesSigterm(pid); i++) await sleep(25);
      assert.ok(catchesSigterm(pid), "deno installs a SIGTERM handler by itself");
      t.diagnostic(
        `deno: own SIGTERM handler seen ${Math.round(performance.now() - startedAt)} ms` +
          ` after "up"`,
      );
      process.kill(pid, "SIGTERM");
      const exit = await within(run.exited, 5_000, "deno to die");
      assert.deepEqual(exit, { code: null, signal: "SIGSEGV" }, "unshare re-raises it");
    });
  }
});

describe("shell-form CMD (docs/docker.md: why exec form)", () => {
  test("/bin/sh as PID 1 does not pass SIGTERM on: the app never drains", { skip }, async () => {
    const events = join(dir, "shell-form.events");
    const line = commandLine("node").join(" ");
    // `CMD node server.ts` is `/bin/sh -c "node server.ts"`; Debian's dash stays PID 1.
    const run = asPid1(["/bin/sh", "-c", line], { PORT: "0", EVENTS: events });
    const listening = await waitForEvent(events, "listening");
    assert.equal(listening.pid, 2, "the app is not PID 1: the shell is");
    process.kill(await run.pid1(), "SIGTERM");
    await sleep(1_500);
    assert.ok(ok(await get(listening.port as number, "/readyz")), "still ready after SIGTERM");
    assert.equal(readEvents(events).some((e) => e.type === "draining"), false);
    process.kill(await run.pid1(), "SIGKILL"); // Docker's SIGKILL takes the app down with it
    await within(run.exited, 5_000, "the namespace to end");
  });
});
