// A node:test reporter (plain JavaScript: node loads reporters before tsx's hooks) that appends each test file's
// wall time as a JSON line to TARTLAB_FILE_TIMES; npm test prints the slowest. Node 20 reports no per-file event,
// so a file's time is the larger of: the span from its first top-level test's start (end minus duration) to its
// last one's end, and the sum of its top-level tests' durations (they run one after another; this holds even if
// the events arrive late). Loading the file through tsx comes before and is not counted.
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
  // A reporter is a generator of output; this one writes only to its file.
  yield "";
}
