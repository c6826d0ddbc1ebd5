/**
 * docs/pm2.md, tested with the pinned PM2 in an isolated `PM2_HOME`: the recipe's
 * `ecosystem.config.cjs` (read from the doc) with only the paths and the port changed, serving
 * app.ts. A request in flight during `pm2 stop` completes and lameduck exits 0; with PM2's
 * default `kill_timeout` the same request is cut (the negative control); a cluster-mode
 * `pm2 reload` under traffic loses nothing.
 *
 * @module
 */

import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { binaryOf, ROOT, type RuntimeName, RUNTIMES } from "../contract/runtimes.ts";
import { sleep, within } from "../shared/time.ts";
import {
  APP,
  childEnv,
  fencedBlocks,
  freePort,
  get,
  ok,
  readEvents,
  sendUntil,
  waitForEvent,
} from "./app_driver.ts";

const dir = mkdtempSync(join(tmpdir(), "lameduck-pm2-"));
const PM2_HOME = join(dir, "home");
const PM2 = join(ROOT, "node_modules", "pm2", "bin", "pm2");
const NODE_DIR = join(ROOT, "node_modules", "node", "bin");

type AppConfig = Record<string, unknown> & { env: Record<string, string> };

/** The first app of the recipe's ecosystem.config.cjs, as the doc shows it. */
function recipeApp(): AppConfig {
  const source = fencedBlocks("pm2.md", "js").find((b) => b.includes("module.exports"));
  assert.ok(source, "docs/pm2.md shows an ecosystem.config.cjs");
  const file = join(dir, "recipe.config.cjs");
  writeFileSync(file, source);
  const { apps } = createRequire(import.meta.url)(file) as { apps: AppConfig[] };
  return apps[0]!;
}

/** Runs the pinned PM2 CLI with the pinned Node (PM2 picks .ts support by the `node` on PATH). */
function pm2(...args: string[]): Promise<string> {
  const env = childEnv({ PM2_HOME, PATH: `${NODE_DIR}:${process.env.PATH}` });
  return new Promise((resolve, reject) => {
    execFile(binaryOf("node"), [PM2, ...args], { env, timeout: 30_000 }, (error, stdout) => {
      if (error) reject(new Error(`pm2 ${args.join(" ")} failed: ${error.message}`));
      else resolve(stdout);
    });
  });
}

/** Writes a test copy of the recipe app and returns its ecosystem file. */
function ecosystem(name: string, runtime: RuntimeName, changes: Record<string, unknown>): string {
  const recipe = recipeApp();
  const app: Record<string, unknown> = {
    ...recipe,
    name,
    script: APP,
    cwd: ROOT,
    interpreter: binaryOf(runtime),
    ...(runtime === "deno" ? { interpreter_args: "run -A" } : {}),
    ...changes,
    env: { ...recipe.env, PORT: "0", EVENTS: join(dir, `${name}.events`), ...changes.env ?? {} },
  };
  const file = join(dir, `${name}.config.cjs`);
  writeFileSync(file, `module.exports = ${JSON.stringify({ apps: [app] }, null, 2)};\n`);
  return file;
}

function pm2Log(): string {
  return readFileSync(join(PM2_HOME, "pm2.log"), "utf8");
}

before(async () => {
  await pm2("ping"); // starts the isolated daemon
});

after(async () => {
  await pm2("kill").catch((error) => console.error(String(error)));
  // If `pm2 kill` failed, the daemon this file started must not outlive it.
  try {
    process.kill(Number(readFileSync(join(PM2_HOME, "pm2.pid"), "utf8")), "SIGKILL");
  } catch {
    // gone, as it should be
  }
  rmSync(dir, { recursive: true, force: true });
});

test("the recipe's kill_timeout covers lameDuck + drainTimeout + hook timeout + margin", () => {
  const { env, kill_timeout } = recipeApp();
  const lameDuck = Number(env.LAME_DUCK_MS ?? 0);
  const budget = lameDuck + Number(env.DRAIN_TIMEOUT_MS) + Number(env.HOOK_TIMEOUT_MS);
  assert.ok(
    Number(kill_timeout) >= budget + 2_000,
    `kill_timeout ${kill_timeout}, budget ${budget}`,
  );
});

for (const runtime of RUNTIMES) {
  const ms = runtime === "node" ? 3_000 : 1_500;
  test(`${runtime} under PM2: a ${ms} ms request survives pm2 stop, lameduck exits 0`, async (t) => {
    const name = `stop-${runtime}`;
    const listenTimeout = Number(recipeApp().listen_timeout);
    const startedAt = performance.now();
    await pm2("start", ecosystem(name, runtime, {}));
    const startMs = performance.now() - startedAt;
    const events = join(dir, `${name}.events`);
    const listening = await waitForEvent(events, "listening");
    assert.equal(listening.ipc, true, "process.send exists under PM2");
    assert.ok(startMs < listenTimeout - 2_000, `wait_ready got "ready" (start ${startMs} ms)`);
    t.diagnostic(
      `pm2 start returned after ${Math.round(startMs)} ms (listen_timeout ${listenTimeout})`,
    );
    const slow = get(listening.port as number, `/slow?ms=${ms}`);
    await sleep(300);
    await pm2("stop", name);
    assert.deepEqual(await within(slow, 10_000, "the slow request"), {
      status: 200,
      body: `slow ${ms}`,
    });
    const closed = readEvents(events).find((e) => e.type === "closed");
    assert.equal((closed?.report as { graceful: boolean }).graceful, true);
    assert.match(
      pm2Log(),
      new RegExp(`App \\[${name}:\\d+\\] exited with code \\[0\\] via signal \\[SIGINT\\]`),
    );
    await pm2("delete", name);
  });
}

test("negative control: with PM2's default kill_timeout the same request is cut", async (t) => {
  const name = "default-kill-timeout";
  await pm2("start", ecosystem(name, "node", { kill_timeout: undefined }));
  const events = join(dir, `${name}.events`);
  const listening = await waitForEvent(events, "listening");
  const slow = get(listening.port as number, "/slow?ms=3000");
  await sleep(300);
  await pm2("stop", name);
  const outcome = await within(slow, 10_000, "the slow request");
  assert.ok("error" in outcome, `the request failed: ${JSON.stringify(outcome)}`);
  t.diagnostic(`the 3 s request ended with ${outcome.error}`);
  assert.ok(readEvents(events).some((e) => e.type === "draining"), "lameduck was draining");
  assert.equal(readEvents(events).some((e) => e.type === "closed"), false, "and never finished");
  assert.match(pm2Log(), /still alive after 1600ms, sending SIGKILL/);
  await pm2("delete", name);
});

test("cluster mode: pm2 reload under traffic loses no request", async (t) => {
  const name = "cluster";
  const port = await freePort();
  const file = ecosystem(name, "node", {
    exec_mode: "cluster",
    instances: 2,
    env: { PORT: String(port) },
  });
  await pm2("start", file);
  const events = join(dir, `${name}.events`);
  await waitForEvent(events, "listening");
  assert.ok(ok(await get(port, "/")));
  const slow = get(port, "/slow?ms=3000");
  const traffic = sendUntil(port, "/", performance.now() + 5_000, false);
  await sleep(300);
  await pm2("reload", name);
  const outcomes = await within(traffic, 15_000, "the traffic");
  const failed = outcomes.filter((o) => !ok(o));
  t.diagnostic(`${outcomes.length} requests on new connections, ${failed.length} failed`);
  assert.deepEqual(failed, [], `${failed.length} of ${outcomes.length} requests failed`);
  assert.deepEqual(await within(slow, 10_000, "the slow request"), {
    status: 200,
    body: "slow 3000",
  });
  const exits = readEvents(events).filter((e) => e.type === "exit");
  assert.deepEqual(exits.map((e) => e.code), [0, 0], "both old workers exited 0");
  await pm2("delete", name);
});
