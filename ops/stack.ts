/** `--stack`, else $TARTLAB_STACK, else the stack `pulumi stack select` chose. */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";

export type StackChoice = { readonly stack: string } | { readonly problem: string };

function fromPulumiCli(dir: string, env: NodeJS.ProcessEnv, timeoutMs: number): string | undefined {
  const r = spawnSync("pulumi", ["stack", "--show-name", "--non-interactive"], {
    cwd: dir,
    env,
    encoding: "utf8",
    timeout: timeoutMs,
  });
  const name = r.status === 0 ? r.stdout.trim() : "";
  return name === "" ? undefined : name;
}

/**
 * The Pulumi CLI's per-project settings file: $PULUMI_HOME (or ~/.pulumi)/workspaces/<project>-<sha1 of the
 * path of Pulumi.yaml>-workspace.json.
 */
function fromWorkspaceFile(dir: string, env: NodeJS.ProcessEnv): string | undefined {
  try {
    const projectFile = path.join(dir, "Pulumi.yaml");
    const project = (parse(readFileSync(projectFile, "utf8")) as { name?: unknown })?.name;
    if (typeof project !== "string") return undefined;
    const home = env.PULUMI_HOME || path.join(env.HOME ?? "", ".pulumi");
    const hash = createHash("sha1").update(projectFile).digest("hex");
    const file = path.join(home, "workspaces", `${project}-${hash}-workspace.json`);
    const stack = (JSON.parse(readFileSync(file, "utf8")) as { stack?: unknown }).stack;
    return typeof stack === "string" && stack !== "" ? stack : undefined;
  } catch {
    return undefined;
  }
}

export function selectedStack(
  dir: string,
  env: NodeJS.ProcessEnv,
  flag: string | undefined,
  pulumiTimeoutMs = 20_000,
): StackChoice {
  const chosen =
    flag || env.TARTLAB_STACK || fromPulumiCli(dir, env, pulumiTimeoutMs) || fromWorkspaceFile(dir, env);
  if (chosen === undefined) {
    return {
      problem:
        "no stack selected; pass --stack <name>, set TARTLAB_STACK, or run `pulumi stack select <name>` in " +
        dir,
    };
  }
  // A Pulumi Cloud stack may print as <org>/<project>/<stack>.
  return { stack: chosen.split("/").pop()! };
}
