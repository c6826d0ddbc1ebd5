import { test } from "node:test";
import assert from "node:assert/strict";
import { unsendableField } from "../../src/core/fields.ts";

test("unsendableField() names the field whose value has a control character", () => {
  for (const byte of [0x01, 0x08, 0x0b, 0x0c, 0x1f, 0x7f]) {
    const value = `a${String.fromCharCode(byte)}b`;
    const error = unsendableField(new Headers([["x-ok", "fine"], ["content-disposition", value]]));
    assert.ok(error instanceof TypeError, `byte ${byte}`);
    assert.match(error.message, /^Invalid response header value for content-disposition: /);
  }
});

test("unsendableField() accepts HTAB, visible ASCII, obs-text and empty values", () => {
  const headers = new Headers([
    ["x-tab", "a\tb"],
    ["x-ascii", " !~"],
    ["x-latin1", "caf\u00e9 \u00ff"],
    ["x-empty", ""],
  ]);
  headers.append("set-cookie", "a=1");
  headers.append("set-cookie", "b=2");
  assert.equal(unsendableField(headers), undefined);
  assert.equal(unsendableField(new Headers()), undefined);
});
