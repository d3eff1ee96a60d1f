// While a slot decodes, llama-server lets a worker thread answer metrics and slot queries
// (yield_to_queue). It used to wake that worker for every decode, only for it to decline the
// task the loop posts itself before each one, so every generated token cost two thread
// wake-ups; patch 0021 wakes it only for a task it may take. Both halves are checked here:
// a query during one long decode is still answered during it, and generating tokens blocks
// no thread once per token.
import { readdir, readFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startLlamaServer, type LlamaServer } from '../../bench/llama-server.js'
import { findServerBinary } from '../../electron/engine/server-binary.js'
import { ensureFixtures } from '../fixtures/generate.js'
import { fillerText } from '../support/filler.js'

const binary = await findServerBinary()
if (!binary.found) console.warn(`[llama-server yield] skipping: ${binary.reason}`)
const procTasks = process.platform === 'linux'
if (!procTasks) console.warn('[llama-server yield] thread blocking not checked: it reads /proc/<pid>/task, which only Linux has')

/** Each thread's count of voluntary context switches: how often it blocked. */
async function blockedCounts(pid: number): Promise<Map<string, number>> {
  const counts = new Map<string, number>()
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    const status = await readFile(`/proc/${pid}/task/${tid}/status`, 'utf8').catch(() => '')
    const match = /^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)
    if (match) counts.set(tid, Number(match[1]))
  }
  return counts
}

describe.skipIf(!binary.found)('llama-server: the decode yields to a worker only for tasks it may take (patch 0021)', () => {
  let server: LlamaServer
  beforeAll(async () => {
    const fx = await ensureFixtures()
    server = await startLlamaServer({
      binary: (binary as { path: string }).path,
      model: fx.textModel,
      threads: 1,
      contextSize: 4096,
      // The whole prompt in one batch: one decode long enough to ask during it.
      extraArgs: ['-b', '4096', '-ub', '4096', '--no-kv-unified'],
    })
  })
  afterAll(async () => {
    await server?.stop()
  })

  it('answers /slots during one long decode, not after it', async () => {
    const started = performance.now()
    let answered = false
    const completion = fetch(`${server.url}/completion`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: fillerText(900), n_predict: 1, cache_prompt: false }),
    }).then(async (res) => {
      const body = (await res.json()) as { timings?: { prompt_n: number; prompt_ms: number } }
      answered = true
      return body
    })
    // Asked over and over while the prompt decodes: each answer's wait, when the slot was busy.
    const waits: number[] = []
    while (!answered && performance.now() - started < 60_000) {
      const asked = performance.now()
      const slots = (await (await fetch(`${server.url}/slots`)).json()) as { is_processing: boolean }[]
      if (slots[0]?.is_processing && !answered) waits.push(performance.now() - asked)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    const { timings } = await completion
    expect(timings?.prompt_n).toBeGreaterThan(2000)
    // The test needs a decode long enough to ask during it; on this machine it takes ~350 ms.
    expect(timings!.prompt_ms).toBeGreaterThan(100)
    // Answered by the worker, a query waits a few milliseconds; left for the loop, it waits
    // for the decode to end, and the slot is seen busy once or twice at most.
    const sorted = [...waits].sort((a, b) => a - b)
    expect(waits.length, `waits while busy: ${waits.map(Math.round).join(', ')}`).toBeGreaterThanOrEqual(5)
    expect(sorted[sorted.length >> 1]!).toBeLessThan(timings!.prompt_ms / 4)
  }, 120_000)

  it.skipIf(!procTasks)(
    'blocks no thread once per generated token',
    async () => {
      const pid = server.process.pid!
      const generate = (n: number) =>
        fetch(`${server.url}/completion`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ prompt: fillerText(5), n_predict: n, ignore_eos: true, temperature: 0, cache_prompt: false }),
        }).then(async (res) => (await res.json()) as { tokens_predicted?: number })
      await generate(8)
      const before = await blockedCounts(pid)
      const { tokens_predicted: tokens } = await generate(400)
      const after = await blockedCounts(pid)
      expect(tokens).toBe(400)
      const perToken = [...after].map(([tid, count]) => ({ tid, blocks: count - (before.get(tid) ?? 0) }))
      // Before 0021 the worker blocked at least once per token (woken, then waiting again), and
      // the decoding thread often waited for it. Not streamed, nobody waits for each token now.
      const blocking = perToken.filter((t) => t.blocks >= tokens! / 2)
      expect(blocking, JSON.stringify(perToken)).toEqual([])
    },
    120_000,
  )
})
