import { describeSignedText } from '../../src/cli/describe-signed-text';
import { decodeQuotedPrintable, encodeQuotedPrintable } from '../../src/notices/pgp-mime';

describe('describeSignedText', () => {
  it('names the advisory from a JSON document', () => {
    expect(describeSignedText('{"id":"A-1","revision":2,"title":"T"}')).toEqual({ id: 'A-1', revision: '2', title: 'T' });
  });

  it('names it from the Advisory and Title lines of a rendered notice', () => {
    expect(describeSignedText('x\nAdvisory: A-1 revision 3\nTitle: Overflow\n')).toEqual({ id: 'A-1', revision: '3', title: 'Overflow' });
  });

  it('reads those lines through quoted-printable, as in an email with non-ASCII text', () => {
    const text = 'Advisory: A-1 revision 1\nTitle: Überlauf im Parser, ein sehr langer Titel der über die Zeilengrenze von 76 Zeichen geht\n';
    const entity = `Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${encodeQuotedPrintable(text)}`;
    expect(entity).toContain('=C3=9C');
    expect(describeSignedText(entity)).toEqual({ id: 'A-1', revision: '1', title: 'Überlauf im Parser, ein sehr langer Titel der über die Zeilengrenze von 76 Zeichen geht' });
  });

  it('round-trips quoted-printable', () => {
    const text = 'From here\ntrailing space \n= sign and ü and a very long line '.repeat(3);
    expect(decodeQuotedPrintable(encodeQuotedPrintable(text))).toBe(text.replace(/\n/g, '\r\n'));
  });
});
