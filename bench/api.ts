// npm run bench:api — what the local HTTP API adds over calling the engine directly:
// per-request latency (median of alternating runs) and requests per second with eight
// clients at once, on the tiny text model (16 tokens an answer); and what a grammar costs:
// generation speed with a JSON schema or JSON-object grammar against plain text, same prompt and seeds.
import { availableParallelism, cpus } from 'node:os'
import type { AnswerFormat } from '../electron/ipc/contract.js'
import { engineStateFeed, startApiServer } from '../electron/api/server.js'
import { GenerationScheduler } from '../electron/engine/scheduler.js'
import { ensureFixtures } from '../test/fixtures/generate.js'
import { startEngine } from '../test/support/engine.js'

const RUNS = Number(process.env.BENCH_RUNS ?? 40)
const CONCURRENT = 8
const TOTAL = 96
const TOKENS = 16
const TOKEN = 'bench-token'

const fx = await ensureFixtures()
const engineStates = engineStateFeed()
const engine = startEngine(engineStates.publish, true)
await engine.load({ modelPath: fx.textModel, gpu: false })
const scheduler = new GenerationScheduler(engine, TOTAL)
const server = await startApiServer({
  scheduler,
  engineState: () => engine.state(),
  watchEngineState: engineStates.watch,
  token: TOKEN,
  port: 0,
})
const model = 'tiny-llama-f32'

const prompt = (i: number): string => `Benchmark question number ${i}: what is on the screen?`

async function direct(i: number): Promise<void> {
  for await (const c of scheduler.generate('api', {
    messages: [{ role: 'user', text: prompt(i) }],
    sampling: { maxTokens: TOKENS, temperature: 0, seed: 1 },
  })) {
    if (c.kind === 'done' && c.stats.tokensOut !== TOKENS) throw new Error('short answer')
  }
}

async function http(i: number, stream = false): Promise<void> {
  const res = await fetch(`${server.url}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: prompt(i) }], max_tokens: TOKENS, temperature: 0, seed: 1, stream }),
  })
  if (!res.ok) throw new Error(`HTTP ${res.status}`)
  const text = await res.text()
  if (stream ? !text.endsWith('data: [DONE]\n\n') : !(JSON.parse(text) as { usage: { completion_tokens: number } }).usage.completion_tokens)
    throw new Error('bad answer')
}

const time = async (f: () => Promise<void>): Promise<number> => {
  const t = performance.now()
  await f()
  return performance.now() - t
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!
const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d

for (let i = 0; i < 5; i++) {
  await direct(i)
  await http(i)
  await http(i, true)
}
const d: number[] = []
const h: number[] = []
const s: number[] = []
for (let i = 0; i < RUNS; i++) {
  d.push(await time(() => direct(i)))
  h.push(await time(() => http(i)))
  s.push(await time(() => http(i, true)))
}

async function throughput(call: (i: number) => Promise<void>): Promise<number> {
  let next = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: CONCURRENT }, async () => {
      while (next < TOTAL) await call(next++)
    }),
  )
  return TOTAL / ((performance.now() - started) / 1000)
}
/**
 * Generation speed (the engine's own tokens per second) over the same prompts and seeds, with
 * and without a grammar; the three alternate run by run, so load on the machine hits them alike.
 */
const GRAMMAR_TOKENS = 64
// One unbounded string keeps a constrained answer going to the token limit, as plain text does.
const GRAMMAR_SCHEMA = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] }
const FORMATS: Record<'plain' | 'jsonSchema' | 'jsonObject', AnswerFormat | undefined> = {
  plain: undefined,
  jsonSchema: { type: 'json_schema', schema: GRAMMAR_SCHEMA },
  jsonObject: { type: 'json' },
}
async function generate(i: number, format: AnswerFormat | undefined): Promise<{ tokensPerSecond: number | null; tokensOut: number }> {
  for await (const c of scheduler.generate('api', {
    messages: [{ role: 'user', text: prompt(i) }],
    sampling: { maxTokens: GRAMMAR_TOKENS, temperature: 1, seed: i },
    ...(format ? { format } : {}),
  })) {
    if (c.kind === 'done') return { tokensPerSecond: c.stats.tokensPerSecond, tokensOut: c.stats.tokensOut }
  }
  throw new Error('no answer')
}
for (const format of Object.values(FORMATS)) await generate(0, format)
const speeds = { plain: [] as number[], jsonSchema: [] as number[], jsonObject: [] as number[] }
const tokensOut = { plain: 0, jsonSchema: 0, jsonObject: 0 }
for (let i = 0; i < RUNS; i++) {
  for (const [name, format] of Object.entries(FORMATS) as [keyof typeof FORMATS, AnswerFormat | undefined][]) {
    const r = await generate(i, format)
    if (r.tokensPerSecond !== null) speeds[name].push(r.tokensPerSecond)
    tokensOut[name] += r.tokensOut / RUNS
  }
}

const directRps = await throughput(direct)
const httpRps = await throughput((i) => http(i))
const directRps2 = await throughput(direct)
const httpRps2 = await throughput((i) => http(i))

console.log(
  JSON.stringify(
    {
      machine: { cpu: cpus()[0]?.model, cores: availableParallelism(), node: process.version },
      tokensPerAnswer: TOKENS,
      latency: {
        runs: RUNS,
        directMedianMs: round(median(d)),
        httpMedianMs: round(median(h)),
        httpStreamingMedianMs: round(median(s)),
        addedByHttpMs: round(median(h) - median(d)),
        addedByHttpStreamingMs: round(median(s) - median(d)),
      },
      throughput: {
        clients: CONCURRENT,
        requests: TOTAL,
        directRequestsPerSecond: round((directRps + directRps2) / 2, 1),
        httpRequestsPerSecond: round((httpRps + httpRps2) / 2, 1),
        ratio: round((httpRps + httpRps2) / (directRps + directRps2), 3),
      },
      grammar: {
        runs: RUNS,
        maxTokens: GRAMMAR_TOKENS,
        schema: GRAMMAR_SCHEMA,
        plainTokensPerSecond: median(speeds.plain),
        jsonSchemaTokensPerSecond: median(speeds.jsonSchema),
        jsonObjectTokensPerSecond: median(speeds.jsonObject),
        meanTokensOut: {
          plain: round(tokensOut.plain, 1),
          jsonSchema: round(tokensOut.jsonSchema, 1),
          jsonObject: round(tokensOut.jsonObject, 1),
        },
      },
    },
    null,
    2,
  ),
)
await server.close()
await engine.dispose()
process.exit(0)
