import { renameSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";

/** A reader never sees half a file; a new file is 600 by default because most of these hold credentials. */
export function writeFileAtomic(file: string, content: string, newFileMode = 0o600): void {
  let mode = newFileMode;
  try {
    mode = statSync(file).mode & 0o777;
  } catch {
    // new file
  }
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tartlab-${process.pid}.tmp`);
  writeFileSync(tmp, content, { mode });
  renameSync(tmp, file);
}
