// The vision model through a llama-server child (electron/engine/server-backend.ts), through
// the engine process as the app runs it: answers stream, follow-ups reuse earlier images,
// greedy is deterministic, cancel frees the slot, edits and model switches reuse nothing they
// should not, a killed server is restarted, and no server outlives its engine.
import { existsSync } from 'node:fs'
import { copyFile, readdir, readFile, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ChatMessage, GenerateRequest } from '../../electron/ipc/contract.js'
import { AppError } from '../../electron/ipc/errors.js'
import { EngineClient } from '../../electron/engine/client.js'
import { createEngine } from '../../electron/engine/engine.js'
import { nodeEngineSpawner } from '../../electron/engine/spawn-node.js'
import { findServerBinary } from '../../electron/engine/server-binary.js'
import { serverArgs, serverSamplers } from '../../electron/engine/server-args.js'
import { resolveSampling } from '../../electron/engine/sampling.js'
import { ensureFixtures, ensureShapedTextModel, TEXT, type FixturePaths } from '../fixtures/generate.js'
import { collect, greedy, scratchDir, type Collected } from '../support/engine.js'
import { solidPng } from '../support/images.js'
import { serversUnder } from '../support/servers.js'
import { until } from '../support/until.js'

const binary = await findServerBinary()
if (!binary.found) console.warn(`server-backend tests skipped: ${binary.reason}`)

/** The folder a llama-server reads its images from: its --media-path. */
async function mediaFolderOf(pid: number): Promise<string> {
  const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0')
  const at = args.indexOf('--media-path')
  expect(at).toBeGreaterThan(0)
  return args[at + 1]!
}

/** The server's port, from its command line. */
async function portOf(pid: number): Promise<number> {
  const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0')
  return Number(args[args.indexOf('--port') + 1])
}

/** Connections to this port closed lately (TIME_WAIT, which the closing side keeps for a minute). */
async function closedConnectionsTo(port: number): Promise<number> {
  const hex = port.toString(16).toUpperCase().padStart(4, '0')
  let n = 0
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const rows = (await readFile(table, 'utf8').catch(() => '')).split('\n').slice(1)
    // columns: sl local_address rem_address st ...; TIME_WAIT is state 06
    n += rows.filter((row) => {
      const cols = row.trim().split(/\s+/)
      return cols[3] === '06' && (cols[1]?.endsWith(`:${hex}`) || cols[2]?.endsWith(`:${hex}`))
    }).length
  }
  return n
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('what llama-server is given', () => {
  it('loopback-only options, one slot, no web UI, nothing fetched, and no key on the command line', () => {
    const args = serverArgs({ model: '/m.gguf', mmproj: '/p.gguf', contextSize: 2048, threads: 3, imageMaxTokens: null })
    expect(args.join(' ')).toContain('-m /m.gguf --mmproj /p.gguf -c 2048 -t 3')
    expect(args).toEqual(expect.arrayContaining(['-np', '--no-webui', '--offline', '--jinja', '--no-context-shift']))
    expect(args[args.indexOf('-np') + 1]).toBe('1')
    // A cancel lands between batches: 512 tokens at most, not the default 2,048.
    expect(args[args.indexOf('-b') + 1]).toBe('512')
    expect(args.join(' ')).not.toMatch(/api-key|--host|--port/)
    // Images are read from files only where the engine made a folder for them.
    expect(args).not.toContain('--media-path')
    const media = serverArgs({
      model: '/m.gguf',
      mmproj: '/p.gguf',
      contextSize: 2048,
      threads: 3,
      imageMaxTokens: null,
      mediaPath: '/tmp/m',
    })
    expect(media.join(' ')).toContain('--media-path /tmp/m')
  })

  it('every sampler named: temperature 0 stays greedy, XTC, DRY, typical, mirostat, dynamic temperature and penalties off', () => {
    const s = serverSamplers(resolveSampling({ temperature: 0, seed: 4 }))
    expect(s).toMatchObject({
      temperature: 0,
      seed: 4,
      xtc_probability: 0,
      dry_multiplier: 0,
      typical_p: 1,
      mirostat: 0,
      top_n_sigma: -1,
      dynatemp_range: 0,
      repeat_penalty: 1,
      repeat_last_n: 0,
      frequency_penalty: 0,
      presence_penalty: 0,
    })
  })

  it('a LLAMA_SERVER_BIN that is not there is said, not passed over', async () => {
    expect(await findServerBinary({ LLAMA_SERVER_BIN: '/nonexistent/llama-server' })).toMatchObject({
      found: false,
      reason: expect.stringContaining('LLAMA_SERVER_BIN=/nonexistent/llama-server'),
    })
  })

  it('without a llama-server the vision model runs on llama.node, and the engine info says why', async () => {
    const fx = await ensureFixtures()
    const engine = new EngineClient({
      spawn: nodeEngineSpawner({
        env: { ENGINE_THREADS: '1', ENGINE_VISION_BINDING: 'auto', LLAMA_SERVER_BIN: '/nonexistent/llama-server' },
      }),
    })
    try {
      const info = await engine.load({ modelPath: fx.textModel, mmprojPath: fx.mmproj, gpu: false })
      expect(info).toMatchObject({
        binding: 'llama.node',
        bindingReason: expect.stringMatching(/^Follow-up questions re-read earlier images: LLAMA_SERVER_BIN=/),
      })
    } finally {
      await engine.dispose()
    }
  })
})

describe.skipIf(!binary.found)('vision through llama-server', () => {
  let fx: FixturePaths
  let engine: EngineClient
  const logs: string[] = []
  let red: Uint8Array, green: Uint8Array, blue: Uint8Array, grey: Uint8Array
  const load = () => engine.load({ modelPath: fx.textModel, mmprojPath: fx.mmproj, gpu: false })
  const ask = (messages: ChatMessage[], extra: Partial<GenerateRequest> = {}): Promise<Collected> =>
    collect(engine.generate({ messages, sampling: greedy(6), ...extra }))
  const image = (bytes: Uint8Array) => [{ bytes }]

  beforeAll(async () => {
    fx = await ensureFixtures()
    red = await solidPng(64, 64, '#cc2222')
    green = await solidPng(64, 64, '#22cc22')
    blue = await solidPng(64, 64, '#2222cc')
    grey = await solidPng(64, 64, '#888888')
    engine = new EngineClient({
      spawn: nodeEngineSpawner({ env: { ENGINE_THREADS: '1', ENGINE_VISION_BINDING: 'llama-server' } }),
      log: (line) => logs.push(line),
    })
  })
  afterAll(async () => {
    await engine?.dispose()
  })

  it('loads on llama-server and streams an answer about an image', async () => {
    const info = await load()
    expect(info).toMatchObject({ binding: 'llama-server', backend: 'cpu', vision: true, mmprojPath: fx.mmproj })
    expect(await serversUnder(engine.pid!)).toHaveLength(1)
    const out = await collect(
      engine.generate({ messages: [{ role: 'user', text: 'What is this?', images: image(red) }], sampling: greedy(40) }),
    )
    expect(out.tokens).toBe(40)
    expect(out.chunks).toBeGreaterThan(2)
    expect(out.stats).toMatchObject({ tokensOut: 40, stopReason: 'max-tokens' })
    expect(out.stats!.imageTokens).toBeGreaterThan(0)
    expect(await engine.countTokens('hello world')).toBeGreaterThan(0)
  })

  it('a follow-up reuses every earlier image: only the new turn is evaluated', async () => {
    const turns: ChatMessage[] = []
    const prompts: number[] = []
    const imageTokens: number[] = []
    for (const [i, bytes] of [red, green, blue, grey].entries()) {
      turns.push({ role: 'user', text: `Picture ${i}?`, images: image(bytes) })
      const out = await ask(turns)
      const stats = out.stats!
      if (i > 0) {
        // Everything the previous request's prompt held, its images included, came from the cache.
        expect(stats.cachedTokens).toBeGreaterThanOrEqual(prompts.at(-1)!)
        // What was evaluated: the previous answer, the new turn and its one image, not the earlier ones.
        expect(stats.tokensIn - stats.cachedTokens!).toBeLessThan(prompts[0]! + 10)
      }
      prompts.push(stats.tokensIn)
      imageTokens.push(stats.imageTokens)
      turns.push({ role: 'assistant', text: out.text })
    }
    // The same conversation asked again reuses all but the last token.
    const again = await ask(turns.slice(0, -1))
    expect(again.stats!.cachedTokens).toBe(again.stats!.tokensIn - 1)
    // Each turn's images were counted from its prompt, one new image at a time (the pictures are
    // all 64x64, so each is as many tokens); asked again, every image's tokens are known and
    // added up instead, the same image twice counting twice.
    const each = imageTokens[0]!
    expect(each).toBeGreaterThan(0)
    expect(imageTokens).toEqual([each, 2 * each, 3 * each, 4 * each])
    expect(again.stats!.imageTokens).toBe(4 * each)
    const twice = await ask([...turns, { role: 'user', text: 'And these two?', images: [...image(red), ...image(red)] }])
    expect(twice.stats!.imageTokens).toBe(6 * each)
  })

  it('answers reuse one connection to the server: none is closed after each answer', async () => {
    const port = await portOf((await serversUnder(engine.pid!))[0]!)
    await ask([{ role: 'user', text: 'Warm up.' }])
    const before = await closedConnectionsTo(port)
    for (let i = 0; i < 10; i++) await ask([{ role: 'user', text: `Question ${i}?`, images: image(red) }])
    // An answer's body cancelled after [DONE] closed its connection: ten answers, ten closed.
    expect((await closedConnectionsTo(port)) - before).toBeLessThan(3)
  })

  it('images reach the server as files in a private folder, each written once', async () => {
    const dir = await mediaFolderOf((await serversUnder(engine.pid!))[0]!)
    expect((await stat(dir)).mode & 0o777).toBe(0o700)
    const before = new Set(await readdir(dir))
    const picture = await solidPng(64, 64, '#3366aa')
    const turns: ChatMessage[] = [{ role: 'user', text: 'This one?', images: image(picture) }]
    const first = await ask(turns)
    const added = (await readdir(dir)).filter((name) => !before.has(name))
    expect(added).toHaveLength(1)
    expect(added[0]).toMatch(/^[0-9a-f]{40}\.(png|jpg)$/)
    const file = join(dir, added[0]!)
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    const written = (await stat(file)).mtimeMs
    turns.push({ role: 'assistant', text: first.text }, { role: 'user', text: 'And again?' })
    const followUp = await ask(turns)
    expect(followUp.stats!.cachedTokens).toBeGreaterThanOrEqual(first.stats!.tokensIn)
    expect((await readdir(dir)).filter((name) => !before.has(name))).toEqual(added)
    expect((await stat(file)).mtimeMs).toBe(written)
  })

  it('an image edited out of an earlier turn is reused only up to that point', async () => {
    const history: ChatMessage[] = [
      { role: 'user', text: 'First?', images: image(red) },
      { role: 'assistant', text: 'A red square.' },
      { role: 'user', text: 'Second?', images: image(green) },
    ]
    const first = await ask(history)
    const edited = [{ ...history[0]!, images: image(blue) }, ...history.slice(1)]
    const after = await ask(edited)
    // Only the text before the first image matches: the edited image and all after it are new.
    expect(after.stats!.cachedTokens).toBeLessThan(first.stats!.imageTokens / 2)
    const removed = [{ role: 'user' as const, text: 'First?' }, ...history.slice(1)]
    const third = await ask(removed)
    expect(third.stats!.cachedTokens).toBeLessThan(10)
  })

  it('each picture is seen as itself: kept preprocessed images never stand in for another of the same size', async () => {
    // llama-server keeps preprocessed images by their file's hash (scripts/llama-cpp-patches/0002)
    // and decoded ones by their file's bytes (0005): pictures of one size in turn must each get
    // their own answer, and the one a fresh server gives.
    const about = async (bytes: Uint8Array, on: EngineClient = engine): Promise<string> =>
      (await collect(on.generate({ messages: [{ role: 'user', text: 'What is this?', images: image(bytes) }], sampling: greedy(12) }))).text
    const answers = [await about(red), await about(blue), await about(red), await about(blue)]
    expect(answers[2]).toBe(answers[0])
    expect(answers[3]).toBe(answers[1])
    expect(answers[1]).not.toBe(answers[0])
    const fresh = new EngineClient({
      spawn: nodeEngineSpawner({ env: { ENGINE_THREADS: '1', ENGINE_VISION_BINDING: 'llama-server' } }),
    })
    try {
      await fresh.load({ modelPath: fx.textModel, mmprojPath: fx.mmproj, gpu: false })
      expect(await about(blue, fresh)).toBe(answers[1])
    } finally {
      await fresh.dispose()
    }
  })

  it('temperature 0 is greedy whatever the seed, and a seed repeats its answer', async () => {
    const messages: ChatMessage[] = [{ role: 'user', text: 'Describe it.', images: image(green) }]
    const a = await collect(engine.generate({ messages, sampling: { maxTokens: 30, temperature: 0, seed: 1 } }))
    const b = await collect(engine.generate({ messages, sampling: { maxTokens: 30, temperature: 0, seed: 99 } }))
    expect(b.text).toBe(a.text)
    const c = await collect(engine.generate({ messages, sampling: { maxTokens: 30, temperature: 1, seed: 5 } }))
    const d = await collect(engine.generate({ messages, sampling: { maxTokens: 30, temperature: 1, seed: 5 } }))
    expect(d.text).toBe(c.text)
  })

  it('cancel stops the server within 200 ms: the next answer starts at once', async () => {
    const controller = new AbortController()
    let abortedAt = 0
    const long = collect(
      engine.generate(
        { messages: [{ role: 'user', text: 'Go on.', images: image(blue) }], sampling: { maxTokens: 3500, temperature: 1, seed: 3 } },
        controller.signal,
      ),
      (c) => {
        if (c.tokens >= 20 && !abortedAt) {
          abortedAt = performance.now()
          controller.abort()
        }
      },
    )
    const cancelled = await long
    expect(cancelled.stats?.stopReason).toBe('cancelled')
    expect(performance.now() - abortedAt).toBeLessThan(200)
    // A stopped answer still says what it was asked with: the prompt's tokens, images included
    // (it said 0 in, the usage that carries them coming only with the last event).
    const whole = await collect(engine.generate({ messages: [{ role: 'user', text: 'Go on.', images: image(blue) }], sampling: greedy(2) }))
    expect(whole.stats!.tokensIn).toBeGreaterThan(0)
    expect(cancelled.stats!.tokensIn).toBe(whole.stats!.tokensIn)
    expect(cancelled.stats!.imageTokens).toBe(whole.stats!.imageTokens)
    // One slot: had it kept generating the 3,500 tokens (over a second here), this would wait for it.
    const started = performance.now()
    const next = await collect(engine.generate({ messages: [{ role: 'user', text: 'Hi' }], sampling: greedy(2) }))
    expect(next.tokens).toBe(2)
    expect(performance.now() - started).toBeLessThan(200)
  })

  it('a reader that stops reading ends the answer too: the next answer starts at once', async () => {
    let read = 0
    for await (const chunk of engine.generate({
      messages: [{ role: 'user', text: 'Go on.', images: image(blue) }],
      sampling: { maxTokens: 3500, temperature: 1, seed: 4 },
    })) {
      if (chunk.kind === 'tokens') read += chunk.count
      if (read >= 20) break
    }
    // Unread, the 3,500 tokens went on being generated (over a second here), and this waited for them.
    const started = performance.now()
    const next = await collect(engine.generate({ messages: [{ role: 'user', text: 'Hi' }], sampling: greedy(2) }))
    expect(next.tokens).toBe(2)
    expect(performance.now() - started).toBeLessThan(200)
  })

  it('a cancel before the server has answered ends the answer at once, not half a second later', async () => {
    const waits: number[] = []
    for (let i = 0; i < 8; i++) {
      const controller = new AbortController()
      const answer = collect(
        engine.generate(
          { messages: [{ role: 'user', text: `Question ${i}?`, images: image(grey) }], sampling: greedy(50) },
          controller.signal,
        ),
      )
      await new Promise((r) => setTimeout(r, i % 3))
      const abortedAt = performance.now()
      controller.abort()
      await answer
      waits.push(performance.now() - abortedAt)
    }
    waits.sort((a, b) => a - b)
    // Before, most such cancels waited 500 ms to tell a cancel from a server that had died.
    expect(waits[4]!).toBeLessThan(250)
  })

  it('structured answers and forced tool calls hold on llama-server', async () => {
    const schema = { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'], additionalProperties: false }
    const json = await collect(
      engine.generate({
        messages: [{ role: 'user', text: 'A number.', images: image(red) }],
        sampling: greedy(60),
        format: { type: 'json_schema', schema },
      }),
    )
    expect(json.stats?.stopReason).toBe('eos')
    expect(Number.isInteger((JSON.parse(json.text) as { n: number }).n)).toBe(true)
    const tools = [{ name: 'pick', parameters: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] } }]
    let call = null
    for await (const chunk of engine.generate({
      messages: [{ role: 'user', text: 'Pick.' }],
      sampling: greedy(80),
      tools,
      toolChoice: 'required',
    })) {
      if (chunk.kind === 'tokens') expect(chunk.text).toBe('')
      else call = chunk.toolCalls?.[0] ?? null
    }
    expect(call).toMatchObject({ name: 'pick' })
  })

  it('a model switch starts a new server: nothing is reused, and the old one is gone', async () => {
    const before = await serversUnder(engine.pid!)
    const messages: ChatMessage[] = [{ role: 'user', text: 'Again?', images: image(grey) }]
    await ask(messages)
    const info = await engine.load({ modelPath: fx.textModel })
    expect(info.binding).toBe('node-llama-cpp')
    expect(await until(() => before.every((pid) => !alive(pid)), 2000)).toBe(true)
    await load()
    const after = await serversUnder(engine.pid!)
    expect(after).toHaveLength(1)
    expect(before).not.toContain(after[0])
    const fresh = await ask(messages)
    expect(fresh.stats!.cachedTokens).toBe(0)
  })

  it('a killed server: the answer in flight ends as cut off, the engine restarts it, the next answer works', async () => {
    const [pid] = await serversUnder(engine.pid!)
    let killed = false
    const cut = await collect(
      engine.generate({ messages: [{ role: 'user', text: 'Talk.' }], sampling: { maxTokens: 3500, temperature: 1, seed: 9 } }),
      (c) => {
        if (c.tokens >= 10 && !killed) {
          killed = true
          process.kill(pid!, 'SIGKILL')
        }
      },
    )
    expect(cut.stats?.stopReason).toBe('engine-crashed')
    expect(cut.tokens).toBeGreaterThanOrEqual(10)
    const next = await ask([{ role: 'user', text: 'Still there?', images: image(red) }])
    expect(next.tokens).toBe(6)
    const now = await serversUnder(engine.pid!)
    expect(now).toHaveLength(1)
    expect(now[0]).not.toBe(pid)
    expect(logs.some((l) => /llama-server was killed \(SIGKILL\); starting it again/.test(l))).toBe(true)
  })

  it('no server outlives its engine: unload, and the engine process killed outright', async () => {
    const [pid] = await serversUnder(engine.pid!)
    const media = await mediaFolderOf(pid!)
    await engine.unload()
    expect(await until(() => !alive(pid!), 2000)).toBe(true)
    // Its images go with it.
    expect(await until(() => !existsSync(media), 2000)).toBe(true)
    await load()
    const [second] = await serversUnder(engine.pid!)
    // SIGKILL: no JavaScript runs in the engine; the watchdog sees its pipe close.
    await engine.dispose()
    expect(await until(() => !alive(second!), 8000)).toBe(true)
  })
})

describe.skipIf(!binary.found)('llama-server in this process', () => {
  it('an answer in flight when the server dies fails with a sentence that says so', async () => {
    const fx = await ensureFixtures()
    const logs: string[] = []
    const engine = createEngine({ threads: 1, visionBinding: 'llama-server', log: (l) => logs.push(l) })
    try {
      await engine.load({ modelPath: fx.textModel, mmprojPath: fx.mmproj, gpu: false })
      const [pid] = await serversUnder(process.pid)
      let seen = 0
      const run = async (): Promise<void> => {
        for await (const chunk of engine.generate({
          messages: [{ role: 'user', text: 'Talk.' }],
          sampling: { maxTokens: 3500, temperature: 1, seed: 2 },
        })) {
          if (chunk.kind === 'tokens' && ++seen === 5) process.kill(pid!, 'SIGKILL')
        }
      }
      await expect(run()).rejects.toMatchObject({
        code: 'engine-crashed',
        message: expect.stringMatching(/llama-server\) was killed \(SIGKILL\)/),
      })
      const out = await collect(engine.generate({ messages: [{ role: 'user', text: 'Hi' }], sampling: greedy(3) }))
      expect(out.tokens).toBe(3)
    } finally {
      await engine.unload()
    }
  })

  it('image files gone from under the engine cost the files, not the answer: written again, or sent inline', async () => {
    const fx = await ensureFixtures()
    const engine = createEngine({ threads: 1, visionBinding: 'llama-server' })
    try {
      await engine.load({ modelPath: fx.textModel, mmprojPath: fx.mmproj, gpu: false })
      const dir = await mediaFolderOf((await serversUnder(process.pid))[0]!)
      const picture = await solidPng(64, 64, '#aa7700')
      const ask = (text: string) =>
        collect(engine.generate({ messages: [{ role: 'user', text, images: [{ bytes: picture }] }], sampling: greedy(8) }))
      const fromFile = await ask('What is this?')
      const [name] = await readdir(dir)
      // A temp-folder cleaner took the file: the server refuses it, and the engine writes it again.
      await rm(join(dir, name!))
      const rewritten = await ask('What is this?')
      expect(rewritten.text).toBe(fromFile.text)
      expect(await readdir(dir)).toEqual([name])
      // The folder itself gone (a cleaner, a full disk): every write now fails.
      await rm(dir, { recursive: true })
      const inline = await ask('What is this?')
      expect(inline.tokens).toBe(8)
      expect(inline.text).toBe(fromFile.text)
      expect(existsSync(dir)).toBe(false)
      // A picture the server has never seen reaches it too.
      const other = await collect(
        engine.generate({
          messages: [{ role: 'user', text: 'And this?', images: [{ bytes: await solidPng(64, 64, '#0077aa') }] }],
          sampling: greedy(8),
        }),
      )
      expect(other.tokens).toBe(8)
    } finally {
      await engine.unload()
    }
  })
})

describe.skipIf(!binary.found)('image tokens on llama-server with a template that lays out tools', () => {
  let engine: EngineClient

  afterAll(async () => {
    await engine?.dispose()
  })

  it('counts an image the same with tools offered: the tools are text, not the image', async () => {
    const fx = await ensureFixtures()
    // Qwen3's template writes the tools into the prompt; the plain fixture's ignores them.
    const qwen3 = await ensureShapedTextModel('thinker', TEXT, 1234, { thinking: 'model' })
    engine = new EngineClient({ spawn: nodeEngineSpawner({ env: { ENGINE_THREADS: '1', ENGINE_VISION_BINDING: 'llama-server' } }) })
    await engine.load({ modelPath: qwen3, mmprojPath: fx.mmproj, gpu: false })
    const tools = [
      {
        name: 'lookup_weather',
        description: 'Looks up the weather for a city and a day.',
        parameters: { type: 'object', properties: { city: { type: 'string' }, day: { type: 'string' } }, required: ['city'] },
      },
    ]
    const about = (bytes: Uint8Array): ChatMessage[] => [{ role: 'user', text: 'What is this?', images: [{ bytes }] }]
    const plain = await collect(engine.generate({ messages: about(await solidPng(64, 64, '#aa0000')), sampling: greedy(3) }))
    // Another picture of the same size, first seen with tools: its count is learnt from this prompt.
    const other = await solidPng(64, 64, '#00aa00')
    const offered = await collect(engine.generate({ messages: about(other), sampling: greedy(3), tools, toolChoice: 'auto' }))
    expect(offered.stats!.tokensIn).toBeGreaterThan(plain.stats!.tokensIn + 20)
    expect(offered.stats!.imageTokens).toBe(plain.stats!.imageTokens)
    const again = await collect(engine.generate({ messages: about(other), sampling: greedy(3) }))
    expect(again.stats!.imageTokens).toBe(plain.stats!.imageTokens)
  })
})

describe.skipIf(!binary.found)('when the engine cannot go on', () => {
  it('a llama-server that dies and cannot be started again leaves no model shown as ready, and says why', async () => {
    const fx = await ensureFixtures()
    const states: string[] = []
    const engine = new EngineClient({
      spawn: nodeEngineSpawner({ env: { ENGINE_THREADS: '1', ENGINE_VISION_BINDING: 'llama-server' } }),
      onState: (s) => states.push(s.state),
    })
    try {
      // Its model file goes away (an external drive unplugged), then the server dies.
      const copy = join(await scratchDir(), 'gone.gguf')
      await copyFile(fx.textModel, copy)
      await engine.load({ modelPath: copy, mmprojPath: fx.mmproj, gpu: false })
      await rm(copy)
      const [pid] = await serversUnder(engine.pid!)
      process.kill(pid!, 'SIGKILL')
      expect(await until(() => engine.state().state === 'error', 15_000)).toBe(true)
      const state = engine.state()
      expect(state.state === 'error' && state.message).toMatch(/\(llama-server\) was killed \(SIGKILL\) and could not be started again/)
      expect(states).toEqual(['loading', 'ready', 'error'])
      const refused = await collect(engine.generate({ messages: [{ role: 'user', text: 'Hi' }], sampling: greedy(2) })).catch(
        (e: unknown) => e,
      )
      expect(refused).toMatchObject({ code: 'no-model', message: expect.stringMatching(/could not be started again/) })
      await expect(engine.countTokens('hello')).rejects.toMatchObject({ message: expect.stringMatching(/could not be started again/) })
    } finally {
      await engine.dispose()
    }
  })

  it('shutting the engine down ends the calls in flight, instead of leaving them waiting for ever', async () => {
    const fx = await ensureFixtures()
    const engine = new EngineClient({
      spawn: nodeEngineSpawner({ env: { ENGINE_THREADS: '1', ENGINE_VISION_BINDING: 'llama-server' } }),
    })
    await engine.load({ modelPath: fx.textModel, mmprojPath: fx.mmproj, gpu: false })
    const streaming = collect(
      engine.generate({ messages: [{ role: 'user', text: 'Talk.' }], sampling: { maxTokens: 3500, temperature: 1, seed: 2 } }),
    ).catch((e: unknown) => e)
    const counting = engine.countTokens('hello').catch((e: unknown) => e)
    await new Promise((r) => setTimeout(r, 20))
    await engine.dispose()
    const ended = await Promise.race([
      Promise.all([streaming, counting]),
      new Promise<'still waiting'>((r) => setTimeout(() => r('still waiting'), 3000)),
    ])
    expect(ended).not.toBe('still waiting')
    const [answer, count] = ended as [unknown, unknown]
    // An answer that had begun keeps what was said and ends as cut off, as after a crash; one
    // that had not ends with the error.
    if (answer instanceof AppError) expect(answer.code).toBe('engine-crashed')
    else expect(answer).toMatchObject({ stats: { stopReason: 'engine-crashed' } })
    // The count may have been answered before the shutdown; otherwise it ends with the error.
    if (typeof count !== 'number') expect(count).toMatchObject({ code: 'engine-crashed' })
  })
})
