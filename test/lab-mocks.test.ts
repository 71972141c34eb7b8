/** The Pulumi mocks' own promises that tests rely on. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { devRawConfig, fakeIp, smallStackConfig } from "./harness/pulumi";

test("fakeIp: every VM of the default and the small lab has an address of its own", () => {
  const small = smallStackConfig()["tartlab:clusters"];
  const labs = [devRawConfig().clusters, typeof small === "string" ? JSON.parse(small) : small];
  for (const clusters of labs) {
    const vms: string[] = clusters.flatMap((c: any) => c.nodes.map((n: any) => n.name));
    const ips = vms.map(fakeIp);
    assert.equal(new Set(ips).size, vms.length, vms.map((v, i) => `${v}=${ips[i]}`).join(" "));
  }
});
