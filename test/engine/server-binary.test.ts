// The llama-server the engine finds in development is the one the build script cached for
// node-llama-cpp's llama.cpp with the project's patches: both must name the same folder.
import { execFile } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { devCacheDir, devCacheKey, patchesDirFor, patchSetId } from '../../electron/engine/server-binary.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const BUNDLE = join(ROOT, 'node_modules/node-llama-cpp/llama/gitRelease.bundle')
const run = promisify(execFile)
const scriptDest = async (env: Record<string, string> = {}): Promise<string> =>
  (await run('bash', [join(ROOT, 'scripts/build-llama-server.sh'), '--print-dest'], { env: { ...process.env, ...env } })).stdout.trim()

describe('the dev build of llama-server', () => {
  it('is looked for where the build script puts it, patches included in the key', async () => {
    const key = await devCacheKey(BUNDLE)
    expect(patchesDirFor(BUNDLE)).toBe(join(ROOT, 'scripts/llama-cpp-patches'))
    const id = await patchSetId(patchesDirFor(BUNDLE))
    expect(id).toMatch(/^[0-9a-f]{12}$/)
    expect(key).toMatch(new RegExp(`^[0-9a-f]{40}-${id}$`))
    expect(devCacheDir(key!)).toBe(await scriptDest())
    // The stock build (for benchmarks) is keyed by the commit alone.
    expect(devCacheDir(key!.split('-')[0]!)).toBe(await scriptDest({ LLAMA_SERVER_STOCK: '1' }))
    // The Vulkan build (GPUs) beside the CPU build, under the same key.
    expect(devCacheDir(key!, 'vulkan')).toBe(await scriptDest({ LLAMA_SERVER_VULKAN: '1' }))
    expect(devCacheDir(key!, 'vulkan')).toBe(`${devCacheDir(key!)}-vulkan`)
  })

  it('a patch set id follows the patches: name order, content, and none without patches', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'patches-'))
    expect(await patchSetId(dir)).toBeNull()
    expect(await patchSetId(join(dir, 'missing'))).toBeNull()
    await writeFile(join(dir, '0002-b.patch'), 'b\n')
    await writeFile(join(dir, '0001-a.patch'), 'a\n')
    await writeFile(join(dir, 'README'), 'not a patch')
    const first = await patchSetId(dir)
    // sha256("a\nb\n"), as `cat 0001-a.patch 0002-b.patch | sha256sum` gives it.
    expect(first).toBe('911169ddaaf1')
    await writeFile(join(dir, '0002-b.patch'), 'b2\n')
    expect(await patchSetId(dir)).not.toBe(first)
  })
})
