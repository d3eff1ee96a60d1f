import { describe, expect, it } from 'vitest'
import { GenerationScheduler, type Generator } from '../../electron/engine/scheduler.js'
import type { GenerateChunk } from '../../electron/ipc/contract.js'

/** An engine whose generations finish when the test says so, logging their order. */
function fakeEngine() {
  const started: string[] = []
  const finishers = new Map<string, () => void>()
  const engine: Generator = {
    async *generate(request): AsyncGenerator<GenerateChunk> {
      const name = request.messages[0]!.text
      started.push(name)
      await new Promise<void>((resolve) => finishers.set(name, resolve))
      yield { kind: 'tokens', text: name, count: 1 }
    },
  }
  return { engine, started, finish: (name: string) => finishers.get(name)?.() }
}

const ask = (text: string) => ({ messages: [{ role: 'user' as const, text }] })
const drain = async (stream: AsyncIterable<GenerateChunk>): Promise<string> => {
  let text = ''
  for await (const c of stream) if (c.kind === 'tokens') text += c.text
  return text
}
const tick = () => new Promise((r) => setTimeout(r, 5))

describe('generation scheduler', () => {
  it('runs one generation at a time and puts the window ahead of waiting API requests', async () => {
    const { engine, started, finish } = fakeEngine()
    const scheduler = new GenerationScheduler(engine)
    const results = [
      drain(scheduler.generate('api', ask('api-1'))),
      drain(scheduler.generate('api', ask('api-2'))),
      drain(scheduler.generate('api', ask('api-3'))),
    ]
    await tick()
    results.push(drain(scheduler.generate('ui', ask('ui-1'))))
    await tick()
    results.push(drain(scheduler.generate('ui', ask('ui-2'))))
    await tick()
    expect(started).toEqual(['api-1'])
    for (const name of ['api-1', 'ui-1', 'ui-2', 'api-2', 'api-3']) {
      await tick()
      finish(name)
    }
    expect(await Promise.all(results)).toEqual(['api-1', 'api-2', 'api-3', 'ui-1', 'ui-2'])
    expect(started).toEqual(['api-1', 'ui-1', 'ui-2', 'api-2', 'api-3'])
  })

  it('refuses API requests beyond the queue limit, never the window', async () => {
    const { engine, finish } = fakeEngine()
    const scheduler = new GenerationScheduler(engine, 2)
    const running = drain(scheduler.generate('api', ask('a')))
    const waiting = [drain(scheduler.generate('api', ask('b'))), drain(scheduler.generate('api', ask('c')))]
    await tick()
    await expect(drain(scheduler.generate('api', ask('d')))).rejects.toMatchObject({
      code: 'busy',
      message: expect.stringContaining('2 requests are already waiting'),
    })
    const ui = drain(scheduler.generate('ui', ask('ui')))
    for (const name of ['a', 'ui', 'b', 'c']) {
      await tick()
      finish(name)
    }
    await Promise.all([running, ui, ...waiting])
  })

  it('drops a request cancelled while it waits', async () => {
    const { engine, started, finish } = fakeEngine()
    const scheduler = new GenerationScheduler(engine)
    const first = drain(scheduler.generate('api', ask('first')))
    const controller = new AbortController()
    const cancelled = drain(scheduler.generate('api', ask('cancelled'), controller.signal))
    await tick()
    controller.abort()
    await expect(cancelled).rejects.toMatchObject({ code: 'busy' })
    expect(scheduler.queued()).toBe(0)
    finish('first')
    await first
    const after = drain(scheduler.generate('api', ask('after')))
    await tick()
    finish('after')
    expect(await after).toBe('after')
    expect(started).toEqual(['first', 'after'])
  })
})
