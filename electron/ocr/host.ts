// Entry of the text layer's process: an Electron utility process in the app, a forked Node
// process in tests. The recogniser's models load here once and every read runs here, so a
// screen being read never holds up the main process, and a native failure in onnxruntime or
// sharp ends this process only (the app starts another for the next read).
import sharp from 'sharp'
import { ScreenReader } from './reader.js'
import { BUILT_IN_PACK, notLoadedProblem } from './languages.js'
import { recogniserFromEnv, type FromOcrHost, type ToOcrHost } from './protocol.js'

interface ParentPort {
  on(event: 'message', listener: (message: { data: unknown }) => void): void
  postMessage(message: unknown): void
}

const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort
const send: (message: FromOcrHost) => void = parentPort ? (m) => parentPort.postMessage(m) : (m) => void process.send?.(m)
const onMessage = (listener: (m: ToOcrHost) => void): void => {
  if (parentPort) parentPort.on('message', (e) => listener(e.data as ToOcrHost))
  else process.on('message', (m) => listener(m as ToOcrHost))
}

// A forked host whose parent is gone (a test runner killed) leaves with it, never an orphan.
process.on('disconnect', () => process.exit(0))

// One thread for onnxruntime and one for sharp (libvips uses every core by default): the
// engine keeps the other cores for the model, which encodes the same screenshot meanwhile.
const threads = Number(process.env.OCR_THREADS ?? 1)
sharp.concurrency(threads)

/** How long the chosen pack may take to load before the built-in one reads instead: a damaged
 *  file (a truncated traineddata) can leave it loading for ever, and every reading waiting on it.
 *  About four times the French, German and Polish pack's load on a busy 2-core machine. */
const LOAD_TIMEOUT_MS = Number(process.env.OCR_LOAD_TIMEOUT_MS) || 15_000

/** `loading`, or an error once LOAD_TIMEOUT_MS have passed (a reader that loads later is closed). */
async function inTime(loading: Promise<ScreenReader>): Promise<ScreenReader> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      loading
        .then(
          (reader) => reader.close(),
          () => undefined,
        )
        .catch(() => undefined)
      const limit = LOAD_TIMEOUT_MS < 1000 ? `${LOAD_TIMEOUT_MS} ms` : `${Math.round(LOAD_TIMEOUT_MS / 1000)} s`
      reject(new Error(`it did not finish loading in ${limit}`))
    }, LOAD_TIMEOUT_MS)
  })
  try {
    return await Promise.race([loading, late])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * The chosen language pack's recogniser, or the built-in one. A pack that will not load (a
 * truncated model, a dictionary that does not match it) costs its language, not the text
 * layer: the built-in pack reads instead, and main is told why.
 */
async function openReader(): Promise<{ reader: ScreenReader; language: string | null }> {
  const recogniser = recogniserFromEnv(process.env.OCR_RECOGNISER)
  if (recogniser) {
    try {
      const reader = await inTime(
        ScreenReader.open(
          recogniser.engine === 'tesseract'
            ? { threads, tesseract: recogniser.languages }
            : { threads, recogniser: { model: recogniser.model, dictionary: recogniser.dictionary }, rtl: recogniser.rtl === true },
        ),
      )
      send({ kind: 'ready', pack: recogniser.pack, problem: null })
      return { reader, language: recogniser.language }
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error)
      const problem = notLoadedProblem(recogniser.name, recogniser.engine === 'paddle', why)
      const reader = await ScreenReader.open({ threads })
      send({ kind: 'ready', pack: BUILT_IN_PACK, problem })
      return { reader, language: null }
    }
  }
  const reader = await ScreenReader.open({ threads })
  send({ kind: 'ready', pack: BUILT_IN_PACK, problem: null })
  return { reader, language: null }
}

const opened = openReader()
const running = new Map<number, AbortController>()

onMessage((message) => {
  if (message.kind === 'cancel') {
    running.get(message.id)?.abort()
    return
  }
  const controller = new AbortController()
  running.set(message.id, controller)
  void (async () => {
    try {
      const { reader, language } = await opened
      const result = await reader.read(message.bytes, { signal: controller.signal })
      send({ kind: 'result', id: message.id, result: language ? { ...result, language } : result })
    } catch (error) {
      send({
        kind: 'error',
        id: message.id,
        message: error instanceof Error ? error.message : String(error),
        aborted: controller.signal.aborted,
      })
    } finally {
      running.delete(message.id)
    }
  })()
})
