// Where the llama-server binary for this platform is: the one a user names, the copy the
// installer ships (electron-builder's extraResources, staged by npm run stage:llama-server),
// or, in development, the build npm run build:llama-server caches for node-llama-cpp's
// llama.cpp. Found once per engine process: the answer cannot change while it runs.
import { createHash } from 'node:crypto'
import { access, constants, open, readdir, readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'

export type ServerBinary = { found: true; path: string; source: 'env' | 'packaged' | 'dev-cache' } | { found: false; reason: string }

/**
 * The builds there are: the CPU build, and the Vulkan build (LLAMA_SERVER_VULKAN=1 npm run
 * build:llama-server), which runs a model on a Vulkan GPU and on the CPU as the other does.
 */
export type ServerVariant = 'cpu' | 'vulkan'

/** The variable that names a variant's binary, as LLAMA_SERVER_BIN names the CPU build's. */
const NAMED_BY: Record<ServerVariant, string> = { cpu: 'LLAMA_SERVER_BIN', vulkan: 'LLAMA_SERVER_VULKAN_BIN' }
/** What a variant's folders add to the CPU build's: the packaged folder's and the build cache's. */
const variantSuffix = (variant: ServerVariant): string => (variant === 'cpu' ? '' : `-${variant}`)

const EXE = process.platform === 'win32' ? 'llama-server.exe' : 'llama-server'

/** The folder inside the app's resources that holds this platform's build of a variant (electron-builder.yml extraResources). */
export const platformFolder = (platform: string = process.platform, arch: string = process.arch, variant: ServerVariant = 'cpu'): string =>
  `${platform}-${arch}${variantSuffix(variant)}`

async function executable(path: string): Promise<boolean> {
  try {
    await access(path, process.platform === 'win32' ? constants.F_OK : constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** node-llama-cpp's llama.cpp bundle, wherever npm put the package (the built engine host lives in out/, not beside it). */
function bundlePath(): string | null {
  try {
    let dir = dirname(createRequire(import.meta.url).resolve('node-llama-cpp'))
    for (let i = 0; i < 4; i++, dir = dirname(dir)) {
      const candidate = join(dir, 'llama', 'gitRelease.bundle')
      if (dir.endsWith('node-llama-cpp')) return candidate
    }
  } catch {
    // not installed: no dev cache to look in
  }
  return null
}

/** The commit of a git bundle, read from its header (no git needed); the dev cache is keyed by it. */
export async function bundleCommitOf(bundle: string): Promise<string | null> {
  let file
  try {
    file = await open(bundle, 'r')
  } catch {
    return null
  }
  try {
    const buf = Buffer.alloc(4096)
    const { bytesRead } = await file.read(buf, 0, buf.length, 0)
    const lines = buf.subarray(0, bytesRead).toString('latin1').split('\n')
    if (!/^# v[23] git bundle$/.test(lines[0] ?? '')) return null
    const refs: [string, string][] = []
    for (const line of lines.slice(1)) {
      if (line === '') break
      const m = /^([0-9a-f]{40,64}) (.+)$/.exec(line)
      if (m) refs.push([m[1]!, m[2]!])
    }
    return (refs.find(([, ref]) => ref === 'HEAD') ?? refs[0])?.[0] ?? null
  } finally {
    await file.close()
  }
}

/**
 * The id of the patches scripts/build-llama-server.sh applies: the first 12 hex digits of the
 * SHA-256 of the *.patch files of `dir`, concatenated in name order; null when there are none.
 */
export async function patchSetId(dir: string): Promise<string | null> {
  let names: string[]
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.patch'))
  } catch {
    return null
  }
  if (names.length === 0) return null
  // Code-unit order, as the script's LC_ALL=C sort gives for the ASCII names patches have.
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  const hash = createHash('sha256')
  for (const name of names) hash.update(await readFile(join(dir, name)))
  return hash.digest('hex').slice(0, 12)
}

/** The project's llama.cpp patches, for a bundle under <project>/node_modules/node-llama-cpp/llama/. */
export const patchesDirFor = (bundle: string): string => join(dirname(dirname(dirname(dirname(bundle)))), 'scripts', 'llama-cpp-patches')

/** The key the build script caches a bundle's build under: its commit, and its patches' id when it has any. */
export async function devCacheKey(bundle: string): Promise<string | null> {
  const commit = await bundleCommitOf(bundle)
  if (!commit) return null
  const patches = await patchSetId(patchesDirFor(bundle))
  return patches ? `${commit}-${patches}` : commit
}

/** The same folder scripts/build-llama-server.sh writes (the portable build, not -native) for a key and variant. */
export function devCacheDir(key: string, variant: ServerVariant = 'cpu'): string {
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), '.cache')
  return join(cache, 'local-vision-assistant', 'llama-server', `${key}${variantSuffix(variant)}`)
}

/**
 * The app's resources folder: process.resourcesPath where Electron sets it, else (a utility
 * process may not have it) beside the executable: resources/ on Linux and Windows, and on
 * macOS the bundle's Contents/Resources, above a helper app's own Contents too.
 */
function resourcesFolders(): string[] {
  const set = (process as { resourcesPath?: string }).resourcesPath
  if (set) return [set]
  if (!process.versions.electron) return []
  const exe = process.execPath
  if (process.platform === 'darwin') {
    const at = exe.indexOf('.app/Contents/')
    return at < 0 ? [] : [join(exe.slice(0, at + '.app/Contents/'.length), 'Resources')]
  }
  return [join(dirname(exe), 'resources')]
}

export async function findServerBinary(env: NodeJS.ProcessEnv = process.env, variant: ServerVariant = 'cpu'): Promise<ServerBinary> {
  const variable = NAMED_BY[variant]
  const named = env[variable]
  if (named) {
    // A path the user set and that is wrong is said, not silently passed over for another build.
    return (await executable(named))
      ? { found: true, path: named, source: 'env' }
      : { found: false, reason: `${variable}=${named} is not an executable file` }
  }
  const folder = platformFolder(process.platform, process.arch, variant)
  const resources = resourcesFolders()
  for (const resource of resources) {
    const packaged = join(resource, 'llama-server', folder, EXE)
    if (await executable(packaged)) return { found: true, path: packaged, source: 'packaged' }
  }
  const bundle = bundlePath()
  const key = bundle ? await devCacheKey(bundle) : null
  if (key) {
    const cached = join(devCacheDir(key, variant), EXE)
    if (await executable(cached)) return { found: true, path: cached, source: 'dev-cache' }
  }
  const build = variant === 'cpu' ? 'npm run build:llama-server' : `LLAMA_SERVER_${variant.toUpperCase()}=1 npm run build:llama-server`
  return {
    found: false,
    reason: resources.length ? `this installation ships no llama-server for ${folder}` : `no llama-server built for ${folder} (${build})`,
  }
}

const found = new Map<ServerVariant, Promise<ServerBinary>>()

/** findServerBinary, once per process and variant. */
export function serverBinary(variant: ServerVariant = 'cpu'): Promise<ServerBinary> {
  let binary = found.get(variant)
  if (!binary) found.set(variant, (binary = findServerBinary(process.env, variant)))
  return binary
}
