// How the bench shows a ratio against its target (bench/run.mjs, bench/standalone.mjs).

/**
 * `x` with 2 decimals, or with up to 4 when 2 would round it onto its target: a ratio of 0.997
 * against ">= 1x" shows as 0.997, not as a "1.00x" marked NOT met.
 */
export function formatRatio(x, target) {
  let digits = 2;
  while (target != null && digits < 4 && x !== target && Number(x.toFixed(digits)) === target) digits++;
  return x.toFixed(digits);
}
