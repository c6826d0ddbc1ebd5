/**
 * `lameduck run --handover reuseport` serves on the runtime's native server: runs the Hono
 * example of `runtime` (`bun` or `deno`) under the supervisor, checks `/whoami` (Hono's
 * `getConnInfo`, which fails on `node:http`) and a WebSocket echo, restarts, and checks that the
 * old worker closed the WebSocket with `1001` and that the client reconnected to the new one.
 * Run by `native_test.ts` inside a network namespace with `net.ipv4.tcp_migrate_req=1`:
 *
 *     node tests/supervisor/native_driver.ts bun
 *
 * prints one JSON line.
 *
 * @module
 */

import { join } from "node:path";
import process from "node:process";
import { binaryOf, ROOT } from "../contract/runtimes.ts";
import { sleep, within } from "../shared/time.ts";
import { LOOPBACK, supervise } from "./spawn.ts";

const runtime = process.argv[2] === "deno" ? "deno" : "bun";
const example = join(ROOT, "examples", `hono-${runtime}.ts`);
const command = runtime === "deno"
  ? [binaryOf("deno"), "run", "-A", "--unstable-net", example]
  : [binaryOf("bun"), example];
const running = supervise([...LOOPBACK, "--handover", "reuseport"], {}, command);
const sup = running.child;
const until = (pattern: RegExp, what: string) => running.until(pattern, what, 20_000);

/** Opens a WebSocket and resolves once an echo came back. */
function connect(url: string): Promise<{ ws: WebSocket; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const closed = new Promise<number>((r) => ws.addEventListener("close", (e) => r(e.code)));
    ws.addEventListener("open", () => ws.send("hi"));
    ws.addEventListener("message", (e) => {
      if (String(e.data) === "echo: hi") resolve({ ws, closed });
    });
    ws.addEventListener("error", () => reject(new Error("websocket error")));
    void closed.then((code) => reject(new Error(`closed ${code} before an echo`)));
  });
}

const result: Record<string, unknown> = { runtime };
try {
  const port = Number((await until(/ socket 127\.0\.0\.1:(\d+) /, "the socket"))[1]);
  await until(/worker 1 \(pid \d+\) ready/, "worker 1");
  result.handover = /handover (\w+)/.exec(running.log())?.[1];
  const whoami = await fetch(`http://127.0.0.1:${port}/whoami`);
  result.whoami = [whoami.status, await whoami.text()];
  const url = `ws://127.0.0.1:${port}/ws`;
  const first = await connect(url);
  sup.kill("SIGHUP");
  result.firstClose = await within(first.closed, 20_000, "the old worker to close the socket");
  // Reconnect until a socket holds (one accepted by the old worker in its lame-duck window
  // is closed with 1001 again).
  let reconnects = 0;
  let current: Awaited<ReturnType<typeof connect>> | undefined;
  for (; reconnects < 50 && current === undefined; reconnects++) {
    try {
      const next = await connect(url);
      const code = await Promise.race([next.closed, sleep(300).then(() => undefined)]);
      if (code === undefined) current = next;
    } catch {
      await sleep(50);
    }
  }
  result.reconnects = reconnects;
  await until(/restart done/, "the restart");
  // The reconnected socket belongs to the new worker: it survived the old one's exit.
  current!.ws.send("hi");
  result.stillOpen = current!.ws.readyState === WebSocket.OPEN;
  const after = await fetch(`http://127.0.0.1:${port}/whoami`);
  result.whoamiAfter = after.status;
  current!.ws.close(1000);
} catch (error) {
  result.error = String(error);
} finally {
  sup.kill("SIGTERM");
  await within(new Promise((r) => sup.once("exit", r)), 20_000, "the supervisor to exit")
    .catch(() => sup.kill("SIGKILL"));
  result.log = running.log();
  console.log(JSON.stringify(result));
  process.exit(0);
}
