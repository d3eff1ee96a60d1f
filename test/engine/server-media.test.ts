// The private folder the llama-server child reads a conversation's images from
// (electron/engine/server-media.ts): each image written once under its content's hash, only
// to its owner, files in use never removed to make room, and nothing left behind.
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { PreparedImage } from '../../electron/images/prepare.js'
import { refOf } from '../../electron/images/prepared-cache.js'
import { createEngine } from '../../electron/engine/engine.js'
import { findServerBinary } from '../../electron/engine/server-binary.js'
import { createMediaFolder } from '../../electron/engine/server-media.js'
import { ensureFixtures } from '../fixtures/generate.js'
import { collect, greedy } from '../support/engine.js'
import { solidPng } from '../support/images.js'
import { serversUnder } from '../support/servers.js'

const image = (fill: number, size = 1000, mime: PreparedImage['mime'] = 'image/jpeg'): PreparedImage => ({
  data: Buffer.alloc(size, fill),
  mime,
  width: 10,
  height: 10,
})
const nameOf = (url: string): string => url.replace(/^file:\/\//, '')

describe('the media folder of a vision model on llama-server', () => {
  let root: string
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'lva-media-test-'))
  })
  afterEach(async () => {
    await rm(root, { recursive: true, force: true })
  })

  it('writes each image once, under its hash, readable by its owner only', async () => {
    const media = await createMediaFolder({ root })
    const red = image(1, 1000, 'image/png')
    const blue = image(2)
    const first = await media.lease([red, blue])
    const [redUrl, blueUrl] = [first.url(red), first.url(blue)]
    first.release()
    expect(nameOf(redUrl)).toBe(`${createHash('sha256').update(red.data).digest('hex').slice(0, 40)}.png`)
    expect(nameOf(blueUrl)).toMatch(/^[0-9a-f]{40}\.jpg$/)
    expect(await readFile(join(media.dir, nameOf(redUrl)))).toEqual(red.data)
    expect((await stat(media.dir)).mode & 0o777).toBe(0o700)
    expect((await stat(join(media.dir, nameOf(blueUrl)))).mode & 0o777).toBe(0o600)
    const written = (await stat(join(media.dir, nameOf(redUrl)))).mtimeMs
    // A follow-up: the same bytes (a copy, as from disk) get the same file, not written again.
    const again = await media.lease([{ ...red, data: Buffer.from(red.data) }, blue, image(3)])
    expect(again.url(blue)).toBe(blueUrl)
    expect((await stat(join(media.dir, nameOf(redUrl)))).mtimeMs).toBe(written)
    expect(await readdir(media.dir)).toHaveLength(3)
    expect(() => again.url(image(9))).toThrow(/outside this lease/)
    again.release()
    await media.dispose()
  })

  it('makes room by removing the files used longest ago, never one a request is using', async () => {
    const media = await createMediaFolder({ root, maxBytes: 2500 })
    const [a, b, c, d] = [image(1), image(2), image(3), image(4)]
    const held = await media.lease([a])
    ;(await media.lease([b])).release()
    ;(await media.lease([c])).release()
    // 3,000 bytes: b went (a is in use although older).
    expect(media.files().map(([name]) => name)).toEqual([held.url(a), (await media.lease([c])).url(c)].map(nameOf))
    held.release()
    ;(await media.lease([d])).release()
    await new Promise((r) => setTimeout(r, 50))
    const left = await readdir(media.dir)
    expect(left).toHaveLength(2)
    expect(left).not.toContain(nameOf(held.url(a)))
    await media.dispose()
  })

  it('files found missing are written again once forgotten', async () => {
    const media = await createMediaFolder({ root })
    const first = await media.lease([image(7)])
    const name = nameOf(first.url(image(7)))
    first.release()
    await rm(join(media.dir, name))
    ;(await media.lease([image(7)])).release()
    expect(existsSync(join(media.dir, name))).toBe(false)
    media.forget()
    expect(media.files()).toEqual([])
    ;(await media.lease([image(7)])).release()
    expect(await readFile(join(media.dir, name))).toEqual(image(7).data)
    await media.dispose()
  })

  it("a deleted conversation's pictures go: at once, or when the request reading them ends, unless another picture was leased as the same file", async () => {
    const media = await createMediaFolder({ root })
    // A picture's content key (refOf of its original bytes); the chat store names it by the first 32 digits.
    const key = (n: number): string => createHash('sha256').update(`picture ${n}`).digest('hex')
    const from = (fill: number, source: string): PreparedImage & { source: string } => ({ ...image(fill), source })
    const on = async (): Promise<string[]> => (await readdir(media.dir)).sort()
    const first = await media.lease([from(1, key(1)), from(2, key(2)), image(3)])
    const [one, two, three] = [1, 2, 3].map((fill) => nameOf(first.url(image(fill)))) as [string, string, string]
    first.release()

    await media.removeFilesOf([key(1).slice(0, 32)])
    expect(await on()).toEqual([two, three].sort())
    expect(media.files().map(([name]) => name)).toEqual([two, three])

    // In use by a request (the deleted conversation's own answer): it goes when that ends.
    const reading = await media.lease([from(2, key(2))])
    await media.removeFilesOf([key(2)])
    expect(await on()).toContain(two)
    reading.release()
    await new Promise((r) => setTimeout(r, 50))
    expect(await on()).toEqual([three])

    // The same pixels attached as two pictures (a PNG and a WebP of one screenshot): the file
    // stays while either's conversation holds it.
    const both = await media.lease([from(4, key(4)), from(4, key(5))])
    const four = nameOf(both.url(image(4)))
    both.release()
    await media.removeFilesOf([key(4)])
    expect(await on()).toContain(four)
    await media.removeFilesOf([key(5)])
    expect(await on()).not.toContain(four)

    // Leased again while it waited to go, by a picture still held: it stays.
    const held = await media.lease([from(6, key(6))])
    const six = nameOf(held.url(image(6)))
    await media.removeFilesOf([key(6)])
    ;(await media.lease([from(6, key(7))])).release()
    held.release()
    await new Promise((r) => setTimeout(r, 50))
    expect(await on()).toContain(six)

    // Only content keys name pictures; a file leased without one is not any picture's.
    await media.removeFilesOf(['', '../', 'abc', key(7).slice(0, 31)])
    expect(await on()).toEqual([three, six].sort())

    // Attached again later, a removed picture is written again.
    ;(await media.lease([from(1, key(1))])).release()
    expect(await readFile(join(media.dir, one))).toEqual(image(1).data)
    await media.dispose()
  })

  it('a write that fails fails its request, and the next request writes the file again', async () => {
    const media = await createMediaFolder({ root })
    await rm(media.dir, { recursive: true })
    await expect(media.lease([image(5)])).rejects.toThrow(/ENOENT/)
    expect(media.files()).toEqual([])
    await mkdir(media.dir)
    const lease = await media.lease([image(5)])
    expect(await readdir(media.dir)).toEqual([nameOf(lease.url(image(5)))])
    await media.dispose()
  })

  it('leaves nothing behind: its folder goes on dispose, and a killed engine’s folder goes with the next one', async () => {
    const media = await createMediaFolder({ root })
    await media.lease([image(6)])
    await media.dispose()
    expect(existsSync(media.dir)).toBe(false)
    await expect(media.lease([image(6)])).rejects.toThrow(/gone with its model/)
    // pid 2^22+1 is above Linux's pid_max: no process has it. The parent process is alive.
    const orphan = join(root, `lva-media-${2 ** 22 + 1}-abc`)
    const living = join(root, `lva-media-${process.ppid}-abc`)
    const unrelated = join(root, 'lva-media-notapid')
    for (const dir of [orphan, living, unrelated]) await mkdir(dir)
    const next = await createMediaFolder({ root })
    expect(existsSync(orphan)).toBe(false)
    expect(existsSync(living)).toBe(true)
    expect(existsSync(unrelated)).toBe(true)
    await next.dispose()
  })
})

const binary = await findServerBinary()

describe.skipIf(!binary.found)("the engine's llama-server folder", () => {
  it('a picture forgotten while its answer was still preparing it goes once that answer ends', async () => {
    const fx = await ensureFixtures()
    const engine = createEngine({ visionBinding: 'llama-server', threads: 1 })
    try {
      await engine.load({ modelPath: fx.textModel, mmprojPath: fx.mmproj, gpu: false })
      const [server] = await serversUnder(process.pid)
      const args = (await readFile(`/proc/${server}/cmdline`, 'utf8')).split('\0')
      const dir = args[args.indexOf('--media-path') + 1]!
      const picture = await solidPng(64, 64, '#5a3e0a')
      const stream = engine.generate({
        messages: [{ role: 'user', text: 'What is this?', images: [{ bytes: picture }] }],
        sampling: greedy(4),
      })
      // The engine has the request, and prepares and writes its picture after this: the
      // conversation is deleted before the file exists.
      const answering = collect(stream)
      const forgotten = engine.forgetImages([refOf(picture).slice(0, 32)])
      expect((await answering).tokens).toBe(4)
      await forgotten
      expect(await readdir(dir)).toEqual([])
    } finally {
      await engine.unload()
    }
  })
})
