// The project's llama-server (scripts/llama-cpp-patches applied) reading images from --media-path,
// the way the engine sends a conversation's pictures: patch 0017 keeps a file's bytes while the
// file system says the file is unchanged, so a file written again must be read again.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { settle } from '../../bench/followup-media.js'
import { startLlamaServer, streamChat, type LlamaServer } from '../../bench/llama-server.js'
import { findServerBinary } from '../../electron/engine/server-binary.js'
import { ensureFixtures } from '../fixtures/generate.js'
import { solidPng } from '../support/images.js'

const binary = await findServerBinary()
if (!binary.found) console.warn(`[llama-server media] skipping: ${binary.reason}`)

describe.skipIf(!binary.found)('llama-server: images from --media-path', () => {
  let server: LlamaServer
  let dir: string

  beforeAll(async () => {
    const fx = await ensureFixtures()
    dir = await mkdtemp(join(tmpdir(), 'lva-media-path-'))
    server = await startLlamaServer({
      binary: (binary as { path: string }).path,
      model: fx.textModel,
      mmproj: fx.mmproj,
      extraArgs: ['--jinja', '--media-path', dir],
    })
  })
  afterAll(async () => {
    await server?.stop()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  const ask = async (url: string): Promise<string> =>
    (
      await streamChat(server, {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image_url', image_url: { url } },
              { type: 'text', text: 'What is this?' },
            ],
          },
        ],
        max_tokens: 8,
        temperature: 0,
        ignore_eos: true,
      })
    ).text
  const inline = (bytes: Uint8Array): string => `data:image/png;base64,${Buffer.from(bytes).toString('base64')}`

  it('a file written again under its name is read again, even one of the same size kept from before', async () => {
    const red = await solidPng(64, 64, '#cc2222')
    const green = await solidPng(64, 64, '#22cc22')
    // The same size: only the file's times (and content) tell the two apart.
    expect(green.byteLength).toBe(red.byteLength)
    const redAnswer = await ask(inline(red))
    const greenAnswer = await ask(inline(green))
    // The fixture's answers differ by picture, or this test could not tell them apart.
    expect(greenAnswer).not.toBe(redAnswer)

    await writeFile(join(dir, 'picture.png'), red)
    await settle()
    expect(await ask('file://picture.png')).toBe(redAnswer)
    // Read again: now from the bytes the server kept.
    expect(await ask('file://picture.png')).toBe(redAnswer)

    await writeFile(join(dir, 'picture.png'), green)
    expect(await ask('file://picture.png')).toBe(greenAnswer)
    // Changed again within its first 2 s: never kept, so never stale.
    await writeFile(join(dir, 'picture.png'), red)
    expect(await ask('file://picture.png')).toBe(redAnswer)
  })

  it('a file that is gone is refused with the sentence the engine recognises, also after it was kept', async () => {
    const blue = await solidPng(64, 64, '#2222cc')
    await writeFile(join(dir, 'gone.png'), blue)
    await settle()
    const answer = await ask('file://gone.png')
    expect(answer.length).toBeGreaterThan(0)
    await rm(join(dir, 'gone.png'))
    await expect(ask('file://gone.png')).rejects.toThrow(/file does not exist or cannot be opened/)
  })
})
