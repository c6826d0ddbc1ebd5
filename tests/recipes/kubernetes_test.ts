/**
 * docs/kubernetes.md, tested without a cluster: the YAML's numbers against lameduck's real
 * defaults, and the endpoint-removal lag simulated on each runtime. After SIGTERM, clients keep
 * sending for `LAG_MS`, as kube-proxy and ingresses do until they notice; with
 * `lameDuck >= LAG_MS` nothing fails, with `lameDuck: 0` (the negative control) requests are
 * refused.
 *
 * @module
 */

import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { type RuntimeName, RUNTIMES } from "../contract/runtimes.ts";
import { sleep, within } from "../shared/time.ts";
import { resolveHook, resolveOptions } from "../../src/core/options.ts";
import {
  docText,
  fencedBlocks,
  get,
  ok,
  type Outcome,
  type RunningApp,
  sendUntil,
  startApp,
} from "./app_driver.ts";

/** app.ts registers one hook (`db`). */
const HOOKS = 1;
/** Exit, kubelet timing: the margin the doc budgets. */
const MARGIN_S = 5;
/** How long clients keep sending after SIGTERM in the simulation. */
const LAG_MS = 1_000;

function yaml(): string {
  const block = fencedBlocks("kubernetes.md", "yaml").find((b) => b.includes("kind: Deployment"));
  assert.ok(block, "docs/kubernetes.md shows a Deployment");
  return block;
}

function number(text: string, pattern: RegExp, what: string): number {
  const match = text.match(pattern);
  assert.ok(match, `docs/kubernetes.md: ${what} not found`);
  return Number(match[1]!.replaceAll("_", ""));
}

/** An env value of the container, or undefined when the YAML does not set it. */
function envValue(text: string, name: string): number | undefined {
  const match = text.match(new RegExp(`- name: ${name}\\b.*\\n\\s*value: "(\\d+)"`));
  return match ? Number(match[1]) : undefined;
}

describe("docs/kubernetes.md's numbers", () => {
  const defaults = resolveOptions({ fetch: () => new Response() });
  const hookDefault = resolveHook(() => {}, undefined, 0).timeout;

  test("the defaults table shows lameduck's real defaults", () => {
    const doc = docText("kubernetes.md");
    assert.equal(number(doc, /\|\s*`lameDuck`\s*\|\s*([\d_]+) ms/, "lameDuck"), defaults.lameDuck);
    assert.equal(
      number(doc, /\|\s*`drainTimeout`\s*\|\s*([\d_]+) ms/, "drainTimeout"),
      defaults.drainTimeout,
    );
    assert.equal(number(doc, /\|\s*hook `timeout`[^|]*\|\s*([\d_]+) ms/, "hook"), hookDefault);
  });

  test("terminationGracePeriodSeconds > preStop + lameDuck + drainTimeout + hooks + margin", () => {
    const text = yaml();
    assert.doesNotMatch(text, /^\s*preStop:/m, "the recipe uses lameDuck, not preStop");
    const grace = number(text, /terminationGracePeriodSeconds: (\d+)/, "the grace period");
    const lameDuck = envValue(text, "LAME_DUCK_MS") ?? defaults.lameDuck;
    const drain = envValue(text, "DRAIN_TIMEOUT_MS") ?? defaults.drainTimeout;
    const hook = envValue(text, "HOOK_TIMEOUT_MS") ?? hookDefault;
    const budgetS = (lameDuck + drain + HOOKS * hook) / 1000 + MARGIN_S;
    assert.ok(budgetS < grace, `budget ${budgetS} s, grace ${grace} s`);
    assert.ok(lameDuck > 0, "the recipe sets a lame-duck window");
  });

  test("the readiness probe notices within the lame-duck window; rollouts keep capacity", () => {
    const text = yaml();
    const probe = text.slice(text.indexOf("readinessProbe:"));
    assert.match(probe, /path: \/readyz\b/, "the probe uses app.ts's readiness path");
    const period = number(probe, /periodSeconds: (\d+)/, "periodSeconds");
    const failures = number(probe, /failureThreshold: (\d+)/, "failureThreshold");
    const lameDuck = envValue(text, "LAME_DUCK_MS") ?? defaults.lameDuck;
    assert.ok(period * failures * 1000 < lameDuck, `${period} × ${failures} s vs ${lameDuck} ms`);
    assert.match(text, /maxUnavailable: 0\b/);
  });

  test("the liveness probe uses the liveness path and outlasts the drain (refused once the listener closes)", () => {
    const text = yaml();
    const probe = text.slice(text.indexOf("livenessProbe:"), text.indexOf("startupProbe:"));
    assert.match(probe, /path: \/livez\b/);
    const period = number(probe, /periodSeconds: (\d+)/, "periodSeconds");
    const failures = number(probe, /failureThreshold: (\d+)/, "failureThreshold");
    const lameDuck = envValue(text, "LAME_DUCK_MS") ?? defaults.lameDuck;
    const drain = envValue(text, "DRAIN_TIMEOUT_MS") ?? defaults.drainTimeout;
    assert.ok(period * failures * 1000 > lameDuck + drain, `${period} × ${failures} s`);
    assert.match(text.slice(text.indexOf("startupProbe:")), /path: \/livez\b/);
    assert.match(text, /prometheus\.io\/path: \/metrics\b/);
    const doc = docText("kubernetes.md");
    assert.match(doc, /liveness: "\/livez"/, "the server sets the liveness path");
    assert.match(doc, /metrics: "\/metrics"/, "the server sets the metrics path");
  });
});

const dir = mkdtempSync(join(tmpdir(), "lameduck-k8s-"));
const apps: RunningApp[] = [];
after(() => {
  for (const app of apps) if (app.child.exitCode === null) app.child.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

interface Lag {
  fresh: Outcome[];
  pooled: Outcome[];
  readyzAfterSignal: Outcome;
  slow: Outcome;
  exit: { code: number | null; signal: NodeJS.Signals | null };
}

/** Sends SIGTERM with traffic flowing, keeps it flowing for LAG_MS, and collects everything. */
async function simulateLag(runtime: RuntimeName, lameDuck: number): Promise<Lag> {
  const app = await startApp(runtime, join(dir, `${runtime}-${lameDuck}.events`), {
    LAME_DUCK_MS: String(lameDuck),
  });
  apps.push(app);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
  try {
    const slow = get(app.port, "/slow?ms=2500");
    const signalAt = performance.now() + 300;
    const fresh = sendUntil(app.port, "/", signalAt + LAG_MS, false);
    const pooled = sendUntil(app.port, "/", signalAt + LAG_MS, agent);
    await sleep(signalAt - performance.now());
    app.child.kill("SIGTERM");
    await sleep(100);
    const readyzAfterSignal = await get(app.port, "/readyz");
    return {
      fresh: await fresh,
      pooled: await pooled,
      readyzAfterSignal,
      slow: await within(slow, 10_000, "the slow request"),
      exit: await within(app.exited, 15_000, `${runtime} to exit`),
    };
  } finally {
    agent.destroy();
  }
}

function failures(outcomes: Outcome[]): string[] {
  return outcomes.filter((o) => !ok(o)).map((o) => ("error" in o ? o.error : `${o.status}`));
}

describe(`endpoint-removal lag: clients keep sending for ${LAG_MS} ms after SIGTERM`, () => {
  for (const runtime of RUNTIMES) {
    test(`${runtime}: lameDuck 2000 ms loses no request`, async (t) => {
      const lag = await simulateLag(runtime, 2_000);
      const failed = [...failures(lag.fresh), ...failures(lag.pooled)];
      t.diagnostic(
        `${lag.fresh.length} new-connection and ${lag.pooled.length} keep-alive requests, ` +
          `${failed.length} failed`,
      );
      assert.deepEqual(failed, []);
      assert.ok(lag.fresh.length > 10 && lag.pooled.length > 10, "traffic did flow");
      assert.equal("status" in lag.readyzAfterSignal && lag.readyzAfterSignal.status, 503);
      assert.deepEqual(lag.slow, { status: 200, body: "slow 2500" });
      assert.deepEqual(lag.exit, { code: 0, signal: null });
    });

    test(`${runtime}: negative control, lameDuck 0 refuses requests`, async (t) => {
      const lag = await simulateLag(runtime, 0);
      const failed = [...failures(lag.fresh), ...failures(lag.pooled)];
      t.diagnostic(
        `${lag.fresh.length + lag.pooled.length} requests, ${failed.length} failed: ` +
          [...new Set(failed)].join(", "),
      );
      assert.ok(failed.length > 0, "without a lame-duck window the lag costs requests");
      assert.deepEqual(lag.slow, { status: 200, body: "slow 2500" }, "in-flight still drains");
    });
  }
});
