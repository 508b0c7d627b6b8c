/**
 * The BSI CSAF validator ships JavaScript with no declarations; these are the parts the tests
 * use, as its README documents them.
 */
declare module '@secvisogram/csaf-validator-lib/*.js' {
  export interface TestMessage {
    message: string;
    instancePath: string;
  }
  export type DocumentTest = ((doc: unknown) => TestResult | Promise<TestResult>) & { name: string };
  export interface TestResult {
    isValid?: boolean;
    errors?: TestMessage[];
    warnings?: TestMessage[];
    infos?: TestMessage[];
  }
  const tests: Record<string, DocumentTest>;
  export = tests;
}
