// The text layer's process as main runs it: real reads off the main process, a stop that takes
// effect, a process that dies replaced by the next read, and nothing left running on close.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import sharp from 'sharp'
import { createProcessReader, OcrAbortError } from '../../electron/ocr/process-reader.js'
import { nodeOcrSpawner } from '../../electron/ocr/spawn-node.js'
import { fileURLToPath } from 'node:url'
import type { TextReader } from '../../electron/ocr/text-layer.js'
import { ocrText } from '../../electron/ocr/types.js'
import { textPng } from '../support/images.js'

let reader: TextReader
beforeAll(() => {
  reader = createProcessReader(nodeOcrSpawner())
})
afterAll(async () => reader?.close())

describe('text layer process', () => {
  it('reads text in its own process', async () => {
    const result = await reader.read(await textPng('Quarterly report saved\nOpen folder'))
    const text = ocrText(result)
    expect(text).toMatch(/Quarterly report saved/)
    expect(text).toMatch(/Open folder/)
    expect(result.blocks.flatMap((b) => b.lines).every((l) => l.confidence > 0.5)).toBe(true)
  }, 30_000)

  it('stops a read when asked, and reads the next one', async () => {
    const big = await sharp({ create: { width: 3840, height: 2160, channels: 3, background: '#ffffff' } })
      .composite([{ input: Buffer.from(await textPng('Line one of many\nLine two of many')), top: 900, left: 1500 }])
      .png()
      .toBuffer()
    const stop = new AbortController()
    const reading = reader.read(new Uint8Array(big), stop.signal)
    setTimeout(() => stop.abort(), 30)
    const started = performance.now()
    await expect(reading).rejects.toBeInstanceOf(OcrAbortError)
    expect(performance.now() - started).toBeLessThan(3000)
    expect(ocrText(await reader.read(await textPng('After the stop')))).toMatch(/After the stop/)
  }, 30_000)

  it('a stop before its turn leaves the queue without reading', async () => {
    const stop = new AbortController()
    const first = reader.read(await textPng('First in line'))
    const second = reader.read(await textPng('Second in line'), stop.signal)
    stop.abort()
    await expect(second).rejects.toBeInstanceOf(OcrAbortError)
    expect(ocrText(await first)).toMatch(/First in line/)
  }, 30_000)

  it('says so when its worker dies, and refuses reads once closed', async () => {
    const dying = createProcessReader(nodeOcrSpawner({ host: fileURLToPath(new URL('./fixtures/dying-host.mjs', import.meta.url)) }))
    await expect(dying.read(new Uint8Array([1]))).rejects.toThrow('The text layer stopped: its process exited (code 3).')
    // A new process for the next read: it dies the same way, but it was started.
    await expect(dying.read(new Uint8Array([2]))).rejects.toThrow(/process exited/)
    await dying.close()
    await expect(dying.read(new Uint8Array([3]))).rejects.toThrow('The text layer is closed.')
  })
})
