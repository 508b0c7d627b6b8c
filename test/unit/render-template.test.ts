import { renderTemplate, TemplateError } from '../../src/templates/render-template';

const upper = (s: string) => s.toUpperCase();
const id = (s: string) => s;

describe('renderTemplate', () => {
  it('escapes every inserted value with the channel escaper, and only values', () => {
    expect(renderTemplate('Title: {{title}}!', { title: 'a<b' }, (s) => s.replace(/</g, '&lt;'))).toBe('Title: a&lt;b!');
    expect(renderTemplate('keep {{x}}', { x: 'y' }, upper)).toBe('keep Y');
  });

  it('repeats list sections, with {{.}} for string items and fields for objects', () => {
    const view = { cves: ['CVE-1', 'CVE-2'], affected: [{ product: 'p', versions: '<2' }] };
    expect(renderTemplate('{{#cves}}- {{.}}\n{{/cves}}', view, id)).toBe('- CVE-1\n- CVE-2\n');
    expect(renderTemplate('{{#affected}}{{product}} {{versions}}{{/affected}}', view, id)).toBe('p <2');
  });

  it('renders inverted sections only for empty or missing values', () => {
    expect(renderTemplate('{{#refs}}x{{/refs}}{{^refs}}none{{/refs}}', { refs: [] }, id)).toBe('none');
    expect(renderTemplate('{{^missing}}none{{/missing}}', {}, id)).toBe('none');
    expect(renderTemplate('{{^refs}}none{{/refs}}', { refs: ['a'] }, id)).toBe('');
  });

  it('looks names up in outer scopes, and renders unknown names as nothing', () => {
    expect(renderTemplate('{{#items}}{{id}}:{{.}} {{/items}}{{nope}}', { id: 'A', items: ['x', 'y'] }, id)).toBe('A:x A:y ');
  });

  it('nests sections of the same name', () => {
    const view = { a: [{ a: ['1', '2'] }] };
    expect(renderTemplate('{{#a}}[{{#a}}{{.}}{{/a}}]{{/a}}', view, id)).toBe('[12]');
  });

  it('does not expand template syntax that arrives inside values', () => {
    expect(renderTemplate('{{t}}', { t: '{{secret}}', secret: 'leak' }, id)).toBe('{{secret}}');
  });

  it('reports an unclosed section', () => {
    expect(() => renderTemplate('{{#a}}x', { a: ['1'] }, id)).toThrow(TemplateError);
  });
});
