// A folder's hash: injective in its members, the same as before for ordinary names.
import { test } from "node:test";
import assert from "node:assert/strict";
import { treeHash, treeLine, type TreeMember } from "../../src/hash/tree.ts";
import { initHasher } from "../../src/hash/xxh.ts";

const hashOf = (members: TreeMember[]) => treeHash(members.map(treeLine));

test("members whose names hold a newline, a leading quote or (links) spaces cannot pass for other members", async () => {
  await initHasher();
  const x = "1".repeat(16);
  const y = "2".repeat(16);
  // A file named so that its line, joined, reads as two members (found by a review).
  const two: TreeMember[] = [{ type: "f", path: "a", exec: false, hash: x }, { type: "f", path: "b", exec: false, hash: y }];
  const forged: TreeMember[] = [{ type: "f", path: `a - ${x}\nf b`, exec: false, hash: y }];
  assert.notEqual(hashOf(forged), hashOf(two));
  // A link "a b" -> "c" against "a" -> "b c".
  assert.notEqual(hashOf([{ type: "l", path: "a b", link: "c" }]), hashOf([{ type: "l", path: "a", link: "b c" }]));
  // A link name that starts with a quote, against the JSON form of another name.
  assert.notEqual(hashOf([{ type: "l", path: '"a', link: 'b" c' }]), hashOf([{ type: "l", path: "a b", link: "c" }]));
  // A backslash-n spelled out against a real newline; a link target with a newline.
  assert.notEqual(hashOf([{ type: "f", path: "a\\nb", exec: false, hash: x }]), hashOf([{ type: "f", path: "a\nb", exec: false, hash: x }]));
  assert.notEqual(hashOf([{ type: "l", path: "l", link: "t\nd x/" }]), hashOf([{ type: "l", path: "l", link: "t" }, { type: "d", path: "x" }]));
  // Empty folders and other members with a newline in their names.
  assert.notEqual(hashOf([{ type: "d", path: "a/\nd b" }]), hashOf([{ type: "d", path: "a" }, { type: "d", path: "b" }]));
  assert.notEqual(hashOf([{ type: "o", path: "p\no q" }]), hashOf([{ type: "o", path: "p" }, { type: "o", path: "q" }]));
});

test("ordinary names are written as they always were (folder hashes recorded before stay valid)", () => {
  assert.equal(treeLine({ type: "f", path: "sub dir/a b.txt", exec: true, hash: "ab" }), "f sub dir/a b.txt x ab");
  assert.equal(treeLine({ type: "l", path: "link", link: "../target dir/m.txt" }), "l link ../target dir/m.txt");
  assert.equal(treeLine({ type: "d", path: "empty" }), "d empty/");
  assert.equal(treeLine({ type: "o", path: "fifo" }), "o fifo");
  assert.equal(treeLine({ type: "f", path: "dir\\x.txt", exec: false, hash: "ab" }), "f dir\\x.txt - ab", "a backslash is written as it is");
  assert.equal(treeLine({ type: "l", path: "link\\1", link: "a b\\c" }), "l link\\1 a b\\c");
});
