/**
 * A lameduck server over HTTPS for `tls_test.ts` and `http2_test.ts`, on whatever runtime runs
 * it. The PEM files come from `TLS_CERT_FILE` and `TLS_KEY_FILE`; `DRAIN_TIMEOUT` (ms) sets
 * `drainTimeout`; `WS=1` (Node) echoes WebSocket messages;
 * `LAME_DUCK` (ms) sets `lameDuck`. Routes: `GET /slow` prints `slow started` and answers after 400 ms (`?ms=N`: N ms);
 * `/pid` answers the process's PID;
 * `/stuck` prints `stuck started` and never answers; `/abortable` prints `abortable started`,
 * then `signal aborted` when `request.signal` aborts; `/hop` answers with HTTP/1.1 connection
 * fields and a status text; `/echo` answers the request's method,
 * URL, headers and body as JSON; anything else answers `secure <protocol>`. Prints
 * `ready <url>` once listening, or `failed <message>` when `ready` rejects.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import type { Server as NodeServer } from "node:http";
import process from "node:process";
import { WebSocketServer } from "ws";
import { serve } from "../../mod.ts";

/** On Node with `WS=1`: a `ws` echo server on the `upgrade` event (wss://). */
function echoWebSockets(server: NodeServer): void {
  const wss = new WebSocketServer({ noServer: true });
  wss.on("connection", (ws) => ws.on("message", (data) => ws.send(`echo ${data}`)));
  server.on("upgrade", (request, socket, head) => {
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit("connection", ws, request));
  });
}

const drainTimeout = process.env.DRAIN_TIMEOUT;
const server = serve({
  port: 0,
  hostname: "127.0.0.1",
  tls: {
    cert: readFileSync(process.env.TLS_CERT_FILE!, "utf8"),
    key: readFileSync(process.env.TLS_KEY_FILE!, "utf8"),
  },
  ...(drainTimeout === undefined ? {} : { drainTimeout: Number(drainTimeout) }),
  ...(process.env.WS === "1" ? { websocket: echoWebSockets } : {}),
  ...(process.env.LAME_DUCK === undefined ? {} : { lameDuck: Number(process.env.LAME_DUCK) }),
  onListen: () => {},
  fetch: async (request) => {
    const url = new URL(request.url);
    if (url.pathname === "/pid") return new Response(`${process.pid}`);
    if (url.pathname === "/slow") {
      console.log("slow started");
      const ms = Number(url.searchParams.get("ms") ?? "400");
      await new Promise((resolve) => setTimeout(resolve, ms));
    } else if (url.pathname === "/stuck") {
      console.log("stuck started");
      await new Promise(() => {});
    } else if (url.pathname === "/abortable") {
      console.log("abortable started");
      await new Promise((resolve) => request.signal.addEventListener("abort", resolve));
      console.log("signal aborted");
    } else if (url.pathname === "/hop") {
      // What a proxied upstream response may carry: HTTP/1.1 connection fields, a status text.
      return new Response("hop", {
        status: 200,
        statusText: "Fine",
        headers: { "transfer-encoding": "chunked", connection: "keep-alive", "keep-alive": "5" },
      });
    } else if (url.pathname === "/echo") {
      return Response.json({
        method: request.method,
        url: request.url,
        headers: [...request.headers],
        body: request.body === null ? null : await request.text(),
      });
    }
    return new Response(`secure ${url.protocol}`);
  },
});
server.ready.then(
  ({ url }) => console.log(`ready ${url}`),
  (error) => console.log(`failed ${error instanceof Error ? error.message : error}`),
);
