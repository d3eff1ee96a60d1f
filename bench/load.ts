// npm run bench:load — the local API under load from many clients, with the real services:
// the engine as its own process from the built bundle (as in the app), the scheduler with
// the app's queue limit, and the API server on 127.0.0.1, against the tiny fixtures.
//
// 16 clients send 40 requests each, one after another, in two phases:
//   1. the vision model (tiny-llama + mmproj) loaded: 20 requests per client, text-only
//      and with a small PNG as a data URL;
//   2. the text model alone: 20 text-only requests per client.
// Within a phase every client cycles through the same mix: plain answers, streamed ones,
// a stream the client aborts after its first token, and a plain request it aborts after a
// few milliseconds. Answers are short (max_tokens 8-16) so the run takes a few minutes at
// most on 2 cores.
//
// Counted: requests (sent); cancelled (aborted by the client as planned); failed (non-2xx
// other than those cancels, network errors, bad streams); engineRestarts (engine states
// 'crashed' seen, cross-checked with the engine process ids); p95QueueMs (request sent →
// first byte, which for a stream is its first token, over requests not cancelled).
// Progress goes to stdout as it runs; the last line is one JSON object.
import { availableParallelism, cpus } from 'node:os'
import { engineStateFeed, startApiServer } from '../electron/api/server.js'
import { GenerationScheduler } from '../electron/engine/scheduler.js'
import { ensureFixtures } from '../test/fixtures/generate.js'
import { startEngine } from '../test/support/engine.js'
import { solidPng } from '../test/support/images.js'

const CLIENTS = 16
const PER_CLIENT = 40
const TOKEN = 'bench-load-token'
const MODEL = 'tiny-llama-f32'

type Kind = 'plain' | 'stream' | 'image' | 'image-stream' | 'cancel-stream' | 'cancel-plain'
/** One round of the mix; phase 2 sends the image kinds without their image. */
const MIX: Kind[] = ['plain', 'stream', 'image', 'plain', 'cancel-stream', 'image-stream', 'stream', 'cancel-plain']

interface Outcome {
  kind: Kind
  cancelled: boolean
  /** Why it failed, or null. */
  failure: string | null
  /** Request sent → first byte (a stream's first token); null when cancelled or failed before it. */
  queueMs: number | null
}

const fx = await ensureFixtures()
const engineStates = engineStateFeed()
const engine = startEngine(engineStates.publish, true)
let engineRestarts = 0
const enginePids = new Set<number>()
engineStates.watch((state) => {
  if (state.state === 'crashed') {
    engineRestarts++
    console.log(`engine crashed: ${state.message}${state.restarting ? ' (reloading)' : ''}`)
  }
  if (state.state === 'ready' && engine.pid !== undefined) enginePids.add(engine.pid)
})
// The app's scheduler, with its own limit on waiting API requests.
const scheduler = new GenerationScheduler(engine)
const server = await startApiServer({
  scheduler,
  engineState: () => engine.state(),
  watchEngineState: engineStates.watch,
  token: TOKEN,
  port: 0,
})

const images = await Promise.all(
  ['#cc3333', '#33cc33', '#3333cc', '#cccc33'].map(
    async (colour, i) => `data:image/png;base64,${Buffer.from(await solidPng(48 + i * 8, 32 + i * 8, colour)).toString('base64')}`,
  ),
)

async function send(client: number, n: number, kind: Kind, vision: boolean): Promise<Outcome> {
  const withImage = vision && (kind === 'image' || kind === 'image-stream')
  const stream = kind === 'stream' || kind === 'image-stream' || kind === 'cancel-stream'
  const text = `Client ${client}, request ${n}: ${withImage ? 'what is in this picture?' : 'say something short.'}`
  const body = {
    model: MODEL,
    messages: [
      {
        role: 'user',
        content: withImage
          ? [
              { type: 'text', text },
              { type: 'image_url', image_url: { url: images[n % images.length] } },
            ]
          : text,
      },
    ],
    max_tokens: kind.startsWith('cancel') ? 64 : 8 + (n % 9),
    temperature: 0.7,
    seed: client * 1000 + n,
    stream,
  }
  const abort = new AbortController()
  const sent = performance.now()
  let cancelled = false
  const cancel = (): void => {
    cancelled = true
    abort.abort()
  }
  // A plain request is cancelled while it waits or generates: its response would be its first byte.
  const timer = kind === 'cancel-plain' ? setTimeout(cancel, 2 + (n % 7) * 3) : undefined
  try {
    const res = await fetch(`${server.url}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: abort.signal,
    })
    const queueMs = performance.now() - sent
    if (!res.ok) {
      const error = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null
      return {
        kind,
        cancelled: false,
        failure: `HTTP ${res.status} ${error?.error?.code ?? ''}: ${error?.error?.message ?? ''}`,
        queueMs: null,
      }
    }
    if (!stream) {
      const answer = (await res.json()) as { choices?: { message?: { content?: string } }[] }
      if (typeof answer.choices?.[0]?.message?.content !== 'string')
        return { kind, cancelled: false, failure: 'answer without content', queueMs }
      return { kind, cancelled, failure: null, queueMs: cancelled ? null : queueMs }
    }
    // A stream is checked to its end: an error event or a missing [DONE] is a failure.
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
    let sse = ''
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      sse += value
      if (kind === 'cancel-stream' && sse.includes('"content"')) {
        cancel()
        return { kind, cancelled: true, failure: null, queueMs: null }
      }
    }
    if (sse.includes('"error"'))
      return { kind, cancelled: false, failure: `stream error: ${/"message":"([^"]*)"/.exec(sse)?.[1] ?? sse.slice(-200)}`, queueMs }
    if (!sse.endsWith('data: [DONE]\n\n')) return { kind, cancelled: false, failure: 'stream ended without [DONE]', queueMs }
    return { kind, cancelled: false, failure: null, queueMs }
  } catch (error) {
    if (cancelled) return { kind, cancelled: true, failure: null, queueMs: null }
    return {
      kind,
      cancelled: false,
      failure: `network: ${(error as Error).message} ${((error as Error).cause as Error | undefined)?.message ?? ''}`.trim(),
      queueMs: null,
    }
  } finally {
    clearTimeout(timer)
  }
}

const outcomes: Outcome[] = []
const failures = new Map<string, number>()
let lastReport = 0

function report(phase: string, total: number, force = false): void {
  const now = performance.now()
  if (!force && now - lastReport < 2000) return
  lastReport = now
  const failed = outcomes.filter((o) => o.failure).length
  console.log(
    `[${phase}] ${outcomes.length}/${total} requests done, ${outcomes.filter((o) => o.cancelled).length} cancelled, ${failed} failed, ${engineRestarts} engine restarts`,
  )
}

async function phase(name: string, load: () => Promise<unknown>, vision: boolean, perClient: number, offset: number): Promise<number> {
  await load()
  const state = engine.state()
  console.log(
    `[${name}] ${state.state === 'ready' ? `model loaded on ${state.info.binding}` : `engine ${state.state}`}: ${CLIENTS} clients x ${perClient} requests`,
  )
  const started = performance.now()
  const total = outcomes.length + CLIENTS * perClient
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, client) => {
      for (let i = 0; i < perClient; i++) {
        const n = offset + i
        const outcome = await send(client, n, MIX[(client + n) % MIX.length]!, vision)
        outcomes.push(outcome)
        if (outcome.failure) {
          failures.set(outcome.failure, (failures.get(outcome.failure) ?? 0) + 1)
          if (failures.get(outcome.failure) === 1) console.log(`[${name}] failure (${outcome.kind}): ${outcome.failure}`)
        }
        report(name, total)
      }
    }),
  )
  report(name, total, true)
  return performance.now() - started
}

const startedAll = performance.now()
const half = PER_CLIENT / 2
const visionMs = await phase('vision', () => engine.load({ modelPath: fx.textModel, mmprojPath: fx.mmproj, gpu: false }), true, half, 0)
const textMs = await phase('text', () => engine.load({ modelPath: fx.textModel, gpu: false }), false, PER_CLIENT - half, half)
const durationMs = performance.now() - startedAll

const waits = outcomes.flatMap((o) => (o.queueMs === null ? [] : [o.queueMs])).sort((a, b) => a - b)
const p95 = waits.length ? waits[Math.min(waits.length - 1, Math.ceil(waits.length * 0.95) - 1)]! : null
if (failures.size) console.log(`failures by reason: ${JSON.stringify(Object.fromEntries(failures))}`)
await server.close()
await engine.dispose()
console.log(
  JSON.stringify({
    requests: outcomes.length,
    failed: outcomes.filter((o) => o.failure).length,
    engineRestarts,
    p95QueueMs: p95 === null ? null : Math.round(p95),
    cancelled: outcomes.filter((o) => o.cancelled).length,
    enginePids: enginePids.size,
    durationMs: Math.round(durationMs),
    phaseMs: { vision: Math.round(visionMs), text: Math.round(textMs) },
    clients: CLIENTS,
    machine: { cpu: cpus()[0]?.model, cores: availableParallelism(), node: process.version },
  }),
)
process.exit(0)
