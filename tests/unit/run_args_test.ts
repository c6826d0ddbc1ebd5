import { test } from "node:test";
import assert from "node:assert/strict";
import { parseRunArgs } from "../../src/supervisor/args.ts";

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
