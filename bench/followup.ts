// npm run bench:followup — what a follow-up question costs in a conversation whose earlier
// turns hold 0, 1, 2, 4 or 8 images, on the generated fixtures, through the engine process
// (the built bundle) as the app runs it: its time to first token (the engine's own figure)
// and the prompt tokens it evaluated, medians of BENCH_RUNS follow-ups per count, taken in three
// rounds over all the counts. Side by side in one run: the
// default path (llama-server where it is built, with the project's llama.cpp patches),
// llama-server as llama.cpp ships it (stockLlamaServer, where LLAMA_SERVER_STOCK=1 npm run
// build:llama-server built it) and llama.node (the fallback). Prints one JSON object last;
// targets: ttftRatio8to0 <= 1.25 and reencodedImages8 = 0.
//
// Images encoded again: llama-server evaluates only the chunks after the prefix it reuses
// (cache_n), so an earlier image is encoded again exactly when that prefix stops before the end
// of the turn that brought it (it logs no encodes at its default verbosity). llama.node's
// cache_n is no witness: after a new image it reports the prefix as reused and still encodes
// every earlier image again, which its mtmd log shows ("encoding image slice"), counted here
// with the engine's stdout line-buffered (coreutils' libstdbuf; without it, cache_n is used).
// withNewImage is the other common follow-up: a question that brings a ninth picture, where
// only that one should be encoded. In a chat, the pictures of earlier turns were sent seconds or
// minutes before a follow-up, and the patched server keeps a media file's bytes only once the
// file is 2 s old (patch 0017, as its time stamps may be coarse): so every earlier picture is
// sent once, SETTLE_MS before the measured conversations (sentSecondsBefore); the ninth pictures
// are new each time. Every count is measured after a throwaway conversation of WARM_UP requests.
// preparedScreens8 (bench/followup-media.ts) is the follow-up with eight earlier images of a real
// model's prepared size, straight to llama-server: inline as data: URLs and as the engine sends
// them, files from --media-path, patched and stock builds.
// realWidth8 (bench/followup-width.ts) is the follow-up after eight images against none on a
// text model as wide as a real small one, where the model's own work is in the ratio too.
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import sharp from 'sharp'
import type { ChatMessage } from '../electron/ipc/contract.js'
import { EngineClient } from '../electron/engine/client.js'
import { nodeEngineSpawner } from '../electron/engine/spawn-node.js'
import { findServerBinary } from '../electron/engine/server-binary.js'
import { ensureFixtures } from '../test/fixtures/generate.js'
import { collect } from '../test/support/engine.js'
import { findLlamaServer } from './llama-server.js'
import { measurePreparedScreens, projector512, sentSecondsBefore, type MediaFigures } from './followup-media.js'
import { fillerOf, measureRealWidth } from './followup-width.js'
import { median, round } from './stats.js'
import { solidPng } from '../test/support/images.js'

// 60 follow-ups per count, 20 a round. With 15 (5 a round), the first follow-ups of a round,
// slower after the round before it, were a third of the samples: four runs of one build gave
// 1.46-1.68 ms after no image against 1.21-1.31 in three runs of 60, and so a ratio of
// 1.07-1.20 where 60 gave 1.24-1.47.
const RUNS = Number(process.env.BENCH_RUNS ?? 60)
const ROUNDS = 3
const WARM_UP = 40
const COUNTS = [0, 1, 2, 4, 8] as const
const sampling = { maxTokens: 8, temperature: 0, seed: 3 }

const STDBUF = '/usr/libexec/coreutils/libstdbuf.so'
// The engine's output arrives a while after the answer (a pipe, and llama.node's own buffering).
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 400))

interface Figures {
  binding: string
  reencodedFrom: 'cache_n' | 'encode log'
  ttftMs: Record<number, number>
  evaluatedTokens: Record<number, number>
  /** The follow-up's whole prompt, for scale. */
  promptTokens: Record<number, number>
  ttftRatio8to0: number
  reencodedImages8: number
  withNewImage: { ttftMs8: number; reencodedImages8: number }
  /** The control: a text-only conversation of the eight-image one's length, its follow-up's first token. */
  textOnly8: { ttftMs: number; promptTokens: number }
  /** Eight 3 MB 4K screenshots earlier in the conversation: the follow-up's first token at the caller and in the engine. */
  screenshots8: { pngKB: number; callerFirstTokenMs: number; engineTtftMs: number }
}

/** A 4K screenshot-sized PNG of about 3 MB: a white screen with a 1000×1000 panel of noise. */
async function noisyScreenshot(): Promise<Uint8Array> {
  const [width, height] = [3840, 2160]
  const raw = Buffer.alloc(width * height * 3, 235)
  const noise = randomBytes(1000 * 1000 * 3)
  for (let y = 0; y < 1000; y++) noise.copy(raw, y * width * 3, y * 3000, y * 3000 + 3000)
  return new Uint8Array(
    await sharp(raw, { raw: { width, height, channels: 3 } })
      .png()
      .toBuffer(),
  )
}

const fx = await ensureFixtures()
// Distinct pictures (distinct hashes), a little larger than the projector's input so each is resized as a real one is.
const pictures = await Promise.all(
  ['#aa3333', '#33aa33', '#3333aa', '#aaaa33', '#33aaaa', '#aa33aa', '#777777', '#222222', '#dddddd'].map((c) => solidPng(160, 120, c)),
)

// The new pictures the withNewImage follow-ups bring, one per follow-up: the same picture each
// time would be in the cache after the first, and llama.node's encode log then counted the
// earlier images it encodes again with a new picture once per round, spread over its follow-ups.
const newPictures = await Promise.all(
  Array.from({ length: RUNS + 3 }, (_, i) => solidPng(160, 120, `#${(40 + ((i * 53) % 200)).toString(16).padStart(2, '0')}9${i % 10}c0`)),
)
let asked = 0

async function measure(binding: 'auto' | 'llama.node', env: Record<string, string> = {}): Promise<Figures> {
  const fromLog = binding === 'llama.node' && existsSync(STDBUF)
  let encodes = 0
  const engine = new EngineClient({
    spawn: nodeEngineSpawner({
      built: true,
      env: {
        ENGINE_THREADS: '1',
        ENGINE_VISION_BINDING: binding,
        ...(fromLog ? { LD_PRELOAD: STDBUF, _STDBUF_O: 'L', _STDBUF_E: 'L' } : {}),
        ...env,
      },
      onOutput: (text) => void (encodes += text.match(/encoding image slice/g)?.length ?? 0),
    }),
  })
  try {
    const info = await engine.load({ modelPath: fx.textModel, mmprojPath: fx.mmproj, gpu: false })
    const ttftMs: Record<number, number> = {}
    const exact: Record<number, number> = {}
    const evaluatedTokens: Record<number, number> = {}
    const promptTokens: Record<number, number> = {}
    let reencodedImages8 = 0
    const withNewImage = { ttftMs8: 0, reencodedImages8: 0 }
    let imageTokens = 0
    // The engine, its server and this process run slower for their first few dozen requests
    // (JIT, allocator, caches): measured, the first image count's follow-ups took twice as
    // long as the same count measured again later, which flattered the ratio. So a throwaway
    // conversation is asked first, until every count is measured warm.
    const warm: ChatMessage[] = [{ role: 'user', text: 'Warm-up.', images: [{ bytes: pictures[8]! }] }]
    warm.push({ role: 'assistant', text: (await collect(engine.generate({ messages: warm, sampling }))).text })
    for (let r = 0; r < WARM_UP; r++)
      await collect(engine.generate({ messages: [...warm, { role: 'user', text: `Warm-up ${r}?` }], sampling }))
    await sentSecondsBefore(engine, pictures, sampling)
    /** One round for an image count: the conversation built, then follow-ups; their samples. */
    const countRound = async (n: number, runs: number, newImage: boolean) => {
      // The conversation as a chat builds it: each turn asked in order, its answer kept. The
      // prompt's length after each turn bounds where that turn's image lies.
      const history: ChatMessage[] = [{ role: 'user', text: 'Hello.' }]
      history.push({ role: 'assistant', text: (await collect(engine.generate({ messages: history, sampling }))).text })
      const turnEnds: number[] = []
      for (let i = 0; i < n; i++) {
        history.push({ role: 'user', text: `What is in picture ${i + 1}?`, images: [{ bytes: pictures[i]! }] })
        const out = await collect(engine.generate({ messages: history, sampling }))
        turnEnds.push(out.stats!.tokensIn)
        imageTokens ||= out.stats!.imageTokens
        history.push({ role: 'assistant', text: out.text })
      }
      const ttft: number[] = []
      const evaluated: number[] = []
      const reencoded: number[] = []
      let prompt = 0
      // One untimed follow-up first: the first request after a load or a new conversation
      // pays for warming caches, which would count against whichever image count came first.
      await collect(engine.generate({ messages: [...history, { role: 'user', text: 'Warm-up: anything else?' }], sampling }))
      if (fromLog) await settle()
      const before = encodes
      for (let r = 0; r < runs; r++) {
        // A new question each run, so each is a follow-up to the same history and not a repeat of the last one.
        const question: ChatMessage = newImage
          ? { role: 'user', text: `Question ${r}: and this one?`, images: [{ bytes: newPictures[asked++ % newPictures.length]! }] }
          : { role: 'user', text: `Question ${r}: compare them.` }
        const stats = (await collect(engine.generate({ messages: [...history, question], sampling }))).stats!
        const cached = stats.cachedTokens ?? 0
        ttft.push(stats.timeToFirstTokenMs ?? NaN)
        evaluated.push(stats.tokensIn - cached)
        // An earlier image is encoded again unless the reused prefix reaches past the turn that holds it.
        reencoded.push(turnEnds.filter((end) => cached < end).length)
        prompt = stats.tokensIn
      }
      if (fromLog) await settle()
      // The log gives the round's total: per follow-up, less the new picture each one brings.
      const logged = (encodes - before) / runs - (newImage ? 1 : 0)
      return { ttft, evaluated, prompt, reencoded: fromLog ? [logged] : reencoded }
    }
    /**
     * Every image count in turn, ROUNDS times over, medians of all their follow-ups: the VM's
     * speed drifts over a run, and counts measured one after the other in a single block each
     * took that drift into their ratio (the same build's ratio went from 1.29 to 1.75 between runs).
     */
    const samples = new Map<string, { ttft: number[]; evaluated: number[]; prompt: number; reencoded: number[] }>()
    const perRound = Math.max(1, Math.round(RUNS / ROUNDS))
    for (let k = 0; k < ROUNDS; k++) {
      for (const [n, newImage] of [...COUNTS.map((c) => [c, false] as const), [8, true] as const]) {
        const got = await countRound(n, perRound, newImage)
        const key = `${n}${newImage ? '+' : ''}`
        const all = samples.get(key) ?? { ttft: [], evaluated: [], prompt: 0, reencoded: [] }
        samples.set(key, {
          ttft: [...all.ttft, ...got.ttft],
          evaluated: [...all.evaluated, ...got.evaluated],
          prompt: got.prompt,
          reencoded: [...all.reencoded, ...got.reencoded],
        })
      }
    }
    const reencodedOf = (r: number[]): number => (fromLog ? round(r.reduce((a, b) => a + b, 0) / r.length, 2) : median(r))
    for (const n of COUNTS) {
      const got = samples.get(`${n}`)!
      ttftMs[n] = round(median(got.ttft), 2)
      exact[n] = median(got.ttft)
      evaluatedTokens[n] = median(got.evaluated)
      promptTokens[n] = got.prompt
      if (n === 8) {
        reencodedImages8 = reencodedOf(got.reencoded)
        const added = samples.get('8+')!
        withNewImage.ttftMs8 = round(median(added.ttft), 2)
        withNewImage.reencodedImages8 = reencodedOf(added.reencoded)
      }
      console.error(
        `bench:followup ${info.binding}: ${n} earlier images: ttft ${ttftMs[n]} ms, evaluated ${evaluatedTokens[n]} of ${promptTokens[n]} tokens`,
      )
    }
    // Control: a text-only conversation as long, in tokens, as the one with eight images (each
    // image replaced by text of as many tokens). Its follow-up costs what the eight-image one
    // does when what grows is attention over a longer context, which no cache avoids, rather
    // than anything done to the images.
    const textOnly8 = await (async () => {
      const filler = await fillerOf(engine, imageTokens)
      const history: ChatMessage[] = [{ role: 'user', text: 'Hello.' }]
      history.push({ role: 'assistant', text: (await collect(engine.generate({ messages: history, sampling }))).text })
      for (let i = 0; i < 8; i++) {
        history.push({ role: 'user', text: `What is in picture ${i + 1}? ${filler}` })
        history.push({ role: 'assistant', text: (await collect(engine.generate({ messages: history, sampling }))).text })
      }
      const ttft: number[] = []
      let prompt = 0
      for (let r = 0; r < RUNS; r++) {
        const stats = (
          await collect(engine.generate({ messages: [...history, { role: 'user', text: `Question ${r}: compare them.` }], sampling }))
        ).stats!
        ttft.push(stats.timeToFirstTokenMs ?? NaN)
        prompt = stats.tokensIn
      }
      return { ttftMs: round(median(ttft), 2), promptTokens: prompt }
    })()
    console.error(
      `bench:followup ${info.binding}: text only, as long as 8 images: ttft ${textOnly8.ttftMs} ms, ${textOnly8.promptTokens} tokens`,
    )
    // Real screenshots are megabytes: eight 4K ones of 3 MB each (a noisy panel keeps the PNG
    // that large). What the caller waits for the first token, and the engine's own share.
    const screenshots8 = await (async () => {
      const shots = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map(() => noisyScreenshot()))
      const history: ChatMessage[] = []
      for (const bytes of shots) {
        history.push({ role: 'user', text: 'And this screen?', images: [{ bytes }] })
        history.push({ role: 'assistant', text: (await collect(engine.generate({ messages: history, sampling }))).text })
      }
      const caller: number[] = []
      const engineTtft: number[] = []
      for (let r = 0; r < RUNS; r++) {
        const out = await collect(
          engine.generate({ messages: [...history, { role: 'user', text: `Question ${r}: compare them.` }], sampling }),
        )
        caller.push(out.firstChunkMs ?? NaN)
        engineTtft.push(out.stats!.timeToFirstTokenMs ?? NaN)
      }
      return {
        pngKB: Math.round(shots[0]!.byteLength / 1024),
        callerFirstTokenMs: round(median(caller)),
        engineTtftMs: round(median(engineTtft)),
      }
    })()
    console.error(
      `bench:followup ${info.binding}: 8 screenshots of ${screenshots8.pngKB} KB: first token ${screenshots8.callerFirstTokenMs} ms at the caller`,
    )
    return {
      binding: info.binding,
      textOnly8,
      screenshots8,
      ttftMs,
      evaluatedTokens,
      promptTokens,
      // From the medians as measured: with times rounded to 0.1 ms first, the ratio of two
      // times near 1.5 ms could move by up to 0.07 either way.
      ttftRatio8to0: round(exact[8]! / exact[0]!, 2),
      reencodedImages8,
      reencodedFrom: fromLog ? 'encode log' : 'cache_n',
      withNewImage,
    }
  } finally {
    await engine.dispose()
  }
}

const server = await findServerBinary()
if (!server.found) console.error(`bench:followup: no llama-server (${server.reason}); the default path is llama.node`)
const defaultPath = await measure('auto')
const stock = server.found ? await findLlamaServer(false, 'stock') : null
if (stock && !stock.found) console.error(`bench:followup: stockLlamaServer skipped: ${stock.reason}`)
const stockLlamaServer = stock?.found ? await measure('auto', { LLAMA_SERVER_BIN: stock.path }) : null
const llamaNode = await measure('llama.node')
// The same follow-ups on a model as wide as a real small one (bench/followup-width.ts).
const realWidth8 = server.found
  ? await (async () => {
      const engine = new EngineClient({
        spawn: nodeEngineSpawner({ built: true, env: { ENGINE_THREADS: '1', ENGINE_VISION_BINDING: 'auto' } }),
      })
      try {
        return await measureRealWidth(engine, pictures, RUNS, ROUNDS, sampling)
      } finally {
        await engine.dispose()
      }
    })()
  : null
if (realWidth8) console.error(`bench:followup: a model of a real width (${realWidth8.model}): ${JSON.stringify(realWidth8)}`)
const screens = async (binary: string, mmproj?: string): Promise<MediaFigures> => measurePreparedScreens(binary, fx, RUNS, mmproj)
const wide = server.found ? await projector512() : null
const preparedScreens8 =
  server.found && wide
    ? {
        patched: await screens(server.path),
        stock: stock?.found ? await screens(stock.path) : null,
        projector512px: {
          patched: await screens(server.path, wide),
          stock: stock?.found ? await screens(stock.path, wide) : null,
        },
      }
    : null
if (preparedScreens8)
  console.error(`bench:followup: eight prepared screens of ${preparedScreens8.patched.jpegKB} KB: ${JSON.stringify(preparedScreens8)}`)
console.log(
  JSON.stringify({
    runs: RUNS,
    ...defaultPath,
    targets: { ttftRatio8to0: 1.25, reencodedImages8: 0 },
    stockLlamaServer: stockLlamaServer
      ? { ttftMs: stockLlamaServer.ttftMs, ttftRatio8to0: stockLlamaServer.ttftRatio8to0, textOnly8: stockLlamaServer.textOnly8 }
      : null,
    llamaNode,
    preparedScreens8,
    realWidth8,
  }),
)
