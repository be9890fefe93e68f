import { describe, expect, it } from 'vitest';
import { packBlocks, splitText, TELEGRAM_TEXT_LIMIT } from './split-text.js';

describe('splitText / packBlocks', () => {
  it('leaves a text that fits alone', () => {
    expect(splitText('short\ntext')).toEqual(['short\ntext']);
    expect(splitText('x'.repeat(TELEGRAM_TEXT_LIMIT))).toHaveLength(1);
  });

  it('splits at line boundaries, every part within the limit, nothing lost', () => {
    const lines = Array.from({ length: 50 }, (_, i) => `line ${i} ${'·'.repeat(150)}`);
    const parts = splitText(lines.join('\n'));
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(TELEGRAM_TEXT_LIMIT);
    expect(parts.join('\n')).toBe(lines.join('\n'));
    expect(parts.flatMap((p) => p.split('\n'))).toEqual(lines);
  });

  it('keeps a two-line entry in one message', () => {
    const entries = Array.from({ length: 20 }, (_, i) => `• job-${i}\n  ${'e'.repeat(280)}`);
    const parts = packBlocks(entries, 1000);
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(1000);
      expect(p.startsWith('• job-')).toBe(true);
      expect(p.split('\n').length % 2).toBe(0);
    }
    expect(parts.join('\n')).toBe(entries.join('\n'));
  });

  it('cuts a single line over the limit, never inside an emoji', () => {
    const line = `${'a'.repeat(9)}😀${'b'.repeat(20)}`;
    const parts = splitText(line, 10);
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(10);
      expect(p).not.toMatch(/[\uD800-\uDBFF]$/);
      expect(p).not.toMatch(/^[\uDC00-\uDFFF]/);
    }
    expect(parts.join('')).toBe(line);
  });

  it('sends no empty message for blank lines at a cut', () => {
    const parts = splitText(`${'a'.repeat(8)}\n\n\n${'b'.repeat(8)}`, 9);
    expect(parts.map((p) => p.trim())).toEqual(['a'.repeat(8), 'b'.repeat(8)]);
  });
});
