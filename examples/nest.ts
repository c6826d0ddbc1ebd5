/**
 * A NestJS 12 app (`@nestjs/platform-express`) served by lameduck: `listener` is Nest's Express
 * instance after `await app.init()` (never `app.listen()`). Server-Sent Events through Nest's
 * `@Sse()`, the client's address, a readiness probe and a cleanup hook, all shut down gracefully
 * on SIGTERM/SIGINT:
 *
 *     node examples/nest.ts                     # Node 24 strips the types; PORT=8000 by default
 *     curl -N localhost:8000/events             # then Ctrl-C the server: the stream says goodbye
 *
 * Node's type stripping cannot run TypeScript decorators, so this file applies them as the
 * functions they are (`Reflect.decorate`, as `tsc` compiles `@Get("...")`); in a project that
 * compiles with `experimentalDecorators`, write the usual `@Controller()` and `@Get()`.
 *
 * On shutdown: `/readyz` answers 503 (Nest is not called for it), the SSE stream sends a final
 * `bye` event and ends, the listener closes, in-flight requests finish, the fake database pool
 * closes, then Nest's own shutdown hooks run (`app.close()`), and the process exits 0.
 *
 * @module
 */

import "reflect-metadata";
import { Controller, Get, type MessageEvent, Module, Req, Sse } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import type { NestExpressApplication } from "@nestjs/platform-express";
import type { Request } from "express";
import process from "node:process";
import { concatWith, fromEvent, interval, map, type Observable, of, takeUntil } from "rxjs";
import { serve } from "lameduck";

/** A stand-in for a real database pool: close it after the drain, never before. */
const db = {
  async end(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 50));
    console.log("db pool closed");
  },
};

class AppController {
  hello(): string {
    return "Hello from NestJS\n";
  }
  // Who is calling: Node's own request, as Nest's Express adapter has it.
  whoami(req: Request): { address?: string | undefined; port?: number | undefined } {
    return { address: req.socket.remoteAddress, port: req.socket.remotePort };
  }
  // Server-Sent Events: one `tick` a second until the client leaves or the server shuts down;
  // then a final `bye` event, and the observable's end ends the response.
  events(): Observable<MessageEvent> {
    const shutdown = server.signal; // aborts when shutdown starts
    const ticks = interval(1000).pipe(
      map((n): MessageEvent => ({ type: "tick", id: String(n), data: new Date().toISOString() })),
      takeUntil(shutdown.aborted ? of(0) : fromEvent(shutdown, "abort")),
    );
    const first = of<MessageEvent>({ type: "tick", data: new Date().toISOString() });
    const bye = of<MessageEvent>({ type: "bye", data: "server shutting down" });
    return first.pipe(concatWith(ticks, bye));
  }
}

/** `@Decorator() key() {}` without the syntax: applies method decorators to `target[key]`. */
function method(target: object, key: string, ...decorators: MethodDecorator[]): void {
  Reflect.decorate(decorators, target, key, Object.getOwnPropertyDescriptor(target, key));
}
method(AppController.prototype, "hello", Get());
method(AppController.prototype, "whoami", Get("whoami"));
Req()(AppController.prototype, "whoami", 0);
method(AppController.prototype, "events", Sse("events"));
Reflect.decorate([Controller()], AppController);

class AppModule {}
Reflect.decorate([Module({ controllers: [AppController] })], AppModule);

const app = await NestFactory.create<NestExpressApplication>(AppModule, { logger: ["error"] });
await app.init(); // routes and middleware in place; lameduck owns the socket: no app.listen()

const server = serve({
  listener: app.getHttpAdapter().getInstance(), // Nest's Express app
  port: Number(process.env.PORT ?? 8000),
  ...(process.env.HOST ? { hostname: process.env.HOST } : {}),
  readiness: "/readyz", // 200 while serving, 503 from the first signal on
  // Keep serving this long after SIGTERM (with /readyz failing) so a load balancer notices
  // before the listener closes: set it to your balancer's readiness period, e.g. 5000.
  // Unset: serve()'s default (0; 1000 under `lameduck run`, so restarts lose nothing).
  ...(process.env.LAME_DUCK_MS ? { lameDuck: Number(process.env.LAME_DUCK_MS) } : {}),
  drainTimeout: 10_000, // then in-flight requests are cut and the process exits 1
  onListen: ({ url }) => console.log(`listening on ${url}`),
});

// Hooks run last registered first: Nest's own shutdown (onModuleDestroy, ...), then the pool.
server.onShutdown(() => db.end(), { name: "db" });
server.onShutdown(() => app.close(), { name: "nest" });

// Optional: the report is also logged on stderr, and the process exits by itself (0 or 1).
const report = await server.finished;
console.log(`shut down (${report.graceful ? "graceful" : "forced"}): ${report.reason}`);
