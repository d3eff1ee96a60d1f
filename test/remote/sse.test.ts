import { describe, expect, it } from 'vitest'
import { readSse, SseError, type SseEvent } from '../../electron/remote/sse.js'

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)
async function* chunks(...parts: (string | Uint8Array)[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield typeof p === 'string' ? bytes(p) : p
}
async function all(source: AsyncIterable<Uint8Array>, max?: number): Promise<SseEvent[]> {
  const out: SseEvent[] = []
  for await (const e of readSse(source, max)) out.push(e)
  return out
}

describe('readSse', () => {
  it('reads events split anywhere, with LF, CRLF and CR line endings, comments and named events', async () => {
    const events = await all(chunks('data: {"a"', ':1}\n\n: ping\n\nevent: x\r', '\ndata: one\r\ndata:two\r\n\r', '\ndata: three\r\r'))
    expect(events).toEqual([
      { event: 'message', data: '{"a":1}' },
      { event: 'x', data: 'one\ntwo' },
      { event: 'message', data: 'three' },
    ])
  })

  it('keeps multi-byte characters split across chunks intact', async () => {
    const all8 = bytes('data: é€😀\n\n')
    const parts = [...all8].map((b) => new Uint8Array([b]))
    expect(await all(chunks(...parts))).toEqual([{ event: 'message', data: 'é€😀' }])
  })

  it('ends with an error on a line longer than the limit, without waiting for its end', async () => {
    let sent = 0
    async function* endless(): AsyncGenerator<Uint8Array> {
      const block = new Uint8Array(64 * 1024).fill(0x61)
      yield bytes('data: ')
      for (;;) {
        sent += block.byteLength
        yield block
      }
    }
    const error = await all(endless()).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SseError)
    expect((error as SseError).kind).toBe('too-large')
    expect((error as SseError).message).toMatch(/line longer than 1 MiB/)
    expect(sent).toBeLessThanOrEqual(1024 * 1024 + 64 * 1024)
  })

  it('ends with an error on an event whose data lines add up past the limit', async () => {
    const line = `data: ${'b'.repeat(1000)}\n`
    const error = await all(chunks(line.repeat(20)), 16 * 1024).catch((e: unknown) => e)
    expect((error as SseError).message).toMatch(/event larger than/)
  })

  it('calls a stream cut in the middle of an event malformed', async () => {
    const error = await all(chunks('data: {"a":1}\n\ndata: {"b"')).catch((e: unknown) => e)
    expect((error as SseError).kind).toBe('malformed')
  })
})
