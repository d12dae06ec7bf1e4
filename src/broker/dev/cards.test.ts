import { describe, expect, it } from 'vitest';
import { DEMO_CARDS, luhnValid } from './cards.js';

describe('demo card numbers', () => {
  it('are all Luhn-valid', () => {
    for (const c of DEMO_CARDS) expect(luhnValid(c.pan), c.pan).toBe(true);
  });

  it('cover the brands and lengths masking must handle', () => {
    const lengths = new Set(DEMO_CARDS.map((c) => c.pan.length));
    expect([...lengths].sort((a, b) => a - b)).toEqual([13, 14, 15, 16, 19]);
    const brands = new Set(DEMO_CARDS.map((c) => c.brand));
    expect([...brands].sort()).toEqual(['amex', 'diners', 'discover', 'jcb', 'mastercard', 'visa']);
    // Mastercard 51–55 and the 2-series.
    const mc = DEMO_CARDS.filter((c) => c.brand === 'mastercard').map((c) => c.pan.slice(0, 2));
    expect(new Set(mc)).toEqual(new Set(['51', '52', '53', '54', '55', '22', '27']));
  });

  it('rejects numbers that fail the check', () => {
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(luhnValid('6011000000000000004')).toBe(false);
    expect(luhnValid('4111')).toBe(false);
  });
});
