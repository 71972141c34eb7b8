/**
 * The lab worker (test/harness/preview.ts deployLab, planLab): runs lab deploys and plans one at a time, off the
 * test runner's thread, and answers with plain data (a State, a Plan's steps).
 */
import { parentPort } from "node:worker_threads";
import { defaultStdout } from "./pulumi";
import { LabRequest, StdoutOf, deploy, labProgram, plan } from "./preview";

const stdoutFn = (of?: StdoutOf) => (of ? (name: string) => of[name] ?? defaultStdout(name) : undefined);

async function answer(request: LabRequest): Promise<unknown> {
  const program = labProgram(request.spec.config, request.spec.records, request.spec.drift);
  if (request.kind === "deploy") return deploy(program, { stdout: stdoutFn(request.stdout) });
  return (await plan(request.state, program, { ...request.opts, stdout: stdoutFn(request.opts.stdout) }))
    .steps;
}

// Pulumi's runtime state is global: one evaluation at a time.
let queue: Promise<void> = Promise.resolve();
parentPort!.on("message", ({ id, request }: { id: number; request: LabRequest }) => {
  queue = queue.then(async () => {
    try {
      parentPort!.postMessage({ id, result: await answer(request) });
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      parentPort!.postMessage({ id, error: { message: err.message, stack: err.stack } });
    }
  });
});
