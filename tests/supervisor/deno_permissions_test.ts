/**
 * A Deno server with narrower permissions than `lameduck run` needs: the supervisor
 * notification must never throw (Deno throws `NotCapable` synchronously from `connect` when
 * the socket's path may not be read or written). It warns once, naming the flags, and the
 * server keeps serving.
 *
 * @module
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { binaryOf, ROOT } from "../contract/runtimes.ts";
import { sleep } from "../shared/time.ts";

test("Deno without read/write on LAMEDUCK_NOTIFY: one warning, no uncaught NotCapable, still serving", async () => {
  const dir = mkdtempSync(join(tmpdir(), "lameduck-denoperm-"));
  const path = join(dir, "notify.sock");
  const listener = createServer((c) => c.on("error", () => {}));
  await new Promise<void>((resolve) => listener.listen(path, resolve));
  const server = join(dir, "server.ts");
  writeFileSync(
    server,
    `import { serve } from ${JSON.stringify(join(ROOT, "mod.ts"))};\n` +
      `const s = serve({ fetch: () => new Response("hi"), port: 0, hostname: "127.0.0.1" });\n` +
      `const { url } = await s.ready;\n` +
      `await new Promise((r) => setTimeout(r, 300));\n` +
      `console.log("answer " + (await (await fetch(url)).text()));\n` +
      `await s.shutdown();\n`,
  );
  const child = spawn(
    binaryOf("deno"),
    ["run", "--no-prompt", "--allow-net=127.0.0.1", "--allow-env", server],
    {
      env: { ...process.env, LAMEDUCK_NOTIFY: path, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk));
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.once("exit", (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  listener.close();
  rmSync(dir, { recursive: true, force: true });
  await sleep(0);
  assert.equal(code, 0, output);
  assert.doesNotMatch(output, /Uncaught/);
  assert.match(output, /answer hi/);
  const warnings = output.match(/lameduck: cannot notify the supervisor at .*/g) ?? [];
  assert.equal(warnings.length, 1, output);
  assert.match(warnings[0]!, /NotCapable|Requires (read|write|net) access/);
  assert.match(warnings[0]!, /--allow-read and --allow-write/);
});
