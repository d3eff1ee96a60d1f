// npm run bench:server-ab [-- A B] — two llama-server builds side by side in one run: tokens/s
// streamed from /completion on the fixture, one thread, alternating A and B so the VM's drift
// falls on both. With no arguments: llama.cpp as shipped (LLAMA_SERVER_STOCK=1 npm run
// build:llama-server) against the project's patched build. What a patch to llama-server's
// decode loop gains (0021: no thread wake-ups per token) is measured this way; a patch's gain
// alone is the build without it against the build with it (LLAMA_SERVER_BIN names a build).
// Prints one JSON object last.
import { ensureFixtures } from '../test/fixtures/generate.js'
import { findLlamaServer, startLlamaServer, streamCompletion } from './llama-server.js'
import { median, round } from './stats.js'

const RUNS = Number(process.env.BENCH_RUNS ?? 12)
const TOKENS = Number(process.env.BENCH_TOKENS ?? 1000)

async function builds(): Promise<[string, string]> {
  const [a, b] = process.argv.slice(2)
  if (a && b) return [a, b]
  const stock = await findLlamaServer(false, 'stock')
  const patched = await findLlamaServer(false, 'patched')
  if (!stock.found) throw new Error(`bench:server-ab: no stock build: ${stock.reason}`)
  if (!patched.found) throw new Error(`bench:server-ab: no patched build: ${patched.reason}`)
  return [stock.path, patched.path]
}

const [pathA, pathB] = await builds()
const fx = await ensureFixtures()
const servers = await Promise.all([pathA, pathB].map((binary) => startLlamaServer({ binary, model: fx.textModel, threads: 1 })))
const tps: [number[], number[]] = [[], []]
try {
  for (let r = 0; r < RUNS; r++) {
    // The order alternates too: the second of a pair ran slower on this VM's noisier minutes.
    for (const i of r % 2 ? [1, 0] : [0, 1]) {
      const out = await streamCompletion(servers[i]!, {
        prompt: 'Once upon a time',
        n_predict: TOKENS,
        ignore_eos: true,
        temperature: 0,
        seed: 1,
      })
      tps[i]!.push(out.tokensPerSecond)
    }
  }
} finally {
  await Promise.all(servers.map((s) => s.stop()))
}
const [a, b] = tps.map((runs) => median(runs)) as [number, number]
const faster = tps[0].filter((x, i) => tps[1][i]! > x).length
console.error(`bench:server-ab: A ${round(a)} tok/s, B ${round(b)} tok/s (B faster in ${faster} of ${RUNS} pairs)`)
console.log(
  JSON.stringify({
    tokens: TOKENS,
    runs: RUNS,
    a: { binary: pathA, tokensPerSecond: round(a), runs: tps[0].map((x) => round(x)) },
    b: { binary: pathB, tokensPerSecond: round(b), runs: tps[1].map((x) => round(x)) },
    ratioBtoA: round(b / a, 3),
    bFasterInPairs: faster,
  }),
)
process.exit(0)
