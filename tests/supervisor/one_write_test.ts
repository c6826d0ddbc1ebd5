/**
 * On an inherited socket (`lameduck run --handover fd`, systemd) every runtime serves through
 * `node:http` and lameduck's bridge. A small response's head and body must go out in one write:
 * Bun 1.4.5's `node:http` writes them in two `send` calls on a connection handed to it with
 * `emit("connection")` unless the socket is corked (`corked()` in src/adapters/node/head.ts),
 * which doubled its system calls per request. Seen from a keep-alive client: one response, one
 * chunk read, every time; with two writes some responses arrive in two chunks.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { binaryOf, ROOT, type RuntimeName, selectedRuntimes } from "../contract/runtimes.ts";

const REQUESTS = 300;
const dir = mkdtempSync(join(tmpdir(), "lameduck-onewrite-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const SERVER = join(dir, "server.ts");
writeFileSync(
  SERVER,
  `import { serve } from ${JSON.stringify(join(ROOT, "mod.ts"))};\n` +
    `import process from "node:process";\n` +
    `const overrideGlobals = process.env.OVERRIDE === "1";\n` +
    `serve({ fetch: () => new Response("hello world\\n"), port: 0, hostname: "127.0.0.1",\n` +
    `  overrideGlobals, logger: false, onListen: () => console.log("ready") });\n`,
);

function commandOf(runtime: RuntimeName): string[] {
  if (runtime === "deno") return [binaryOf("deno"), "run", "-A", SERVER];
  return [binaryOf(runtime), SERVER];
}

/** Starts the server on an inherited listening socket; resolves with the port and the child. */
async function start(
  runtime: RuntimeName,
  override: boolean,
): Promise<{ child: ChildProcess; port: number }> {
  const listener = net.createServer();
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  const port = (listener.address() as net.AddressInfo).port;
  const fd = (listener as unknown as { _handle: { fd: number } })._handle.fd;
  // LISTEN_PID must be the server's own PID: exec keeps the shell's.
  const child = spawn("/bin/sh", [
    "-c",
    'LISTEN_PID=$$ LISTEN_FDS=1 exec "$@"',
    "sh",
    ...commandOf(runtime),
  ], {
    env: { ...process.env, OVERRIDE: override ? "1" : "0" },
    stdio: ["ignore", "pipe", "pipe", fd],
  });
  listener.close(); // The child holds its own copy.
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const deadline = Date.now() + 20_000;
  while (!out.includes("ready")) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill("SIGKILL");
      throw new Error(`not ready: ${out}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return { child, port };
}

/** Sends `REQUESTS` requests one after the other on one connection; counts chunks per response. */
async function chunksPerResponse(port: number): Promise<number[]> {
  const socket = net.connect(port, "127.0.0.1");
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const counts: number[] = [];
  try {
    for (let i = 0; i < REQUESTS; i++) {
      counts.push(
        await new Promise<number>((resolve, reject) => {
          let text = "";
          let chunks = 0;
          const onData = (chunk: Buffer) => {
            chunks++;
            text += chunk.toString("latin1");
            const end = text.indexOf("\r\n\r\n");
            if (end === -1) return;
            const length = Number(/content-length: *(\d+)/i.exec(text.slice(0, end))?.[1]);
            if (text.length < end + 4 + length) return;
            socket.off("data", onData);
            clearTimeout(timer);
            resolve(chunks);
          };
          const timer = setTimeout(() => reject(new Error(`no response ${i}: ${text}`)), 10_000);
          socket.on("data", onData);
          socket.write("GET / HTTP/1.1\r\nhost: x\r\n\r\n");
        }),
      );
    }
  } finally {
    socket.destroy();
  }
  return counts;
}

for (const runtime of selectedRuntimes() as RuntimeName[]) {
  for (const override of [false, true]) {
    test(`${runtime}, inherited socket, overrideGlobals ${override}: head and body in one write`, async () => {
      const { child, port } = await start(runtime, override);
      try {
        const counts = await chunksPerResponse(port);
        const split = counts.filter((n) => n > 1).length;
        assert.equal(split, 0, `${split} of ${REQUESTS} responses arrived in more than one chunk`);
      } finally {
        child.kill("SIGKILL");
      }
    });
  }
}
