// npm run bench:images — time to prepare a 4K screenshot for the model (decode, orient,
// downscale to an 896 px projector budget, encode), median of 20 after a warm-up.
import { availableParallelism, cpus } from 'node:os'
import { prepareImage } from '../electron/images/prepare.js'
import { screenshotPng } from '../test/support/images.js'

const RUNS = Number(process.env.BENCH_RUNS ?? 20)
const png = await screenshotPng(3840, 2160)
const budget = { maxSide: 896, maxPixels: 896 * 896 }
await prepareImage(png, budget)
const times: number[] = []
for (let i = 0; i < RUNS; i++) {
  const started = performance.now()
  await prepareImage(png, budget)
  times.push(performance.now() - started)
}
times.sort((a, b) => a - b)
console.log(
  JSON.stringify(
    {
      machine: { cpu: cpus()[0]?.model, cores: availableParallelism(), node: process.version },
      input: { width: 3840, height: 2160, format: 'png', bytes: png.byteLength },
      budget,
      runs: RUNS,
      medianMs: Math.round(times[RUNS >> 1]! * 10) / 10,
      p90Ms: Math.round(times[Math.floor(RUNS * 0.9)]! * 10) / 10,
    },
    null,
    2,
  ),
)
