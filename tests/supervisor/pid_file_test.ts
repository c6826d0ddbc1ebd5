/**
 * `lameduck run --pid-file`: created without following a planted symbolic link; refused (exit
 * 2, naming the path and the PID) while another running supervisor holds it, and then left to
 * that supervisor; a stale file (its PID not running) is replaced.
 *
 * @module
 */

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { within } from "../shared/time.ts";
import { LOOPBACK, supervise } from "./spawn.ts";

const dir = mkdtempSync(join(tmpdir(), "lameduck-pidfile-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const args = (pidFile: string) => ["--pid-file", pidFile, ...LOOPBACK];

test("--pid-file replaces a planted symbolic link instead of writing through it", async () => {
  const victim = join(dir, "victim.conf");
  const pidFile = join(dir, "link.pid");
  writeFileSync(victim, "precious\n");
  symlinkSync(victim, pidFile);
  const sup = supervise(args(pidFile));
  try {
    await sup.until(/worker 1 \(pid \d+\) ready/, "worker 1");
    assert.equal(readFileSync(victim, "utf8"), "precious\n", "the link's target is untouched");
    assert.equal(lstatSync(pidFile).isSymbolicLink(), false);
    assert.equal(readFileSync(pidFile, "utf8"), `${sup.child.pid}\n`);
    sup.child.kill("SIGTERM");
    assert.equal(await within(sup.exited, 10_000, "exit"), 0, sup.log());
    assert.equal(existsSync(pidFile), false);
    assert.equal(readFileSync(victim, "utf8"), "precious\n");
  } finally {
    sup.kill();
  }
});

test("a second supervisor on a held --pid-file exits 2 naming it and the PID, and leaves it alone", async () => {
  const pidFile = join(dir, "held.pid");
  const first = supervise(args(pidFile));
  const second = { sup: undefined as ReturnType<typeof supervise> | undefined };
  try {
    await first.until(/worker 1 \(pid \d+\) ready/, "worker 1");
    second.sup = supervise(args(pidFile));
    assert.equal(await within(second.sup.exited, 15_000, "the second to exit"), 2);
    assert.match(
      second.sup.log(),
      new RegExp(`--pid-file ${pidFile} is held by pid ${first.child.pid}, which is running`),
    );
    assert.doesNotMatch(second.sup.log(), /worker 1 started/);
    assert.equal(readFileSync(pidFile, "utf8"), `${first.child.pid}\n`);
    first.child.kill("SIGTERM");
    assert.equal(await within(first.exited, 10_000, "exit"), 0, first.log());
    assert.equal(existsSync(pidFile), false);
  } finally {
    first.kill();
    second.sup?.kill();
  }
});

test("a stale --pid-file (its PID is not running) is replaced", async () => {
  const pidFile = join(dir, "stale.pid");
  const dead = spawnSync("true").pid;
  writeFileSync(pidFile, `${dead}\n`);
  const sup = supervise(args(pidFile));
  try {
    await sup.until(/worker 1 \(pid \d+\) ready/, "worker 1");
    assert.equal(readFileSync(pidFile, "utf8"), `${sup.child.pid}\n`);
    sup.child.kill("SIGTERM");
    assert.equal(await within(sup.exited, 10_000, "exit"), 0, sup.log());
  } finally {
    sup.kill();
  }
});
