/**
 * The setup the TLS suites (`tls_test.ts`, `http2_test.ts`) share: a throw-away certificate made
 * with openssl (never committed; `useCertificates` makes one per test file), `tls_server.ts`
 * started on a runtime, and a listening socket for it to inherit (`LISTEN_FDS`). The clients are
 * in tls_clients.ts. The contract's TLS cases (tests/contract/cases_paths.ts) use
 * `makeCertificates` too.
 *
 * @module
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { after, before } from "node:test";
import { commandFor, ROOT, type RuntimeName } from "../contract/runtimes.ts";

const SERVER = join("tests", "tls", "tls_server.ts");

/** A folder with `cert.pem`, `key.pem` (for 127.0.0.1 and localhost) and a broken `bad.pem`. */
export interface Certificates {
  dir: string;
  /** The certificate, PEM, for clients to trust. */
  cert: string;
  /** `TLS_CERT_FILE` and `TLS_KEY_FILE` for `tls_server.ts`. */
  env: Record<string, string>;
}

/** Makes a self-signed certificate in a new temporary folder (the caller removes `dir`). */
export function makeCertificates(): Certificates {
  const dir = mkdtempSync(join(tmpdir(), "lameduck-tls-"));
  execFileSync("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=localhost",
    "-addext",
    "subjectAltName=IP:127.0.0.1,DNS:localhost",
    "-keyout",
    join(dir, "key.pem"),
    "-out",
    join(dir, "cert.pem"),
  ], { stdio: "ignore" });
  writeFileSync(
    join(dir, "bad.pem"),
    "-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n",
  );
  return {
    dir,
    cert: readFileSync(join(dir, "cert.pem"), "utf8"),
    env: { TLS_CERT_FILE: join(dir, "cert.pem"), TLS_KEY_FILE: join(dir, "key.pem") },
  };
}

/**
 * Registers `before` and `after` hooks in the calling test file that make a certificate and
 * remove its folder. The returned object is filled in by `before`: read it inside tests.
 */
export function useCertificates(): Certificates {
  const made: Certificates = { dir: "", cert: "", env: {} };
  before(() => {
    Object.assign(made, makeCertificates());
  });
  after(() => rmSync(made.dir, { recursive: true, force: true }));
  return made;
}

/**
 * A listening socket on 127.0.0.1 for a child to inherit: pass `fd` to {@linkcode start}, then
 * `close()` this process's copy so that only the child accepts.
 */
export async function listenerToInherit(): Promise<{ port: number; fd: number; close(): void }> {
  const listener = net.createServer();
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  const port = (listener.address() as net.AddressInfo).port;
  const fd = (listener as unknown as { _handle: { fd: number } })._handle.fd;
  return { port, fd, close: () => listener.close() };
}

/** A running `tls_server.ts`. */
export interface Started {
  child: ChildProcess;
  /** Resolves once the server printed `text` on a line of its own. */
  printed: (text: string) => Promise<void>;
  /** The `ready <url>` or `failed <message>` line. */
  line: Promise<string>;
  exit: Promise<number | string>;
  stdout: () => string;
  stderr: () => string;
}

/** Starts `tls_server.ts` on `runtime`; with `fd`, on that inherited socket (`LISTEN_FDS`). */
export function start(runtime: RuntimeName, env: Record<string, string>, fd?: number): Started {
  const [bin, args] = commandFor(runtime, SERVER);
  // With an inherited socket, LISTEN_PID must be the server's own PID: exec keeps the shell's.
  const child = fd === undefined
    ? spawn(bin, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    })
    : spawn("/bin/sh", ["-c", 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$@"', "sh", bin, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe", fd],
    });
  let out = "";
  let err = "";
  child.stderr!.on("data", (d) => err += d);
  const line = new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (d) => {
      out += d;
      const first = out.split("\n").find((l) => l.startsWith("ready ") || l.startsWith("failed "));
      if (first) resolve(first);
    });
    child.once("exit", () => reject(new Error(`exited before ready; stderr: ${err}`)));
    setTimeout(() => reject(new Error(`no ready line in 20 s; stderr: ${err}`)), 20_000).unref();
  });
  const printed = (text: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (out.split("\n").includes(text)) resolve();
      };
      check();
      child.stdout!.on("data", check);
      setTimeout(() => reject(new Error(`no "${text}" in 20 s`)), 20_000).unref();
    });
  const exit = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "?"))
  );
  return { child, line, printed, exit, stdout: () => out, stderr: () => err };
}
