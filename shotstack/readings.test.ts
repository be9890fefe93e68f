import { describe, expect, it } from 'vitest';
import { loadShotstackConfig } from './config.js';
import {
  DEFAULT_READINGS,
  formatReadings,
  missingReadings,
  parseReadingsList,
  READING_KEYS,
  readingsFromList,
  ReadingsSyntaxError,
  type RendererReadings,
} from './readings.js';

/** Parser of the readings comma list (SHOTSTACK_LOCAL_EMULATE, SHOTSTACK_READINGS). */
describe('parseReadingsList', () => {
  it('maps list keys to reading fields, trimming spaces and skipping empty items', () => {
    expect(parseReadingsList(' luma = white-transparent , scale=width,,luma-geometry=viewport,')).toEqual({
      luma: 'white-transparent',
      scale: 'width',
      lumaGeometry: 'viewport',
    });
    expect(parseReadingsList('alpha-webm=lost,alpha-mov=kept')).toEqual({ alphaWebm: 'lost', alphaMov: 'kept' });
    expect(parseReadingsList('')).toEqual({});
  });

  const refused: [label: string, list: string, message: RegExp][] = [
    ['an unknown key', 'lumen=white-visible', /unknown reading "lumen".*known: luma, luma-geometry, scale, alpha-webm, alpha-mov/],
    ['a key of Object.prototype', 'constructor=x', /unknown reading "constructor"/],
    ['a value not allowed', 'scale=diagonal', /scale must be one of fit \| width \| height, got "scale=diagonal"/],
    ['a key without a value', 'luma', /luma must be one of white-visible \| white-transparent/],
    ['an empty value', 'alpha-mov=', /alpha-mov must be one of kept \| lost/],
    ['two equals signs', 'luma=white-visible=1', /luma must be one of/],
    ['a value in another case', 'luma=White-Visible', /luma must be one of/],
    ['a key given twice', 'scale=fit,luma=white-visible,scale=fit', /scale is given twice/],
  ];
  for (const [label, list, message] of refused) {
    it(`refuses ${label} with a ReadingsSyntaxError naming the fix`, () => {
      expect(() => parseReadingsList(list)).toThrow(ReadingsSyntaxError);
      expect(() => parseReadingsList(list)).toThrow(message);
    });
  }
});

describe('readingsFromList, missingReadings, formatReadings', () => {
  it('fills unnamed readings from DEFAULT_READINGS', () => {
    expect(readingsFromList(undefined)).toEqual(DEFAULT_READINGS);
    expect(readingsFromList('alpha-mov=lost')).toEqual({ ...DEFAULT_READINGS, alphaMov: 'lost' });
  });

  it('lists the keys a partial list leaves out', () => {
    expect(missingReadings(parseReadingsList('scale=height,luma=white-visible'))).toEqual(['luma-geometry', 'alpha-webm', 'alpha-mov']);
    expect(missingReadings(DEFAULT_READINGS)).toEqual([]);
  });

  it('formats every reading in key order, and the list parses back to the same readings', () => {
    expect(formatReadings(DEFAULT_READINGS)).toBe('luma=white-visible,luma-geometry=clip,scale=fit,alpha-webm=kept,alpha-mov=kept');
    const others: RendererReadings = { luma: 'white-transparent', lumaGeometry: 'viewport', scale: 'height', alphaWebm: 'lost', alphaMov: 'lost' };
    for (const r of [DEFAULT_READINGS, others]) {
      const list = formatReadings(r);
      expect(list.split(',').map((item) => item.split('=')[0])).toEqual(READING_KEYS);
      expect(parseReadingsList(list)).toEqual(r);
    }
  });
});

describe('the readings variables (shotstack/config.ts)', () => {
  const parse = (env: Record<string, string>) => loadShotstackConfig.parse(env);

  it('SHOTSTACK_READINGS must name every reading; the error names the variable and what is missing', () => {
    expect(() => parse({ SHOTSTACK_READINGS: 'luma=white-visible' })).toThrow(
      /SHOTSTACK_READINGS: must name every reading .*missing luma-geometry, scale, alpha-webm, alpha-mov/,
    );
    const full = formatReadings({ ...DEFAULT_READINGS, luma: 'white-transparent' });
    expect(parse({ SHOTSTACK_READINGS: full }).SHOTSTACK_READINGS).toBe(full);
  });

  it('SHOTSTACK_LOCAL_EMULATE may name some readings; a bad value is refused naming the variable once', () => {
    expect(parse({ SHOTSTACK_LOCAL_EMULATE: 'scale=width' }).SHOTSTACK_LOCAL_EMULATE).toBe('scale=width');
    expect(() => parse({ SHOTSTACK_LOCAL_EMULATE: 'scale=diagonal' })).toThrow(/^Invalid configuration \(shotstack\): SHOTSTACK_LOCAL_EMULATE: scale must be/);
  });

  it('the retired SHOTSTACK_LUMA_POLARITY stops the process, pointing at SHOTSTACK_READINGS', () => {
    expect(() => parse({ SHOTSTACK_LUMA_POLARITY: 'white-visible' })).toThrow(/SHOTSTACK_LUMA_POLARITY: is retired.*SHOTSTACK_READINGS/);
  });
});
