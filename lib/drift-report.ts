/**
 * What the drift check (mac/drift.ts) found before the graph runs, and what the graph takes from
 * it. The check runs in every `preview` and `up`; `up` repairs what it can first.
 */
export interface DriftReport {
  /**
   * The address each VM of this stack answers at now (after repair, in `up`), by VM name, proven to be that VM
   * (its identity marker). A VM not listed here (not created yet; in preview, one that `up` will restart) keeps
   * the address its TartVm resource read.
   */
  readonly addresses: Readonly<Record<string, string>>;
  /**
   * Per cluster, how many repairs the lab has made to its VMs (kept on the Mac). It is an input of the cluster's
   * Ready check, so that check runs again after a repair, and only then; in preview it already counts the repairs
   * `up` will make.
   */
  readonly repairs: Readonly<Record<string, number>>;
  /** One line per finding: what was found and what `up` does (or did) about it. */
  readonly messages: readonly string[];
}

/** No findings: offline runs (tests, `npm run plan`) and a lab with nothing to report. */
export const NO_DRIFT: DriftReport = { addresses: {}, repairs: {}, messages: [] };
