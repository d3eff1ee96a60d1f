import { copyFile, mkdir, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { getLlama, type Llama } from 'node-llama-cpp'
import { beforeAll, describe, expect, it } from 'vitest'
import { inspectModelFile } from '../../electron/engine/model-files.js'
import { findModelFiles, scanLibrary } from '../../electron/models/library.js'
import { ensureFixtures, type FixturePaths } from '../fixtures/generate.js'
import { scratchDir, truncatedCopy } from '../support/engine.js'

let fx: FixturePaths
let llama: Llama
beforeAll(async () => {
  fx = await ensureFixtures()
  llama = await getLlama({ gpu: false, build: 'never' })
})

const inspect = (path: string) => inspectModelFile(path, llama)

describe('model library', () => {
  it('reads each file’s metadata: language model or projector, and its sizes', async () => {
    const model = await inspect(fx.textModel)
    expect(model).toMatchObject({
      kind: 'llm',
      architecture: 'llama',
      name: 'tiny-test-llama',
      embeddingSize: 64,
      trainContextSize: 4096,
      projectorType: null,
    })
    expect(model.totalLayers).toBeGreaterThanOrEqual(2)
    expect(model.weightBytes).toBeGreaterThan(500_000)
    const mmproj = await inspect(fx.mmproj)
    expect(mmproj).toMatchObject({
      kind: 'mmproj',
      architecture: 'clip',
      embeddingSize: 64,
      projectorType: 'mlp',
      imageBudget: { maxSide: 64, maxPixels: 4096 },
    })
  })

  it('lists a folder linked from another disk, and says which folder cannot be read instead of hiding its models', async () => {
    const root = await scratchDir()
    const elsewhere = await scratchDir()
    await mkdir(join(elsewhere, 'big-vlm'))
    await copyFile(fx.textModel, join(elsewhere, 'big-vlm', 'big-vlm-Q4_K_M.gguf'))
    await symlink(join(elsewhere, 'big-vlm'), join(root, 'big-vlm'))
    // A link back to the models folder, or a second link to the same folder, lists nothing twice.
    await copyFile(fx.textModel, join(root, 'top-Q8_0.gguf'))
    await symlink(root, join(root, 'loop'))
    await symlink(join(elsewhere, 'big-vlm'), join(root, 'same-again'))
    expect((await scanLibrary(root, inspect)).models.map((m) => m.model.path)).toEqual([
      join(root, 'big-vlm', 'big-vlm-Q4_K_M.gguf'),
      join(root, 'top-Q8_0.gguf'),
    ])

    // A models folder that cannot be read (here a file where it should be; a folder of mode
    // 000 too, for a user who is not root) is said, not shown as an empty library.
    const notAFolder = join(elsewhere, 'models')
    await writeFile(notAFolder, '')
    expect((await scanLibrary(notAFolder, inspect)).problems).toEqual([
      { path: notAFolder, reason: `The folder ${notAFolder} cannot be read (ENOTDIR); its models are not listed.` },
    ])
    expect(await findModelFiles(join(elsewhere, 'not-made-yet'))).toEqual({ gguf: [], partials: [], unreadable: [] })
  })

  it('pairs a model with its projector, refuses a mismatched one with the reason, and reports the rest', async () => {
    const root = await scratchDir()
    const vlm = join(root, 'tiny-vlm')
    await mkdir(vlm)
    await copyFile(fx.textModel, join(vlm, 'tiny-vlm-F32.gguf'))
    await copyFile(fx.mmproj, join(vlm, 'mmproj-tiny-vlm-F32.gguf'))
    await copyFile(fx.mismatchedMmproj, join(vlm, 'mmproj-other-model-F32.gguf'))
    await copyFile(fx.textModel, join(root, 'text-only.gguf'))
    await writeFile(join(root, 'notes.gguf'), 'not a model')
    await truncatedCopy(fx.textModel, root, 0.5)
    await writeFile(join(root, 'half-downloaded.gguf.part'), 'partial bytes')

    const library = await scanLibrary(root, inspect)
    const byName = Object.fromEntries(library.models.map((m) => [m.model.path.split('/').pop(), m]))
    expect(Object.keys(byName).sort()).toEqual(['text-only.gguf', 'tiny-vlm-F32.gguf'])
    expect(byName['tiny-vlm-F32.gguf']!.mmproj?.path).toBe(join(vlm, 'mmproj-tiny-vlm-F32.gguf'))
    expect(byName['tiny-vlm-F32.gguf']!.rejected).toEqual([
      {
        path: join(vlm, 'mmproj-other-model-F32.gguf'),
        reason: 'mmproj-other-model-F32.gguf produces 80-wide embeddings; tiny-vlm-F32.gguf expects 64.',
      },
    ])
    // A projector in another folder is never paired by accident.
    expect(byName['text-only.gguf']!.mmproj).toBeNull()
    expect(library.orphanProjectors.map((p) => p.path)).toEqual([join(vlm, 'mmproj-other-model-F32.gguf')])
    expect(library.problems.map((p) => [p.path.split('/').pop(), p.reason.split(':')[0]])).toEqual([
      ['notes.gguf', 'Model file notes.gguf is not a GGUF model file.'],
      ['truncated-0.5.gguf', expect.stringMatching(/^Model file truncated-0\.5\.gguf is incomplete/)],
      ['half-downloaded.gguf.part', 'half-downloaded.gguf.part is an unfinished download; it is not offered as a model.'],
    ])
  })

  it('a second projector that fits is said beside the model, not called an orphan to move where it already is', async () => {
    const root = await scratchDir()
    const vlm = join(root, 'vlm')
    await mkdir(vlm)
    await copyFile(fx.textModel, join(vlm, 'vlm-Q4_K_M.gguf'))
    await copyFile(fx.mmproj, join(vlm, 'mmproj-vlm-f16.gguf'))
    await copyFile(fx.mmproj, join(vlm, 'mmproj-vlm-f32.gguf'))
    const library = await scanLibrary(root, inspect)
    expect(library.models.map((m) => [m.mmproj?.path, m.rejected])).toEqual([
      [
        join(vlm, 'mmproj-vlm-f16.gguf'),
        [
          {
            path: join(vlm, 'mmproj-vlm-f32.gguf'),
            reason: 'mmproj-vlm-f32.gguf fits too; mmproj-vlm-f16.gguf is used. Move that one away to use this one instead.',
          },
        ],
      ],
    ])
    expect(library.orphanProjectors).toEqual([])
  })
})
