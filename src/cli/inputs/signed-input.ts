/** What a recipient holds, reduced to something OpenPGP can check. */
export type SignedInput =
  | {
      kind: 'detached';
      /** The exact signed text. */
      document: string;
      /** Tocsin's armored detached signature over `document`. */
      signature: string;
      /** Where the pair came from, for messages: "webhook body", "email (.eml)", ... */
      form: string;
      /** A key transition statement the input carries (a webhook body after a rotation). */
      transition?: { statement: string; signature: string };
    }
  | {
      kind: 'cleartext';
      /** A complete `-----BEGIN PGP SIGNED MESSAGE-----` block. */
      cleartext: string;
      form: string;
    };

/**
 * A parser recognises one form a channel delivers (a webhook body, an .eml file, a Slack
 * message as the API returns it, ...) and returns null for anything else.
 *
 * Here, below both the parsers and notice-input.ts (which tries them in turn), so that neither
 * imports the other for it.
 */
export type InputParser = (text: string, json: unknown) => SignedInput | null;
