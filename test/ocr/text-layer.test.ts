// The text layer's contract with the services, on a stand-in reader: each content read once,
// callers bounded in time, a reading nobody waits for stopped, failures said, never thrown.
import { describe, expect, it } from 'vitest'
import { createTextLayer, screenTextOf, UNSURE_BELOW, type TextReader } from '../../electron/ocr/text-layer.js'
import type { OcrResult } from '../../electron/ocr/types.js'

const box = { x: 0, y: 0, width: 10, height: 10 }
const result = (lines: [string, number][][], ms = 5): OcrResult => ({
  width: 100,
  height: 100,
  blocks: lines.map((block) => ({ box, lines: block.map(([text, confidence]) => ({ text, confidence, box })) })),
  language: 'en',
  ms,
})

/** A reader whose readings finish when the test says so, and which records what it was asked. */
function controlledReader() {
  const calls: { bytes: Uint8Array; signal: AbortSignal | undefined; finish: (r: OcrResult) => void; fail: (e: Error) => void }[] = []
  const reader: TextReader = {
    read: (bytes, signal) =>
      new Promise<OcrResult>((resolve, reject) => {
        calls.push({ bytes, signal, finish: resolve, fail: reject })
        signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true })
      }),
    close: async () => undefined,
  }
  return { reader, calls }
}

const image = (n: number): Uint8Array => new Uint8Array([n, n + 1, n + 2])

describe('text layer', () => {
  it('reads each content once: concurrent and later callers share the reading', async () => {
    const { reader, calls } = controlledReader()
    const layer = createTextLayer(reader)
    const first = layer.read(image(1))
    const second = layer.read(new Uint8Array(image(1)))
    expect(calls).toHaveLength(1)
    calls[0]!.finish(result([[['Hello world', 0.95]]]))
    expect(await first).toMatchObject({ status: 'read', text: 'Hello world', lines: 1 })
    expect(await second).toEqual(await first)
    expect(await layer.read(image(1))).toEqual(await first)
    expect(calls).toHaveLength(1)
    void layer.read(image(2))
    expect(calls).toHaveLength(2)
  })

  it('gives up on a slow reading with a reason, and stops it when nobody else waits', async () => {
    const { reader, calls } = controlledReader()
    const layer = createTextLayer(reader, { timeoutMs: 50 })
    const started = performance.now()
    expect(await layer.read(image(3))).toEqual({ status: 'failed', reason: 'The text was not read in time (50 ms).' })
    expect(performance.now() - started).toBeLessThan(1000)
    expect(calls[0]!.signal?.aborted).toBe(true)
    // Given up on, so not kept: the next caller starts a fresh reading.
    void layer.read(image(3), { timeoutMs: 10_000 })
    expect(calls).toHaveLength(2)
  })

  it('keeps reading for a caller still waiting when another gives up', async () => {
    const { reader, calls } = controlledReader()
    const layer = createTextLayer(reader)
    const stop = new AbortController()
    const patient = layer.read(image(4))
    const hasty = layer.read(image(4), { signal: stop.signal })
    stop.abort()
    expect(await hasty).toEqual({ status: 'failed', reason: 'Stopped before the text was read.' })
    expect(calls[0]!.signal?.aborted).toBe(false)
    calls[0]!.finish(result([[['still here', 0.9]]]))
    expect(await patient).toMatchObject({ status: 'read', text: 'still here' })
  })

  it('says why a reading failed, and reads again next time', async () => {
    const { reader, calls } = controlledReader()
    const layer = createTextLayer(reader)
    const failing = layer.read(image(5))
    calls[0]!.fail(new Error('Input buffer contains unsupported image format'))
    expect(await failing).toEqual({
      status: 'failed',
      reason: 'The text could not be read: Input buffer contains unsupported image format',
    })
    void layer.read(image(5))
    expect(calls).toHaveLength(2)
  })

  it('an already stopped caller reads nothing', async () => {
    const { reader, calls } = controlledReader()
    const stop = new AbortController()
    stop.abort()
    expect(await createTextLayer(reader).read(image(6), { signal: stop.signal })).toMatchObject({ status: 'failed' })
    expect(calls).toHaveLength(0)
  })
})

describe('screenTextOf', () => {
  it('keeps confident lines, regions apart by a blank line, and counts the unsure ones', () => {
    const text = screenTextOf(
      result([
        [
          ['File Edit View', 0.99],
          ['§¤ garbled', UNSURE_BELOW - 0.1],
        ],
        [['Second window', 0.9]],
        [['   ', 0.99]],
      ]),
    )
    expect(text).toEqual({
      status: 'read',
      text: 'File Edit View\n\nSecond window',
      lines: 2,
      confidence: 0.945,
      unsure: 2,
      language: 'en',
      ms: 5,
    })
  })

  it('reports nothing legible as none, with the unsure lines counted (a script the model does not read)', () => {
    expect(screenTextOf(result([]))).toEqual({ status: 'none', unsure: 0, ms: 5 })
    expect(screenTextOf(result([[['???', 0.2]]]))).toEqual({ status: 'none', unsure: 1, ms: 5 })
  })
})
