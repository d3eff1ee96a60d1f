// Tokens merged per frame: the first at once, none lost or reordered, the final chunk and a
// failure after some tokens kept in order, and a consumer that stops early stops the source.
import { describe, expect, it } from 'vitest'
import { framed } from '../../electron/engine/frames.js'
import type { GenerateChunk } from '../../electron/ipc/contract.js'

const stats = {
  tokensIn: 1,
  tokensOut: 3,
  imageTokens: 0,
  timeToFirstTokenMs: 1,
  tokensPerSecond: 1,
  totalMs: 1,
  stopReason: 'eos' as const,
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function* tokens(n: number, gapMs: number, end: 'done' | 'fail' = 'done'): AsyncGenerator<GenerateChunk> {
  for (let i = 0; i < n; i++) {
    yield { kind: 'tokens', text: `t${i} `, count: 1 }
    if (gapMs) await sleep(gapMs)
  }
  if (end === 'fail') throw new Error('the connection broke')
  yield { kind: 'done', stats }
}

async function all(stream: AsyncIterable<GenerateChunk>): Promise<{ chunks: GenerateChunk[]; error: unknown }> {
  const chunks: GenerateChunk[] = []
  try {
    for await (const c of stream) chunks.push(c)
    return { chunks, error: null }
  } catch (error) {
    return { chunks, error }
  }
}

const text = (chunks: GenerateChunk[]) => chunks.flatMap((c) => (c.kind === 'tokens' ? [c.text] : [])).join('')
const count = (chunks: GenerateChunk[]) => chunks.reduce((n, c) => n + (c.kind === 'tokens' ? c.count : 0), 0)

describe('framed', () => {
  it('merges a fast stream into few chunks, first token alone, nothing lost, done last', async () => {
    const { chunks } = await all(framed(tokens(500, 0)))
    expect(text(chunks)).toBe(Array.from({ length: 500 }, (_, i) => `t${i} `).join(''))
    expect(count(chunks)).toBe(500)
    expect(chunks[0]).toEqual({ kind: 'tokens', text: 't0 ', count: 1 })
    expect(chunks.length).toBeLessThan(20)
    expect(chunks.at(-1)).toEqual({ kind: 'done', stats })
  })

  it('passes a slow stream through token by token', async () => {
    const { chunks } = await all(framed(tokens(5, 30)))
    expect(chunks.filter((c) => c.kind === 'tokens')).toHaveLength(5)
  })

  it('gives the tokens before a failure, then the failure', async () => {
    const { chunks, error } = await all(framed(tokens(50, 0, 'fail')))
    expect(count(chunks)).toBe(50)
    expect((error as Error).message).toBe('the connection broke')
  })

  it('stops the source when the consumer stops', async () => {
    let finished = false
    async function* endless(): AsyncGenerator<GenerateChunk> {
      try {
        for (;;) {
          yield { kind: 'tokens', text: 'x', count: 1 }
          await sleep(1)
        }
      } finally {
        finished = true
      }
    }
    for await (const c of framed(endless())) if (c.kind === 'tokens') break
    expect(finished).toBe(true)
  })
})
