// HEIC photos (HEVC inside a HEIF file: an iPhone's default, and what AirDrop and iCloud hand
// over) are converted once, on the way in, to a JPEG: sharp's prebuilt libvips reads HEIF only
// with AV1 inside (AVIF; HEVC is left out for its patents) and Chromium cannot show them either,
// so a stored HEIC would be a broken picture in the window and "corrupt or truncated" to the
// model. libheif compiled to WebAssembly (heic-decode) decodes them; it runs in a worker thread,
// since a 12-megapixel photo takes over a second of synchronous WebAssembly that would otherwise
// stop the main process (and with it every window) for that long.
import { Worker } from 'node:worker_threads'
import { createRequire } from 'node:module'
import sharp from 'sharp'
import { AppError } from '../ipc/errors.js'
import { MAX_INPUT_PIXELS } from './budget.js'

const DECODE_TIMEOUT_MS = 60_000

/** HEIF brands that say HEVC by themselves (ISO/IEC 23008-12); mif1 and msf1 may hold AV1 too. */
const HEVC_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx'])

/**
 * True for a HEIF file whose image is HEVC-coded, which nothing else here can decode: by its
 * major brand, so that a damaged photo is still known for one; a general HEIF brand by what
 * sharp reads of its header.
 */
export async function isHevcHeif(bytes: Uint8Array): Promise<boolean> {
  if (bytes.byteLength < 12 || Buffer.from(bytes.subarray(4, 8)).toString('latin1') !== 'ftyp') return false
  const brand = Buffer.from(bytes.subarray(8, 12)).toString('latin1')
  if (HEVC_BRANDS.has(brand)) return true
  if (brand !== 'mif1' && brand !== 'msf1') return false
  const meta = await sharp(bytes, { limitInputPixels: false })
    .metadata()
    .catch(() => null)
  return meta?.compression === 'hevc'
}

/**
 * The image as something sharp and Chromium read: a HEIC photo as a JPEG of quality 92 (the
 * quality the model's copy uses), with its rotation applied (libheif applies the file's own);
 * any other image as it is.
 */
export async function decodableImage(bytes: Uint8Array, name = 'The photo'): Promise<Uint8Array> {
  if (!(await isHevcHeif(bytes))) return bytes
  // A header sharp cannot read is left to the decoder to refuse, in its own words.
  const meta = await sharp(bytes, { limitInputPixels: false })
    .metadata()
    .catch(() => null)
  if (meta && (meta.width ?? 0) * (meta.height ?? 0) > MAX_INPUT_PIXELS) {
    throw new AppError('bad-image', `${name} is too large: ${meta.width}x${meta.height}.`)
  }
  let decoded: { width: number; height: number; data: Uint8Array }
  try {
    decoded = await decodeInWorker(bytes)
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error)
    throw new AppError('bad-image', `${name} is a HEIC photo that could not be decoded; it may be corrupt or truncated (${why}).`, {
      cause: error,
    })
  }
  const { width, height, data } = decoded
  const image = sharp(data, { raw: { width, height, channels: 4 } })
  const { isOpaque } = await image.stats()
  // A photo has no transparency; an image that has some keeps it, as a PNG.
  const out = isOpaque ? image.removeAlpha().jpeg({ quality: 92 }) : image.png()
  return new Uint8Array(await out.toBuffer())
}

// The worker's script: heic-decode resolved from here (a plain CommonJS package), requests by id,
// the pixels sent back without a copy.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads')
const decode = require(workerData.module)
parentPort.on('message', ({ id, bytes }) =>
  decode({ buffer: bytes }).then(
    (image) => parentPort.postMessage({ id, width: image.width, height: image.height, data: image.data }, [image.data.buffer]),
    (error) => parentPort.postMessage({ id, error: String((error && error.message) || error) }),
  ),
)
`
/**
 * The worker stays a while after a photo: starting it and compiling libheif takes about as long
 * as a first decode (2.8 s for 12 megapixels here, against 0.8 s for the next), and photos come
 * several at a time. Idle, it goes, with the few hundred megabytes a decode leaves it.
 */
const IDLE_MS = 30_000

type Decoded = { width: number; height: number; data: Uint8Array }
type Reply = { id: number; width: number; height: number; data: Uint8ClampedArray } | { id: number; error: string }

let decoder: { worker: Worker; waiting: Map<number, { resolve(d: Decoded): void; reject(e: Error): void }>; idle?: NodeJS.Timeout } | null =
  null
let nextId = 0

function startDecoder(): NonNullable<typeof decoder> {
  const module = createRequire(import.meta.url).resolve('heic-decode')
  const worker = new Worker(WORKER, { eval: true, workerData: { module } })
  const started: NonNullable<typeof decoder> = { worker, waiting: new Map() }
  const fail = (error: Error): void => {
    if (decoder === started) decoder = null
    clearTimeout(started.idle)
    for (const { reject } of started.waiting.values()) reject(error)
    started.waiting.clear()
  }
  worker.on('message', (m: Reply) => {
    const waiting = started.waiting.get(m.id)
    started.waiting.delete(m.id)
    if ('error' in m) waiting?.reject(new Error(m.error))
    else waiting?.resolve({ width: m.width, height: m.height, data: new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength) })
    if (started.waiting.size === 0) {
      // An idle decoder does not keep the app (or a script) running.
      worker.unref()
      started.idle = setTimeout(() => {
        if (decoder === started) decoder = null
        void worker.terminate()
      }, IDLE_MS)
      started.idle.unref()
    }
  })
  worker.on('error', fail)
  worker.on('exit', (code) => fail(new Error(`the decoder stopped (exit code ${code})`)))
  return started
}

function decodeInWorker(bytes: Uint8Array): Promise<Decoded> {
  decoder ??= startDecoder()
  const current = decoder
  clearTimeout(current.idle)
  current.worker.ref()
  const id = nextId++
  return new Promise<Decoded>((resolve, reject) => {
    // A decode that never ends (a file crafted to loop) takes the worker with it.
    const timer = setTimeout(() => {
      if (decoder === current) decoder = null
      void current.worker.terminate()
      reject(new Error(`it took longer than ${DECODE_TIMEOUT_MS / 1000} s`))
    }, DECODE_TIMEOUT_MS)
    current.waiting.set(id, {
      resolve: (d) => {
        clearTimeout(timer)
        resolve(d)
      },
      reject: (e) => {
        clearTimeout(timer)
        reject(e)
      },
    })
    current.worker.postMessage({ id, bytes })
  })
}
