// The afterPack hook, run the way a release runs it: electron-builder packages a small app with
// this repository's electron-builder.yml and hook, from a stand-in Electron dist (no Electron
// binary can be downloaded here), and the fuses are read back from the packaged executable.
import { execFile } from 'node:child_process'
import { copyFile, mkdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { FuseState, FuseV1Options, getCurrentFuseWire } from '@electron/fuses'
import { Arch, type AfterPackContext } from 'electron-builder'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import afterPack from '../../scripts/after-pack.mjs'
import { scratchDir } from '../support/engine.js'

const repo = new URL('../..', import.meta.url).pathname
const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX'
// Fuse wire version 1, nine fuses, each as Electron ships it ('1' on, '0' off): RunAsNode on,
// cookie encryption off, NODE_OPTIONS on, --inspect on, asar integrity off, only-asar off,
// browser V8 snapshot off, file:// privileges on, WebAssembly trap handlers on.
const SHIPPED_WIRE = '101100011'

/** An executable-sized stand-in: filler, then the sentinel and the wire where Electron keeps them. */
async function writeStandInElectron(path: string): Promise<void> {
  const filler = Buffer.alloc(64 * 1024, 0x90)
  await writeFile(
    path,
    Buffer.concat([filler, Buffer.from(SENTINEL), Buffer.from([1, SHIPPED_WIRE.length]), Buffer.from(SHIPPED_WIRE), filler]),
    { mode: 0o755 },
  )
}

async function fuses(path: string): Promise<Record<keyof typeof FuseV1Options, string>> {
  const wire = (await getCurrentFuseWire(path)) as unknown as Record<number, FuseState>
  const names = Object.keys(FuseV1Options).filter((key) => Number.isNaN(Number(key))) as (keyof typeof FuseV1Options)[]
  return Object.fromEntries(names.map((name) => [name, FuseState[wire[FuseV1Options[name]]!]])) as Record<
    keyof typeof FuseV1Options,
    string
  >
}

const HARDENED = {
  RunAsNode: 'DISABLE',
  EnableCookieEncryption: 'ENABLE',
  EnableNodeOptionsEnvironmentVariable: 'DISABLE',
  EnableNodeCliInspectArguments: 'DISABLE',
  OnlyLoadAppFromAsar: 'ENABLE',
  GrantFileProtocolExtraPrivileges: 'DISABLE',
  // Left as Electron ships them.
  LoadBrowserProcessSpecificV8Snapshot: 'DISABLE',
  WasmTrapHandlers: 'ENABLE',
}

let base: string
beforeAll(async () => {
  base = await scratchDir()
})
afterAll(async () => {
  await rm(base, { recursive: true, force: true })
})

describe('Electron fuses in a packaged app', () => {
  it('are flipped by the afterPack hook that electron-builder.yml names (linux dir build)', async () => {
    const dist = join(base, 'electron-dist')
    await mkdir(dist)
    await writeStandInElectron(join(dist, 'electron'))
    // The hook must sit inside the project electron-builder packages, so the project gets copies of
    // the config and the hook, and this repository's node_modules for the hook's imports.
    const project = join(base, 'project')
    await mkdir(join(project, 'out/main'), { recursive: true })
    await mkdir(join(project, 'scripts'))
    await copyFile(join(repo, 'electron-builder.yml'), join(project, 'electron-builder.yml'))
    await copyFile(join(repo, 'scripts/after-pack.mjs'), join(project, 'scripts/after-pack.mjs'))
    await symlink(join(repo, 'node_modules'), join(project, 'node_modules'))
    await writeFile(join(project, 'out/main/index.js'), "import { app } from 'electron'\napp.quit()\n")
    const ours = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')) as {
      name: string
      productName: string
      devDependencies: { electron: string }
    }
    await writeFile(
      join(project, 'package.json'),
      JSON.stringify({
        name: ours.name,
        productName: ours.productName,
        version: '0.0.0',
        description: 'fuse test',
        author: 'tests',
        main: 'out/main/index.js',
        type: 'module',
        devDependencies: { electron: ours.devDependencies.electron },
      }),
    )
    try {
      await promisify(execFile)(
        process.execPath,
        [join(repo, 'node_modules/electron-builder/cli.js'), '--linux', 'dir', `-c.electronDist=${dist}`, '--publish', 'never'],
        { cwd: project, timeout: 60_000 },
      )
    } catch (error) {
      const { stdout, stderr } = error as { stdout?: string; stderr?: string }
      throw new Error(`electron-builder failed:\n${stdout ?? ''}${stderr ?? ''}`, { cause: error })
    }

    const unpacked = join(project, 'dist/linux-unpacked')
    expect((await stat(join(unpacked, 'resources/app.asar'))).isFile()).toBe(true)
    // Linux has no embedded asar integrity check: that fuse stays as shipped.
    expect(await fuses(join(unpacked, ours.name))).toEqual({ ...HARDENED, EnableEmbeddedAsarIntegrityValidation: 'DISABLE' })
  })

  // electron-builder cannot make macOS or Windows builds here, so the hook is called as it calls it.
  const context = (platform: string, appOutDir: string): AfterPackContext =>
    ({
      appOutDir,
      electronPlatformName: platform,
      arch: Arch.x64,
      packager: { appInfo: { productFilename: 'Local Vision Assistant' } },
    }) as unknown as AfterPackContext

  it('turn on asar integrity validation in the macOS framework', async () => {
    const out = join(base, 'mac')
    const framework = join(out, 'Local Vision Assistant.app/Contents/Frameworks/Electron Framework.framework')
    await mkdir(framework, { recursive: true })
    await writeStandInElectron(join(framework, 'Electron Framework'))
    await afterPack(context('darwin', out))
    expect(await fuses(join(out, 'Local Vision Assistant.app'))).toEqual({ ...HARDENED, EnableEmbeddedAsarIntegrityValidation: 'ENABLE' })
  })

  it('turn on asar integrity validation in the Windows executable', async () => {
    const out = join(base, 'win')
    await mkdir(out)
    await writeStandInElectron(join(out, 'Local Vision Assistant.exe'))
    await afterPack(context('win32', out))
    expect(await fuses(join(out, 'Local Vision Assistant.exe'))).toEqual({ ...HARDENED, EnableEmbeddedAsarIntegrityValidation: 'ENABLE' })
  })
})
