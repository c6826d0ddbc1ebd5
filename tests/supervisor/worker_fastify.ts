/**
 * The restart proof's Fastify worker: a Fastify 5 app served by lameduck as `listener`
 * (`app.routing` after `await app.ready()`), with the worker's default options, answering like
 * worker.ts: `GET /` with its PID, `/slow?ms=N` after N ms. Node only:
 *
 *     lameduck run --port 0 -- node tests/supervisor/worker_fastify.ts
 *
 * @module
 */

import Fastify from "fastify";
import process from "node:process";
import { serve } from "../../mod.ts";

const app = Fastify();
app.get("/", (_request, reply) => reply.send(`${process.pid}\n`));
app.get<{ Querystring: { ms?: string } }>("/slow", async (request) => {
  await new Promise((resolve) => setTimeout(resolve, Number(request.query.ms ?? "500")));
  return `${process.pid}\n`;
});
await app.ready();

const server = serve({ listener: app.routing, port: 0, hostname: "127.0.0.1", logger: false });
const { port } = await server.ready;
console.log(JSON.stringify({ ready: process.pid, port }));
