/**
 * The supervisor's listening socket: bound once, never accepted on by the supervisor.
 *
 * `net.Server.listen()` binds, listens and starts accepting in one step, so a supervisor that
 * used it would take connections away from its workers. This module binds a TCP handle without
 * calling `listen(2)`; each worker calls `listen(2)` on the inherited descriptor itself (Node's
 * `listen({ fd })`, Deno's `node:http`, Bun's `node:net` all do) and accepts from the one
 * queue the kernel keeps for the socket, which outlives every worker because the supervisor
 * holds it. Node-only: `process.binding("tcp_wrap")` is Node's (deprecated, still present in
 * Node 24) access to libuv's TCP handle; no public API binds without accepting.
 *
 * @module
 */

import process from "node:process";

interface TcpHandle {
  readonly fd: number;
  bind(address: string, port: number): number;
  bind6(address: string, port: number, flags: number): number;
  open(fd: number): number;
  getsockname(out: { address?: string; port?: number }): number;
  close(): void;
}

interface TcpWrap {
  TCP: new (type: number) => TcpHandle;
  constants: { SERVER: number };
}

/** A bound, not yet listening, TCP socket. */
export interface BoundSocket {
  /** Its file descriptor, to pass to workers. */
  readonly fd: number;
  /** The bound address. */
  readonly host: string;
  /** The bound port (the chosen one when asked for `0`). */
  readonly port: number;
  /** Closes the supervisor's descriptor. */
  close(): void;
}

const binding = (name: string) =>
  (process as unknown as { binding(name: string): unknown }).binding(name);

/** libuv's name for an error code (`EADDRINUSE` for -98). */
function errnameOf(code: number): string {
  return (binding("uv") as { errname(code: number): string }).errname(code);
}

function tcp(): { handle: TcpHandle; errname(code: number): string } {
  const { TCP, constants } = binding("tcp_wrap") as TcpWrap;
  return { handle: new TCP(constants.SERVER), errname: errnameOf };
}

function described(handle: TcpHandle, host: string, port: number): BoundSocket {
  const out: { address?: string; port?: number } = {};
  // libuv defers a bind's EADDRINUSE (uv__tcp_bind keeps it as `delayed_error` and reports it
  // at listen(), which the supervisor never calls); getsockname() returns that deferred error.
  const error = handle.getsockname(out);
  if (error !== 0) {
    handle.close();
    throw new Error(`Cannot bind ${host}:${port}: ${errnameOf(error)}`);
  }
  return {
    fd: handle.fd,
    host: out.address ?? host,
    port: out.port ?? port,
    close: () => handle.close(),
  };
}

/**
 * Takes over a socket passed by systemd's socket activation (fd 3), for `lameduck run` started
 * by a socket unit.
 *
 * @throws {Error} When fd 3 is not a TCP socket.
 */
export function adoptSocket(fd: number): BoundSocket {
  const { handle, errname } = tcp();
  const error = handle.open(fd);
  if (error !== 0) throw new Error(`Cannot use the inherited fd ${fd}: ${errname(error)}`);
  return described(handle, `fd ${fd}`, 0);
}

/** libuv's `UV_TCP_REUSEPORT` bind flag (Node >= 22.12). */
const UV_TCP_REUSEPORT = 2;

/**
 * Binds `host:port` without listening. With `reusePort`, the socket has `SO_REUSEPORT`: it
 * reserves the port while workers bind it with `reusePort` too (a socket that never listens
 * gets no connection).
 *
 * @throws {Error} With the system error name (e.g. `EADDRINUSE`, the port is taken) when binding
 * fails.
 */
export function bindSocket(host: string, port: number, reusePort = false): BoundSocket {
  const { handle, errname } = tcp();
  const flags = reusePort ? UV_TCP_REUSEPORT : 0;
  const error = host.includes(":")
    ? handle.bind6(host, port, flags)
    : (handle.bind as (address: string, port: number, flags: number) => number)(host, port, flags);
  if (error !== 0) {
    handle.close();
    throw new Error(`Cannot bind ${host}:${port}: ${errname(error)}`);
  }
  return described(handle, host, port);
}
