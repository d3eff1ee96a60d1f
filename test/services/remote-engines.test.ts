// The remote engines the user adds in Settings: kept across restarts, their API keys never
// in plain JSON (sealed by the keychain, or kept for the session where there is none).
import { readFile, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import type { ImageDetail } from '../../electron/images/budget.js'
import { openRemoteEngines, type RemoteEngines, type SecretBox } from '../../electron/remote/engines.js'
import { screenshotPng } from '../support/images.js'
import { AppError } from '../../electron/ipc/errors.js'
import { scratchDir } from '../support/engine.js'

/** A stand-in keychain: reversible, and visibly not the plain key. */
const keychain: SecretBox = {
  encrypt: (plain) => Buffer.from(`sealed:${[...plain].reverse().join('')}`),
  decrypt: (sealed) => {
    const text = sealed.toString()
    if (!text.startsWith('sealed:')) throw new Error('not ours')
    return [...text.slice(7)].reverse().join('')
  },
}
const KEY = 'sk-live-0123456789abcdef'
const server = { name: 'Workstation', baseUrl: 'http://192.168.1.20:8080/v1/', allowUnencrypted: false }

describe('remote engines', () => {
  it('keeps an engine and its sealed key across a restart; the key is never in the file', async () => {
    const path = join(await scratchDir(), 'remote-engines.json')
    const engines = await openRemoteEngines({ path, secrets: () => keychain })
    const added = await engines.add({ ...server, apiKey: KEY, model: 'qwen2.5-vl-7b' })
    expect(added).toMatchObject({ name: 'Workstation', baseUrl: 'http://192.168.1.20:8080/v1', hasKey: true, images: 'unknown' })
    expect(await readFile(path, 'utf8')).not.toContain(KEY)
    const again = await openRemoteEngines({ path, secrets: () => keychain })
    expect(again.view()).toMatchObject({ keyStorage: 'encrypted', engines: [{ id: added.id, hasKey: true, model: 'qwen2.5-vl-7b' }] })
    // The key reaches the engine that uses it.
    expect(again.generator({ id: added.id, model: 'qwen2.5-vl-7b' }).name).toBe('Workstation')
  })

  it('an entry that cannot be read is left out alone, and the file as it was is kept aside', async () => {
    const path = join(await scratchDir(), 'remote-engines.json')
    const engines = await openRemoteEngines({ path, secrets: () => keychain })
    const kept = await engines.add({ ...server, apiKey: KEY })
    await engines.add({ ...server, name: 'Laptop', baseUrl: 'http://192.168.1.30:8080/v1' })
    const file = JSON.parse(await readFile(path, 'utf8')) as { engines: { allowUnencrypted: unknown }[] }
    file.engines[1]!.allowUnencrypted = 'yes'
    const edited = JSON.stringify(file)
    await writeFile(path, edited)
    const again = await openRemoteEngines({ path, secrets: () => keychain })
    expect(again.view().engines).toMatchObject([{ id: kept.id, name: 'Workstation', hasKey: true }])
    expect(await readFile(`${path}.unreadable`, 'utf8')).toBe(edited)
    await writeFile(path, '{"version": 1, "engines": [{"id"')
    expect((await openRemoteEngines({ path, secrets: () => keychain })).view().engines).toEqual([])
    expect(await readFile(`${path}.unreadable`, 'utf8')).toBe('{"version": 1, "engines": [{"id"')
  })

  it('without a keychain keeps a key for this session only, and says so', async () => {
    const path = join(await scratchDir(), 'remote-engines.json')
    const engines = await openRemoteEngines({ path, secrets: () => null })
    const added = await engines.add({ ...server, apiKey: KEY })
    expect(engines.view()).toMatchObject({ keyStorage: 'session', engines: [{ hasKey: true }] })
    expect(await readFile(path, 'utf8')).not.toContain(KEY)
    const restarted = await openRemoteEngines({ path, secrets: () => null })
    expect(restarted.view().engines).toMatchObject([{ id: added.id, hasKey: false }])
  })

  it('a key sealed elsewhere is dropped, not trusted: the engine stays and asks for it again', async () => {
    const path = join(await scratchDir(), 'remote-engines.json')
    await (await openRemoteEngines({ path, secrets: () => keychain })).add({ ...server, apiKey: KEY })
    const otherMachine: SecretBox = {
      ...keychain,
      decrypt: () => {
        throw new Error('sealed by another user')
      },
    }
    const view = (await openRemoteEngines({ path, secrets: () => otherMachine })).view()
    expect(view.engines).toMatchObject([{ name: 'Workstation', hasKey: false }])
  })

  it('an update keeps the key unless told otherwise; another server forgets what the old one accepted', async () => {
    const path = join(await scratchDir(), 'remote-engines.json')
    const engines = await openRemoteEngines({ path, secrets: () => keychain })
    const { id } = await engines.add({ ...server, apiKey: KEY })
    expect(await engines.update({ id, ...server, name: 'GPU box' })).toMatchObject({ name: 'GPU box', hasKey: true })
    expect(await engines.update({ id, ...server, apiKey: '' })).toMatchObject({ hasKey: false })
    expect(await engines.update({ id, ...server, baseUrl: 'http://10.0.0.5:8000/v1' })).toMatchObject({ models: [], images: 'unknown' })
  })

  it('knows images model by model: the one tested, and those that refused them in a conversation', async () => {
    const path = join(await scratchDir(), 'remote-engines.json')
    const engines = await openRemoteEngines({ path, secrets: () => keychain })
    const { id } = await engines.add({ ...server, model: 'llava' })
    const file = JSON.parse(await readFile(path, 'utf8')) as { engines: { images: string }[] }
    file.engines[0]!.images = 'refused'
    await writeFile(path, JSON.stringify(file))
    const again = await openRemoteEngines({ path, secrets: () => keychain })
    // The test's finding is the tested model's; another of the server's is unknown, so it gets images.
    expect(again.generator({ id, model: 'llava' }).canSee).toBe(false)
    expect(again.generator({ id, model: 'llama3.1' }).canSee).toBe(true)
    await again.imagesRefused({ id, model: 'llama3.1' })
    expect((await openRemoteEngines({ path, secrets: () => keychain })).generator({ id, model: 'llama3.1' }).canSee).toBe(false)
    // Another server forgets it.
    await again.update({ id, ...server, baseUrl: 'http://10.0.0.5:8000/v1', model: 'llava' })
    expect(again.generator({ id, model: 'llama3.1' }).canSee).toBe(true)
  })

  it('a key is kept for another path on the same server, and not sent to another server unless typed again', async () => {
    const path = join(await scratchDir(), 'remote-engines.json')
    const engines = await openRemoteEngines({ path, secrets: () => keychain })
    const { id } = await engines.add({ ...server, apiKey: KEY })
    expect(await engines.update({ id, ...server, baseUrl: 'http://192.168.1.20:8080/api/v1' })).toMatchObject({ hasKey: true })
    // Another host, port or scheme with the key field left as it was: the key stays behind.
    for (const baseUrl of ['http://192.168.1.99:8080/v1', 'http://192.168.1.20:9090/v1', 'https://192.168.1.20:8080/v1']) {
      await engines.update({ id, ...server, apiKey: KEY })
      expect(await engines.update({ id, ...server, baseUrl }), baseUrl).toMatchObject({ hasKey: false })
    }
    expect(await engines.update({ id, ...server, baseUrl: 'http://192.168.1.99:8080/v1', apiKey: KEY })).toMatchObject({ hasKey: true })
    expect(await readFile(path, 'utf8')).not.toContain(KEY)
  })

  it('refuses addresses that are not http(s) servers, and plain http to the internet unless allowed', async () => {
    const engines = await openRemoteEngines({ path: join(await scratchDir(), 'r.json'), secrets: () => keychain })
    for (const baseUrl of ['not a url', 'file:///etc/passwd', 'javascript:alert(1)', 'ftp://example.com/v1']) {
      const error = await engines.add({ ...server, baseUrl }).catch((e: unknown) => e)
      expect(error, baseUrl).toBeInstanceOf(AppError)
      expect((error as AppError).code).toBe('invalid-payload')
    }
    await expect(engines.add({ ...server, baseUrl: 'http://inference.example.com/v1' })).rejects.toMatchObject({ code: 'invalid-payload' })
    await expect(engines.add({ ...server, baseUrl: 'http://inference.example.com/v1', allowUnencrypted: true })).resolves.toMatchObject({
      allowUnencrypted: true,
    })
    await expect(engines.add({ ...server, baseUrl: 'https://inference.example.com/v1' })).resolves.toMatchObject({ hasKey: false })
    expect(engines.view().engines).toHaveLength(2)
  })

  it('removing an engine clears it as the default; a conversation naming it gets a clear error', async () => {
    const engines = await openRemoteEngines({ path: join(await scratchDir(), 'r.json'), secrets: () => keychain })
    const { id } = await engines.add(server)
    expect((await engines.setDefault({ id, model: 'm' })).defaultEngine).toEqual({ id, model: 'm' })
    await engines.remove(id)
    expect(engines.view().defaultEngine).toBeNull()
    expect(() => engines.generator({ id, model: 'm' })).toThrow('That engine is no longer in Settings.')
    await expect(engines.setDefault({ id, model: 'm' })).rejects.toMatchObject({ code: 'not-found' })
  })

  it('starts empty from a damaged file, and writes a good one on the next change', async () => {
    const path = join(await scratchDir(), 'r.json')
    await writeFile(path, '{ "version": 1, "engines": [ { broken')
    const engines = await openRemoteEngines({ path, secrets: () => keychain })
    expect(engines.view().engines).toEqual([])
    await engines.add(server)
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ version: 1, engines: [{ name: 'Workstation' }] })
  })
})

describe('images sent to a remote engine', () => {
  it('follow the user’s image detail, read at each answer, with budgets for a machine bigger than this one', async () => {
    const bodies: string[] = []
    const server = createServer((req, res) => {
      let body = ''
      req.on('data', (b: Buffer) => (body += b.toString()))
      req.on('end', () => {
        bodies.push(body)
        res.writeHead(200, { 'content-type': 'text/event-stream' })
        res.end(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'ok' }, finish_reason: 'stop' }] })}\n\ndata: [DONE]\n\n`)
      })
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`
      let detail: ImageDetail | undefined
      const path = join(await scratchDir(), 'remote-engines.json')
      const withSetting = await openRemoteEngines({ path, secrets: () => null, imageDetail: () => detail! })
      const { id } = await withSetting.add({ name: 'GPU box', baseUrl: url, allowUnencrypted: false })
      const screen = await screenshotPng(3840, 2160)
      const sentSize = async (engines: RemoteEngines): Promise<string> => {
        for await (const chunk of engines.generator({ id, model: 'm' }).engine.generate({
          messages: [{ role: 'user', text: 'What is on screen?', images: [{ bytes: screen }] }],
        }))
          void chunk
        const sent = JSON.parse(bodies.at(-1)!) as { messages: { content: { image_url?: { url: string } }[] }[] }
        const image = sent.messages[0]!.content[0]!.image_url!.url
        const { width, height } = await sharp(Buffer.from(image.slice(image.indexOf(',') + 1), 'base64')).metadata()
        return `${width}x${height}`
      }
      // Before, 1024x576 whatever the setting.
      detail = 'high'
      expect(await sentSize(withSetting)).toBe('2048x1152')
      detail = 'low'
      expect(await sentSize(withSetting)).toBe('1024x576')
      // The app's default detail, and a service told nothing, send the same.
      detail = 'balanced'
      expect(await sentSize(withSetting)).toBe('1920x1080')
      expect(await sentSize(await openRemoteEngines({ path, secrets: () => null }))).toBe('1920x1080')
    } finally {
      server.closeAllConnections()
      server.close()
    }
  })
})
