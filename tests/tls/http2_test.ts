/**
 * HTTP/2 on Node: with `tls`, one port serves HTTP/2 (ALPN `h2`) and HTTP/1.1. Real clients:
 * Node's `http2.connect` and `curl --http2` (skipped, visibly, when this curl has no HTTP2
 * feature). At SIGTERM a stream in flight completes, its session receives GOAWAY, a new
 * connection after the listener closed is refused and the process exits 0; a stream stuck past
 * the drain deadline is cut and counted as aborted (exit 1, as for HTTP/1.1). The request
 * bridge on HTTP/2 streams: URL from `:authority`, no pseudo-header fields in `headers`, one
 * `Cookie`, a body without `Content-Length`, `request.signal` aborting on RST_STREAM, no
 * connection-specific field in a response. HTTP/1.1 and WebSockets (wss://) on the same port,
 * and all of it on an inherited socket (`LISTEN_FDS`).
 */
import { spawn } from "node:child_process";
import http2 from "node:http2";
import net from "node:net";
import tls from "node:tls";
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { WebSocket } from "ws";
import { join } from "node:path";
import process from "node:process";
import { binaryOf, ROOT } from "../contract/runtimes.ts";
import { sleep } from "../shared/time.ts";
import { curl2 as curl2Trusting, curlMissing, httpsGet } from "./tls_clients.ts";
import { listenerToInherit, start, type Started, useCertificates } from "./tls_setup.ts";

const certs = useCertificates();

interface Answer {
  status: number;
  body: string;
  headers: http2.IncomingHttpHeaders;
}

/** One HTTP/2 request on `session`. */
function request2(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body?: string[],
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    let answer: Answer | undefined;
    let text = "";
    stream.setEncoding("utf8");
    stream.on("response", (h) => answer = { status: Number(h[":status"]), body: "", headers: h });
    stream.on("data", (d) => text += d);
    stream.on("close", () => {
      if (answer === undefined || stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR) {
        reject(new Error(`stream closed without a whole response, code ${stream.rstCode}`));
      } else resolve({ ...answer, body: text });
    });
    stream.on("error", () => {}); // Reported by 'close' with its code.
    if (body !== undefined) {
      // Written in parts, without Content-Length: HTTP/2 frames the body itself.
      let i = 0;
      const next = (): void => {
        if (i === body.length) stream.end();
        else stream.write(body[i++], () => setTimeout(next, 20));
      };
      next();
    }
  });
}

function connect(url: string): {
  session: http2.ClientHttp2Session;
  goaway: Promise<boolean>;
  closed: Promise<void>;
} {
  const session = http2.connect(url, { ca: certs.cert });
  session.on("error", () => {}); // A refused or cut session shows in the assertions.
  const goaway = new Promise<boolean>((resolve) => {
    session.once("goaway", () => resolve(true));
    session.once("close", () => resolve(false));
  });
  const closed = new Promise<void>((resolve) => session.once("close", () => resolve()));
  return { session, goaway, closed };
}

/** An HTTP/1.1 GET over TLS (Node's https: no ALPN `h2` offered). */
const get1 = (url: string) => httpsGet(url, certs.cert);

/** `curl --http2`, trusting the test certificate. */
const curl2 = (url: string) => curl2Trusting(url, `${certs.dir}/cert.pem`);

function refused(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.on("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

const DATA = 0x0;
const HEADERS = 0x1;
const SETTINGS = 0x4;
const GOAWAY = 0x7;

interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** A literal header field without indexing, its name from HPACK's static table. */
function literal(index: number, value: string): Buffer {
  return Buffer.concat([Buffer.from([index, value.length]), Buffer.from(value)]);
}

/**
 * An HTTP/2 connection written frame by frame, so a stream can be opened after the server's
 * GOAWAY arrived (Node's client refuses to do that itself).
 */
async function rawSession(port: number): Promise<{
  request: (stream: number, path: string) => void;
  next: (match: (f: Frame) => boolean) => Promise<Frame>;
  frames: Frame[];
  ended: Promise<void>;
}> {
  const socket = tls.connect({ host: "127.0.0.1", port, ca: certs.cert, ALPNProtocols: ["h2"] });
  await new Promise<void>((resolve, reject) => {
    socket.once("secureConnect", resolve);
    socket.once("error", reject);
  });
  assert.equal(socket.alpnProtocol, "h2");
  socket.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
  socket.write(frame(SETTINGS, 0, 0, Buffer.alloc(0)));
  const frames: Frame[] = [];
  const waiting: { match: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
  let buffer = Buffer.alloc(0);
  socket.on("data", (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    while (buffer.length >= 9 && buffer.length >= 9 + buffer.readUIntBE(0, 3)) {
      const length = buffer.readUIntBE(0, 3);
      const f: Frame = {
        type: buffer[3]!,
        flags: buffer[4]!,
        stream: buffer.readUInt32BE(5) & 0x7fffffff,
        payload: buffer.subarray(9, 9 + length),
      };
      buffer = buffer.subarray(9 + length);
      frames.push(f);
      if (f.type === SETTINGS && (f.flags & 1) === 0) {
        socket.write(frame(SETTINGS, 1, 0, Buffer.alloc(0)));
      }
      for (const w of [...waiting]) {
        if (w.match(f)) {
          waiting.splice(waiting.indexOf(w), 1);
          w.resolve(f);
        }
      }
    }
  });
  socket.on("error", () => {});
  const ended = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  return {
    frames,
    ended,
    request(stream, path) {
      const block = Buffer.concat([
        Buffer.from([0x82, 0x87]), // :method GET, :scheme https
        literal(4, path), // :path
        literal(1, `127.0.0.1:${port}`), // :authority
      ]);
      socket.write(frame(HEADERS, 0x5, stream, block)); // END_STREAM | END_HEADERS
    },
    next(match) {
      const seen = frames.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiting.push({ match, resolve });
        setTimeout(() => reject(new Error("no such frame in 10 s")), 10_000).unref();
      });
    },
  };
}

async function ready(s: Started): Promise<string> {
  const line = await s.line;
  assert.match(line, /^ready https:\/\/127\.0\.0\.1:\d+\/$/);
  return line.slice("ready ".length);
}

describe("HTTP/2 over TLS on node (http2.createSecureServer with allowHTTP1)", () => {
  test("a stream in flight at SIGTERM completes, the session gets GOAWAY, a new connection is refused, exit 0", async () => {
    const s = start("node", certs.env);
    try {
      const url = await ready(s);
      const port = Number(new URL(url).port);
      const { session, goaway, closed } = connect(url);
      const first = await request2(session, { ":path": "/" });
      assert.equal(session.alpnProtocol, "h2");
      assert.equal(first.status, 200);
      assert.equal(first.body, "secure https:");
      const slow = request2(session, { ":path": "/slow" });
      await s.printed("slow started");
      s.child.kill("SIGTERM");
      assert.equal(await goaway, true, "the session receives GOAWAY");
      const answer = await slow;
      assert.equal(answer.status, 200);
      assert.equal(answer.body, "secure https:");
      assert.equal(answer.headers["connection"], undefined);
      // The server closes the session once its streams are done.
      await closed;
      assert.equal(await refused(port), "ECONNREFUSED");
      assert.equal(await s.exit, 0, s.stderr());
      assert.match(s.stderr(), /1 completed, 0 aborted/);
    } finally {
      s.child.kill("SIGKILL");
    }
  });

  test("a stream the client opens after the server's GOAWAY is never handled (above its last stream id); the one before completes", async () => {
    const s = start("node", certs.env);
    try {
      const url = await ready(s);
      const h2 = await rawSession(Number(new URL(url).port));
      h2.request(1, "/slow");
      await s.printed("slow started");
      s.child.kill("SIGTERM");
      const goaway = await h2.next((f) => f.type === GOAWAY);
      assert.equal(goaway.payload.readUInt32BE(0) & 0x7fffffff, 1, "last stream id");
      assert.equal(goaway.payload.readUInt32BE(4), 0, "NO_ERROR");
      h2.request(3, "/slow"); // Sent after GOAWAY: above its last stream id.
      const end = await h2.next((f) => f.type === DATA && f.stream === 1 && (f.flags & 1) === 1);
      assert.equal(end.stream, 1);
      await h2.ended;
      // nghttp2 ignores it (no RST_STREAM, allowed by RFC 9113 6.8): GOAWAY's last stream id
      // tells the client that stream 3 was not processed and may be retried elsewhere.
      assert.equal(h2.frames.some((f) => f.stream === 3 && f.type === HEADERS), false);
      assert.equal(await s.exit, 0, s.stderr());
      assert.match(s.stderr(), /1 completed, 0 aborted/);
      assert.equal(s.stdout().split("\n").filter((l) => l === "slow started").length, 1);
    } finally {
      s.child.kill("SIGKILL");
    }
  });

  test("a stream stuck past the drain deadline is cut and counted as aborted; exit 1 (forced)", async () => {
    const s = start("node", { ...certs.env, DRAIN_TIMEOUT: "500" });
    try {
      const url = await ready(s);
      const { session, goaway, closed } = connect(url);
      const stuck = request2(session, { ":path": "/stuck" }).then(
        (answer) => `answered ${answer.status}`,
        (error: Error) => error.message,
      );
      await s.printed("stuck started");
      const killed = performance.now();
      s.child.kill("SIGTERM");
      assert.equal(await goaway, true, "the session receives GOAWAY");
      // The core answers 503 in the handler's place when it can; otherwise the stream is cut.
      assert.match(await stuck, /^(answered 503|stream closed without a whole response)/);
      await closed;
      assert.equal(await s.exit, 1, s.stderr());
      const took = performance.now() - killed;
      assert.ok(took < 10_000, `exited ${Math.round(took)} ms after SIGTERM`);
      assert.match(s.stderr(), /drain deadline passed/);
      assert.match(s.stderr(), /0 completed, 1 aborted/);
    } finally {
      s.child.kill("SIGKILL");
    }
  });

  test("the same port serves HTTP/1.1 over TLS; at SIGTERM it says Connection: close, HTTP/2 gets GOAWAY", async () => {
    const s = start("node", certs.env);
    try {
      const url = await ready(s);
      const plain = await get1(url);
      assert.deepEqual([plain.status, plain.body, plain.version], [200, "secure https:", "1.1"]);
      const { session, goaway } = connect(url);
      assert.equal((await request2(session, { ":path": "/" })).status, 200);
      const slow1 = get1(`${url}slow`);
      await s.printed("slow started");
      const slow2 = request2(session, { ":path": "/slow" });
      s.child.kill("SIGTERM");
      const [one, two] = await Promise.all([slow1, slow2]);
      assert.deepEqual([one.status, one.body, one.version], [200, "secure https:", "1.1"]);
      assert.equal(one.connection, "close");
      assert.deepEqual([two.status, two.body], [200, "secure https:"]);
      assert.equal(await goaway, true);
      assert.equal(await s.exit, 0, s.stderr());
      assert.match(s.stderr(), /2 completed, 0 aborted/);
    } finally {
      s.child.kill("SIGKILL");
    }
  });

  test("in the lame-duck window a session that carries a request gets GOAWAY while the listener still accepts", async () => {
    const s = start("node", { ...certs.env, LAME_DUCK: "5000" });
    try {
      const url = await ready(s);
      const port = Number(new URL(url).port);
      const { session, goaway, closed } = connect(url);
      assert.equal((await request2(session, { ":path": "/" })).status, 200);
      s.child.kill("SIGTERM");
      for (let i = 0; i < 200 && !/draining/.test(s.stderr()); i++) await sleep(25);
      assert.match(s.stderr(), /draining/);
      const during = await request2(session, { ":path": "/" });
      assert.deepEqual([during.status, during.body], [200, "secure https:"]);
      assert.equal(await goaway, true, "the session receives GOAWAY");
      await closed;
      // Still in the lame-duck window: the listener accepts, so the client reconnects here.
      assert.equal(await refused(port), "connected");
      assert.equal(await s.exit, 0, s.stderr());
      assert.match(s.stderr(), /1 completed, 0 aborted/);
    } finally {
      s.child.kill("SIGKILL");
    }
  });

  test("the request on an HTTP/2 stream: URL from :authority, no pseudo-header fields, one Cookie, a body without Content-Length", async () => {
    const s = start("node", certs.env);
    try {
      const url = await ready(s);
      const { session } = connect(url);
      const answer = await request2(session, {
        ":method": "POST",
        ":path": "/echo?x=1",
        "cookie": ["a=1", "b=2"],
        "x-test": "yes",
      }, ["hello ", "over ", "h2"]);
      assert.equal(answer.status, 200);
      const echo = JSON.parse(answer.body) as {
        method: string;
        url: string;
        headers: [string, string][];
        body: string | null;
      };
      assert.equal(echo.method, "POST");
      assert.equal(echo.url, `${url}echo?x=1`);
      const headers = new Map(echo.headers);
      assert.equal(headers.get("host"), new URL(url).host);
      assert.equal(headers.get("cookie"), "a=1; b=2");
      assert.equal(headers.get("x-test"), "yes");
      assert.equal(echo.headers.some(([name]) => name.startsWith(":")), false);
      assert.equal(headers.has("content-length"), false);
      assert.equal(echo.body, "hello over h2");
      session.close();
      s.child.kill("SIGTERM");
      assert.equal(await s.exit, 0, s.stderr());
    } finally {
      s.child.kill("SIGKILL");
    }
  });

  test("a response with HTTP/1.1 connection fields and a status text is sent without them", async () => {
    const s = start("node", certs.env);
    try {
      const url = await ready(s);
      const { session } = connect(url);
      const answer = await request2(session, { ":path": "/hop" });
      assert.equal(answer.status, 200);
      assert.equal(answer.body, "hop");
      for (const name of ["connection", "keep-alive", "transfer-encoding"]) {
        assert.equal(answer.headers[name], undefined, name);
      }
      session.close();
      s.child.kill("SIGTERM");
      assert.equal(await s.exit, 0, s.stderr());
      // Node warns once for a Connection field or a status message on HTTP/2: none was passed.
      assert.doesNotMatch(s.stderr(), /Warning|internal error/);
    } finally {
      s.child.kill("SIGKILL");
    }
  });

  test("request.signal aborts when the client resets the stream (RST_STREAM)", async () => {
    const s = start("node", certs.env);
    try {
      const url = await ready(s);
      const { session } = connect(url);
      const stream = session.request({ ":path": "/abortable" });
      stream.on("error", () => {});
      await s.printed("abortable started");
      stream.close(http2.constants.NGHTTP2_CANCEL);
      await s.printed("signal aborted");
      session.close();
      s.child.kill("SIGTERM");
      assert.equal(await s.exit, 0, s.stderr());
    } finally {
      s.child.kill("SIGKILL");
    }
  });

  test("a WebSocket over TLS (an HTTP/1.1 upgrade) on the same port gets 1001 at SIGTERM; exit 0", async () => {
    const s = start("node", { ...certs.env, WS: "1" });
    try {
      const url = await ready(s);
      const ws = new WebSocket(url.replace("https:", "wss:"), { ca: certs.cert });
      const closed = new Promise<number>((resolve) => ws.on("close", (code) => resolve(code)));
      ws.on("error", () => {});
      await new Promise<void>((resolve, reject) => {
        ws.once("open", resolve);
        ws.once("error", reject);
      });
      ws.send("hi");
      const echo = await new Promise<string>((resolve) =>
        ws.once("message", (d) => resolve(`${d}`))
      );
      assert.equal(echo, "echo hi");
      s.child.kill("SIGTERM");
      assert.equal(await closed, 1001);
      assert.equal(await s.exit, 0, s.stderr());
    } finally {
      s.child.kill("SIGKILL");
    }
  });

  const missing = curlMissing();
  test(
    "curl --http2: a stream in flight at SIGTERM completes over HTTP/2 and the process exits 0",
    {
      skip: missing,
    },
    async () => {
      const s = start("node", certs.env);
      try {
        const url = await ready(s);
        assert.equal(await curl2(url), "secure https: 2 200 exit 0");
        const slow = curl2(`${url}slow`);
        await s.printed("slow started");
        s.child.kill("SIGTERM");
        assert.equal(await slow, "secure https: 2 200 exit 0");
        assert.equal(await s.exit, 0, s.stderr());
      } finally {
        s.child.kill("SIGKILL");
      }
    },
  );

  test("lameduck run (fd hand-over) with TLS: a stream in flight at a restart completes on the old worker after GOAWAY; a new session reaches the new worker", async () => {
    const sup = spawn(binaryOf("node"), [
      join(ROOT, "src", "supervisor", "cli.ts"),
      "run",
      "--port",
      "0",
      "--host",
      "127.0.0.1",
      "--handover",
      "fd",
      "--",
      binaryOf("node"),
      join(ROOT, "tests", "tls", "tls_server.ts"),
    ], { cwd: ROOT, env: { ...process.env, ...certs.env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let log = "";
    sup.stdout!.on("data", (d) => out += d);
    sup.stderr!.on("data", (d) => log += d);
    const until = async (pattern: RegExp, text: () => string, what: string) => {
      for (let i = 0; i < 800; i++) {
        const m = pattern.exec(text());
        if (m) return m;
        await sleep(25);
      }
      throw new Error(`no ${what} in 20 s; supervisor log:\n${log}`);
    };
    const exited = new Promise<number | string>((resolve) =>
      sup.once("exit", (code, signal) => resolve(code ?? signal ?? "?"))
    );
    try {
      const port = Number((await until(/socket 127\.0\.0\.1:(\d+) /, () => log, "socket"))[1]);
      await until(/worker 1 \(pid \d+\) ready/, () => log, "worker 1");
      const url = `https://127.0.0.1:${port}/`;
      const { session, goaway } = connect(url);
      const first = (await request2(session, { ":path": "/pid" })).body;
      assert.equal(session.alpnProtocol, "h2");
      const slow = request2(session, { ":path": "/slow?ms=5000" });
      await until(/^slow started$/m, () => out, "slow started");
      sup.kill("SIGHUP");
      assert.equal(await goaway, true, "the old worker's session receives GOAWAY");
      const answer = await slow;
      assert.deepEqual([answer.status, answer.body], [200, "secure https:"]);
      await until(/restart done/, () => log, "the restart");
      const next = connect(url);
      const second = (await request2(next.session, { ":path": "/pid" })).body;
      assert.notEqual(second, first, "served by the new worker");
      next.session.close();
      assert.match(log, /1 completed, 0 aborted/);
      sup.kill("SIGTERM");
      assert.equal(await exited, 0, log);
    } finally {
      sup.kill("SIGKILL");
      for (const m of log.matchAll(/started \(pid (\d+)\)/g)) {
        try {
          process.kill(Number(m[1]), "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
  });

  test("an inherited socket (LISTEN_FDS) serves HTTP/2 and HTTP/1.1; a stream in flight at SIGTERM completes after GOAWAY", async () => {
    const listener = await listenerToInherit();
    const port = listener.port;
    const s = start("node", certs.env, listener.fd);
    // The child holds its own copy now; the test's must not accept.
    listener.close();
    try {
      assert.match(await s.line, /^ready https:\/\//);
      const url = `https://127.0.0.1:${port}/`;
      assert.equal((await get1(url)).version, "1.1");
      const { session, goaway } = connect(url);
      assert.equal((await request2(session, { ":path": "/" })).status, 200);
      assert.equal(session.alpnProtocol, "h2");
      const slow = request2(session, { ":path": "/slow" });
      await s.printed("slow started");
      s.child.kill("SIGTERM");
      assert.equal(await goaway, true);
      assert.equal((await slow).body, "secure https:");
      assert.equal(await s.exit, 0, s.stderr());
      assert.match(s.stderr(), /1 completed, 0 aborted/);
    } finally {
      s.child.kill("SIGKILL");
    }
  });
});
