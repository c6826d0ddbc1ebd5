/**
 * `--handover reuseport` serves on the native server of Deno and Bun: the Hono examples'
 * `/whoami` (`getConnInfo` from `hono/bun` / `hono/deno`) answers, and a WebSocket is closed by
 * the old worker with `1001` at a restart and reconnects to the new one. Each runs
 * `native_driver.ts` inside a network namespace of its own with `tcp_migrate_req=1`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { binaryOf, ROOT, type RuntimeName, selectedRuntimes } from "../contract/runtimes.ts";
import { within } from "../shared/time.ts";

const canUnshare = spawnSync("unshare", ["-n", "true"]).status === 0;

for (const runtime of (selectedRuntimes() as RuntimeName[]).filter((r) => r !== "node")) {
  test(
    `${runtime}, --handover reuseport: Hono's runtime helpers work, a WebSocket gets 1001 at a restart and reconnects`,
    {
      skip: canUnshare ? false : "needs root and unshare for a network namespace",
    },
    async () => {
      const script =
        'ip link set lo up && echo 1 > /proc/sys/net/ipv4/tcp_migrate_req && exec "$0" "$@"';
      const child = spawn("unshare", [
        "-n",
        "sh",
        "-c",
        script,
        binaryOf("node"),
        join(ROOT, "tests", "supervisor", "native_driver.ts"),
        runtime,
      ], { stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      child.stdout!.setEncoding("utf8");
      child.stdout!.on("data", (text: string) => (out += text));
      await within(new Promise((resolve) => child.once("exit", resolve)), 90_000, "the driver");
      const line = out.trim().split("\n").filter((l) => l.startsWith("{")).pop();
      assert.ok(line, out);
      const r = JSON.parse(line) as Record<string, unknown>;
      const log = String(r.log);
      assert.equal(r.error, undefined, log);
      assert.equal(r.handover, "reuseport", log);
      const [status, body] = r.whoami as [number, string];
      assert.equal(status, 200, body);
      assert.equal((JSON.parse(body) as { address: string }).address, "127.0.0.1");
      assert.equal(r.firstClose, 1001, log);
      assert.equal(r.stillOpen, true, log);
      assert.equal(r.whoamiAfter, 200, log);
    },
  );
}
