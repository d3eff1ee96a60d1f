// Part of bench:followup: the same follow-up with eight earlier images of the size the engine
// prepares for a real model (896x504 JPEGs of about 150 KB; the fixture's projector makes the
// engine's own prepared images tiny), straight to llama-server, with the images sent inline as
// data: URLs (how any OpenAI client sends them) and as files from --media-path (how the engine
// sends them, electron/engine/server-media.ts), on the patched and the stock build side by side,
// with the fixture's projector and with one of a real model's input size (projector512).
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import type { EngineClient } from '../electron/engine/client.js'
import { SHAPES_DIR, TEXT, VISION, writeMmproj, type FixturePaths } from '../test/fixtures/generate.js'
import { collect } from '../test/support/engine.js'
import { startLlamaServer, streamChat } from './llama-server.js'
import { median, round } from './stats.js'

/** How long after its pictures were first sent the follow-ups are asked. */
const SETTLE_MS = 2100

/** Waits until pictures just written are old enough for the patched server to keep. */
export const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, SETTLE_MS))

/**
 * A follow-up comes when its question has been read and typed, seconds after the pictures it
 * asks about were sent: the patched server keeps a media file's bytes only once the file is 2 s
 * old (patch 0017, as a file system's time stamps may be coarse). So the benches send every
 * earlier picture once, then wait, before they build the conversations they time.
 */
export async function sentSecondsBefore(
  engine: EngineClient,
  pictures: Uint8Array[],
  sampling: { maxTokens: number; temperature: number; seed: number },
): Promise<void> {
  await collect(
    engine.generate({ messages: [{ role: 'user', text: 'These pictures.', images: pictures.map((bytes) => ({ bytes })) }], sampling }),
  )
  await settle()
}

export interface MediaFigures {
  jpegKB: number
  /** Median first-token time of the follow-up, images inline (data: URLs). */
  inlineMs: number
  /** The same, the images read from files. */
  filesMs: number
}

/** A prepared screenshot's worth of JPEG: noise, lightly blurred, at the engine's quality. */
const screen = async (): Promise<Buffer> =>
  sharp(randomBytes(896 * 504 * 3), { raw: { width: 896, height: 504, channels: 3 } })
    .blur(1.5)
    .jpeg({ quality: 92 })
    .toBuffer()

/**
 * The fixture's projector with a real model's input size (512 px, as SmolVLM's): each image it
 * preprocesses is 3 MB of floats, as a real projector's are, where the fixture's is 48 KB.
 * Patches of 64 px keep it at 64 image tokens.
 */
export async function projector512(): Promise<string> {
  const path = join(SHAPES_DIR, 'mmproj-512px-f32.gguf')
  if (!existsSync(path)) {
    await mkdir(SHAPES_DIR, { recursive: true })
    await writeMmproj(path, 77, TEXT.nEmbd, { ...VISION, imageSize: 512, patchSize: 64 })
  }
  return path
}

export async function measurePreparedScreens(binary: string, fx: FixturePaths, runs: number, mmproj = fx.mmproj): Promise<MediaFigures> {
  const shots = await Promise.all(Array.from({ length: 8 }, () => screen()))
  const dir = await mkdtemp(join(tmpdir(), 'bench-followup-media-'))
  await Promise.all(shots.map((bytes, i) => writeFile(join(dir, `${i}.jpg`), bytes)))
  const server = await startLlamaServer({
    binary,
    model: fx.textModel,
    mmproj,
    threads: 1,
    // The engine's options that bear on a follow-up (electron/engine/server-args.ts).
    extraArgs: [
      '--jinja',
      '--reasoning-format',
      'none',
      '--no-context-shift',
      '--no-kv-unified',
      '--cache-ram',
      '2048',
      '--media-path',
      dir,
    ],
  })
  try {
    const sampling = { max_tokens: 8, temperature: 0, seed: 3, cache_prompt: true }
    const timed = async (url: (i: number) => string): Promise<number> => {
      const history: { role: string; content: unknown }[] = []
      for (let i = 0; i < shots.length; i++) {
        history.push({
          role: 'user',
          content: [
            { type: 'image_url', image_url: { url: url(i) } },
            { type: 'text', text: `Screen ${i + 1}?` },
          ],
        })
        history.push({ role: 'assistant', content: (await streamChat(server, { messages: history, ...sampling })).text })
      }
      // As sentSecondsBefore: these screens are new to each call.
      await settle()
      const times: number[] = []
      for (let r = -3; r < runs; r++) {
        const out = await streamChat(server, {
          messages: [...history, { role: 'user', content: `Question ${r}: compare them.` }],
          ...sampling,
        })
        if (r >= 0) times.push(out.firstTokenMs)
      }
      return round(median(times))
    }
    const inlineMs = await timed((i) => `data:image/jpeg;base64,${shots[i]!.toString('base64')}`)
    const filesMs = await timed((i) => `file://${i}.jpg`)
    return { jpegKB: Math.round(shots[0]!.byteLength / 1024), inlineMs, filesMs }
  } finally {
    await server.stop()
    await rm(dir, { recursive: true, force: true })
  }
}
