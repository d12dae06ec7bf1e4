import { describe, expect, it } from 'vitest';
import { saslprep, scramPassword } from './saslprep.js';

describe('saslprep', () => {
  // RFC 4013 §3, "Examples".
  it.each<[string, string | null, string]>([
    ['I\u00ADX', 'IX', 'SOFT HYPHEN mapped to nothing'],
    ['user', 'user', 'no transformation'],
    ['USER', 'USER', 'case preserved, will not match #2'],
    ['\u00AA', 'a', 'output is NFKC, input in ISO 8859-1'],
    ['\u2168', 'IX', 'output is NFKC, will match #1'],
    ['\u0007', null, 'Error - prohibited character'],
    ['\u0627\u0031', null, 'Error - bidirectional check'],
  ])('RFC 4013 example %j → %j (%s)', (input, output) => {
    expect(saslprep(input)).toBe(output);
  });

  it('maps non-ASCII spaces to SPACE, removes zero-width characters and normalises with NFKC', () => {
    expect(saslprep('pässwörd\u00A0ℌ')).toBe('pässwörd H');
    expect(saslprep('a\u2003b\u3000c')).toBe('a b c');
    expect(saslprep('a\u200Bb')).toBe('a b'); // ZERO WIDTH SPACE is in C.1.2, which wins over B.1
    expect(saslprep('a\uFEFFb\u200Dc\uFE0F')).toBe('abc');
    // Decomposed input is composed: both spellings of "ä" give one key.
    expect(saslprep('a\u0308')).toBe('ä');
    expect(saslprep('ﬁ')).toBe('fi');
  });

  it('rejects prohibited output, characters unassigned in Unicode 3.2, an empty result and bad bidi', () => {
    expect(saslprep('pä\u0085ss')).toBeNull(); // C.2.2 control
    expect(saslprep('pä\uE000')).toBeNull(); // C.3 private use
    expect(saslprep('pä\uFFFF')).toBeNull(); // C.4 non-character
    expect(saslprep('pä\u2FF0')).toBeNull(); // C.7
    expect(saslprep('pä\u200E')).toBeNull(); // C.8 LEFT-TO-RIGHT MARK
    expect(saslprep('pä\u{E0041}')).toBeNull(); // C.9 tag
    expect(saslprep('pä😀')).toBeNull(); // U+1F600 came with Unicode 6.1: A.1
    expect(saslprep('pä\uD800')).toBeNull(); // a lone surrogate is not valid UTF-8
    expect(saslprep('\u00AD\u200D')).toBeNull();
    // R/AL characters: allowed alone, first and last; never mixed with L characters.
    expect(saslprep('\u0627\u0628')).toBe('\u0627\u0628');
    expect(saslprep('\u0627 1 \u0628')).toBe('\u0627 1 \u0628');
    expect(saslprep('\u0627a\u0628')).toBeNull();
    expect(saslprep('1\u0627')).toBeNull();
  });
});

describe('scramPassword (PostgreSQL: SASLprep, or the raw password when SASLprep rejects it)', () => {
  it('keeps ASCII as it is, controls included', () => {
    expect(scramPassword('Auth-Upstream-Pw-93be')).toBe('Auth-Upstream-Pw-93be');
    expect(scramPassword('a\u0007b')).toBe('a\u0007b');
  });
  it('uses the SASLprep form when there is one', () => {
    expect(scramPassword('pässwörd\u00A0ℌ')).toBe('pässwörd H');
  });
  it('falls back to the raw password, unmapped, when SASLprep rejects it', () => {
    expect(scramPassword('pässwörd\u00A0😀')).toBe('pässwörd\u00A0😀');
    expect(scramPassword('كلمة\u00A0abc')).toBe('كلمة\u00A0abc');
  });
});
