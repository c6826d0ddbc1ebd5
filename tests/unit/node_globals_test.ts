import { test } from "node:test";
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import fc from "fast-check";
import { LameduckRequest, LazyRequest } from "../../src/adapters/node/lazy_request.ts";
import {
  LameduckResponse,
  LightResponse,
  nativeResponseStatus,
} from "../../src/adapters/node/light_response.ts";
import { urlOf } from "../../src/adapters/node/url.ts";
import { utf8Length } from "../../src/adapters/node/head.ts";

/** What a response looks like through its public API, or the error its constructor threw. */
async function observe(make: () => Response): Promise<unknown> {
  let response: Response;
  try {
    response = make();
  } catch (error) {
    return `threw ${(error as Error).constructor.name}`;
  }
  return {
    status: response.status,
    statusText: response.statusText,
    ok: response.ok,
    headers: [...response.headers],
    text: await response.text(),
  };
}

const INITS: [BodyInit | null | undefined, ResponseInit | undefined][] = [
  ["hello", undefined],
  [undefined, undefined],
  [null, { status: 204 }],
  ["x", { status: 201, statusText: "Made" }],
  ["x", { headers: { "content-type": "application/json", "x-a": "1" } }],
  ["x", { headers: [["set-cookie", "a=1"], ["set-cookie", "b=2"]] }],
  [new Uint8Array([104, 105]), { headers: new Headers({ "x-b": "2" }) }],
  ["x", { status: 199 }],
  ["x", { status: 600 }],
  ["x", { status: 1.5 }],
  ["x", { status: 204 }],
  ["x", { statusText: "bad\ntext" }],
  ["x", { headers: { "bad name": "1" } }],
];

test("LameduckResponse behaves as the native Response for every init, invalid ones included", async () => {
  for (const [body, init] of INITS) {
    const label = JSON.stringify([body, init]);
    const native = await observe(() => new Response(body, init));
    const light = await observe(() => new LameduckResponse(body, init));
    assert.deepEqual(light, native, label);
  }
});

test("a light response is an instance of Response, and every native Response of LameduckResponse", () => {
  const light = new LameduckResponse("x");
  assert.ok(light instanceof LightResponse, "the fast path was taken");
  assert.ok(light instanceof Response);
  assert.ok(new Response("x") instanceof LameduckResponse);
  assert.ok(!({} instanceof LameduckResponse));
  // A subclass gets a native object with its own prototype.
  class Sub extends LameduckResponse {}
  const sub = new Sub("y");
  assert.ok(sub instanceof Sub);
  assert.equal(nativeResponseStatus.call(sub), 200);
});

test("a subclass of the replaced Response or Request is an ordinary subclass: instanceof finds its own instances only", () => {
  // srvx's and @hono/node-server's own suites define such classes after serve().
  class MyResponse extends LameduckResponse {}
  class MyRequest extends LameduckRequest {}
  const mine = new MyResponse("x");
  assert.ok(mine instanceof MyResponse);
  assert.ok(mine instanceof LameduckResponse);
  assert.ok(!(new LameduckResponse("x") instanceof MyResponse), "a light response");
  assert.ok(!(new Response("x") instanceof MyResponse), "a native response");
  assert.ok(!({} instanceof MyResponse));
  const request = new MyRequest("http://a.test/");
  assert.ok(request instanceof MyRequest);
  assert.ok(request instanceof LameduckRequest);
  assert.ok(!(new Request("http://a.test/") instanceof MyRequest), "a native request");
  const lazy = new LazyRequest({} as IncomingMessage, "GET", "http://a.test/");
  assert.ok(lazy instanceof LameduckRequest, "a lazy request");
  assert.ok(!(lazy instanceof MyRequest), "a lazy request");
});

test("a light response turns native on first use of its body, keeping headers changed before", async () => {
  const light = new LameduckResponse("body text");
  light.headers.set("x-late", "1");
  assert.ok(LightResponse.parts(light as unknown as LightResponse), "still light");
  const copy = light.clone();
  assert.equal(LightResponse.parts(light as unknown as LightResponse), undefined, "now native");
  assert.equal(await copy.text(), "body text");
  assert.equal(await light.text(), "body text");
  assert.equal(light.headers.get("x-late"), "1");
  await assert.rejects(light.text(), TypeError, "a body read twice");
});

test("a light response copies its bytes, as the Fetch API does", async () => {
  const bytes = new Uint8Array([1, 2, 3]);
  const light = new LameduckResponse(bytes);
  bytes[0] = 9;
  assert.deepEqual([...new Uint8Array(await light.arrayBuffer())], [1, 2, 3]);
});

function incoming(target: string, host: string | undefined): IncomingMessage {
  return { url: target, rawHeaders: host === undefined ? [] : ["Host", host] } as IncomingMessage;
}

for (const scheme of ["http", "https"]) {
  test(`urlOf() gives exactly what the URL parser makes of Host and target (${scheme})`, () => {
    const chars = fc.constantFrom(
      ..."aZ09-._~!$&'()*+,;=:@/?#%[]{}|^`\"<> \\é.".split(""),
      "%2e",
      "%2E",
    );
    const target = fc.array(chars, { maxLength: 12 }).map((cs) => "/" + cs.join(""));
    const host = fc.oneof(
      fc.constantFrom(
        "a.test",
        "A.Test",
        "127.0.0.1",
        "127.0.0.1:8000",
        "x:80",
        "x:0080",
        "[::1]:3",
      ),
      fc.constantFrom("010.0.0.1", "1.2", "x_y", "a..b", "xn--nxasmq6b", "x:65536", "x:6000"),
      fc.constantFrom("x:443", "x:4430", "a.test:59999", "HOST.test", ""),
    );
    const name = fc.constantFrom("Host", "host", "HOST", "hOsT");
    fc.assert(
      fc.property(target, host, name, (t, h, n) => {
        const origin = `${scheme}://origin:1`;
        const message = incoming(t, h);
        message.rawHeaders[0] = n;
        let expected: string;
        try {
          expected = new URL(h === "" ? `${origin}${t}` : `${scheme}://${h}${t}`).href;
        } catch {
          assert.throws(() => urlOf(message, origin), TypeError);
          return;
        }
        let actual: string;
        try {
          actual = urlOf(message, origin);
        } catch (error) {
          // lameduck is stricter about Host than the URL parser: a 400, never a wrong URL.
          assert.ok(error instanceof TypeError);
          return;
        }
        assert.equal(actual, expected);
      }),
      { numRuns: 2_000 },
    );
  });
}

test("urlOf() resolves every dot segment as the URL parser does", () => {
  const dots = [
    "/.",
    "/..",
    "/./",
    "/../",
    "/.?",
    "/..?",
    "/.#",
    "/..#",
    "/.x",
    "/..x",
    "/...",
    "/a/.",
  ];
  for (
    const target of [
      ...dots,
      ...dots.map((d) => `/p${d}q`),
      "/x?a=/./b",
      "/x?a=/..",
      "/%2e/",
      "/%2E%2e/x",
      "/a/%2e",
      "/%2f",
      "/%2ex",
    ]
  ) {
    assert.equal(
      urlOf(incoming(target, "a.test"), "http://o:1"),
      new URL(`http://a.test${target}`).href,
      target,
    );
  }
});

test("urlOf() rebuilds an absolute-form target as http://<Host>/path, never https:", () => {
  const at = (target: string, host?: string) => urlOf(incoming(target, host), "http://o:1");
  assert.equal(at("https://evil.example/x?q=1", "good.test"), "http://good.test/x?q=1");
  assert.equal(at("http://evil.example/x", "good.test"), "http://good.test/x");
  assert.equal(at("https://evil.example", "good.test"), "http://good.test/");
  assert.equal(at("https://evil.example?q", "good.test"), "http://good.test/?q");
  assert.equal(at("https://evil.example/x"), "http://evil.example/x", "no Host: the target's");
  assert.throws(() => at("ftp://x/y", "good.test"), TypeError);
});

test("utf8Length() is Buffer.byteLength() for every string, short and long", () => {
  const unit = fc.oneof(
    fc.constantFrom("a", "x", "\n", "é", "ÿ", "€", "日", "😀", "\ud800", "\udfff"),
    fc.string({ unit: "grapheme", maxLength: 4 }),
    fc.string({ unit: "binary", maxLength: 4 }), // lone surrogates included
  );
  // A long one-byte text with a few other characters where the sampling may not look.
  const long = fc.tuple(
    fc.integer({ min: 250, max: 30_000 }),
    fc.array(fc.tuple(fc.nat(), unit), { maxLength: 3 }),
  ).map(([n, inserts]) => {
    let text = "x".repeat(n);
    for (const [at, piece] of inserts) {
      const i = at % (text.length + 1);
      text = text.slice(0, i) + piece + text.slice(i);
    }
    return text;
  });
  const mixed = fc.array(unit, { maxLength: 3_000 }).map((parts) => parts.join(""));
  fc.assert(
    fc.property(fc.oneof(long, mixed), (text) => {
      assert.equal(utf8Length(text), Buffer.byteLength(text));
    }),
    { numRuns: 1_000 },
  );
  for (const text of ["", "é".repeat(21_845), "x".repeat(21_846), "日本".repeat(9_000)]) {
    assert.equal(utf8Length(text), Buffer.byteLength(text));
  }
  // One-byte characters wherever the sampling looks, up to 4 bytes per character elsewhere:
  // near and past the length up to which the scratch buffer is used.
  for (const n of [256, 21_845, 21_846, 30_000]) {
    for (const filler of ["日", "\ud800", "😀", "é"]) {
      let text = "";
      while (text.length < n) text += text.length % (n >>> 4) === 0 ? "x" : filler;
      assert.equal(utf8Length(text), Buffer.byteLength(text), `${n} × ${filler}`);
    }
  }
});
