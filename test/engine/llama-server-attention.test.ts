// Decoding with flash attention on the CPU goes through its row kernel: one query row against
// every cached key. Patch 0022 takes F16 K and V eight keys at a time, each block for every row
// (every head) before the next, with Q and the V sums in F32 where the per-key kernel rounded
// both to F16 (and decoded at a third to two thirds of the speed, bench:attention). Checked here
// against attention without flash attention (-fa off, F32 matrix products), the closer to
// exact: the same greedy tokens, and log-probabilities within 2e-3. Measured on the fixture at
// 1,900 cached tokens: 1e-4 with 0022, 1.3e-2 with the per-key kernel (1.6e-2 to 2.7e-2 at head
// size 64), so the check fails without the patch. One thread and two: with two, a long cache is
// split between the threads and their sums merged; a follow-up of a few tokens takes the same
// kernel for its rows. A follow-up of 8 tokens or more takes the tiled kernel, whose matrix
// products patch 0023 blocks evenly (15 rows: 5 + 5 + 5, where they went 6 + 6 + 1 + 1 + 1).
// The same again on a model with grouped-query attention, as nearly every real model has (four
// query heads per K and V head here): patch 0024 puts the rows of the query heads that share a K
// and V head in one tile, each row with its own head's Q, mask, slope and output, so the 15-token
// follow-up is one tile of 60 rows on one thread, and on two, tiles of 8 rows that cross from one
// head into the next.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startLlamaServer, type LlamaServer } from '../../bench/llama-server.js'
import { findServerBinary } from '../../electron/engine/server-binary.js'
import { ensureFixtures, ensureShapedTextModel, TEXT } from '../fixtures/generate.js'
import { fillerText } from '../support/filler.js'

const binary = await findServerBinary()
if (!binary.found) console.warn(`[llama-server attention] skipping: ${binary.reason}`)

const LONG = fillerText(600)
const TOLERANCE = 2e-3

interface Step {
  id: number
  top_logprobs: { id: number; logprob: number }[]
}

/** A greedy completion's tokens, each with its five likeliest tokens' log-probabilities. */
async function steps(server: LlamaServer, prompt: string, nPredict: number): Promise<{ steps: Step[]; cached: number; evaluated: number }> {
  const res = await fetch(`${server.url}/completion`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt, n_predict: nPredict, temperature: 0, n_probs: 5, cache_prompt: true }),
  })
  expect(res.status).toBe(200)
  const body = (await res.json()) as { completion_probabilities: Step[]; timings: { cache_n: number; prompt_n: number } }
  return { steps: body.completion_probabilities, cached: body.timings.cache_n, evaluated: body.timings.prompt_n }
}

/**
 * The largest difference between two runs' log-probabilities, token by token, over the tokens
 * both list among their five likeliest (a near tie at the fifth place may swap it for a sixth);
 * the chosen tokens must agree.
 */
function largestDifference(got: Step[], reference: Step[]): number {
  expect(got.map((s) => s.id)).toEqual(reference.map((s) => s.id))
  let largest = 0
  reference.forEach((step, i) => {
    const listed = got[i]!.top_logprobs
    const shared = step.top_logprobs.filter((top) => listed.some((t) => t.id === top.id))
    expect(shared.length).toBeGreaterThanOrEqual(4)
    for (const top of shared) largest = Math.max(largest, Math.abs(listed.find((t) => t.id === top.id)!.logprob - top.logprob))
  })
  return largest
}

const MODELS = {
  'the fixture': async () => (await ensureFixtures()).textModel,
  'a model with grouped-query attention': () => ensureShapedTextModel('gqa4', { ...TEXT, nHeadKv: 1 }),
}

describe.skipIf(!binary.found).each(Object.entries(MODELS))(
  'llama-server: flash attention reads as attention without it does, on %s (patches 0022-0024)',
  (_name, modelPath) => {
    const servers: Record<'oneThread' | 'twoThreads' | 'reference', LlamaServer | null> = {
      oneThread: null,
      twoThreads: null,
      reference: null,
    }
    beforeAll(async () => {
      const model = await modelPath()
      const start = (threads: number, fa: 'on' | 'off'): Promise<LlamaServer> =>
        startLlamaServer({
          binary: (binary as { path: string }).path,
          model,
          threads,
          contextSize: 4096,
          extraArgs: ['-fa', fa],
        })
      servers.reference = await start(1, 'off')
      servers.oneThread = await start(1, 'on')
      servers.twoThreads = await start(2, 'on')
    }, 120_000)
    afterAll(async () => {
      await Promise.all(Object.values(servers).map((s) => s?.stop()))
    })

    it('decodes over 1,900 cached tokens, and reads follow-ups over them, as -fa off does', async () => {
      const reference = await steps(servers.reference!, LONG, 16)
      // A few new tokens go through the row kernel too; a longer follow-up through the tiled kernel.
      const shortFollowUp = `${LONG} and what now`
      const longFollowUp = `${LONG} so then, tell me more of it`
      const short = await steps(servers.reference!, shortFollowUp, 4)
      const long = await steps(servers.reference!, longFollowUp, 4)
      expect(short.cached).toBeGreaterThan(1800)
      expect(short.evaluated).toBeLessThan(8)
      expect(long.cached).toBeGreaterThan(1800)
      expect(long.evaluated).toBe(15)
      for (const name of ['oneThread', 'twoThreads'] as const) {
        const server = servers[name]!
        const decoded = await steps(server, LONG, 16)
        const askedShort = await steps(server, shortFollowUp, 4)
        const askedLong = await steps(server, longFollowUp, 4)
        expect(askedShort.cached).toBeGreaterThan(1800)
        expect(askedLong.evaluated).toBe(long.evaluated)
        expect(largestDifference(decoded.steps, reference.steps), `${name}: decoding`).toBeLessThan(TOLERANCE)
        expect(largestDifference(askedShort.steps, short.steps), `${name}: the short follow-up`).toBeLessThan(TOLERANCE)
        expect(largestDifference(askedLong.steps, long.steps), `${name}: the longer follow-up`).toBeLessThan(TOLERANCE)
      }
    }, 120_000)
  },
)
