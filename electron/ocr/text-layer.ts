// The text layer as the services use it: an image's text, read once per content (a
// screenshot read when it was taken is not read again when it is sent), bounded in time,
// and never an exception: a reading that fails or is too slow is a ScreenText that says so.
import { createHash } from 'node:crypto'
import type { OcrResult, ScreenText, ScreenTextMode } from './types.js'

/** What reads an image: the text layer's own process in the app, anything with the same shape in tests. */
export interface TextReader {
  read(bytes: Uint8Array, signal?: AbortSignal): Promise<OcrResult>
  /** The recogniser changed (another language): load it for the next read. */
  reload?(): void
  close(): Promise<void>
}

export interface ReadTextOptions {
  signal?: AbortSignal
  /** How long this caller waits; the reading goes on for other callers still waiting. */
  timeoutMs?: number
}

export interface TextLayer {
  read(bytes: Uint8Array, options?: ReadTextOptions): Promise<ScreenText>
  /** Another language was chosen: readings made so far are forgotten and the recogniser is loaded again. */
  reload(): void
  /** How many times the layer was reloaded: a reading that failed under an earlier recogniser may succeed now. */
  generation?(): number
  close(): Promise<void>
}

/** The text layer as a service uses it: the reader and the mode the user chose in Settings. */
export interface TextLayerUse {
  layer: TextLayer
  mode(): ScreenTextMode
}

export interface TextLayerOptions {
  /** Default wait for one image. */
  timeoutMs?: number
  /** Readings kept in memory, by content hash. */
  cacheEntries?: number
}

/** Lines the recogniser is less sure of than this are not given as text: a script the language
 *  does not cover comes out as confident-looking nonsense otherwise. */
export const UNSURE_BELOW = 0.6
export const DEFAULT_TEXT_TIMEOUT_MS = 15_000

interface Entry {
  reading: Promise<OcrResult>
  controller: AbortController
  waiting: number
  settled: boolean
}

export function createTextLayer(reader: TextReader, options: TextLayerOptions = {}): TextLayer {
  const cacheEntries = options.cacheEntries ?? 64
  const entries = new Map<string, Entry>()
  let generation = 0

  function entryFor(bytes: Uint8Array): Entry {
    const key = createHash('sha256').update(bytes).digest('hex')
    const found = entries.get(key)
    // A reading everyone gave up on is stopping: a new caller starts a fresh one.
    if (found && !found.controller.signal.aborted) {
      // Most recently used last, so the oldest goes first.
      entries.delete(key)
      entries.set(key, found)
      return found
    }
    const controller = new AbortController()
    const entry: Entry = { reading: reader.read(bytes, controller.signal), controller, waiting: 0, settled: false }
    entry.reading.then(
      () => void (entry.settled = true),
      // A failed reading is not kept: the next caller tries again.
      () => {
        entry.settled = true
        if (entries.get(key) === entry) entries.delete(key)
      },
    )
    entries.set(key, entry)
    while (entries.size > cacheEntries) entries.delete(entries.keys().next().value!)
    return entry
  }

  return {
    async read(bytes, { signal, timeoutMs = options.timeoutMs ?? DEFAULT_TEXT_TIMEOUT_MS } = {}) {
      if (signal?.aborted) return { status: 'failed', reason: 'Stopped before the text was read.' }
      const entry = entryFor(bytes)
      entry.waiting++
      let timer: NodeJS.Timeout | undefined
      let onAbort: (() => void) | undefined
      const gaveUp = new Promise<ScreenText>((resolve) => {
        timer = setTimeout(
          () =>
            resolve({
              status: 'failed',
              reason: `The text was not read in time (${timeoutMs < 1000 ? `${timeoutMs} ms` : `${Math.round(timeoutMs / 1000)} s`}).`,
            }),
          timeoutMs,
        )
        onAbort = () => resolve({ status: 'failed', reason: 'Stopped before the text was read.' })
        signal?.addEventListener('abort', onAbort, { once: true })
      })
      try {
        return await Promise.race([
          entry.reading.then(screenTextOf, (error: unknown) => ({
            status: 'failed' as const,
            reason: `The text could not be read: ${error instanceof Error ? error.message : String(error)}`,
          })),
          gaveUp,
        ])
      } finally {
        clearTimeout(timer)
        if (onAbort) signal?.removeEventListener('abort', onAbort)
        // The last caller to give up stops the reading: nobody is left to use it.
        if (--entry.waiting === 0 && !entry.settled) entry.controller.abort()
      }
    },
    reload() {
      // Kept readings were made in the other language; a reading still running finishes for whoever waits on it.
      entries.clear()
      generation++
      reader.reload?.()
    },
    generation: () => generation,
    close: () => reader.close(),
  }
}

/** The reading as it is kept with an image: confident lines only, regions apart by a blank line. */
export function screenTextOf(result: OcrResult): ScreenText {
  let unsure = 0
  let confidence = 0
  let lines = 0
  const blocks: string[] = []
  for (const block of result.blocks) {
    const kept: string[] = []
    for (const line of block.lines) {
      if (line.confidence < UNSURE_BELOW || !line.text.trim()) {
        unsure++
        continue
      }
      kept.push(line.text)
      confidence += line.confidence
      lines++
    }
    if (kept.length) blocks.push(kept.join('\n'))
  }
  if (!lines) return { status: 'none', unsure, ms: Math.round(result.ms) }
  return {
    status: 'read',
    text: blocks.join('\n\n'),
    lines,
    confidence: Math.round((confidence / lines) * 1000) / 1000,
    unsure,
    language: result.language,
    ms: Math.round(result.ms),
  }
}
