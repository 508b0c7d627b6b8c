/**
 * What differs between notices of one revision, beyond the archived revision itself. The release
 * step (src/release) decides it; each channel's renderer shows it (TLP 2.0 labels come from the
 * document). An empty variant is an ordinary notice.
 */
export interface NoticeVariant {
  /**
   * Set when the revision goes out under its embargo, to its audience only (RFC 3339 time): the
   * notice says `EMBARGOED until <time UTC>`. The notice of the same revision sent at release has none.
   */
  embargoedUntil?: string;
  /**
   * For a revision after the first: the latest earlier accepted revision, so the notice can say it
   * is an update and what changed.
   */
  previous?: { revision: number; document: string };
}
