import type { Tlp } from '../advisory/tlp';

/** The labels CSAF 2.0's schema knows: TLP version 1.0's. */
export type CsafTlpLabel = 'WHITE' | 'GREEN' | 'AMBER';

const LABELS: Record<Tlp, CsafTlpLabel> = { CLEAR: 'WHITE', GREEN: 'GREEN', AMBER: 'AMBER', 'AMBER+STRICT': 'AMBER' };

const TEXT: Record<Tlp, string> = {
  CLEAR: 'TLP:CLEAR (TLP 1.0: WHITE). Public: distribute freely.',
  GREEN: 'TLP:GREEN (TLP 1.0: GREEN). Share within your community, not publicly.',
  AMBER: 'TLP:AMBER (TLP 2.0). Share within your organisation and with its clients on a need-to-know basis.',
  'AMBER+STRICT': 'TLP:AMBER+STRICT (TLP 2.0; TLP 1.0: AMBER). Share within your organisation only, on a need-to-know basis.',
};

/**
 * `document.distribution` of a CSAF 2.0 document labelled `tlp` (TLP 2.0). CSAF 2.0 takes only
 * TLP 1.0 labels, so CLEAR is WHITE and both AMBER labels are AMBER, TLP 1.0's closest; the text
 * names the TLP 2.0 label exactly, since AMBER+STRICT is narrower than TLP 1.0's AMBER says.
 */
export function csafDistribution(tlp: Tlp): { text: string; tlp: { label: CsafTlpLabel; url: string } } {
  return { text: TEXT[tlp], tlp: { label: LABELS[tlp], url: 'https://www.first.org/tlp/' } };
}
