/**
 * Socket activation, runtime-free: systemd's `LISTEN_FDS` protocol (also what `lameduck run`
 * speaks in `fd` hand-over). The messages a supervised server sends are in `notice.ts`.
 *
 * The protocol: a parent that owns a listening socket starts the server with the socket as
 * file descriptor 3 and sets `LISTEN_FDS=1` and `LISTEN_PID` to the server's own PID (so a
 * grandchild that inherits the environment does not take the socket too).
 *
 * @module
 */

/** The first inherited descriptor (`SD_LISTEN_FDS_START`). */
export const LISTEN_FDS_START = 3;

/** Reads an environment variable; `undefined` when unset or not readable. */
export type EnvReader = (name: string) => string | undefined;

/**
 * The descriptor to adopt, or `undefined` when the environment hands this process none.
 * Only the first socket is used when several are passed.
 *
 * @throws {RangeError} When `LISTEN_FDS` is set for this process but is not a positive integer.
 */
export function inheritedFd(env: EnvReader, pid: number): number | undefined {
  const fds = env("LISTEN_FDS");
  if (fds === undefined || fds === "") return undefined;
  const forPid = env("LISTEN_PID");
  if (forPid !== undefined && forPid !== "" && forPid !== String(pid)) return undefined;
  if (!/^[1-9][0-9]*$/.test(fds)) {
    throw new RangeError(`Invalid LISTEN_FDS: expected a positive integer, got "${fds}"`);
  }
  return LISTEN_FDS_START;
}
