import { median } from './report.js';

/** What an interleaved A/B run concludes from its per-round ratios (candidate tps / baseline tps). */
export interface AbSummary {
  rounds: number;
  mean: number;
  median: number;
  /** Rounds in which the candidate was faster, and slower (equal rounds count as neither). */
  faster: number;
  slower: number;
  /**
   * Two-sided sign test: the chance of a split at least this uneven if neither tree were faster.
   * It assumes nothing about the size of the noise, which on a shared machine is not normal.
   */
  pValue: number;
}

/** P(X ≤ k) for X ~ Binomial(n, 1/2). */
function binomialHalfCdf(k: number, n: number): number {
  let term = 0.5 ** n;
  let sum = term;
  for (let i = 1; i <= k; i++) {
    term = (term * (n - i + 1)) / i;
    sum += term;
  }
  return sum;
}

export function signTestPValue(faster: number, slower: number): number {
  const n = faster + slower;
  if (n === 0) return 1;
  return Math.min(1, 2 * binomialHalfCdf(Math.min(faster, slower), n));
}

export function summarizeAb(ratios: readonly number[]): AbSummary {
  const faster = ratios.filter((r) => r > 1).length;
  const slower = ratios.filter((r) => r < 1).length;
  return {
    rounds: ratios.length,
    mean: ratios.length > 0 ? ratios.reduce((a, b) => a + b, 0) / ratios.length : Number.NaN,
    median: median([...ratios]),
    faster,
    slower,
    pValue: signTestPValue(faster, slower),
  };
}

/**
 * `title` names the ratio; above 1 the candidate is `better` (faster, by default), below it
 * `worse`.
 */
export function renderAbSummary(
  s: AbSummary,
  title = 'candidate / baseline',
  better = 'faster',
  worse = 'slower',
): string {
  const verdict =
    s.pValue <= 0.05
      ? `the candidate is ${s.faster > s.slower ? better : worse}`
      : 'no difference this run can tell from noise';
  return [
    `${title}: median ${s.median.toFixed(3)} ×, mean ${s.mean.toFixed(3)} ×`,
    `candidate ${better} in ${s.faster} of ${s.rounds} rounds, ${worse} in ${s.slower} (sign test p = ${s.pValue.toFixed(3)}): ${verdict}`,
  ].join('\n');
}
