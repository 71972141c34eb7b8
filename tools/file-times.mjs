// node:test reporter (plain JS: Node loads reporters before tsx) appending each file's wall time to
// TARTLAB_FILE_TIMES; Node 20 has no per-file event, so it is the larger of the top-level tests' span and
// their summed durations.
import { appendFileSync } from "node:fs";
import process from "node:process";

export default async function* fileTimes(source) {
  const spans = new Map();
  for await (const event of source) {
    if (event.type !== "test:pass" && event.type !== "test:fail") continue;
    const { nesting, file, details } = event.data;
    if (nesting !== 0 || !file) continue;
    const end = Date.now();
    const start = end - (details?.duration_ms ?? 0);
    const span = spans.get(file) ?? { start, end, sum: 0, tests: 0 };
    span.sum += details?.duration_ms ?? 0;
    span.start = Math.min(span.start, start);
    span.end = Math.max(span.end, end);
    span.tests++;
    spans.set(file, span);
  }
  const out = process.env.TARTLAB_FILE_TIMES;
  for (const [file, s] of spans) {
    if (out)
      appendFileSync(
        out,
        `${JSON.stringify({ file, seconds: Math.max(s.end - s.start, s.sum) / 1000, tests: s.tests })}\n`,
      );
  }
  yield "";
}
