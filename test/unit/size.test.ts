import { test } from "node:test";
import assert from "node:assert/strict";
import { parseSize } from "../../src/util/size.ts";

test("parseSize reads bytes and k/M/G/T sizes, with or without i and B; anything else is not a size", () => {
  assert.equal(parseSize(1000), 1000);
  assert.equal(parseSize("512"), 512);
  assert.equal(parseSize("800k"), 800 * 1024);
  assert.equal(parseSize("512M"), 512 * 1024 ** 2);
  assert.equal(parseSize("4G"), 4 * 1024 ** 3);
  assert.equal(parseSize("1.5GiB"), 1.5 * 1024 ** 3);
  assert.equal(parseSize("2 TB"), 2 * 1024 ** 4);
  for (const bad of ["lots", "-1G", "4X", "", "G", -5, NaN, null, {}]) assert.equal(parseSize(bad), undefined, String(bad));
});
