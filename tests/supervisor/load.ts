/**
 * A bounded HTTP load for the restart proof: `clients` loops, each sending requests one after
 * another until stopped; every 8th request is slow. Uses Node's `http` client, which honours
 * `Connection: close` and never retries a request it has sent, so every reset counts.
 *
 * @module
 */

import { Agent, request } from "node:http";

/** One request's outcome. */
export interface Outcome {
  slow: boolean;
  startedAt: number;
  endedAt: number;
  /** The PID that answered, or `undefined` on failure. */
  pid?: number;
  /** Why it failed: an error code or `status <n>`. */
  error?: string;
}

/** A running load. */
export interface Load {
  readonly outcomes: Outcome[];
  /** Stops sending and resolves once every request in flight has ended. */
  stop(): Promise<void>;
}

/** How the clients connect. */
export type Mode = "new connection per request" | "pooled keep-alive";

function get(port: number, path: string, agent: Agent | false): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, agent }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => {
        if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
        else resolve(Number(body.trim()));
      });
      res.on("error", reject);
    });
    req.setTimeout(15_000, () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

/** Starts `clients` loops against 127.0.0.1:`port`. */
export function startLoad(port: number, clients: number, mode: Mode, slowMs: number): Load {
  // One pool of one connection per client, as a service's HTTP client keeps it.
  const agents: Agent[] = [];
  const outcomes: Outcome[] = [];
  let running = true;
  let sent = 0;
  const loop = async () => {
    const agent = mode === "pooled keep-alive"
      ? new Agent({ keepAlive: true, maxSockets: 1 })
      : false;
    if (agent) agents.push(agent);
    while (running) {
      const slow = ++sent % 8 === 0;
      const startedAt = performance.now();
      const path = slow ? `/slow?ms=${slowMs}` : "/";
      try {
        const pid = await get(port, path, agent);
        outcomes.push({ slow, startedAt, endedAt: performance.now(), pid });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
        outcomes.push({ slow, startedAt, endedAt: performance.now(), error: code });
      }
    }
  };
  const loops = Array.from({ length: clients }, loop);
  return {
    outcomes,
    async stop() {
      running = false;
      await Promise.all(loops);
      for (const agent of agents) agent.destroy();
    },
  };
}
