import { describe, expect, it } from 'vitest';
import { RepeatedText } from './repeated-text.js';

function counting() {
  let decodes = 0;
  const cache = new RepeatedText((buf, start, end) => {
    decodes++;
    return buf.toString('utf8', start, end);
  });
  return { cache, decodes: () => decodes };
}

describe('RepeatedText', () => {
  it('decodes again only when the bytes change, wherever they lie in the buffer', () => {
    const { cache, decodes } = counting();
    const a = cache.get(Buffer.from('xxselect 1yy'), 2, 10);
    const b = cache.get(Buffer.from('select 1'), 0, 8);
    expect(a).toBe('select 1');
    expect(b).toBe(a);
    expect(decodes()).toBe(1);
    expect(cache.get(Buffer.from('select 2'), 0, 8)).toBe('select 2');
    expect(cache.get(Buffer.from('select 1'), 0, 8)).toBe('select 1');
    expect(cache.get(Buffer.from('select 10'), 0, 9)).toBe('select 10');
    expect(cache.get(Buffer.from('select 10'), 0, 8)).toBe('select 1');
    expect(decodes()).toBe(5);
  });

  it('does not see a change made to the buffer it was given', () => {
    const { cache } = counting();
    const buf = Buffer.from('select 1');
    expect(cache.get(buf, 0, 8)).toBe('select 1');
    buf.write('select 2');
    expect(cache.get(buf, 0, 8)).toBe('select 2');
  });

  it('compares long bodies too, and keeps none above 4 KiB', () => {
    const { cache, decodes } = counting();
    const long = `select '${'a'.repeat(1000)}'`;
    const longer = `${long}b`;
    expect(cache.get(Buffer.from(long), 0, long.length)).toBe(long);
    expect(cache.get(Buffer.from(long), 0, long.length)).toBe(long);
    expect(cache.get(Buffer.from(longer), 0, longer.length)).toBe(longer);
    expect(decodes()).toBe(2);
    const huge = 'x'.repeat(5000);
    cache.get(Buffer.from(huge), 0, huge.length);
    cache.get(Buffer.from(huge), 0, huge.length);
    expect(decodes()).toBe(4);
  });

  it('tells an empty body from none', () => {
    const { cache, decodes } = counting();
    expect(cache.get(Buffer.from('ab'), 1, 1)).toBe('');
    expect(cache.get(Buffer.from('cd'), 0, 0)).toBe('');
    expect(decodes()).toBe(1);
  });
});

describe('RepeatedText with bodies that keep changing', () => {
  it('stops comparing after a run of misses, and finds a repeat again later', () => {
    const { cache, decodes } = counting();
    const get = (s: string) => cache.get(Buffer.from(s), 0, s.length);
    for (let i = 0; i < 8; i++) expect(get(`select ${i}`)).toBe(`select ${i}`);
    expect(decodes()).toBe(8);
    // Resting: the same body again is decoded again (no comparison is made).
    for (let i = 0; i < 64; i++) expect(get('select 7')).toBe('select 7');
    expect(decodes()).toBe(72);
    // The next try compares with the body kept before the rest, finds it, and caching resumes.
    expect(get('select 7')).toBe('select 7');
    expect(get('select 7')).toBe('select 7');
    expect(decodes()).toBe(72);
  });

  it('rests again after a single miss following a rest', () => {
    const { cache, decodes } = counting();
    const get = (s: string) => cache.get(Buffer.from(s), 0, s.length);
    for (let i = 0; i < 8 + 64 + 1; i++) get(`select ${i}`);
    expect(decodes()).toBe(73);
    get('select 72');
    expect(decodes()).toBe(74); // resting, so decoded although it repeats
  });
});
