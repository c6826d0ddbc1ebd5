/**
 * The clients the TLS suites share: an HTTP/1.1 GET over TLS with Node's `https`, and
 * `curl --http2` (with `curlMissing` to say why it cannot run). Every request is bounded.
 *
 * @module
 */
import { execFileSync, spawn } from "node:child_process";
import https from "node:https";

/** What {@linkcode httpsGet} read. */
export interface HttpsAnswer {
  status: number;
  body: string;
  /** `1.1`: Node's `https` offers no ALPN `h2`. */
  version: string;
  connection: string | undefined;
}

/** An HTTP/1.1 GET over TLS, trusting the PEM certificate `ca`; times out after 10 s. */
export function httpsGet(url: string, ca: string): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const request = https.get(url, { ca, agent: false, timeout: 10_000 }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (d) => body += d);
      response.on("end", () =>
        resolve({
          status: response.statusCode ?? 0,
          body,
          version: response.httpVersion,
          connection: response.headers.connection,
        }));
      response.on("error", reject);
    });
    request.on("error", reject);
    request.on("timeout", () => request.destroy(new Error("timed out")));
  });
}

/** Why `curl --http2` cannot be used here, or `undefined` when it can. */
export function curlMissing(): string | undefined {
  try {
    const version = execFileSync("curl", ["-V"], { encoding: "utf8" });
    return /^Features:.*\bHTTP2\b/m.test(version)
      ? undefined
      : "this curl has no HTTP2 feature (curl -V)";
  } catch {
    return "curl is not installed";
  }
}

/**
 * `curl --http2` for `url`: what it printed, the HTTP version, status and its exit code
 * (`secure https: 2 200 exit 0`). It trusts the PEM file `cacert`; without one it verifies
 * nothing (`-k`).
 */
export function curl2(url: string, cacert?: string): Promise<string> {
  return new Promise((resolve) => {
    const trust = cacert === undefined ? ["-k"] : ["--cacert", cacert];
    const child = spawn("curl", [
      "-s",
      ...trust,
      "--http2",
      "-w",
      " %{http_version} %{http_code}",
      url,
    ]);
    let out = "";
    child.stdout.on("data", (d) => out += d);
    child.on("exit", (code) => resolve(`${out} exit ${code}`));
    child.on("error", (error) => resolve(`curl failed: ${error.message}`));
  });
}
