/**
 * A private nginx for the torture suite: installed from the Debian package when missing
 * (`apt-get install -y nginx`, as root), started on 127.0.0.1 with its own prefix, config, pid
 * file and logs in a temporary directory (never the system service), and stopped by the PID in
 * its pid file.
 *
 * In containers, Debian's `policy-rc.d` keeps the package's own service from starting; nothing
 * here uses or touches that service.
 *
 * @module
 */

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { now, sleep, within } from "../shared/time.ts";
import { tryConnect } from "../contract/client_raw_http.ts";

const CANDIDATES = ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"];

function findNginx(): string | undefined {
  return CANDIDATES.find((path) => existsSync(path));
}

function aptGet(args: string[]): { ok: boolean; output: string } {
  const result = spawnSync("apt-get", args, {
    encoding: "utf8",
    timeout: 600_000,
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  const output = `${result.stdout ?? ""}${result.stderr ?? ""}${result.error ?? ""}`;
  return { ok: result.status === 0, output };
}

/** The nginx binary; installs the Debian package first when it is missing (needs root). */
export function ensureNginx(): string {
  const found = findNginx();
  if (found) return found;
  if (process.getuid?.() !== 0) {
    throw new Error("nginx is missing and this is not root: run `apt-get install -y nginx`");
  }
  let attempt = aptGet(["install", "-y", "--no-install-recommends", "nginx"]);
  if (!attempt.ok) {
    aptGet(["update"]); // stale package lists are the usual reason
    attempt = aptGet(["install", "-y", "--no-install-recommends", "nginx"]);
  }
  const installed = findNginx();
  if (!installed) throw new Error(`apt-get install nginx failed:\n${attempt.output.slice(-3000)}`);
  return installed;
}

/** A free TCP port on 127.0.0.1 (closed again before nginx binds it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A running private nginx. */
export interface Nginx {
  port: number;
  /** The master's PID, read from the pid file. */
  pid: number;
  /** The error log so far. */
  errorLog(): string;
  /** The access log so far: `method status upstream_addr upstream_status` per line. */
  accessLog(): string;
  /**
   * Marks the upstream on `port` `down` and reloads (SIGHUP to the master): what a balancer
   * does once the instance's readiness fails. Resolves after the reload had time to apply.
   */
  markDown(port: number): Promise<void>;
  /** Stops the master by its PID (SIGTERM, then SIGKILL after 5 s) and removes the prefix. */
  stop(): Promise<void>;
}

function config(
  dir: string,
  port: number,
  upstreams: number[],
  level: string,
  down: readonly number[] = [],
): string {
  const servers = upstreams
    .map((p) => `    server 127.0.0.1:${p}${down.includes(p) ? " down" : ""};`)
    .join("\n");
  return `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log ${level};
events { worker_connections 1024; }
http {
  log_format upstreams '$request_method $status $upstream_addr $upstream_status';
  access_log ${dir}/access.log upstreams;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream lameduck {
${servers}
    keepalive 32;
  }
  server {
    listen 127.0.0.1:${port};
    keepalive_requests 100000;
    location / {
      proxy_pass http://lameduck;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      add_header X-Upstream $upstream_addr always;
    }
  }
}
`;
}

/**
 * Starts nginx in front of `upstreams` (ports on 127.0.0.1) and waits until it accepts.
 * `errorLogLevel` `"debug"` logs every upstream connection (for investigations; it is large).
 */
export async function startNginx(
  binary: string,
  upstreams: number[],
  errorLogLevel = "warn",
): Promise<Nginx> {
  const dir = mkdtempSync(join(tmpdir(), "lameduck-nginx-"));
  chmodSync(dir, 0o755); // the worker (nobody) must reach its temp paths
  const port = await freePort();
  const conf = join(dir, "nginx.conf");
  writeFileSync(conf, config(dir, port, upstreams, errorLogLevel));
  const child: ChildProcess = spawn(
    binary,
    ["-p", dir, "-c", conf, "-e", join(dir, "error.log"), "-g", "daemon off;"],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (s: string) => (stderr += s));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const read = (name: string): string => {
    try {
      return readFileSync(join(dir, name), "utf8");
    } catch {
      return "";
    }
  };
  const pidFile = join(dir, "nginx.pid");
  const deadline = now() + 10_000;
  while (!(existsSync(pidFile) && (await tryConnect(port, 500)) === "connected")) {
    if (child.exitCode !== null || now() > deadline) {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`nginx did not start: ${stderr}\n${read("error.log")}`);
    }
    await sleep(50);
  }
  const pid = Number(read("nginx.pid").trim());
  if (pid !== child.pid) {
    child.kill("SIGKILL");
    throw new Error(`nginx's pid file says ${pid}, but the master started here is ${child.pid}`);
  }
  const stop = async (): Promise<void> => {
    const running = child.exitCode === null && child.signalCode === null;
    if (running) {
      process.kill(pid, "SIGTERM");
      await within(exited, 5_000, "nginx to stop").catch(() => {
        if (child.exitCode === null && child.signalCode === null) process.kill(pid, "SIGKILL");
      });
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const markDown = async (upstream: number): Promise<void> => {
    writeFileSync(conf, config(dir, port, upstreams, errorLogLevel, [upstream]));
    process.kill(pid, "SIGHUP");
    await sleep(300);
  };
  return {
    port,
    pid,
    markDown,
    errorLog: () => read("error.log"),
    accessLog: () => read("access.log"),
    stop,
  };
}
