import { fork } from 'node:child_process'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { ChatStore } from '../../electron/chats/store.js'
import { AppError } from '../../electron/ipc/errors.js'
import { scratchDir } from '../support/engine.js'
import { solidPng } from '../support/images.js'

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
    await expect(store.saveImage(chat.id, new TextEncoder().encode('not an image'), 'notes.txt')).rejects.toMatchObject({ code: 'bad-image', message: 'notes.txt is not an image that can be read.' })
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
      const child = fork(fileURLToPath(new URL('./writer-child.ts', import.meta.url)), [root, chat.id], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
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
  })
})
