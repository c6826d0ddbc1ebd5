/**
 * The restart proof's Express worker: an Express 5 app served by lameduck as `listener`, with
 * the worker's default options, answering like worker.ts: `GET /` with its PID, `/slow?ms=N`
 * after N ms. Node only:
 *
 *     lameduck run --port 0 -- node tests/supervisor/worker_express.ts
 *
 * @module
 */

import express from "express";
import process from "node:process";
import { serve } from "../../mod.ts";

const app = express();
app.get("/", (_req, res) => {
  res.send(`${process.pid}\n`);
});
app.get("/slow", async (req, res) => {
  await new Promise((resolve) => setTimeout(resolve, Number(req.query.ms ?? "500")));
  res.send(`${process.pid}\n`);
});

const server = serve({ listener: app, port: 0, hostname: "127.0.0.1", logger: false });
const { port } = await server.ready;
console.log(JSON.stringify({ ready: process.pid, port }));
