// npm run bench:chat — does the chat window stay responsive while 2,000 tokens stream
// into a conversation with 200 earlier messages? Real Chromium, the built renderer, the
// real services and engine (tiny model). Frame intervals come from requestAnimationFrame,
// main-thread stalls from the Long Tasks API. An empty conversation runs alongside.
import { availableParallelism, cpus } from 'node:os'
import type { Page } from 'playwright-core'
import { ensureFixtures } from '../test/fixtures/generate.js'
import { browserSkipReason, startHarness, type Harness } from '../test/browser/harness.js'

const TOKENS = 2000
const EARLIER = 200
const skip = browserSkipReason()
if (skip) {
  console.error(`bench:chat needs Chromium and a built renderer: ${skip}`)
  process.exit(1)
}

const ANSWER = [
  'Here is what the screenshot shows, step by step:',
  '',
  '1. A **terminal** with a failing build.',
  '2. An editor with `src/main.ts` open.',
  '',
  '```ts',
  'export function add(a: number, b: number): number {',
  '  return a + b // the bug was here',
  '}',
  '```',
  '',
  'The error says the module cannot be found; check the import path.',
].join('\n')

async function seed(h: Harness, earlier: number): Promise<string> {
  const chat = await h.chats.create({ title: `${earlier} earlier messages` })
  await h.chats.update(chat.id, (c) => {
    c.settings = { maxTokens: TOKENS, temperature: 0.7 }
    for (let i = 0; i < earlier / 2; i++) {
      const q = h.chats.newMessage('user', `Question ${i}: what is on my screen now?`)
      const a = h.chats.newMessage('assistant', ANSWER)
      a.status = 'complete'
      c.messages.push(q, a)
    }
  })
  return chat.id
}

interface Measured {
  earlierMessages: number
  tokens: number
  streamMs: number
  frames: number
  frameMedianMs: number
  frameP95Ms: number
  frameMaxMs: number
  longTasks: number
  longTaskMaxMs: number
  longTaskTotalMs: number
}

/** earlier: messages the conversation holds before this run (each run adds two). */
async function measure(page: Page, title: string, base: number, earlier: number): Promise<Measured> {
  await page.getByRole('button', { name: new RegExp(`^${title}`) }).click()
  await page.waitForFunction((n) => document.querySelectorAll('li[data-testid^="turn-"]').length === n, earlier)
  // A string, not a function: tsx would wrap named functions in a helper the page lacks.
  await page.evaluate(`(() => {
    window.__frames = []
    window.__long = []
    window.__stop = false
    new PerformanceObserver((list) => list.getEntries().forEach((e) => window.__long.push(e.duration))).observe({ type: 'longtask' })
    const tick = (t) => {
      window.__frames.push(t)
      if (!window.__stop) requestAnimationFrame(tick)
    }
    requestAnimationFrame(tick)
  })()`)
  const box = page.getByRole('textbox', { name: 'Message' })
  await box.fill('Describe everything in detail.')
  const started = Date.now()
  await box.press('Enter')
  // Done when the new answer (not an earlier one) shows its stats.
  await page.waitForFunction(
    (n) => {
      const answers = document.querySelectorAll('li[data-testid="turn-assistant"]')
      return answers.length === n && answers[n - 1]!.querySelector('[data-testid="turn-stats"]') !== null
    },
    earlier / 2 + 1,
    { timeout: 60_000 },
  )
  const streamMs = Date.now() - started
  const raw = await page.evaluate(() => {
    const w = window as unknown as { __frames: number[]; __long: number[]; __stop: boolean }
    w.__stop = true
    return { frames: w.__frames, long: w.__long }
  })
  const stats = (await page.getByTestId('turn-assistant').last().getByTestId('turn-stats').textContent()) ?? ''
  const intervals = raw.frames
    .slice(1)
    .map((t, i) => t - raw.frames[i]!)
    .sort((a, b) => a - b)
  const at = (q: number): number => Math.round(intervals[Math.min(intervals.length - 1, Math.floor(q * intervals.length))]! * 10) / 10
  return {
    earlierMessages: base,
    tokens: Number(stats.split(' ')[0]),
    streamMs,
    frames: raw.frames.length,
    frameMedianMs: at(0.5),
    frameP95Ms: at(0.95),
    frameMaxMs: Math.round(intervals.at(-1)! * 10) / 10,
    longTasks: raw.long.length,
    longTaskMaxMs: Math.round(Math.max(0, ...raw.long)),
    longTaskTotalMs: Math.round(raw.long.reduce((a, b) => a + b, 0)),
  }
}

const fx = await ensureFixtures()
const h = await startHarness()
try {
  await seed(h, 0)
  await seed(h, EARLIER)
  await h.engine.load({ modelPath: fx.textModel, gpu: false })
  const page = await h.openApp()
  // Warm-up run, then the two cases alternating, three times each.
  await measure(page, '0 earlier messages', 0, 0)
  const runs: Measured[] = []
  for (let i = 0; i < 3; i++) {
    runs.push(await measure(page, `${EARLIER} earlier messages`, EARLIER, EARLIER + 2 * i))
    runs.push(await measure(page, '0 earlier messages', 0, 2 * (i + 1)))
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!
  const summarise = (rs: Measured[]) => ({
    earlierMessages: rs[0]!.earlierMessages,
    tokens: median(rs.map((r) => r.tokens)),
    streamMs: median(rs.map((r) => r.streamMs)),
    frameMedianMs: median(rs.map((r) => r.frameMedianMs)),
    frameP95Ms: median(rs.map((r) => r.frameP95Ms)),
    frameMaxMs: median(rs.map((r) => r.frameMaxMs)),
    longTasks: median(rs.map((r) => r.longTasks)),
    longTaskMaxMs: median(rs.map((r) => r.longTaskMaxMs)),
  })
  const withHistory = summarise(runs.filter((_, i) => i % 2 === 0))
  const empty = summarise(runs.filter((_, i) => i % 2 === 1))
  console.log(
    JSON.stringify(
      {
        machine: { cpu: cpus()[0]?.model, cores: availableParallelism(), browser: 'Debian Chromium, headless' },
        runsEach: 3,
        withHistory,
        emptyConversation: empty,
        p95FrameRatio: Math.round((withHistory.frameP95Ms / empty.frameP95Ms) * 100) / 100,
      },
      null,
      2,
    ),
  )
} finally {
  await h.close()
}
