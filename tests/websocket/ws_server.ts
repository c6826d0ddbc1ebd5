/**
 * A lameduck server with a WebSocket echo route on Node, for `ws_test.ts`. `WS_MODE=hono`
 * uses Hono's documented way (`@hono/node-ws`: `createNodeWebSocket`, `upgradeWebSocket`,
 * `injectWebSocket` given as the `websocket` option); `WS_MODE=ws` a plain `ws`
 * `WebSocketServer({ noServer: true })`. `DRAIN_MS` sets `drainTimeout`. Prints `ready <port>`,
 * and the report as `report <json>` when closed.
 *
 * @module
 */

import { createNodeWebSocket } from "@hono/node-ws";
import { Hono } from "hono";
import process from "node:process";
import { WebSocketServer } from "ws";
import { type FetchHandler, serve } from "../../mod.ts";

const drainTimeout = Number(process.env.DRAIN_MS ?? 10_000);
const mode = process.env.WS_MODE ?? "hono";

function listen(fetch: FetchHandler, websocket: unknown) {
  const server = serve({
    fetch,
    websocket,
    port: 0,
    hostname: "127.0.0.1",
    drainTimeout,
    onListen: ({ port }) => console.log(`ready ${port}`),
  });
  server.finished.then((report) => console.log(`report ${JSON.stringify(report)}`));
}

if (mode === "hono") {
  const app = new Hono();
  const { injectWebSocket, upgradeWebSocket } = createNodeWebSocket({ app });
  app.get("/", (c) => c.text("http ok"));
  app.get(
    "/ws",
    upgradeWebSocket(() => ({
      onMessage: (event, ws) => ws.send(`echo ${event.data}`),
    })),
  );
  listen(app.fetch, injectWebSocket);
} else {
  const wss = new WebSocketServer({ noServer: true });
  wss.on("connection", (ws) => ws.on("message", (data) => ws.send(`echo ${data}`)));
  listen(
    () => new Response("http ok"),
    (server: import("node:http").Server) =>
      server.on("upgrade", (request, socket, head) => {
        wss.handleUpgrade(request, socket, head, (ws) => wss.emit("connection", ws, request));
      }),
  );
}
