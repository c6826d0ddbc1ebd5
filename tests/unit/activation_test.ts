import { test } from "node:test";
import assert from "node:assert/strict";
import { formatNotice, inheritedFd } from "../../src/core/activation.ts";

const envOf = (vars: Record<string, string>) => (name: string) => vars[name];

test("inheritedFd() adopts fd 3 when LISTEN_FDS is set and LISTEN_PID is this process", () => {
  assert.equal(inheritedFd(envOf({ LISTEN_FDS: "1", LISTEN_PID: "42" }), 42), 3);
  assert.equal(inheritedFd(envOf({ LISTEN_FDS: "2", LISTEN_PID: "42" }), 42), 3);
  assert.equal(inheritedFd(envOf({ LISTEN_FDS: "1" }), 42), 3, "LISTEN_PID unset");
  assert.equal(inheritedFd(envOf({ LISTEN_FDS: "1", LISTEN_PID: "" }), 42), 3, "LISTEN_PID empty");
  assert.equal(inheritedFd(envOf({ LISTEN_FDS: "12", LISTEN_PID: "42" }), 42), 3, "12 sockets");
});

test("inheritedFd() ignores sockets meant for another process, and no LISTEN_FDS", () => {
  assert.equal(inheritedFd(envOf({ LISTEN_FDS: "1", LISTEN_PID: "41" }), 42), undefined);
  assert.equal(inheritedFd(envOf({}), 42), undefined);
  assert.equal(inheritedFd(envOf({ LISTEN_FDS: "" }), 42), undefined);
});

test("inheritedFd() throws a RangeError naming LISTEN_FDS and its value when it is not a count", () => {
  for (const bad of ["0", "-1", "abc", "1.5"]) {
    assert.throws(
      () => inheritedFd(envOf({ LISTEN_FDS: bad, LISTEN_PID: "42" }), 42),
      (e: unknown) =>
        e instanceof RangeError && e.message.includes(`LISTEN_FDS`) &&
        e.message.includes(`"${bad}"`),
    );
  }
});

test("formatNotice() speaks sd_notify: READY=1, STOPPING=1, STATUS lines", () => {
  assert.match(formatNotice({ type: "ready", port: 8000 }), /^READY=1\n.*8000\n$/);
  assert.match(formatNotice({ type: "stopping" }), /^STOPPING=1\n/);
  assert.equal(
    formatNotice({ type: "closed", graceful: true, completed: 3, aborted: 0 }),
    "STATUS=closed graceful=true completed=3 aborted=0\n",
  );
});
