// npm run bench:ocr — the text layer on the real-data screen set (issue 11): desktop-like screens
// rendered by Chromium with the truth measured in the page (test/ocr/screens), read by the
// PaddleOCR pipeline (electron/ocr/reader.ts) and by the tesseract.js candidate, scored by
// test/ocr/score.ts. Per-screen lines go to stderr; the last line on stdout is one JSON object:
// linesRead, charErrorRate, medianMs4k, medianMs1080p (the Paddle pipeline's), linesFound, and
// the candidates side by side, by kind of screen too.
//
// The issue times reading "with the image encode for the model running at the same time, not
// after it": by default each read runs while the engine process (the generated tiny vision
// fixture) prepares and encodes the same image for a one-token answer; only the read is timed.
//
// Set 2 (issue 20, test/ocr/screens2): the layout cases of real desktops (columns, tab strips and
// menus, gutters, tables, overlaps, hard rendering, accents, Chinese), read by the Paddle pipeline
// only; the JSON adds linesRead2, charErrorRate2 and cjkLinesRead, and set2 with the figures per
// case and per smoothing mode. Set 1's keys keep their meaning (null when set 1 is not run). Each
// set-2 screen is read with the language pack the app picks for its system language
// (SYSTEM_LANGUAGE in ocr-set2.ts): the French mail client and the German wiki with the in-app
// French/German/Polish pack (tesseract), the rest with the built-in one; set2.packs lists them.
//
// Environment: BENCH_OCR_SETS=1,2 (default both), BENCH_OCR_CANDIDATES=paddle,tesseract,
// tesseractRegions (default all, set 1 only; the last reads the Paddle pipeline's blocks with
// tesseract, so it needs paddle), BENCH_OCR_ENCODE=0 (read on a quiet machine),
// BENCH_OCR_SIZES=1080p,4k, BENCH_OCR_LAYOUTS=name,... (of either set: see test/ocr/screens and
// test/ocr/screens2), BENCH_OCR_MISSES=n (print the first n unread lines of each screen).
import { readFile } from 'node:fs/promises'
import { loadavg } from 'node:os'
import { createProcessReader } from '../electron/ocr/process-reader.js'
import { nodeOcrSpawner } from '../electron/ocr/spawn-node.js'
import { ocrText, type OcrBox, type OcrResult } from '../electron/ocr/types.js'
import type { EngineClient } from '../electron/engine/client.js'
import { ensureFixtures } from '../test/fixtures/generate.js'
import { startEngine } from '../test/support/engine.js'
import { scoreText, summarise, type LineScore } from '../test/ocr/score.js'
import { loadScreens, type ScreenCase, type ScreenSize } from '../test/ocr/screens/index.js'
import type { ScreenCase2 } from '../test/ocr/screens2/index.js'
import { TesseractReader } from './ocr-tesseract.js'
import { frac, isSet2Layout, labelled, loadSet2, set2Figures, systemOf, type CaseScore } from './ocr-set2.js'
import { BUILT_IN_PACK, findPack, packForLocales } from '../electron/ocr/languages.js'
import { tesseractRecogniser } from '../electron/ocr/language-service.js'
import type { OcrRecogniser } from '../electron/ocr/protocol.js'

type CandidateName = 'paddle' | 'tesseract' | 'tesseractRegions'
/** Reads one screen's bytes (the screen is passed for candidates that borrow another's layout). */
type Read = (image: Uint8Array, screen: ScreenCase) => Promise<OcrResult>

const env = (name: string): string[] | undefined =>
  process.env[name]
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean)
const wanted = (env('BENCH_OCR_CANDIDATES') ?? ['paddle', 'tesseract', 'tesseractRegions']) as CandidateName[]
const concurrentEncode = process.env.BENCH_OCR_ENCODE !== '0'
const misses = Number(process.env.BENCH_OCR_MISSES ?? 3)
const sets = env('BENCH_OCR_SETS') ?? ['1', '2']
const log = (line: string): void => void process.stderr.write(`${line}\n`)

const median = (xs: number[]): number | null => {
  if (!xs.length) return null
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}
const ms = (x: number | null): number | null => (x === null ? null : Math.round(x))

// Timings mean little on a busy machine: the load average at the start goes into the JSON.
const loadAtStart = loadavg()[0]!
const sizes = env('BENCH_OCR_SIZES') as ScreenSize[] | undefined
const layoutNames = env('BENCH_OCR_LAYOUTS')
// Layout names may mix both sets: each set takes its own; a list naming none of a set's skips it.
const set1Names = layoutNames?.filter((n) => !isSet2Layout(n))
const screens: ScreenCase[] =
  sets.includes('1') && !(layoutNames && !set1Names?.length)
    ? await loadScreens({ sizes, layouts: set1Names, log: (line) => log(`render ${line}`) })
    : []
const screens2: ScreenCase2[] = sets.includes('2') ? await loadSet2(sizes, layoutNames, (line) => log(`render set 2 ${line}`)) : []
log(
  `bench:ocr: set 1 ${screens.length} screens, ${screens.reduce((s, c) => s + c.lines.length, 0)} truth lines; ` +
    `set 2 ${screens2.length} screens, ${screens2.reduce((s, c) => s + c.lines.length, 0)} + ${screens2.reduce((s, c) => s + c.cjkLines.length, 0)} CJK truth lines; ` +
    `concurrent encode ${concurrentEncode ? 'on' : 'off'}`,
)

// The engine with the tiny vision fixture: what the model side of a screenshot question costs
// the CPU while the text is read (decode, resize, projector encode, one token).
let engine: EngineClient | null = null
if (concurrentEncode) {
  const fx = await ensureFixtures()
  engine = startEngine()
  await engine.load({ modelPath: fx.textModel, mmprojPath: fx.mmproj, gpu: false })
}
let encodes = 0
async function encodeAlongside(bytes: Uint8Array): Promise<number> {
  if (!engine) return 0
  const started = performance.now()
  // A new prompt each time, so no cached image or prefix spares the encode.
  const stream = engine.generate({
    messages: [{ role: 'user', text: `What is on this screen? (${++encodes})`, images: [{ bytes }] }],
    sampling: { maxTokens: 1, temperature: 0, seed: 1 },
  })
  for await (const chunk of stream) void chunk
  return performance.now() - started
}

interface ScreenRun {
  screen: ScreenCase
  ms: number
  encodeMs: number
  lines: LineScore[]
  result: OcrResult
}

/** One read of a screen, timed while the engine encodes the same image for the model. */
async function timedRead<S extends { file: string }>(
  read: (image: Uint8Array, screen: S) => Promise<OcrResult>,
  screen: S,
): Promise<{ result: OcrResult; ms: number; encodeMs: number }> {
  const bytes = new Uint8Array(await readFile(screen.file))
  const encoding = encodeAlongside(bytes)
  const started = performance.now()
  const result = await read(bytes, screen)
  const elapsed = performance.now() - started
  return { result, ms: elapsed, encodeMs: await encoding }
}
const pct = (x: number): string => `${(x * 100).toFixed(1)}%`

async function runCandidate(name: CandidateName, read: Read): Promise<ScreenRun[]> {
  // One untimed read first: model sessions and caches warm up on it.
  await read(new Uint8Array(await readFile(screens[0]!.file)), screens[0]!)
  const runs: ScreenRun[] = []
  for (const screen of screens) {
    const { result, ms: elapsed, encodeMs } = await timedRead(read, screen)
    const score = scoreText(
      screen.lines.map((l) => l.text),
      ocrText(result),
    )
    runs.push({ screen, ms: elapsed, encodeMs, lines: score.lines, result })
    log(
      `${name.padEnd(16)} ${screen.id.padEnd(30)} read ${score.read}/${score.total} (${pct(score.linesRead)}) ` +
        `found ${pct(score.linesFound)} cer ${(score.charErrorRate * 100).toFixed(2)}% ${Math.round(elapsed)} ms` +
        (engine ? ` (encode alongside ${Math.round(encodeMs)} ms)` : ''),
    )
    for (const miss of score.lines.filter((l) => !l.read).slice(0, misses))
      log(`    unread ${JSON.stringify(miss.text)}  closest ${JSON.stringify(miss.closest)}`)
  }
  return runs
}

interface Set2Run {
  screen: ScreenCase2
  /** The language pack it was read with (the app's pick for its system language). */
  pack: string
  ms: number
  encodeMs: number
  lines: CaseScore[]
}

/** The recogniser the app hands its text layer on a system of this language when the pack it
 * picks needs no download; null: the built-in one. */
function inAppRecogniser(system: string): OcrRecogniser | null {
  const pack = findPack(packForLocales([system]))
  if (!pack?.tesseract) return null
  return tesseractRecogniser(pack, [system])
}

/**
 * Set 2 with the Paddle pipeline: latin and CJK truths scored apart, misses shown with their case.
 * Each screen is read with its system language's pack, in a text-layer process of that pack's.
 */
async function runSet2(read: (image: Uint8Array) => Promise<OcrResult>, warm: boolean): Promise<Set2Run[]> {
  if (!warm) await read(new Uint8Array(await readFile(screens2[0]!.file)))
  const readers = new Map<string, ReturnType<typeof createProcessReader>>()
  try {
    return await readSet2(read, readers)
  } finally {
    for (const reader of readers.values()) await reader.close()
  }
}

async function readSet2(
  builtIn: (image: Uint8Array) => Promise<OcrResult>,
  readers: Map<string, ReturnType<typeof createProcessReader>>,
): Promise<Set2Run[]> {
  const runs: Set2Run[] = []
  for (const screen of screens2) {
    const recogniser = inAppRecogniser(systemOf(screen))
    let read = builtIn
    if (recogniser) {
      let reader = readers.get(recogniser.pack)
      if (!reader) {
        reader = createProcessReader(nodeOcrSpawner({ recogniser: () => recogniser }))
        readers.set(recogniser.pack, reader)
        // Its first read loads the pack: untimed, as the built-in pack's warm-up is.
        await reader.read(new Uint8Array(await readFile(screen.file)))
      }
      read = (image) => reader!.read(image)
    }
    const { result, ms: elapsed, encodeMs } = await timedRead(read, screen)
    const text = ocrText(result)
    const latin = scoreText(
      screen.lines.map((l) => l.text),
      text,
    )
    const cjk = scoreText(
      screen.cjkLines.map((l) => l.text),
      text,
    )
    const lines = [...labelled(screen, latin.lines, false, text), ...labelled(screen, cjk.lines, true, text)]
    const pack = recogniser?.pack ?? BUILT_IN_PACK
    runs.push({ screen, pack, ms: elapsed, encodeMs, lines })
    log(
      `paddle set 2      ${screen.id.padEnd(34)} [${pack}] read ${latin.read}/${latin.total} (${pct(latin.linesRead)}) found ${pct(latin.linesFound)} ` +
        `cer ${(latin.charErrorRate * 100).toFixed(2)}% cjk ${cjk.read}/${cjk.total} ${Math.round(elapsed)} ms` +
        (engine ? ` (encode alongside ${Math.round(encodeMs)} ms)` : ''),
    )
    for (const miss of lines.filter((l) => !l.read).slice(0, misses))
      log(`    unread [${miss.case}, ${miss.miss}] ${JSON.stringify(miss.text)}  closest ${JSON.stringify(miss.closest)}`)
  }
  return runs
}

interface Figures {
  linesRead: number
  linesFound: number
  charErrorRate: number
  medianMs4k: number | null
  medianMs1080p: number | null
}
function figures(runs: ScreenRun[]): Figures {
  const s = summarise(runs.flatMap((r) => r.lines))
  return {
    linesRead: frac(s.linesRead),
    linesFound: frac(s.linesFound),
    charErrorRate: frac(s.charErrorRate),
    medianMs4k: ms(median(runs.filter((r) => r.screen.scale === 2).map((r) => r.ms))),
    medianMs1080p: ms(median(runs.filter((r) => r.screen.scale === 1).map((r) => r.ms))),
  }
}
const withKinds = (runs: ScreenRun[]): Figures & { window: Figures; desktop: Figures; screens: number } => ({
  ...figures(runs),
  screens: runs.length,
  window: figures(runs.filter((r) => r.screen.kind === 'window')),
  desktop: figures(runs.filter((r) => r.screen.kind === 'desktop')),
})

const results: Partial<Record<CandidateName, ScreenRun[]>> = {}
let set2Runs: Set2Run[] = []
try {
  if (wanted.includes('paddle')) {
    // As the app reads: in the text layer's own process, one thread for onnxruntime and sharp.
    const paddle = createProcessReader(nodeOcrSpawner())
    try {
      if (screens.length) results.paddle = await runCandidate('paddle', (image) => paddle.read(image))
      if (screens2.length) set2Runs = await runSet2((image) => paddle.read(image), screens.length > 0)
    } finally {
      await paddle.close()
    }
  }
  if (wanted.includes('tesseract') && screens.length) {
    const tesseract = await TesseractReader.open()
    try {
      results.tesseract = await runCandidate('tesseract', (image) => tesseract.read(image))
    } finally {
      await tesseract.close()
    }
  }
  const paddleRuns = results.paddle
  if (wanted.includes('tesseractRegions') && paddleRuns) {
    // tesseract.js on the regions the Paddle pipeline's layout found on the same screen (padded a
    // little): recognition compared with the layout held equal. Its time leaves out the layout's.
    const byFile = new Map(paddleRuns.map((r) => [r.screen.file, r.result]))
    const regionsOf = (screen: ScreenCase): OcrBox[] => {
      const result = byFile.get(screen.file)
      if (!result) return []
      const pad = (b: OcrBox): OcrBox => {
        const x = Math.max(0, b.x - 4)
        const y = Math.max(0, b.y - 4)
        return { x, y, width: Math.min(result.width, b.x + b.width + 4) - x, height: Math.min(result.height, b.y + b.height + 4) - y }
      }
      return result.blocks.map((b) => pad(b.box))
    }
    const tesseract = await TesseractReader.open()
    try {
      results.tesseractRegions = await runCandidate('tesseractRegions', (image, screen) => tesseract.read(image, regionsOf(screen)))
    } finally {
      await tesseract.close()
    }
  }
} finally {
  await engine?.dispose()
}

const candidates = Object.fromEntries(Object.entries(results).map(([name, runs]) => [name, withKinds(runs)]))
const main = results.paddle ? figures(results.paddle) : null
const set2 = set2Runs.length ? set2Figures(set2Runs.flatMap((r) => r.lines)) : null
const set2Ms = (scale: number): number | null => ms(median(set2Runs.filter((r) => r.screen.scale === scale).map((r) => r.ms)))
const summary = {
  linesRead: main?.linesRead ?? null,
  charErrorRate: main?.charErrorRate ?? null,
  medianMs4k: main?.medianMs4k ?? null,
  medianMs1080p: main?.medianMs1080p ?? null,
  linesFound: main?.linesFound ?? null,
  linesRead2: set2?.linesRead2 ?? null,
  charErrorRate2: set2?.charErrorRate2 ?? null,
  cjkLinesRead: set2?.cjkLinesRead ?? null,
  screens: screens.length,
  truthLines: screens.reduce((s, c) => s + c.lines.length, 0),
  concurrentEncode,
  loadAverageAtStart: Math.round(loadAtStart * 100) / 100,
  encodeAlongsideMedianMs: ms(median([...Object.values(results), set2Runs].flatMap((runs) => runs.map((r) => r.encodeMs)))),
  candidates,
  set2: set2 && {
    screens: set2Runs.length,
    medianMs4k: set2Ms(2),
    medianMs1080p: set2Ms(1),
    // Screens read with a pack other than the built-in one, and the pack.
    packs: Object.fromEntries(set2Runs.filter((r) => r.pack !== BUILT_IN_PACK).map((r) => [r.screen.id, r.pack])),
    ...set2,
  },
  notes: {
    tesseract: 'tesseract.js 7, eng 4.0.0 LSTM, whole image, PSM 6, 1080p upscaled 2x',
    tesseractRegions: "tesseract.js on the Paddle pipeline's blocks (padded 4 px), PSM 6, 1080p upscaled 2x; time excludes the layout",
  },
}
console.log(JSON.stringify(summary))
