// Time to first token and tokens per second as every engine reports them in GenerationStats: the
// local engine and the remote one keep the same precision, so their answers' stats compare.

/**
 * Milliseconds from the start of a request to its first token, to 0.01 ms (bench:followup
 * compares times near 1.5 ms, where 0.1 ms steps moved a ratio by up to 0.07); null when no
 * token came.
 */
export function firstTokenMs(started: number, firstAt: number | null): number | null {
  return firstAt === null ? null : Math.round((firstAt - started) * 100) / 100
}

/**
 * Tokens per second after the first token, over the milliseconds from the first to the last, to
 * 0.1; where one token, or all of them at once, leaves no span to time, the rate the server
 * reported, if any (to 0.1 too), else null.
 */
export function tokensPerSecond(tokensOut: number, spanMs: number | null, reported?: number): number | null {
  const rate = spanMs && spanMs > 0 && tokensOut > 1 ? ((tokensOut - 1) / spanMs) * 1000 : (reported ?? null)
  return rate === null ? null : Math.round(rate * 10) / 10
}
