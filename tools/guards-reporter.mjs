// One JSON line per test start and result tells tools/guards.ts which tests ran, were skipped by
// --test-name-pattern, passed or failed; plain JS, since Node loads reporters before tsx.
export default async function* guardsReporter(source) {
  for await (const event of source) {
    const d = event.data;
    if (event.type === "test:start") {
      yield `${JSON.stringify({ kind: "start", name: d.name, nesting: d.nesting })}\n`;
    } else if (event.type === "test:stderr") {
      // A test file that cannot load says why only here.
      yield `${JSON.stringify({ kind: "stderr", name: "", nesting: 0, error: String(d.message).slice(0, 1000) })}\n`;
    } else if (event.type === "test:pass" || event.type === "test:fail") {
      const error = d.details?.error;
      yield `${JSON.stringify({
        kind: event.type === "test:pass" ? "pass" : "fail",
        name: d.name,
        nesting: d.nesting,
        skip: d.skip !== undefined && d.skip !== false,
        todo: d.todo !== undefined && d.todo !== false,
        suite: d.details?.type === "suite",
        error: error
          ? String(error.cause?.message ?? error.message ?? error)
              .split("\n")[0]
              .slice(0, 300)
          : undefined,
      })}\n`;
    }
  }
}
