/**
 * The `lameduck` command line as a new user meets it: help and version, bad arguments (exit 2
 * naming the flag and the value), a port already taken (fails at start, naming the port), a
 * host name, a worker that never calls `serve()` (the log says what the supervisor saw), a
 * `deno run` worker without the permissions it needs, and `--pid-file`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { binaryOf } from "../contract/runtimes.ts";
import { within } from "../shared/time.ts";
import { lameduck, LOOPBACK, supervise, type Supervisor, WORKER } from "./spawn.ts";
const dir = mkdtempSync(join(tmpdir(), "lameduck-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("--help, run --help and --version print to stdout and exit 0", async () => {
  for (const args of [["--help"], ["run", "--help"], ["run", "-h"], ["help"]]) {
    const run = await lameduck(args);
    assert.equal(run.code, 0, args.join(" "));
    assert.match(run.stdout, /^Usage: lameduck run /);
    assert.match(run.stdout, /--host H +address or host name to bind \(default 0\.0\.0\.0/);
    assert.match(run.stdout, /--pid-file PATH/);
    assert.equal(run.stderr, "");
  }
  for (const args of [["--version"], ["-V"], ["-v"], ["run", "--version"], ["status", "-v"]]) {
    const run = await lameduck(args);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /^lameduck \d+\.\d+\.\d+\n$/);
  }
});

test("bad arguments exit 2 naming the flag and the value", async () => {
  const cases: [string[], RegExp][] = [
    // Each message starts with the command it is about, as the README's example says.
    [["run", "--port", "abc", "--", "x"], /^lameduck run: Invalid --port: .*got "abc"/],
    [["run", "--ready-timeout=0", "--", "x"], /^lameduck run: Invalid --ready-timeout: .*got "0"/],
    [
      ["run", "--workers", "0", "--", "x"],
      /^lameduck run: Invalid --workers: expected an integer from 1 to 1024 or auto, got "0"\n/,
    ],
    [["run", "--log", "yaml", "--", "x"], /^lameduck run: Invalid --log: .*got "yaml"/],
    [["run", "--prot", "1", "--", "x"], /^lameduck run: Unknown option "--prot"/],
    [["run", "--port", "1"], /^lameduck run: Missing the worker command/],
    [["status", "--jsn"], /^lameduck status: Unknown argument "--jsn"/],
    [["status", "--pid-file"], /^lameduck status: Missing value for --pid-file/],
    [["start"], /^lameduck: Unknown command "start"/],
    [[], /^lameduck: Missing the command/],
    [
      ["run", "--host", "no-such-host.invalid", "--", "x"],
      /^lameduck run: Invalid --host: cannot resolve "no-such-host\.invalid"/,
    ],
  ];
  for (const [args, message] of cases) {
    const run = await lameduck(args);
    assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
    assert.match(run.stderr, message);
    assert.doesNotMatch(run.stderr, /\n\s+at /, "no stack trace");
  }
});

test("a port already in use fails at start, naming the port, before any worker starts", async () => {
  const taken: Server = createServer();
  await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
  const port = (taken.address() as { port: number }).port;
  try {
    const run = await lameduck([
      "run",
      "--port",
      String(port),
      "--host",
      "127.0.0.1",
      "--ready-timeout",
      "3000",
      "--",
      binaryOf("node"),
      WORKER,
    ]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      run.stderr,
      new RegExp(`Cannot bind 127\\.0\\.0\\.1:${port}: EADDRINUSE \\(port ${port} is in use`),
    );
    assert.doesNotMatch(run.stderr, /worker 1 started/);
  } finally {
    taken.close();
  }
});

test("a worker that never calls serve(): the log says it never connected, not 'is the port free?'", async () => {
  const run = await lameduck([
    "run",
    ...LOOPBACK,
    "--ready-timeout",
    "1000",
    "--",
    binaryOf("node"),
    "-e",
    "setTimeout(() => {}, 30000)",
  ]);
  assert.equal(run.code, 1);
  assert.match(
    run.stderr,
    /worker 1 \(pid \d+\) not ready after 1000 ms \(it never connected to the notify socket: does it call serve\(\)\?/,
  );
  assert.doesNotMatch(run.stderr, /port free/);
});

test("a `deno run` worker without the permissions lameduck run needs is refused at start (exit 2)", async () => {
  const run = await lameduck([
    "run",
    "--port",
    "0",
    "--",
    binaryOf("deno"),
    "run",
    "--allow-net",
    WORKER,
  ]);
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /the worker runs Deno without --allow-env for LISTEN_FDS/);
  assert.doesNotMatch(run.stderr, /worker 1 started/);
});

test("a `deno run -A` worker without --unstable-net is refused in reuseport mode (exit 2)", async () => {
  const run = await lameduck([
    "run",
    ...LOOPBACK,
    "--handover",
    "reuseport",
    "--force",
    "--",
    binaryOf("deno"),
    "run",
    "--no-config",
    "-A",
    WORKER,
  ]);
  assert.equal(run.code, 2, run.stderr);
  assert.match(
    run.stderr,
    /the worker runs Deno without --unstable-net \(--handover reuseport\): it could not bind/,
  );
  assert.doesNotMatch(run.stderr, /worker 1 started/);
});

/** Starts a long-running supervisor with the Node test worker; resolves once it is ready. */
async function supervisor(args: string[]): Promise<Supervisor> {
  const sup = supervise(args);
  await sup.until(/worker 1 \(pid \d+\) ready/, "worker 1 ready").catch((error) => {
    sup.kill();
    throw error;
  });
  return sup;
}

test("--host localhost binds the name's address", async () => {
  const sup = await supervisor(["--port", "0", "--host", "localhost"]);
  try {
    const [, host, port] = await sup.until(/socket (127\.0\.0\.1|::1):(\d+) /, "the socket");
    const url = host === "::1" ? `http://[::1]:${port}/` : `http://127.0.0.1:${port}/`;
    assert.equal((await fetch(url)).status, 200);
    sup.child.kill("SIGTERM");
    assert.equal(await within(sup.exited, 10_000, "exit"), 0, sup.log());
  } finally {
    sup.kill();
  }
});

test("--pid-file holds the supervisor's PID (SIGHUP to it restarts) and is removed at exit", async () => {
  const pidFile = join(dir, "app.pid");
  const sup = await supervisor(["--pid-file", pidFile, ...LOOPBACK]);
  try {
    const pid = Number(readFileSync(pidFile, "utf8").trim());
    assert.equal(pid, sup.child.pid);
    process.kill(pid, "SIGHUP");
    await sup.until(/restart done/, "the restart");
    process.kill(pid, "SIGTERM");
    assert.equal(await within(sup.exited, 10_000, "exit"), 0, sup.log());
    assert.equal(existsSync(pidFile), false);
  } finally {
    sup.kill();
  }
});
