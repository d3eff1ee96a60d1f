import { fork } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { describe, expect, it } from 'vitest'
import { chatsInvoke } from '../../electron/chats/contract.js'
import { ChatStore } from '../../electron/chats/store.js'
import { SCHEMA_CHARS } from '../../electron/engine/contract.js'
import { DEFAULT_CHAT_SETTINGS } from '../../electron/ipc/defaults.js'
import { AppError } from '../../electron/ipc/errors.js'
import { scratchDir } from '../support/engine.js'
import { rotatedJpeg, solidPng } from '../support/images.js'
import type { ChurnReport } from './churn-child.js'

/** Writers killed in the create/delete test, each at a random moment, and how many run at once. */
const KILLS = 100
const WRITERS = 4

describe('chat store', () => {
  it('creates, lists newest first, searches, renames and deletes conversations', async () => {
    const store = new ChatStore(await scratchDir())
    const a = await store.create({ title: 'Cats' })
    const b = await store.create()
    await store.update(b.id, (c) => void c.messages.push(store.newMessage('user', 'What is on my SCREEN?')))
    expect((await store.list()).map((s) => s.id)).toEqual([b.id, a.id])
    expect((await store.list('screen')).map((s) => s.id)).toEqual([b.id])
    expect((await store.list('cats')).map((s) => s.id)).toEqual([a.id])
    expect(await store.list('nothing like this')).toEqual([])
    await store.update(a.id, (c) => void (c.title = 'Dogs'))
    expect((await store.get(a.id)).title).toBe('Dogs')
    await store.delete(a.id)
    expect((await store.list()).map((s) => s.id)).toEqual([b.id])
    expect(await readdir(store.root)).toEqual([b.id])
    await expect(store.get(a.id)).rejects.toMatchObject({ code: 'not-found' })
  })

  it('keeps everything across a restart', async () => {
    const root = await scratchDir()
    const first = new ChatStore(root)
    const chat = await first.create({ systemPrompt: 'Be brief.' })
    await first.update(chat.id, (c) => void c.messages.push(first.newMessage('user', 'hello')))
    const again = await new ChatStore(root).get(chat.id)
    expect(again).toMatchObject({ id: chat.id, systemPrompt: 'Be brief.', messages: [{ role: 'user', text: 'hello' }] })
  })

  it('stores images beside the conversation, by content, not inlined in the JSON', async () => {
    const store = new ChatStore(await scratchDir())
    const chat = await store.create()
    const png = await solidPng(300, 200)
    const image = await store.saveImage(chat.id, png, 'shot.png')
    expect(image).toMatchObject({ mime: 'image/png', width: 300, height: 200, bytes: png.byteLength, name: 'shot.png' })
    expect(await store.saveImage(chat.id, png)).toMatchObject({ id: image.id })
    await store.update(chat.id, (c) => void c.messages.push(store.newMessage('user', 'look', [image])))
    expect(await readdir(join(store.root, chat.id, 'images'))).toEqual([`${image.id}.png`])
    const json = await readFile(join(store.root, chat.id, 'conversation.json'), 'utf8')
    expect(json.length).toBeLessThan(2000)
    expect(Buffer.from(await store.image(chat.id, image.id)).equals(Buffer.from(png))).toBe(true)
    await expect(store.saveImage(chat.id, new TextEncoder().encode('not an image'), 'notes.txt')).rejects.toMatchObject({
      code: 'bad-image',
      message: 'notes.txt is not an image that can be read.',
    })
    // A phone photo stored sideways with its EXIF orientation is described as shown, upright.
    expect(await store.saveImage(chat.id, await rotatedJpeg())).toMatchObject({ mime: 'image/jpeg', width: 100, height: 200 })
  })

  it('hands back the same bytes for an image read again, until its file is deleted or replaced', async () => {
    const store = new ChatStore(await scratchDir())
    const chat = await store.create()
    const png = await solidPng(300, 200)
    const image = await store.saveImage(chat.id, png, 'shot.png')
    const first = await store.readImage(chat.id, image)
    // The very array: the engine client then knows its content key without hashing it again.
    expect(await store.readImage(chat.id, image)).toBe(first)
    const path = join(store.root, chat.id, 'images', `${image.id}.png`)
    // Written again (a restored backup): read again, not handed back from memory.
    await writeFile(path, png)
    await utimes(path, new Date(), new Date(Date.now() + 5000))
    const rewritten = await store.readImage(chat.id, image)
    expect(rewritten).not.toBe(first)
    expect(Buffer.from(rewritten).equals(Buffer.from(png))).toBe(true)
    // Replaced by another picture: not this image any more (see the test of images damaged in place).
    await writeFile(path, await solidPng(320, 200, '#123456'))
    await expect(store.readImage(chat.id, image)).rejects.toMatchObject({ code: 'not-found' })
    await rm(path)
    await expect(store.readImage(chat.id, image)).rejects.toMatchObject({ code: 'not-found' })
  })

  it('an image file emptied, cut short or replaced in place reads as no longer stored, and reads again once restored', async () => {
    const store = new ChatStore(await scratchDir())
    const chat = await store.create()
    const png = await solidPng(300, 200)
    const image = await store.saveImage(chat.id, png, 'shot.png')
    expect(image.id).toBe(createHash('sha256').update(png).digest('hex').slice(0, 32))
    const path = join(store.root, chat.id, 'images', `${image.id}.png`)
    expect(await store.readImage(chat.id, image)).toEqual(png)
    for (const damage of [Buffer.alloc(0), Buffer.from(png).subarray(0, 40), Buffer.from(await solidPng(300, 200, '#123456'))]) {
      await writeFile(path, damage)
      // The same error as a file that is gone: the conversation goes on without it, and says so.
      await expect(store.readImage(chat.id, image)).rejects.toMatchObject({ code: 'not-found' })
      await expect(store.image(chat.id, image.id)).rejects.toMatchObject({ code: 'not-found' })
    }
    await writeFile(path, png)
    expect(await store.readImage(chat.id, image)).toEqual(png)
  })

  it('an image attached again after its file was damaged in place is stored again, whole', async () => {
    const store = new ChatStore(await scratchDir())
    const chat = await store.create()
    const png = await solidPng(300, 200)
    const image = await store.saveImage(chat.id, png, 'shot.png')
    const path = join(store.root, chat.id, 'images', `${image.id}.png`)
    for (const damage of [Buffer.alloc(0), Buffer.from(png).subarray(0, 40), Buffer.from(await solidPng(300, 200, '#123456'))]) {
      await writeFile(path, damage)
      // The user gives the picture back: the damaged file must not stand for it.
      expect(await store.saveImage(chat.id, png, 'shot.png')).toMatchObject({ id: image.id })
      expect(await store.readImage(chat.id, image)).toEqual(png)
    }
  })

  it('a crash between writing and renaming leaves the previous version whole', async () => {
    const root = await scratchDir()
    let crash = false
    const store = new ChatStore(root, {
      writeFile: async (path, data) => {
        if (!crash) return writeFile(path, data)
        // What a crash at that moment leaves behind: a full temporary file, no rename.
        await writeFile(`${path}.12345`, data)
        throw Object.assign(new Error('process died'), { code: 'EIO' })
      },
    })
    const chat = await store.create({ title: 'Before' })
    crash = true
    await expect(store.update(chat.id, (c) => void (c.title = 'After'))).rejects.toMatchObject({ code: 'storage' })
    expect((await readdir(join(root, chat.id))).sort()).toEqual(['conversation.json', 'conversation.json.12345', 'images'])
    const reopened = new ChatStore(root)
    expect((await reopened.get(chat.id)).title).toBe('Before')
    expect((await readdir(join(root, chat.id))).sort()).toEqual(['conversation.json', 'images'])
  })

  it('a full disk is reported and loses nothing', async () => {
    const root = await scratchDir()
    let full = false
    const store = new ChatStore(root, {
      writeFile: async (path, data) => {
        if (full) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })
        await writeFile(path, data)
      },
    })
    const chat = await store.create({ title: 'Kept' })
    full = true
    const error = await store.update(chat.id, (c) => void (c.title = 'Lost')).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AppError)
    expect((error as AppError).message).toBe('The conversation could not be saved: the disk is full. Nothing already saved was lost.')
    expect((await store.get(chat.id)).title).toBe('Kept')
    expect((await new ChatStore(root).get(chat.id)).title).toBe('Kept')
  })

  it('a writer killed mid-save never leaves a corrupt conversation', async () => {
    const root = await scratchDir()
    const chat = await new ChatStore(root).create()
    let lastCount = 0
    for (let round = 0; round < 6; round++) {
      const child = fork(fileURLToPath(new URL('./writer-child.ts', import.meta.url)), [root, chat.id], {
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      })
      await new Promise((resolve) => child.once('message', resolve))
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 80))
      child.kill('SIGKILL')
      await new Promise((resolve) => child.once('exit', resolve))
      const reopened = new ChatStore(root)
      const saved = await reopened.get(chat.id)
      expect(reopened.damaged).toEqual([])
      expect(saved.messages.length).toBeGreaterThan(lastCount)
      expect(saved.messages.every((m) => m.text.endsWith('x'.repeat(2000)))).toBe(true)
      lastCount = saved.messages.length
    }
  })

  it('writers killed while creating or deleting conversations leave each one whole or gone', async () => {
    // Independent writers, each on its own folder, so their start-up times overlap.
    const writer = await bundledChurnChild()
    const lanes = await Promise.all(
      Array.from({ length: WRITERS }, async () => killWritersRepeatedly(writer, await scratchDir(), KILLS / WRITERS)),
    )
    const total = (key: keyof ChurnTally): number => lanes.reduce((sum, lane) => sum + lane[key], 0)
    // The writers did the work (each died by the kill, never by an error: checked per kill)...
    expect(total('created')).toBeGreaterThan(KILLS / 4)
    expect(total('deleted')).toBeGreaterThan(KILLS / 10)
    // ...and the kills did land inside create() and delete(): their leftovers were there to clean up.
    expect(total('leftovers')).toBeGreaterThan(0)
  }, 120_000)

  it('a refused request leaves nothing on disk', async () => {
    const root = await scratchDir()
    const store = new ChatStore(root)
    const png = await solidPng(32, 32)
    // An image sent to a conversation that does not exist: refused before any folder is made.
    await expect(store.saveImage('6f1f9c52-3b5e-4f55-9d7e-2a0c2f1b8e11', png, 'shot.png')).rejects.toMatchObject({ code: 'not-found' })
    await expect(store.saveImage('../outside', png)).rejects.toMatchObject({ code: 'not-found' })
    // A create whose file cannot be written: no conversation, no folder.
    const failing = new ChatStore(root, {
      writeFile: async () => Promise.reject(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' })),
    })
    await expect(failing.create({ title: 'Never' })).rejects.toMatchObject({ code: 'storage' })
    expect(await failing.list()).toEqual([])
    expect(await readdir(root)).toEqual([])
  })

  it('removes leftovers of an interrupted create or delete at start, silently', async () => {
    const root = await scratchDir()
    const kept = await new ChatStore(root).create({ title: 'Kept' })
    // A create killed before its rename, and a delete killed after its rename.
    await mkdir(join(root, '.tmp-0b6c7c2e-1f0d-4f61-8d6e-5f8d3c1a9b20', 'images'), { recursive: true })
    await writeFile(join(root, '.tmp-0b6c7c2e-1f0d-4f61-8d6e-5f8d3c1a9b20', 'conversation.json'), '{"version": 1, "id": "half')
    await mkdir(join(root, '.trash-5d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6', 'images'), { recursive: true })
    const reopened = new ChatStore(root)
    expect((await reopened.list()).map((c) => c.id)).toEqual([kept.id])
    expect(reopened.damaged).toEqual([])
    expect(await readdir(root)).toEqual([kept.id])
  })

  it('keeps an answer format across a restart; older files, without one, answer in text', async () => {
    const root = await scratchDir()
    const first = new ChatStore(root)
    const json = await first.create()
    const schema = { type: 'object', properties: { a: { type: 'string' } } }
    await first.update(json.id, (c) => void (c.settings = { maxTokens: 64, temperature: 0, format: { type: 'json_schema', schema } }))
    const old = await first.create()
    const file = join(root, old.id, 'conversation.json')
    const { settings: _settings, ...withoutSettings } = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>
    await writeFile(file, JSON.stringify(withoutSettings))
    const older = await first.create()
    await writeFile(
      join(root, older.id, 'conversation.json'),
      JSON.stringify({ ...withoutSettings, id: older.id, settings: { maxTokens: 10, temperature: 1 } }),
    )
    const again = new ChatStore(root)
    expect((await again.get(json.id)).settings).toEqual({ maxTokens: 64, temperature: 0, format: { type: 'json_schema', schema } })
    expect((await again.get(old.id)).settings).toEqual(DEFAULT_CHAT_SETTINGS)
    expect((await again.get(older.id)).settings).toEqual({ maxTokens: 10, temperature: 1 })
    expect(again.damaged).toEqual([])
  })

  it('chats:update takes an answer format, a schema only as an object and bounded in size', () => {
    const update = chatsInvoke['chats:update'].request
    const id = '6f1c2b0e-7d3a-4c59-9a7e-2f4b8c1d0e5a'
    const settings = { maxTokens: 64, temperature: 0 }
    expect(update.safeParse({ id, settings }).success).toBe(true)
    expect(update.safeParse({ id, settings: { ...settings, format: { type: 'json' } } }).success).toBe(true)
    expect(update.safeParse({ id, settings: { ...settings, format: { type: 'json_schema', schema: { type: 'object' } } } }).success).toBe(
      true,
    )
    for (const format of [
      { type: 'json_schema', schema: '{"type": "object"}' },
      { type: 'json_schema', schema: [] },
      { type: 'json_schema' },
      { type: 'yaml' },
      { type: 'json_schema', schema: { type: 'string', description: 'x'.repeat(SCHEMA_CHARS) } },
    ])
      expect(update.safeParse({ id, settings: { ...settings, format } }).success, JSON.stringify(format).slice(0, 80)).toBe(false)
  })

  it('a leftover in a conversation folder that cannot be removed hides nothing; a hand-made copy of the file stays', async () => {
    const root = await scratchDir()
    const store = new ChatStore(root)
    const good = await store.create({ title: 'Good' })
    const odd = await store.create({ title: 'Odd' })
    // What only a crash should leave there is a file; a folder of that name cannot be removed as
    // one, and that error used to fail the whole list, every call, until the app was restarted.
    await mkdir(join(root, odd.id, 'conversation.json.123'))
    // A copy the user made before editing the file by hand.
    await writeFile(join(root, good.id, 'conversation.json.bak'), await readFile(join(root, good.id, 'conversation.json')))
    const reopened = new ChatStore(root)
    expect((await reopened.list()).map((c) => c.title)).toEqual(['Odd', 'Good'])
    expect(reopened.damaged).toEqual([])
    expect((await readdir(join(root, good.id))).sort()).toEqual(['conversation.json', 'conversation.json.bak', 'images'])
  })

  it('a data folder that cannot be read fails the call with a storage error, and the next call tries again', async () => {
    const parent = await scratchDir()
    const root = join(parent, 'chats')
    await writeFile(root, 'not a folder')
    const store = new ChatStore(root)
    await expect(store.list()).rejects.toMatchObject({ code: 'storage', message: /^The conversations could not be read: / })
    await rm(root)
    expect(await store.list()).toEqual([])
    expect((await store.create({ title: 'Now' })).title).toBe('Now')
  })

  it("removes the images only dropped messages held, and at start those no message names; a damaged conversation's are kept", async () => {
    const root = await scratchDir()
    const store = new ChatStore(root)
    const chat = await store.create()
    const [red, green, blue] = await Promise.all([solidPng(16, 16, '#ff0000'), solidPng(16, 16, '#00ff00'), solidPng(16, 16, '#0000ff')])
    const kept = await store.saveImage(chat.id, red)
    const dropped = await store.saveImage(chat.id, green)
    await store.update(chat.id, (c) => {
      c.messages.push(store.newMessage('user', 'one', [kept]), store.newMessage('user', 'two', [dropped, kept]))
    })
    const images = (): Promise<string[]> => readdir(join(root, chat.id, 'images')).then((f) => f.sort())
    expect(await images()).toHaveLength(2)
    // An edit of the first question drops the second, and its green image; red is still named.
    await store.update(chat.id, (c) => void (c.messages = c.messages.slice(0, 1)))
    expect(await images()).toEqual([`${kept.id}.png`])
    expect(await store.readImage(chat.id, kept)).toBeInstanceOf(Uint8Array)

    // A crash between storing a question's image and the question, and a write cut short.
    const orphan = await store.saveImage(chat.id, blue)
    await writeFile(join(root, chat.id, 'images', `${kept.id}.png.4242`), 'half')
    const damaged = await store.create()
    const theirs = await store.saveImage(damaged.id, blue)
    await writeFile(join(root, damaged.id, 'conversation.json'), '{"version": 1, "id": "trunc')
    await writeFile(join(root, chat.id, 'images', 'notes.txt'), 'the user put this here')
    const reopened = new ChatStore(root)
    await reopened.list()
    expect(await images()).toEqual([`${kept.id}.png`, 'notes.txt'])
    expect(orphan.id).toBe(theirs.id)
    expect(await readdir(join(root, damaged.id, 'images'))).toEqual([`${theirs.id}.png`])
  })

  it("says which images no conversation holds any more: a deleted conversation's and an edit's dropped ones, not one still held elsewhere", async () => {
    const gone: string[][] = []
    const store = new ChatStore(await scratchDir(), { imagesGone: async (ids) => void gone.push([...ids].sort()) })
    const [red, green, blue] = await Promise.all([solidPng(16, 16, '#ff0000'), solidPng(16, 16, '#00ff00'), solidPng(16, 16, '#0000ff')])
    const a = await store.create()
    const b = await store.create()
    const [aRed, aGreen, aBlue] = await store.saveImages(a.id, [{ bytes: red }, { bytes: green }, { bytes: blue }])
    const [bRed] = await store.saveImages(b.id, [{ bytes: red }])
    await store.update(
      a.id,
      (c) => void c.messages.push(store.newMessage('user', 'one', [aRed!, aGreen!]), store.newMessage('user', 'two', [aBlue!])),
    )
    await store.update(b.id, (c) => void c.messages.push(store.newMessage('user', 'same red', [bRed!])))
    // An answer streaming in drops nothing: nothing is said.
    await store.update(a.id, (c) => void c.messages.push(store.newMessage('assistant', 'an answer')))
    expect(gone).toEqual([])

    await store.update(a.id, (c) => void (c.messages = c.messages.slice(0, 1)))
    expect(gone).toEqual([[aBlue!.id]])
    // b still holds red: only green goes with a.
    await store.delete(a.id)
    expect(gone).toEqual([[aBlue!.id], [aGreen!.id]])
    await store.delete(b.id)
    expect(gone).toEqual([[aBlue!.id], [aGreen!.id], [bRed!.id]])
    expect(bRed!.id).toBe(aRed!.id)
  })

  it('a conversation is deleted even when the copies of its images cannot be forgotten', async () => {
    const store = new ChatStore(await scratchDir(), {
      imagesGone: () => Promise.reject(new Error('the cache folder is read-only')),
    })
    const chat = await store.create()
    const [image] = await store.saveImages(chat.id, [{ bytes: await solidPng(16, 16) }])
    await store.update(chat.id, (c) => void c.messages.push(store.newMessage('user', 'one', [image!])))
    await store.delete(chat.id)
    await expect(store.get(chat.id)).rejects.toMatchObject({ code: 'not-found' })
  })

  it('reports a damaged file instead of failing, and keeps it on disk', async () => {
    const root = await scratchDir()
    const store = new ChatStore(root)
    const good = await store.create({ title: 'Good' })
    const bad = await store.create({ title: 'Bad' })
    await writeFile(join(root, bad.id, 'conversation.json'), '{"version": 1, "id": "truncat')
    const reopened = new ChatStore(root)
    expect((await reopened.list()).map((c) => c.id)).toEqual([good.id])
    expect(reopened.damaged).toMatchObject([{ id: bad.id }])
    expect(await readFile(join(root, bad.id, 'conversation.json'), 'utf8')).toContain('truncat')
    // What the window is told, and the one file it may ask to be shown.
    expect(await reopened.damagedConversations()).toEqual([{ id: bad.id, reason: expect.stringMatching(/JSON/) }])
    expect(await reopened.damagedPath(bad.id)).toBe(join(root, bad.id, 'conversation.json'))
    for (const other of [good.id, '..', '../..']) await expect(reopened.damagedPath(other)).rejects.toMatchObject({ code: 'not-found' })
  })
})

/**
 * The churn writer as one plain JavaScript file. It is started 100 times: under tsx each start
 * would cost about half a second of CPU compiling the same TypeScript again.
 */
async function bundledChurnChild(): Promise<string> {
  const outfile = join(await scratchDir(), 'churn-child.cjs')
  const { warnings } = await build({
    entryPoints: [fileURLToPath(new URL('./churn-child.ts', import.meta.url))],
    outfile,
    bundle: true,
    platform: 'node',
    // CommonJS, as most of its dependencies are (write-file-atomic reads __filename).
    format: 'cjs',
    logLevel: 'silent',
    // sharp loads its native binding from where npm installed it: require it from there.
    plugins: [
      {
        name: 'installed-sharp',
        setup: (b) =>
          void b.onResolve({ filter: /^sharp$/ }, () => ({ path: createRequire(import.meta.url).resolve('sharp'), external: true })),
      },
    ],
  })
  expect(warnings).toEqual([])
  return outfile
}

interface ChurnTally {
  /** Conversations the writers acknowledged creating, and deleting. */
  created: number
  deleted: number
  /** Leftovers of interrupted creates and deletes found before a start. */
  leftovers: number
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/**
 * Starts a writer that creates and deletes conversations in `root`, kills it at a random
 * moment, opens the store and checks it, `kills` times over.
 */
async function killWritersRepeatedly(writer: string, root: string, kills: number): Promise<ChurnTally> {
  // What the killed writers acknowledged: conversations that must be there, whole, and ones that must be gone.
  const expected = new Map<string, { title: string; filled: boolean }>()
  const deleting = new Set<string>()
  const deleted = new Set<string>()
  const tally: ChurnTally = { created: 0, deleted: 0, leftovers: 0 }
  const acknowledge = (m: Exclude<ChurnReport, { kind: 'ready' }>): void => {
    if (m.kind === 'created' || m.kind === 'filled') expected.set(m.id, { title: m.title, filled: m.kind === 'filled' })
    else if (m.kind === 'deleting') deleting.add(m.id)
    else {
      expected.delete(m.id)
      deleted.add(m.id)
    }
    if (m.kind === 'created') tally.created++
    if (m.kind === 'deleted') tally.deleted++
  }
  for (let kill = 0; kill < kills; kill++) {
    const child = fork(writer, [root], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
    const ready = new Promise((resolve) => child.on('message', (m: ChurnReport) => (m.kind === 'ready' ? resolve(null) : acknowledge(m))))
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)))
    await ready
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 100))
    child.kill('SIGKILL')
    // Killed, not dead of its own error before the kill.
    expect(await exited).toBe('SIGKILL')

    tally.leftovers += (await readdir(root)).filter((name) => !UUID.test(name)).length
    const reopened = new ChatStore(root)
    const listed = await reopened.list()
    expect(reopened.damaged).toEqual([])
    expect((await readdir(root)).filter((name) => !UUID.test(name))).toEqual([])
    const present = new Set(listed.map((c) => c.id))
    for (const [id, { title, filled }] of expected) {
      // Killed mid-delete: gone or whole, both fine.
      if (deleting.has(id) && !present.has(id)) {
        expected.delete(id)
        continue
      }
      const chat = await reopened.get(id)
      expect(chat.title).toBe(title)
      if (filled) {
        expect(chat.messages).toMatchObject([{ role: 'user', images: [{ mime: 'image/png', width: 64, height: 48 }] }])
        const image = chat.messages[0]!.images[0]!
        expect((await reopened.image(id, image.id)).byteLength).toBe(image.bytes)
      }
    }
    for (const id of deleted) expect(present.has(id)).toBe(false)
    // Created but not yet acknowledged when the writer died: there, whole, and expected from now on.
    for (const c of listed) if (!expected.has(c.id)) expected.set(c.id, { title: (await reopened.get(c.id)).title, filled: false })
    deleting.clear()
  }
  return tally
}
