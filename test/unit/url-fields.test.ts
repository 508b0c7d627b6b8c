import { advisoryDocumentSchema } from '../../src/advisory/schema';
import { createRecipientSchema } from '../../src/recipients/recipient';
import { httpUrl } from '../../src/util/zod-fields';
import { sampleAdvisory } from '../support/advisory-fixture';

/**
 * Whether a URL is accepted must not depend on how long the process has run. zod's `.url()` goes
 * through Node 20's `URL.canParse`, whose optimised path (taken once a call site is hot) refuses
 * one-byte non-ASCII hosts like `exämple.org` that it accepted cold.
 */
describe('URL fields', () => {
  const latin1Host = 'https://exämple.org/advisory';

  it('accept the same URL cold and after thousands of checks', () => {
    const field = httpUrl();
    const cold = field.safeParse(latin1Host).success;
    for (let i = 0; i < 30_000; i++) field.safeParse(`https://example.org/warm/${i}`);
    expect(cold).toBe(true);
    expect(field.safeParse(latin1Host).success).toBe(true);
    // Advisory references and recipient URLs, after the same warming.
    for (let i = 0; i < 30_000; i++) createRecipientSchema.safeParse({ type: 'webhook', url: `https://example.org/w/${i}` });
    expect(advisoryDocumentSchema.safeParse(sampleAdvisory({ references: [latin1Host] })).success).toBe(true);
    expect(createRecipientSchema.safeParse({ type: 'webhook', url: latin1Host }).success).toBe(true);
  });

  it('refuse what is not an absolute http(s) URL, saying so', () => {
    for (const bad of ['example.org/x', '/relative', 'ftp://example.org/', 'javascript:alert(1)', 'https://', 'http://exa mple.org/']) {
      const result = httpUrl().safeParse(bad);
      expect(result.success).toBe(false);
      expect(result.error?.issues[0]?.message).toBe('must be an absolute http(s) URL');
    }
    expect(httpUrl(30).safeParse(`https://example.org/${'a'.repeat(30)}`).success).toBe(false);
  });
});
