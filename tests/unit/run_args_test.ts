import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseCommandLine, parseRunArgs, USAGE, VERSION } from "../../src/supervisor/args.ts";
import { denoWorkerProblem } from "../../src/supervisor/deno_worker.ts";

test("parseRunArgs() reads --port, --host, --ready-timeout (both spellings) and the command", () => {
  assert.deepEqual(
    parseRunArgs([
      "--port",
      "9000",
      "--host=127.0.0.1",
      "--ready-timeout",
      "500",
      "--",
      "bun",
      "s.ts",
    ]),
    {
      port: 9000,
      host: "127.0.0.1",
      readyTimeout: 500,
      stopTimeout: 30_000,
      handover: "auto",
      workers: 1,
      force: false,
      command: ["bun", "s.ts"],
      log: "text",
    },
  );
  assert.deepEqual(parseRunArgs(["--", "node", "--port", "1", "s.ts"]), {
    port: 8000,
    host: "0.0.0.0",
    readyTimeout: 10_000,
    stopTimeout: 30_000,
    handover: "auto",
    workers: 1,
    force: false,
    command: ["node", "--port", "1", "s.ts"],
    log: "text",
  });
});

test("parseRunArgs() reads --handover, --workers, --stop-timeout and --force", () => {
  const parsed = parseRunArgs([
    "--handover=reuseport",
    "--workers",
    "4",
    "--stop-timeout",
    "2500",
    "--force",
    "--",
    "bun",
    "s.ts",
  ]);
  assert.equal(parsed.handover, "reuseport");
  assert.equal(parsed.workers, 4);
  assert.equal(parsed.stopTimeout, 2500);
  assert.equal(parsed.force, true);
  assert.equal(parseRunArgs(["--workers=auto", "--", "x"]).workers, "auto");
  assert.equal(parseRunArgs(["--handover", "fd", "--", "x"]).handover, "fd");
  assert.equal(parseRunArgs(["--handover", "auto", "--", "x"]).handover, "auto");
});

test("parseRunArgs() throws a TypeError for a missing command, an unknown option or a missing value", () => {
  const cases: [string[], RegExp][] = [
    [[], /Missing the worker command/],
    [["--"], /Missing the worker command/],
    [["--prot", "1", "--", "x"], /Unknown option "--prot"/],
    [["bun", "s.ts"], /Unknown option "bun" \(the command goes after --\)/],
    [["--port", "--", "x"], /Missing value for --port/],
    [["--host=", "--", "x"], /Invalid --host/],
  ];
  for (const [args, message] of cases) {
    assert.throws(
      () => parseRunArgs(args),
      (e: unknown) => e instanceof TypeError && message.test(e.message),
    );
  }
});

test("parseRunArgs() throws a RangeError naming the option and the value when out of range", () => {
  const cases: [string[], string][] = [
    [["--port", "70000", "--", "x"], '--port: expected an integer from 0 to 65535, got "70000"'],
    [["--port", "-1", "--", "x"], '"-1"'],
    [["--ready-timeout=0", "--", "x"], "--ready-timeout: expected an integer from 1"],
    [["--ready-timeout", "1.5", "--", "x"], '"1.5"'],
    [
      ["--stop-timeout", "0", "--", "x"],
      '--stop-timeout: expected an integer from 1 to 3600000, got "0"',
    ],
    [
      ["--handover", "socket", "--", "x"],
      '--handover: expected fd, reuseport or auto, got "socket"',
    ],
    [
      ["--workers", "0", "--", "x"],
      '--workers: expected an integer from 1 to 1024 or auto, got "0"',
    ],
    [
      ["--workers=two", "--", "x"],
      '--workers: expected an integer from 1 to 1024 or auto, got "two"',
    ],
    [["--workers=2000", "--", "x"], '"2000"'],
  ];
  for (const [args, text] of cases) {
    assert.throws(
      () => parseRunArgs(args),
      (e: unknown) => e instanceof RangeError && e.message.includes(text),
    );
  }
});

test("parseRunArgs() reads --pid-file", () => {
  assert.equal(parseRunArgs(["--pid-file", "/run/app.pid", "--", "x"]).pidFile, "/run/app.pid");
  assert.throws(() => parseRunArgs(["--pid-file=", "--", "x"]), /Invalid --pid-file/);
});

test("parseCommandLine(): help and version before --, run, and unknown commands", () => {
  for (
    const args of [["--help"], ["-h"], ["help"], ["run", "--help"], ["run", "--port", "1", "-h"]]
  ) {
    assert.deepEqual(parseCommandLine(args), { kind: "help", text: USAGE }, args.join(" "));
  }
  for (const args of [["--version"], ["-V"], ["run", "--version"]]) {
    assert.deepEqual(parseCommandLine(args), { kind: "version", text: `lameduck ${VERSION}` });
  }
  // After --, --help belongs to the worker command.
  assert.deepEqual(parseCommandLine(["run", "--", "node", "--help"]), {
    kind: "run",
    options: {
      port: 8000,
      host: "0.0.0.0",
      readyTimeout: 10_000,
      stopTimeout: 30_000,
      handover: "auto",
      workers: 1,
      force: false,
      command: ["node", "--help"],
      log: "text",
    },
  });
  assert.throws(() => parseCommandLine([]), /Missing the command/);
  assert.throws(() => parseCommandLine(["start"]), /Unknown command "start"/);
});

test("VERSION is deno.json's version", () => {
  const deno = JSON.parse(readFileSync(new URL("../../deno.json", import.meta.url), "utf8"));
  assert.equal(VERSION, deno.version);
});

test("denoWorkerProblem() names what a `deno run` worker lacks under lameduck run", () => {
  const ok = [
    ["node", "server.ts"],
    ["bun", "server.ts"],
    ["deno", "run", "-A", "server.ts"],
    ["/usr/bin/deno", "run", "--allow-all", "server.ts"],
    ["deno", "task", "start"],
    [
      "deno",
      "run",
      "--allow-net",
      "--allow-env=LISTEN_FDS,LISTEN_PID,LISTEN_FDNAMES,LAMEDUCK_NOTIFY",
      "--allow-read=/tmp",
      "--allow-write=/tmp",
      "server.ts",
    ],
    ["deno", "run", "-N", "-E", "-R", "-W", "server.ts"],
    ["deno", "run", "-N", "--allow-env=LISTEN_*,LAMEDUCK_NOTIFY", "-R", "-W", "server.ts"],
  ];
  for (const command of ok) assert.equal(denoWorkerProblem(command, "/tmp"), undefined);
  const bad: [string[], string][] = [
    [["deno", "run", "--allow-net", "server.ts"], "without --allow-env for LISTEN_FDS, LISTEN_PID"],
    [["deno", "run", "--allow-net", "--allow-env=PORT", "-R", "-W", "s.ts"], "LAMEDUCK_NOTIFY"],
    [["deno", "run", "--allow-env", "-R", "-W", "s.ts"], "without --allow-net"],
    // Flags after the script are the script's own arguments.
    [["deno", "run", "--allow-net", "s.ts", "-A"], "--allow-env"],
    [["deno", "run", "-c", "deno.json", "s.ts"], "--allow-net"],
  ];
  for (const [command, text] of bad) {
    const problem = denoWorkerProblem(command, "/tmp");
    assert.ok(problem?.includes(text), `${command.join(" ")}: ${problem}`);
    assert.ok(problem?.includes("--allow-read=/tmp --allow-write=/tmp"), problem);
  }
});

test("denoWorkerProblem() in reuseport mode asks for --unstable-net and the address variables", () => {
  const dir = mkdtempSync(join(tmpdir(), "lameduck-args-"));
  try {
    const reuseEnv = "--allow-env=LAMEDUCK_HANDOVER,LAMEDUCK_HOST,LAMEDUCK_PORT,LAMEDUCK_NOTIFY";
    const ok = [
      ["deno", "run", "--unstable-net", "-A", "server.ts"],
      ["deno", "run", "-A", "--unstable-net", "server.ts"],
      ["deno", "run", "--unstable-net", "-N", reuseEnv, "-R", "-W", "server.ts"],
      ["deno", "run", "--unstable-net", "-N", "--allow-env=LAMEDUCK_*", "-R", "-W", "s.ts"],
      ["bun", "server.ts"],
    ];
    for (const command of ok) {
      assert.equal(denoWorkerProblem(command, "/tmp", "reuseport", dir), undefined, `${command}`);
    }
    const bad: [string[], string[]][] = [
      [["deno", "run", "-A", "server.ts"], ["without --unstable-net (--handover reuseport)"]],
      [["deno", "run", "-A", "server.ts", "--unstable-net"], ["--unstable-net"]],
      [
        ["deno", "run", "--unstable-net", "-N", "--allow-env=LISTEN_FDS,LAMEDUCK_NOTIFY", "s.ts"],
        ["--allow-env for LAMEDUCK_HANDOVER, LAMEDUCK_HOST, LAMEDUCK_PORT,", "--allow-read"],
      ],
      [
        ["deno", "run", "-N", "-R", "-W", "s.ts"],
        ["--unstable-net, --allow-env for LAMEDUCK_HANDOVER, LAMEDUCK_HOST, LAMEDUCK_PORT"],
      ],
    ];
    for (const [command, texts] of bad) {
      const problem = denoWorkerProblem(command, "/tmp", "reuseport", dir);
      for (const text of texts) assert.ok(problem?.includes(text), `${command}: ${problem}`);
      assert.ok(problem?.includes("Run it with --unstable-net -A"), problem);
      assert.ok(
        problem?.includes(`--allow-env=LAMEDUCK_HANDOVER,LAMEDUCK_HOST,LAMEDUCK_PORT,`),
        problem,
      );
    }
    // fd mode needs no --unstable-net.
    assert.equal(denoWorkerProblem(["deno", "run", "-A", "s.ts"], "/tmp", "fd", dir), undefined);
    // "unstable": ["net"] in a config file Deno reads counts as the flag.
    const app = join(dir, "app");
    mkdirSync(join(app, "src"), { recursive: true });
    writeFileSync(join(app, "deno.jsonc"), `{ // comment\n  "unstable": ["kv", "net"] }\n`);
    const script = join(app, "src", "server.ts");
    assert.equal(
      denoWorkerProblem(["deno", "run", "-A", script], "/tmp", "reuseport", dir),
      undefined,
    );
    assert.equal(
      denoWorkerProblem(["deno", "run", "-A", "src/server.ts"], "/tmp", "reuseport", app),
      undefined,
    );
    assert.match(
      denoWorkerProblem(["deno", "run", "--no-config", "-A", script], "/tmp", "reuseport", dir)!,
      /--unstable-net/,
    );
    writeFileSync(join(dir, "other.json"), `{ "unstable": ["net"] }`);
    assert.equal(
      denoWorkerProblem(
        ["deno", "run", "-c", "other.json", "-A", "s.ts"],
        "/tmp",
        "reuseport",
        dir,
      ),
      undefined,
    );
    assert.equal(
      denoWorkerProblem(
        ["deno", "run", "--config=other.json", "-A", "s.ts"],
        "/tmp",
        "reuseport",
        dir,
      ),
      undefined,
    );
    writeFileSync(join(dir, "kv.json"), `{ "unstable": ["kv"] }`);
    assert.match(
      denoWorkerProblem(["deno", "run", "-c", "kv.json", "-A", script], "/tmp", "reuseport", dir)!,
      /--unstable-net/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
