import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { isHost, normalUrl } from "../../src/adapters/request_url.ts";

/** What the rule says `url` becomes: the URL parser's href, or `undefined` (400). */
function byParser(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    if (parsed.username !== "" || parsed.password !== "") return undefined;
    return parsed.href;
  } catch {
    return undefined;
  }
}

test("normalUrl() gives what the URL parser gives, for dot segments, backslashes, %2e, case and ports", () => {
  const cases: [string, string | undefined][] = [
    ["http://good.example/a/../b", "http://good.example/b"],
    ["http://good.example/a/./b", "http://good.example/a/b"],
    ["http://good.example/a\\..\\b", "http://good.example/b"],
    ["http://good.example/%2e%2E/x", "http://good.example/x"],
    ["http://good.example/a/..", "http://good.example/"],
    ["http://good.example//x", "http://good.example//x"],
    ["http://Good.Example:80/x", "http://good.example/x"],
    ["http://127.1:8000/x", "http://127.0.0.1:8000/x"],
    ["https://good.example:443/x", "https://good.example/x"],
    ["http://good.example:99999/x", undefined],
    ["http://[::1/x", undefined],
    ["http://a@b/x", undefined],
    ["*", undefined],
  ];
  for (const [url, expected] of cases) assert.equal(normalUrl(url), expected, url);
  const plain = "http://good.example:8000/a/b.c?q=/x.y";
  assert.equal(normalUrl(plain), plain, "the plainly canonical URL is returned as it is");
});

test("normalUrl() agrees with the URL parser on random authorities and paths", () => {
  const chars = (set: string, max: number) =>
    fc.array(fc.constantFrom(...set), { maxLength: max }).map((a) => a.join(""));
  const authority = chars("abAB09.-:[]@_%", 12);
  const path = chars("ab/.\\%2eE?#=~ é'\"<>{}|^`", 16);
  fc.assert(
    fc.property(authority, path, (host, rest) => {
      const url = `http://${host}/${rest}`;
      assert.equal(normalUrl(url), byParser(url), url);
    }),
    { numRuns: 3000 },
  );
});

test("isHost() accepts names, addresses and ports, and refuses what is not an authority", () => {
  for (const host of ["good.example", "Good.Example:8080", "127.0.0.1:1", "[::1]:8000", "a_b"]) {
    assert.equal(isHost(host), true, host);
  }
  for (
    const host of [
      "good.example/admin",
      "a b",
      "a@b",
      "[::1",
      "good.example:99999",
      "good.example?q",
      "good.example#f",
      "a\\b",
      "good.example:",
    ]
  ) {
    assert.equal(isHost(host), false, host);
  }
});
