// npm run bench:threads — generation speed of the engine at 1..N threads (N = logical
// CPUs) on the generated tiny text model, next to the thread count the engine picks by
// default. The last line is one JSON object: { "threads": { "1": tok/s, ... }, "default": n }.
// The tiny model's matrices are small, so thread hand-offs weigh more than on a real model:
// read the curve's shape on this machine, not a real model's speed.
import { availableParallelism, cpus } from 'node:os'
import { EngineClient } from '../electron/engine/client.js'
import { defaultThreads, physicalCores } from '../electron/engine/gpu.js'
import { nodeEngineSpawner } from '../electron/engine/spawn-node.js'
import type { GenerateRequest } from '../electron/ipc/contract.js'
import { ensureFixtures } from '../test/fixtures/generate.js'
import { collect } from '../test/support/engine.js'

const RUNS = Number(process.env.BENCH_RUNS ?? 5)
const TOKENS = Number(process.env.BENCH_TOKENS ?? 1000)
const logical = cpus().length
const request: GenerateRequest = {
  messages: [{ role: 'user', text: 'Describe what a local desktop assistant does, in detail.' }],
  sampling: { maxTokens: TOKENS, temperature: 0, seed: 11 },
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

const fx = await ensureFixtures()
// One engine process per thread count: ENGINE_THREADS is the engine host's thread setting.
const counts = Array.from({ length: logical }, (_, i) => i + 1)
const engines = new Map(counts.map((n) => [n, new EngineClient({ spawn: nodeEngineSpawner({ env: { ENGINE_THREADS: String(n) } }) })]))
for (const engine of engines.values()) await engine.load({ modelPath: fx.textModel, gpu: false })

async function tokensPerSecond(engine: EngineClient): Promise<number> {
  const { stats } = await collect(engine.generate(request))
  if (!stats?.tokensPerSecond) throw new Error('the engine reported no speed')
  return stats.tokensPerSecond
}

// Warm each once, then take turns so that drift (other work on the machine) hits all alike.
for (const engine of engines.values()) await tokensPerSecond(engine)
const runs = new Map<number, number[]>(counts.map((n) => [n, []]))
for (let run = 0; run < RUNS; run++) {
  for (const [n, engine] of engines) runs.get(n)!.push(await tokensPerSecond(engine))
}
await Promise.all([...engines.values()].map((engine) => engine.dispose()))

const threads = Object.fromEntries(counts.map((n) => [String(n), Math.round(median(runs.get(n)!))]))
const chosen = defaultThreads(availableParallelism())
console.log(
  `${cpus()[0]?.model ?? 'unknown CPU'}: ${logical} logical CPUs, ${physicalCores()} physical cores; median of ${RUNS} runs of ${TOKENS} tokens`,
)
for (const n of counts)
  console.log(`${String(n).padStart(3)} threads  ${String(threads[String(n)]).padStart(6)} tok/s${n === chosen ? '  <- default' : ''}`)
console.log(JSON.stringify({ threads, default: chosen }))
