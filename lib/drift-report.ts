/** What the drift check (mac/drift.ts) found in this `preview` or `up`, for the graph. */
export interface DriftReport {
  /** Addresses proven by each VM's identity marker; an unlisted VM keeps the address its TartVm read. */
  readonly addresses: Readonly<Record<string, string>>;
  /** An input of each cluster's Ready check, so that check reruns after a repair, and only then. */
  readonly repairs: Readonly<Record<string, number>>;
  readonly messages: readonly string[];
}

/** Offline runs (tests, `npm run plan`) find nothing. */
export const NO_DRIFT: DriftReport = { addresses: {}, repairs: {}, messages: [] };
