/**
 * `sd_notify` for systemd's `Type=notify` and `Type=notify-reload` services, when
 * `NOTIFY_SOCKET` is set.
 *
 * systemd listens on a unix *datagram* socket, and none of the three runtimes can send one with
 * a stable API (Node's `dgram` and Bun's `udpSocket` speak UDP only; Deno's `unixpacket` needs
 * `--unstable-net`). So lameduck runs `systemd-notify`, which ships with systemd and waits until
 * the manager has read the message. The message then comes from that helper process, so the
 * unit needs `NotifyAccess=all`; Deno needs `--allow-run=systemd-notify` (and `--allow-env` for
 * `NOTIFY_SOCKET`, which `serve()` reads only when granted).
 *
 * @module
 */

import { spawn } from "node:child_process";

let warned = false;

interface DenoCommand {
  Command: new (
    command: string,
    options: { args: readonly string[]; stdin: "null"; stdout: "null"; stderr: "null" },
  ) => { spawn(): { status: Promise<{ code: number }> } };
}

/**
 * Sends `fields` (e.g. `["READY=1", "STATUS=serving"]`) to systemd; never throws. The first
 * failure is told once to `warning` (`serve()`: the server's `logger`).
 */
export function sdNotify(
  fields: readonly string[],
  warning: (message: string) => void = (message) => console.error(`lameduck: ${message}`),
): void {
  const warn = (message: string): void => {
    if (warned) return;
    warned = true;
    warning(`NOTIFY_SOCKET is set but ${message}; systemd will not hear from us`);
  };
  const deno = (globalThis as unknown as { Deno?: DenoCommand }).Deno;
  if (deno !== undefined) {
    // Deno's node:child_process copies the whole environment (and reads NODE_V8_COVERAGE), which
    // needs --allow-env for every variable; Deno.Command needs only --allow-run=systemd-notify.
    try {
      const options = { args: [...fields], stdin: "null", stdout: "null", stderr: "null" } as const;
      void new deno.Command("systemd-notify", options).spawn().status.then(
        ({ code }) => {
          if (code !== 0) warn(`systemd-notify ${fields.join(" ")} exited ${code}`);
        },
        (error: Error) => warn(`systemd-notify could not run (${error.message})`),
      );
    } catch (error) {
      // Without --allow-run=systemd-notify Deno throws at once.
      warn(`systemd-notify could not run (${(error as Error).message})`);
    }
    return;
  }
  try {
    const child = spawn("systemd-notify", [...fields], { stdio: "ignore" });
    child.on("error", (error) => warn(`systemd-notify could not run (${error.message})`));
    child.on("exit", (code) => {
      if (code !== 0) warn(`systemd-notify ${fields.join(" ")} exited ${code}`);
    });
  } catch (error) {
    // Deno without --allow-run throws at once.
    warn(`systemd-notify could not run (${(error as Error).message})`);
  }
}
