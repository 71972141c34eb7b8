import { LabConfigError, RawConfig, validateLabConfig } from "../../lib/lab-config";

/** The problems validateLabConfig refuses `raw` with (none for a valid config); any other error is rethrown. */
export function configProblems(raw: RawConfig): string[] {
  try {
    validateLabConfig(raw);
  } catch (e) {
    if (e instanceof LabConfigError) return [...e.problems];
    throw e;
  }
  return [];
}
