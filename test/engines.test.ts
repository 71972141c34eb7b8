/** README, package.json `engines` and the Pulumi SDK agree on the Node.js version users need. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { test } from "node:test";

const ROOT = path.join(__dirname, "..");
const json = (file: string) => JSON.parse(readFileSync(path.join(ROOT, file), "utf8"));
/** ">=22" -> 22 (the only form used here). */
const minMajor = (range: string) => {
  const m = /^>=\s*(\d+)/.exec(range);
  assert.ok(m, `unexpected engines range ${range}`);
  return Number(m[1]);
};

test("package.json engines is at least what @pulumi/pulumi declares, and the README says the same", () => {
  const ours = minMajor(json("package.json").engines.node);
  const pulumi = minMajor(json("node_modules/@pulumi/pulumi/package.json").engines.node);
  assert.ok(ours >= pulumi, `engines.node >=${ours} is below @pulumi/pulumi's >=${pulumi}`);
  const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
  assert.match(
    readme,
    new RegExp(`Node\\.js ${ours} or newer: \`package\\.json\` \`engines\` says \`>=${ours}\``),
  );
});
