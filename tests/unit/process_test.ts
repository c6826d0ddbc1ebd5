import { test } from "node:test";
import assert from "node:assert/strict";
import { inheritedFd } from "../../src/process/activation.ts";
import { takeActivation } from "../../src/process/environment.ts";
import { formatNotice, type Notice, parseNotice } from "../../src/process/notice.ts";

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

test("parseNotice() reads back what formatNotice() writes, and nothing else", () => {
  const parsed = (notice: Notice) =>
    formatNotice(notice).split("\n").map(parseNotice).filter((n) => n !== undefined);
  assert.deepEqual(parsed({ type: "ready", port: 8000 }), [{ type: "ready" }]);
  assert.deepEqual(parsed({ type: "stopping" }), [{ type: "stopping" }]);
  assert.deepEqual(parsed({ type: "closed", graceful: false, completed: 7, aborted: 2 }), [
    { type: "closed", graceful: false, completed: 7, aborted: 2 },
  ]);
  for (const line of ["", "READY=0", "STATUS=draining", "STATUS=closed graceful=maybe"]) {
    assert.equal(parseNotice(line), undefined, line);
  }
});

/** A platform whose environment is `vars`. */
function platformOf(vars: Record<string, string>, pid = 42) {
  return {
    pid,
    env: (name: string) => vars[name],
    unsetEnv: (name: string) => void delete vars[name],
    onSignal: () => () => {},
    exit: () => {
      throw new Error("exit");
    },
  };
}

test("takeActivation() reads the socket, the supervisor's channel and reuseport address, and removes them", () => {
  const vars: Record<string, string> = {
    LISTEN_FDS: "1",
    LISTEN_PID: "42",
    LAMEDUCK_NOTIFY: "/tmp/n.sock",
    NOTIFY_SOCKET: "/run/systemd/notify",
    PATH: "/bin",
  };
  assert.deepEqual(takeActivation(platformOf(vars)), {
    fd: 3,
    notifyPath: "/tmp/n.sock",
    systemd: "/run/systemd/notify",
    reusePort: undefined,
    workerId: undefined,
    log: undefined,
  });
  assert.deepEqual(vars, { NOTIFY_SOCKET: "/run/systemd/notify", PATH: "/bin" });

  const reuse: Record<string, string> = {
    LAMEDUCK_HANDOVER: "reuseport",
    LAMEDUCK_HOST: "127.0.0.1",
    LAMEDUCK_PORT: "8123",
  };
  assert.deepEqual(takeActivation(platformOf(reuse)).reusePort, {
    hostname: "127.0.0.1",
    port: 8123,
  });
  assert.deepEqual(reuse, {});
});

test("takeActivation() reads lameduck run's worker id and log format, and removes them", () => {
  const vars: Record<string, string> = { LAMEDUCK_WORKER_ID: "12", LAMEDUCK_LOG: "json" };
  const taken = takeActivation(platformOf(vars));
  assert.deepEqual([taken.workerId, taken.log], [12, "json"]);
  assert.deepEqual(vars, {});
  for (
    const [name, value] of [
      ["LAMEDUCK_WORKER_ID", "0"],
      ["LAMEDUCK_WORKER_ID", "x"],
      ["LAMEDUCK_LOG", "yaml"],
    ]
  ) {
    const bad: Record<string, string> = { [name!]: value! };
    assert.throws(
      () => takeActivation(platformOf(bad)),
      (e: unknown) =>
        e instanceof RangeError && e.message.includes(name!) && e.message.includes(`"${value}"`),
    );
    assert.deepEqual(bad, {});
  }
});

test("takeActivation() throws a RangeError naming a malformed reuseport address, and still removes it", () => {
  for (const port of ["0", "x", "70000", ""]) {
    const vars: Record<string, string> = {
      LAMEDUCK_HANDOVER: "reuseport",
      LAMEDUCK_HOST: "127.0.0.1",
      LAMEDUCK_PORT: port,
    };
    assert.throws(
      () => takeActivation(platformOf(vars)),
      (e: unknown) =>
        e instanceof RangeError && e.message.includes("LAMEDUCK_PORT") &&
        e.message.includes(`"${port}"`),
    );
    assert.deepEqual(vars, {});
  }
});
