/**
 * `lameduck status` against a real `lameduck run`: text and `--json`, before and after a
 * `SIGHUP` restart (the last restart's outcome); exit 1 for a stale or missing pid file, 2 for
 * bad usage; a status directory or socket that other users could open is refused by the client;
 * the supervisor's socket is 0600 in a 0700 directory.
 *
 * @module
 */

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { after, test } from "node:test";
import { within } from "../shared/time.ts";
import { lameduck, LOOPBACK, supervise } from "./spawn.ts";

// The supervisor and the client share this $TMPDIR, so the test owns the status directory.
const tmp = mkdtempSync(join(tmpdir(), "lameduck-status-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const env = { TMPDIR: tmp };
const statusDir = join(tmp, `lameduck-${process.getuid!()}`);

test("lameduck status answers in text and --json, before and after a SIGHUP restart", async () => {
  const pidFile = join(tmp, "app.pid");
  const sup = supervise(["--pid-file", pidFile, "--workers", "2", ...LOOPBACK], { env });
  try {
    await sup.until(/worker 2 \(pid \d+\) ready/, "worker 2");
    const pids = [...sup.log().matchAll(/worker (\d) started \(pid (\d+)\)/g)].map((m) => +m[2]!);
    const port = +/socket 127\.0\.0\.1:(\d+)/.exec(sup.log())![1]!;
    const socket = join(statusDir, `status-${sup.child.pid}.sock`);
    assert.equal(statSync(statusDir).mode & 0o777, 0o700);
    assert.equal(statSync(socket).mode & 0o777, 0o600);

    const text = await lameduck(["status", "--pid-file", pidFile], { env });
    assert.equal(text.code, 0, text.stderr);
    const lines = text.stdout.trimEnd().split("\n");
    assert.equal(
      lines[0],
      `lameduck run (pid ${sup.child.pid}): serving, socket 127.0.0.1:${port}, handover fd, ` +
        `2 workers`,
    );
    assert.match(lines[1]!, new RegExp(`^  worker 1 \\(pid ${pids[0]}\\): ready since \\S+Z`));
    assert.match(lines[2]!, new RegExp(`^  worker 2 \\(pid ${pids[1]}\\): ready since \\S+Z`));
    assert.equal(lines[3], "last restart: none");

    const json = await lameduck(["status", "--pid-file", pidFile, "--json"], { env });
    assert.equal(json.code, 0, json.stderr);
    const before = JSON.parse(json.stdout);
    assert.deepEqual(
      {
        ...before,
        workers: before.workers.map((w: { readySince: string }) => typeof w.readySince),
      },
      {
        pid: sup.child.pid,
        state: "serving",
        handover: "fd",
        socket: { host: "127.0.0.1", port },
        workers: ["string", "string"],
        lastRestart: null,
      },
    );
    assert.deepEqual(before.workers.map((w: { id: number; pid: number }) => [w.id, w.pid]), [
      [1, pids[0]],
      [2, pids[1]],
    ]);

    sup.child.kill("SIGHUP");
    await sup.until(/restart done in/, "the restart");
    const after = JSON.parse(
      (await lameduck(["status", "--pid-file", pidFile, "--json"], { env }))
        .stdout,
    );
    assert.deepEqual(after.workers.map((w: { id: number; state: string }) => [w.id, w.state]), [
      [3, "ready"],
      [4, "ready"],
    ]);
    assert.equal(after.lastRestart.signal, "SIGHUP");
    assert.equal(after.lastRestart.result, "done");
    assert.equal(after.lastRestart.reason, null);
    assert.ok(after.lastRestart.durationMs > 0);
    const afterText = await lameduck(["status", "--pid-file", pidFile], { env });
    assert.match(
      afterText.stdout,
      /\nlast restart: SIGHUP at \S+Z \(\d+ s ago\), done after \d+ ms\n$/,
    );

    // A channel other users could open is refused by the client (before it connects).
    chmodSync(socket, 0o666);
    const open = await lameduck(["status", "--pid-file", pidFile], { env });
    assert.equal(open.code, 1);
    assert.match(
      open.stderr,
      /refusing to ask: .*status-\d+\.sock is socket of mode 0666 owned by uid \d+; expected a socket of mode 0600/,
    );
    chmodSync(socket, 0o600);
    chmodSync(statusDir, 0o755);
    const dir = await lameduck(["status", "--pid-file", pidFile], { env });
    chmodSync(statusDir, 0o700);
    assert.equal(dir.code, 1);
    assert.match(
      dir.stderr,
      /refusing to ask: .*lameduck-\d+ is directory of mode 0755 .*expected a directory of mode 0700/,
    );
    assert.equal((await lameduck(["status", "--pid-file", pidFile], { env })).code, 0);

    sup.child.kill("SIGTERM");
    assert.equal(await within(sup.exited, 15_000, "exit"), 0, sup.log());
    assert.throws(() => statSync(socket), /ENOENT/, "the socket is removed at exit");
    const gone = await lameduck(["status", "--pid-file", pidFile], { env });
    assert.equal(gone.code, 1);
    assert.match(
      gone.stderr,
      /^lameduck status: no supervisor answers: cannot read .*app\.pid \(ENOENT\)/,
    );
  } finally {
    sup.kill();
  }
});

test("lameduck status: a stale pid file exits 1, no --pid-file and no ./lameduck.pid exits 2", async () => {
  const stale = join(tmp, "stale.pid");
  writeFileSync(stale, `${spawnSync("true").pid}\n`);
  const run = await lameduck(["status", "--pid-file", stale], { env });
  assert.equal(run.code, 1);
  assert.match(
    run.stderr,
    /no supervisor answers: pid \d+ \(from .*stale\.pid\) is not running: a stale pid file/,
  );
  // A running process that is not a supervisor (this test) has no status socket.
  writeFileSync(stale, `${process.pid}\n`);
  const other = await lameduck(["status", "--pid-file", stale], { env });
  assert.equal(other.code, 1);
  assert.match(
    other.stderr,
    /no supervisor answers: no status socket at .*status-\d+\.sock \(ENOENT\)/,
  );
  const none = await lameduck(["status"], { env });
  assert.equal(none.code, 2, none.stderr);
  assert.match(
    none.stderr,
    /no --pid-file given and \.\/lameduck\.pid does not exist: pass --pid-file PATH/,
  );
});
