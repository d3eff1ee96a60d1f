// The prepared-image cache's folder: kept within its bound while it is used, whatever else is in
// it, and the copies of one source image removed by its content hash when it is deleted.
import { mkdir, readdir, stat, symlink, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createPreparedCache, forgetPrepared, refOf } from '../../electron/images/prepared-cache.js'
import { prepareImage, type PreparedImage } from '../../electron/images/prepare.js'
import { scratchDir } from '../support/engine.js'
import { solidPng } from '../support/images.js'

const budget = { maxSide: 896, maxPixels: 896 * 896 }
const other = { maxSide: 448, maxPixels: 448 * 448 }

/** A stand-in image of 8 KB, distinct for each seed, and its content key. */
function fake(seed: number): { ref: string; prepare: () => Promise<PreparedImage> } {
  const bytes = new Uint8Array(8192).fill(seed)
  return { ref: refOf(bytes), prepare: async () => ({ data: Buffer.from(bytes), mime: 'image/jpeg', width: 1, height: 1 }) }
}

async function folderBytes(dir: string): Promise<number> {
  const sizes = await Promise.all((await readdir(dir)).map(async (n) => (await stat(join(dir, n))).size))
  return sizes.reduce((a, b) => a + b, 0)
}

describe('prepared image folder', () => {
  it('stays within its bound while the cache is open, the newest files kept', async () => {
    const dir = await scratchDir()
    const bound = 64 * 1024
    const cache = createPreparedCache({ dir, diskBytes: bound })
    for (let i = 0; i < 40; i++) {
      const { ref, prepare } = fake(i)
      await cache.get(ref, budget, prepare)
      expect(await folderBytes(dir)).toBeLessThanOrEqual(bound)
    }
    // The last written is still there for a restarted engine.
    expect(await createPreparedCache({ dir: dir, diskBytes: bound }).peek(fake(39).ref, budget)).not.toBeNull()
  })

  it('passes over what is not a plain file (a folder, a dangling link) and trims the rest', async () => {
    for (const odd of ['folder', 'dangling link'] as const) {
      const dir = await scratchDir()
      const writer = createPreparedCache({ dir })
      for (let i = 0; i < 20; i++) await writer.get(fake(i).ref, budget, fake(i).prepare)
      const oddName = `${'0'.repeat(64)}-${'0'.repeat(16)}.prepared`
      if (odd === 'folder') await mkdir(join(dir, oddName))
      else await symlink(join(dir, 'gone'), join(dir, oddName))
      const files = (await readdir(dir)).filter((n) => n !== oddName)
      expect(files).toHaveLength(20)
      const each = (await stat(join(dir, files[0]!))).size
      createPreparedCache({ dir, diskBytes: 4 * each })
      await expect.poll(async () => (await readdir(dir)).filter((n) => n !== oddName).length).toBeLessThanOrEqual(4)
      expect(await readdir(dir)).toContain(oddName)
    }
  })

  it("at open, removes files of the first layout (never read again) and a crashed write's temporary file", async () => {
    const dir = await scratchDir()
    const firstLayout = `${'a'.repeat(40)}.prepared`
    const entry = `${'b'.repeat(64)}-${'c'.repeat(16)}.prepared`
    await writeFile(join(dir, firstLayout), 'a screenshot, resized')
    await writeFile(join(dir, `${entry}.12345`), 'half a screenshot')
    await utimes(join(dir, `${entry}.12345`), new Date(Date.now() - 3600_000), new Date(Date.now() - 3600_000))
    // A write under way, and a file that is not ours by its name, stay.
    await writeFile(join(dir, `${entry}.67890`), 'being written')
    await writeFile(join(dir, 'notes.txt'), 'not ours')
    createPreparedCache({ dir })
    await expect.poll(async () => (await readdir(dir)).sort()).toEqual([`${entry}.67890`, 'notes.txt'])
  })

  it('forgets every copy of a source image, by its full hash or its first 32 digits, and nothing else', async () => {
    const dir = await scratchDir()
    const [red, blue] = await Promise.all([solidPng(64, 64, '#cc2222'), solidPng(64, 64, '#2222cc')])
    const cache = createPreparedCache({ dir })
    for (const b of [budget, other]) await cache.get(refOf(red), b, () => prepareImage(red, b))
    await cache.get(refOf(blue), budget, () => prepareImage(blue, budget))
    expect(await readdir(dir)).toHaveLength(3)

    // Nothing that is not a content hash: an empty prefix would have matched every file.
    await forgetPrepared(dir, ['', 'x', '../', refOf(red).slice(0, 31)])
    expect(await readdir(dir)).toHaveLength(3)

    await forgetPrepared(dir, [refOf(red).slice(0, 32)])
    const left = await readdir(dir)
    expect(left).toHaveLength(1)
    expect(left[0]!.startsWith(refOf(blue))).toBe(true)
    await forgetPrepared(dir, [refOf(blue)])
    expect(await readdir(dir)).toEqual([])
    // No folder yet: nothing to forget, and no error.
    await expect(forgetPrepared(join(dir, 'never-made'), [refOf(red)])).resolves.toBeUndefined()
  })
})
