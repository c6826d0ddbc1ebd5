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

/**
 * Binds `host:port` without listening.
 *
 * @throws {Error} With the system error name (e.g. `EADDRINUSE`) when binding fails.
 */
export function bindSocket(host: string, port: number): BoundSocket {
  const binding = (process as unknown as { binding(name: string): TcpWrap }).binding;
  const { TCP, constants } = binding("tcp_wrap");
  const handle = new TCP(constants.SERVER);
  const error = host.includes(":") ? handle.bind6(host, port, 0) : handle.bind(host, port);
  if (error !== 0) {
    handle.close();
    const util = binding("uv") as unknown as { errname(code: number): string };
    throw new Error(`Cannot bind ${host}:${port}: ${util.errname(error)}`);
  }
  const out: { address?: string; port?: number } = {};
  handle.getsockname(out);
  return {
    fd: handle.fd,
    host: out.address ?? host,
    port: out.port ?? port,
    close: () => handle.close(),
  };
}
