// The text layer's process when the language changes (reload): a read in progress finishes on
// the process it started on, which then goes; the next read starts a process with the new
// recogniser; a replaced process's word on its recogniser is not taken for the new one's.
import { describe, expect, it, vi } from 'vitest'
import { createProcessReader, OcrAbortError } from '../../electron/ocr/process-reader.js'
import type { FromOcrHost, OcrProcess, ToOcrHost } from '../../electron/ocr/protocol.js'
import type { OcrResult } from '../../electron/ocr/types.js'

interface Fake extends OcrProcess {
  number: number
  sent: ToOcrHost[]
  killed: boolean
  answer(message: FromOcrHost): void
}

function fakes(): { spawned: Fake[]; spawn: () => Fake } {
  const spawned: Fake[] = []
  return {
    spawned,
    spawn() {
      const listeners: ((m: FromOcrHost) => void)[] = []
      const exits: ((code: number | null) => void)[] = []
      const fake: Fake = {
        number: spawned.length + 1,
        sent: [],
        killed: false,
        send: (m) => void fake.sent.push(m),
        onMessage: (l) => void listeners.push(l),
        onExit: (l) => void exits.push(l),
        kill() {
          if (fake.killed) return
          fake.killed = true
          for (const l of exits) l(null)
        },
        answer: (m) => listeners.forEach((l) => l(m)),
      }
      spawned.push(fake)
      return fake
    },
  }
}

const result = (language: string): OcrResult => ({ width: 1, height: 1, blocks: [], language, ms: 1 })
const bytes = new Uint8Array([1])

describe('process reader reload', () => {
  it('lets the read in progress finish on its process, then reads the next on a new one', async () => {
    const { spawned, spawn } = fakes()
    const ready: { pack: string; problem: string | null }[] = []
    const reader = createProcessReader(spawn, { onReady: (s) => void ready.push(s) })
    const first = reader.read(bytes)
    expect(spawned).toHaveLength(1)
    reader.reload!()
    expect(spawned[0]!.killed).toBe(false)
    // The old process still speaks for the recogniser it loaded: not reported as the new one.
    spawned[0]!.answer({ kind: 'ready', pack: 'builtin', problem: null })
    expect(ready).toEqual([])
    spawned[0]!.answer({ kind: 'result', id: 1, result: result('en+zh') })
    expect((await first).language).toBe('en+zh')
    expect(spawned[0]!.killed).toBe(true)

    const second = reader.read(bytes)
    expect(spawned).toHaveLength(2)
    spawned[1]!.answer({ kind: 'ready', pack: 'latin', problem: null })
    expect(ready).toEqual([{ pack: 'latin', problem: null }])
    spawned[1]!.answer({ kind: 'result', id: 2, result: result('latin') })
    expect((await second).language).toBe('latin')
    await reader.close()
  })

  it('ends an idle process at once, and a read on a replaced process that dies fails instead of hanging', async () => {
    const { spawned, spawn } = fakes()
    const reader = createProcessReader(spawn)
    const first = reader.read(bytes)
    spawned[0]!.answer({ kind: 'result', id: 1, result: result('en+zh') })
    await first
    reader.reload!()
    expect(spawned[0]!.killed).toBe(true)

    const second = reader.read(bytes)
    reader.reload!()
    spawned[1]!.kill()
    await expect(second).rejects.toThrow('The text layer stopped: its process exited (code null).')
    await reader.close()
  })

  it('reports a process that ends while loading as a load failure, not one ended by a reload or a stop', async () => {
    vi.useFakeTimers()
    try {
      const { spawned, spawn } = fakes()
      const failures: string[] = []
      const reader = createProcessReader(spawn, { onLoadFailed: (why) => void failures.push(why) })
      // A stop while it loads does not end it: it would have to load all again for the next read.
      const stop = new AbortController()
      const first = reader.read(bytes, stop.signal).catch((error: unknown) => error)
      stop.abort()
      await vi.advanceTimersByTimeAsync(5000)
      expect(spawned[0]!.killed).toBe(false)
      // Once loaded, the stop's usual grace applies.
      spawned[0]!.answer({ kind: 'ready', pack: 'builtin', problem: null })
      await vi.advanceTimersByTimeAsync(2500)
      expect(spawned[0]!.killed).toBe(true)
      expect(await first).toBeInstanceOf(OcrAbortError)
      expect(failures).toEqual([])

      // Replaced before it loaded: not a failure of its pack.
      const second = reader.read(bytes)
      reader.reload!()
      spawned[1]!.answer({ kind: 'result', id: 2, result: result('en+zh') })
      await second
      expect(spawned[1]!.killed).toBe(true)
      expect(failures).toEqual([])

      // Ended on its own before it loaded: its pack did not load.
      const third = reader.read(bytes)
      spawned[2]!.kill()
      await expect(third).rejects.toThrow(/process exited/)
      expect(failures).toEqual(['its process stopped while loading it (code null)'])
      await reader.close()
    } finally {
      vi.useRealTimers()
    }
  })
})
