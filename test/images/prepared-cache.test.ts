// Prepared images kept by content: once per image and budget in memory, across restarts on
// disk, and a damaged, foreign or outdated cache file ignored and written anew.
import { copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createPreparedCache, refOf } from '../../electron/images/prepared-cache.js'
import { prepareImage, type PreparedImage } from '../../electron/images/prepare.js'
import { scratchDir } from '../support/engine.js'
import { screenshotPng, solidPng } from '../support/images.js'

const budget = { maxSide: 896, maxPixels: 896 * 896 }

function counting(bytes: Uint8Array, b = budget) {
  const calls = { n: 0 }
  const prepare = async (): Promise<PreparedImage> => {
    calls.n++
    return prepareImage(bytes, b)
  }
  return { calls, prepare }
}

describe('prepared image cache', () => {
  it('prepares an image once per budget in memory', async () => {
    const png = await screenshotPng(640, 360)
    const cache = createPreparedCache({ dir: null })
    const { calls, prepare } = counting(png)
    const first = await cache.get(refOf(png), budget, prepare)
    expect(await cache.get(refOf(new Uint8Array(png)), budget, prepare)).toBe(first)
    expect(calls.n).toBe(1)
    await cache.get(refOf(png), { maxSide: 448, maxPixels: 448 * 448 }, prepare)
    expect(calls.n).toBe(2)
  })

  it('hashes an array once: the same array again costs no hashing, a copy gets the same key', async () => {
    const big = new Uint8Array(64 * 1024 * 1024).fill(7)
    let started = performance.now()
    const ref = refOf(big)
    const hashing = performance.now() - started
    started = performance.now()
    expect(refOf(big)).toBe(ref)
    const again = performance.now() - started
    // 64 MB of SHA-256 takes tens of milliseconds; a lookup, microseconds.
    expect(again).toBeLessThan(hashing / 10)
    expect(refOf(new Uint8Array(big))).toBe(ref)
    expect(refOf(new Uint8Array(16))).not.toBe(ref)
  })

  it('keeps prepared images on disk across a restart, and rebuilds a damaged file', async () => {
    const dir = await scratchDir()
    const png = await screenshotPng(800, 450)
    const { calls, prepare } = counting(png)
    const first = await createPreparedCache({ dir }).get(refOf(png), budget, prepare)
    const restarted = await createPreparedCache({ dir }).get(refOf(png), budget, prepare)
    expect(calls.n).toBe(1)
    expect(restarted).toEqual(first)

    const [file] = await readdir(dir)
    const path = join(dir, file!)
    const whole = await readFile(path)
    for (const damage of [whole.subarray(0, whole.length - 10), Buffer.from('not a cache file'), Buffer.alloc(0)]) {
      await writeFile(path, damage)
      expect(await createPreparedCache({ dir }).get(refOf(png), budget, prepare)).toEqual(first)
    }
    expect(calls.n).toBe(4)
    expect((await readFile(path)).equals(whole)).toBe(true)
  })

  it("a file holding another image's copy, or its own with a byte flipped, is a miss: prepared again and written anew", async () => {
    const dir = await scratchDir()
    const [red, blue] = await Promise.all([solidPng(64, 64, '#cc2222'), solidPng(64, 64, '#2222cc')])
    const r = counting(red)
    const redFirst = await createPreparedCache({ dir }).get(refOf(red), budget, r.prepare)
    const [redName] = await readdir(dir)
    await createPreparedCache({ dir }).get(refOf(blue), budget, counting(blue).prepare)
    const blueName = (await readdir(dir)).find((n) => n !== redName)!
    const redPath = join(dir, redName!)
    const redWhole = await readFile(redPath)

    // A copy, a restored backup: a well-made file, of the wrong picture.
    await copyFile(join(dir, blueName), redPath)
    expect(await createPreparedCache({ dir }).peek(refOf(red), budget)).toBeNull()
    expect(await createPreparedCache({ dir }).get(refOf(red), budget, r.prepare)).toEqual(redFirst)
    expect(r.calls.n).toBe(2)
    expect((await readFile(redPath)).equals(redWhole)).toBe(true)

    // Every field of the header still right, one byte of the image wrong.
    const flipped = Buffer.from(redWhole)
    flipped[flipped.length - 100] = flipped[flipped.length - 100]! ^ 0xff
    await writeFile(redPath, flipped)
    expect(await createPreparedCache({ dir }).peek(refOf(red), budget)).toBeNull()
    expect(await createPreparedCache({ dir }).get(refOf(red), budget, r.prepare)).toEqual(redFirst)
    expect(r.calls.n).toBe(3)
    expect((await readFile(redPath)).equals(redWhole)).toBe(true)
  })

  it('a file another version of the preparation made is a miss: a changed pipeline never answers with its old output', async () => {
    const dir = await scratchDir()
    const png = await screenshotPng(640, 360)
    const { calls, prepare } = counting(png)
    await createPreparedCache({ dir, pipeline: 1 }).get(refOf(png), budget, prepare)
    expect(await createPreparedCache({ dir, pipeline: 2 }).peek(refOf(png), budget)).toBeNull()
    const second = await createPreparedCache({ dir, pipeline: 2 }).get(refOf(png), budget, prepare)
    expect(calls.n).toBe(2)
    // Written anew in the same place: the new version's file is found from then on.
    expect(await readdir(dir)).toHaveLength(1)
    expect(await createPreparedCache({ dir, pipeline: 2 }).peek(refOf(png), budget)).toEqual(second)
  })

  it("a folder in a file's place is a miss, and the file is written in its place", async () => {
    const dir = await scratchDir()
    const png = await screenshotPng(640, 360)
    const { calls, prepare } = counting(png)
    const first = await createPreparedCache({ dir }).get(refOf(png), budget, prepare)
    const [name] = await readdir(dir)
    await rm(join(dir, name!))
    await mkdir(join(dir, name!, 'inside'), { recursive: true })
    expect(await createPreparedCache({ dir }).get(refOf(png), budget, prepare)).toEqual(first)
    expect((await stat(join(dir, name!))).isFile()).toBe(true)
    expect(await createPreparedCache({ dir }).get(refOf(png), budget, prepare)).toEqual(first)
    expect(calls.n).toBe(2)
  })

  it('finds a kept image by its content key alone, in memory and on disk, and says when it is not kept', async () => {
    const dir = await scratchDir()
    const png = await screenshotPng(640, 360)
    const ref = refOf(png)
    const cache = createPreparedCache({ dir })
    expect(await cache.peek(ref, budget)).toBeNull()
    const first = await cache.get(ref, budget, counting(png).prepare)
    expect(await cache.peek(ref, budget)).toBe(first)
    // Another budget was never prepared; a restarted cache reads the kept one from disk.
    expect(await cache.peek(ref, { maxSide: 448, maxPixels: 448 * 448 })).toBeNull()
    expect(await createPreparedCache({ dir }).peek(ref, budget)).toEqual(first)
    expect(await createPreparedCache({ dir: null }).peek(ref, budget)).toBeNull()
  })

  it("keys by the budget's content: an equal budget finds the image, and so does the same one past the keys it keeps", async () => {
    const png = await screenshotPng(320, 180)
    const ref = refOf(png)
    const cache = createPreparedCache({ dir: null })
    const first = await cache.get(ref, budget, counting(png).prepare)
    expect(await cache.peek(ref, { ...budget })).toBe(first)
    // More distinct images than the keys kept per budget: the kept keys are dropped, not the image.
    for (let i = 0; i < 5000; i++) expect(await cache.peek(String(i).padStart(64, '0'), budget)).toBeNull()
    expect(await cache.peek(ref, budget)).toBe(first)
    expect(await cache.peek(ref, { ...budget, maxSide: 448 })).toBeNull()
  })

  it('an image found by its key stays kept while it is used, as one found with its bytes does', async () => {
    const [a, b, c] = await Promise.all([300, 400, 500].map((w) => screenshotPng(w, 200)))
    const cache = createPreparedCache({ dir: null, memoryEntries: 2 })
    await cache.get(refOf(a!), budget, counting(a!).prepare)
    await cache.get(refOf(b!), budget, counting(b!).prepare)
    // a is used by key (a follow-up), then a third image comes: b, the least recently used, goes.
    expect(await cache.peek(refOf(a!), budget)).not.toBeNull()
    await cache.get(refOf(c!), budget, counting(c!).prepare)
    expect(await cache.peek(refOf(a!), budget)).not.toBeNull()
    expect(await cache.peek(refOf(b!), budget)).toBeNull()
  })

  it('does not keep a failure: a broken image says why each time', async () => {
    const dir = await scratchDir()
    const cache = createPreparedCache({ dir })
    const broken = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3])
    for (let i = 0; i < 2; i++)
      await expect(cache.get(refOf(broken), budget, () => prepareImage(broken, budget))).rejects.toMatchObject({ code: 'bad-image' })
    expect(await readdir(dir)).toEqual([])
  })

  it('trims the folder to its size bound, oldest first, when it opens', async () => {
    const dir = await scratchDir()
    const images = await Promise.all([300, 400, 500].map((w) => screenshotPng(w, 200)))
    for (const png of images) {
      await createPreparedCache({ dir }).get(refOf(png), budget, () => prepareImage(png, budget))
      await new Promise((ok) => setTimeout(ok, 20))
    }
    const sizes = await Promise.all((await readdir(dir)).map(async (n) => (await stat(join(dir, n))).size))
    expect(sizes).toHaveLength(3)
    createPreparedCache({ dir, diskBytes: sizes.reduce((a, b) => a + b, 0) - 1 })
    await expect.poll(async () => (await readdir(dir)).length).toBe(2)
  })
})
