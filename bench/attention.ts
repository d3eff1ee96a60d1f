// npm run bench:attention — what a follow-up's new tokens cost over a long cached prompt on
// llama-server with the project's llama.cpp patch (scripts/llama-cpp-patches: short batches
// take flash attention's tiled path) against llama-server as llama.cpp ships it, side by
// side in one run, on generated models with real models' head sizes: 16 (the test fixture),
// 64 (SmolVLM-256M's text model: width 576, 9 heads) and 128 (the head size of Qwen2.5-VL and
// most 1-8B models; width 1024, 8 heads), each query head with its own K and V head and, as real
// models have it, with several sharing one (grouped-query attention), fewer layers than the real
// ones since every layer costs alike. F32 weights, so the weights' share of the time is larger than with a quantized
// model and the gain here smaller than there. Times are the server's own (timings.prompt_ms),
// medians of alternating runs; decoding (one row, not changed by the patch) is timed too, and
// the greedy answers of both builds compared (random weights leave near ties, which the
// tiled path's F32 accumulation, against the vector kernel's F16, can flip). Prints one JSON object last.
import { ensureFixtures, ensureShapedTextModel, type TextShape } from '../test/fixtures/generate.js'
import { findLlamaServer, startLlamaServer, streamCompletion, type LlamaServer } from './llama-server.js'

const RUNS = Number(process.env.BENCH_RUNS ?? 5)
const THREADS = Number(process.env.BENCH_THREADS ?? 1)
/** Tokens already in the cache when the follow-ups come (about; the words tokenize unevenly). */
const CACHED_WORDS = 700
/** Follow-up lengths, in words: from a word or two to a long question. */
const NEW_WORDS = [1, 3, 6, 12, 20]

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}
const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d

const SHAPES: Record<string, TextShape | null> = {
  head16: null, // the fixture
  head64: { nEmbd: 576, nHead: 9, nLayer: 8, nFf: 1536, ctx: 4096 },
  head128: { nEmbd: 1024, nHead: 8, nLayer: 4, nFf: 2816, ctx: 4096 },
  // Grouped-query attention, as real models have it: SmolVLM-256M's 3 query heads per K and V
  // head, and Qwen2.5-VL-3B's 8 (16 heads over 2).
  head64gqa3: { nEmbd: 576, nHead: 9, nHeadKv: 3, nLayer: 8, nFf: 1536, ctx: 4096 },
  head128gqa8: { nEmbd: 1024, nHead: 8, nHeadKv: 1, nLayer: 4, nFf: 2816, ctx: 4096 },
}

async function modelFor(name: string, shape: TextShape | null): Promise<string> {
  return shape ? ensureShapedTextModel(name, shape) : (await ensureFixtures()).textModel
}

interface Timed {
  text: string
  promptN: number
  cachedN: number
  promptMs: number
  decodeTps: number
}
/** The server's own times for a greedy completion (its final event's timings). */
async function complete(server: LlamaServer, prompt: string, nPredict: number): Promise<Timed> {
  const { text, timings } = await streamCompletion(server, { prompt, n_predict: nPredict, temperature: 0, cache_prompt: true })
  if (!timings) throw new Error('llama-server gave no timings')
  return {
    text,
    promptN: timings.prompt_n!,
    cachedN: timings.cache_n!,
    promptMs: timings.prompt_ms!,
    decodeTps: timings.predicted_per_second!,
  }
}

const patched = await findLlamaServer()
const stock = await findLlamaServer(false, 'stock')
if (!patched.found || !stock.found) {
  console.error(`bench:attention needs both builds: ${[patched, stock].map((b) => (b.found ? b.path : b.reason)).join('; ')}`)
  process.exit(1)
}

const words = Array.from({ length: CACHED_WORDS + 200 }, (_, i) => `w${(i * 7) % 101}`)
const prefix = words.slice(0, CACHED_WORDS).join(' ')
const shapes: Record<string, unknown> = {}
/**
 * Greedy answers: random weights leave near ties, which rounding can flip. Each build's answer
 * is compared with attention computed without flash attention (-fa off: F32 scores and sums),
 * the closer to exact of the kernels.
 */
const greedy = { compared: 0, differing: 0, stockMatchesReference: 0, patchedMatchesReference: 0 }
for (const [name, shape] of Object.entries(SHAPES)) {
  const model = await modelFor(name, shape)
  const servers = {
    stock: await startLlamaServer({ binary: stock.path, model, threads: THREADS }),
    patched: await startLlamaServer({ binary: patched.path, model, threads: THREADS }),
    reference: await startLlamaServer({ binary: stock.path, model, threads: THREADS, extraArgs: ['-fa', 'off'] }),
  }
  try {
    const rows: Record<string, unknown> = {}
    for (const n of NEW_WORDS) {
      const ms = { stock: [] as number[], patched: [] as number[] }
      let tokens = 0
      let cached = 0
      for (let r = 0; r < RUNS; r++) {
        const texts: string[] = []
        for (const build of ['stock', 'patched'] as const) {
          // The cache holds the prefix and another question; the follow-up reuses the prefix.
          await complete(servers[build], `${prefix} q${r}`, 1)
          const t = await complete(servers[build], `${prefix} ${words.slice(CACHED_WORDS + r, CACHED_WORDS + r + n).join(' ')}`, 4)
          ms[build].push(t.promptMs)
          texts.push(t.text)
          tokens = t.promptN
          cached = t.cachedN
        }
        await complete(servers.reference, `${prefix} q${r}`, 1)
        const reference = (
          await complete(servers.reference, `${prefix} ${words.slice(CACHED_WORDS + r, CACHED_WORDS + r + n).join(' ')}`, 4)
        ).text
        greedy.compared++
        if (texts[0] !== texts[1]) greedy.differing++
        if (texts[0] === reference) greedy.stockMatchesReference++
        if (texts[1] === reference) greedy.patchedMatchesReference++
      }
      const [s, p] = [median(ms.stock), median(ms.patched)]
      rows[tokens] = { stockMs: round(s), patchedMs: round(p), speedup: round(s / p, 2), cachedTokens: cached }
      console.error(`bench:attention ${name}: ${tokens} new tokens over ${cached}: ${round(s)} -> ${round(p)} ms`)
    }
    // Decoding is one row, which the patch leaves to the row kernel; attention without flash
    // attention (the reference server) is timed beside it, as the row kernel is the slower here.
    const decode = { stock: [] as number[], patched: [] as number[], reference: [] as number[] }
    for (let r = 0; r < RUNS; r++) {
      for (const build of ['stock', 'patched', 'reference'] as const) {
        decode[build].push((await complete(servers[build], `${prefix} d${r}`, 32)).decodeTps)
      }
    }
    shapes[name] = {
      newTokens: rows,
      decodeTokensPerSecond: {
        stock: round(median(decode.stock)),
        patched: round(median(decode.patched)),
        withoutFlashAttention: round(median(decode.reference)),
      },
    }
  } finally {
    await Promise.all(Object.values(servers).map((server) => server.stop()))
  }
}
console.log(JSON.stringify({ runs: RUNS, threads: THREADS, shapes, greedyAnswers: greedy, stock: stock.path, patched: patched.path }))
