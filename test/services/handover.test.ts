import { mkdir, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { LIMITS } from '../../electron/ipc/contract.js'
import { imageFromCommandLine } from '../../electron/services/handover.js'
import { scratchDir } from '../support/engine.js'
import { solidPng } from '../support/images.js'

describe('second launch hand-over', () => {
  it('finds the image file named on the command line, relative to where it was launched', async () => {
    const dir = await scratchDir()
    const png = await solidPng(40, 30)
    await writeFile(join(dir, 'shot.png'), png)
    // As Electron passes it: executable, Chromium switches, then the user's arguments.
    const found = await imageFromCommandLine(
      ['/opt/Local Vision Assistant/local-vision-assistant', '--allow-file-access-from-files', 'shot.png'],
      dir,
    )
    expect(found?.path).toBe(join(dir, 'shot.png'))
    expect(Buffer.from(found!.bytes).equals(Buffer.from(png))).toBe(true)
  })

  it('accepts the file:// URL a file manager passes', async () => {
    const dir = await scratchDir()
    await writeFile(join(dir, 'my photo.JPG'), await solidPng(8, 8))
    const found = await imageFromCommandLine(['app', pathToFileURL(join(dir, 'my photo.JPG')).href], '/')
    expect(found?.path).toBe(join(dir, 'my photo.JPG'))
  })

  it('hands over nothing when no existing image file is named', async () => {
    const dir = await scratchDir()
    await writeFile(join(dir, 'notes.txt'), 'hello')
    await mkdir(join(dir, 'folder.png'))
    // Development launches name the app's folder; a plain second launch names nothing.
    expect(
      await imageFromCommandLine(
        ['electron', '.', 'notes.txt', 'folder.png', 'missing.png', '--flag=x.png', 'file://remote-host/share/x.png'],
        dir,
      ),
    ).toBeNull()
    expect(await imageFromCommandLine(['local-vision-assistant'], dir)).toBeNull()
  })

  it('refuses an image too large to ask about, saying so', async () => {
    const dir = await scratchDir()
    await writeFile(join(dir, 'huge.png'), '')
    await truncate(join(dir, 'huge.png'), LIMITS.imageBytes + 1)
    await expect(imageFromCommandLine(['app', 'huge.png'], dir)).rejects.toMatchObject({
      code: 'bad-image',
      message: 'huge.png is too large to ask about (over 40 MB).',
    })
  })
})
