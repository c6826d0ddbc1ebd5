/**
 * A pooled keep-alive client on `http.Agent`, like a load balancer's upstream pool: it shows
 * what reusing an idle connection does during a shutdown.
 *
 * @module
 */

import http from "node:http";

/** The outcome of one pooled request. */
export type PoolResult =
  | { ok: true; status: number; headers: http.IncomingHttpHeaders; body: string; reused: boolean }
  | { ok: false; code: string; message: string; reused: boolean };

/** A keep-alive pool on `http.Agent`. */
export interface Pool {
  agent: http.Agent;
  /** GETs `path`; never rejects. */
  get(path: string, timeoutMs?: number): Promise<PoolResult>;
  /** Idle pooled sockets that a new request would reuse. */
  freeSockets(): number;
  destroy(): void;
}

/** Creates a keep-alive pool to 127.0.0.1:`port` with at most `maxSockets` connections. */
export function createPool(port: number, maxSockets: number): Pool {
  const agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  const get = (path: string, timeoutMs = 5_000): Promise<PoolResult> =>
    new Promise((resolve) => {
      let settled = false;
      const settle = (r: PoolResult) => {
        if (settled) return;
        settled = true;
        resolve(r);
      };
      const req = http.request({ host: "127.0.0.1", port, path, agent, method: "GET" });
      req.setTimeout(timeoutMs, () =>
        req.destroy(Object.assign(new Error("request timed out"), { code: "TIMEOUT" })));
      req.on("error", (e: NodeJS.ErrnoException) =>
        settle({
          ok: false,
          code: e.code ?? "ERROR",
          message: e.message,
          reused: req.reusedSocket,
        }));
      req.on("response", (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (s: string) => (body += s));
        res.on("end", () =>
          settle({
            ok: true,
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            reused: req.reusedSocket,
          }));
        res.on("error", (e: NodeJS.ErrnoException) =>
          settle({
            ok: false,
            code: e.code ?? "ERROR",
            message: e.message,
            reused: req.reusedSocket,
          }));
        res.on("aborted", () =>
          settle({
            ok: false,
            code: "ABORTED",
            message: "response aborted",
            reused: req.reusedSocket,
          }));
      });
      req.end();
    });
  const freeSockets = (): number => {
    let n = 0;
    for (const list of Object.values(agent.freeSockets)) {
      for (const s of list ?? []) if (!s.destroyed) n++;
    }
    return n;
  };
  return { agent, get, freeSockets, destroy: () => agent.destroy() };
}
