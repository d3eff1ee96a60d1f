// npm run bench:quick — the screenshot flow's budgets on this machine, in Chromium with
// the real services and the tiny vision model, the capture simulated from a 3840x2160
// PNG (desktopCapturer itself needs a desktop): capture in hand → quick-ask window showing
// it, and → first token of the answer. The window is created once and reused, as in the app.
import { availableParallelism, cpus } from 'node:os'
import { prepareImage } from '../electron/images/prepare.js'
import { ensureFixtures } from '../test/fixtures/generate.js'
import { browserSkipReason, startHarness } from '../test/browser/harness.js'
import { screenshotPng } from '../test/support/images.js'

const RUNS = Number(process.env.BENCH_RUNS ?? 7)
const skip = browserSkipReason()
if (skip) {
  console.error(`bench:quick needs Chromium and a built renderer: ${skip}`)
  process.exit(1)
}
const fx = await ensureFixtures()
const h = await startHarness()
try {
  await h.engine.load({ modelPath: fx.textModel, mmprojPath: fx.mmproj, gpu: false })
  const display = { id: 1, bounds: { x: 0, y: 0, width: 3840, height: 2160 }, scaleFactor: 1 }
  const pngs = await Promise.all(Array.from({ length: RUNS + 1 }, (_, i) => screenshotPng(3840 - i * 16, 2160)))
  await h.capture.set(pngs[0]!, display)
  const page = await h.openApp({ page: 'quick.html', viewport: { width: 640, height: 460 } })
  await page.getByTestId('screenshot').waitFor()

  const visible: number[] = []
  const firstToken: number[] = []
  const prepare: number[] = []
  for (let i = 1; i <= RUNS; i++) {
    const previous = await page.getByTestId('screenshot').getAttribute('src')
    const started = performance.now()
    const info = await h.capture.set(pngs[i]!, display)
    h.push('capture:new', info)
    await page.waitForFunction(
      ([w, before]) => {
        const img = document.querySelector<HTMLImageElement>('[data-testid="screenshot"]')
        return img?.alt === `Screenshot (${w} × 2160)` && img.src !== before && img.complete && img.naturalWidth > 0
      },
      [info.width, previous] as const,
    )
    visible.push(performance.now() - started)
    await page.getByRole('textbox', { name: 'Question' }).fill('What is on my screen?')
    await page.keyboard.press('Enter')
    await page.waitForFunction(
      () => (document.querySelector('[data-testid="quick-answer"] [data-testid="markdown"]')?.textContent ?? '').length > 0,
    )
    firstToken.push(performance.now() - started)
    await page.getByTestId('quick-stats').waitFor()
    const t = performance.now()
    await prepareImage(pngs[i]!, { maxSide: 896, maxPixels: 896 * 896 })
    prepare.push(performance.now() - t)
  }
  const median = (xs: number[]): number => Math.round([...xs].sort((a, b) => a - b)[xs.length >> 1]! * 10) / 10
  console.log(
    JSON.stringify(
      {
        machine: { cpu: cpus()[0]?.model, cores: availableParallelism(), browser: 'Debian Chromium, headless' },
        capture: '3840x2160 PNG, simulated',
        runs: RUNS,
        captureToWindowShowingItMs: median(visible),
        captureToFirstTokenMs: median(firstToken),
        imagePreparationMs: median(prepare),
      },
      null,
      2,
    ),
  )
} finally {
  await h.close()
}
