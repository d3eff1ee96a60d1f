// Fails `npm test` when the pinned Electron has fallen out of Electron's support window
// (its latest three major versions get security fixes; older ones get none). The latest
// version is asked from the npm registry; without the registry the check says it skipped
// rather than failing an offline build.
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'

/** How many major versions Electron supports at once, the latest included. */
export const SUPPORTED_MAJORS = 3

export type SupportVerdict = { status: 'ok' | 'out-of-support' | 'skipped'; message: string }

/** The major version of a version or a plain range such as `45.5.0`, `^45.1.0`, `~45` or `45.0.0-beta.3`. */
export function majorOf(version: string): number | null {
  const match = /^\s*(?:[\^~]|>=)?\s*v?(\d+)(?:\.|$)/.exec(version)
  return match ? Number(match[1]) : null
}

/**
 * Whether the pinned Electron is within the supported window.
 * `latest` is the registry's latest version, or null when the registry could not be asked
 * (then `skippedBecause` says why).
 */
export function electronSupport(pinned: string, latest: string | null, skippedBecause = 'the npm registry did not answer'): SupportVerdict {
  const pinnedMajor = majorOf(pinned)
  if (pinnedMajor === null) throw new Error(`package.json pins electron as "${pinned}", which names no major version.`)
  const latestMajor = latest === null ? null : majorOf(latest)
  if (latestMajor === null) {
    const why = latest === null ? skippedBecause : `the registry's latest version "${latest}" names no major version`
    return { status: 'skipped', message: `Electron support check skipped: ${why}. Pinned: Electron ${pinned}.` }
  }
  const oldestSupported = latestMajor - SUPPORTED_MAJORS + 1
  const window = `Electron supports its latest ${SUPPORTED_MAJORS} major versions, ${oldestSupported} to ${latestMajor}`
  if (pinnedMajor < oldestSupported) {
    return {
      status: 'out-of-support',
      message: `Electron ${pinned} is out of support: ${window}. Move to Electron ${latestMajor} (latest ${latest}).`,
    }
  }
  const note =
    pinnedMajor === oldestSupported ? ` It is the oldest supported major: it drops out when Electron ${latestMajor + 1} is released.` : ''
  return { status: 'ok', message: `Electron ${pinned} is supported (${window}; latest ${latest}).${note}` }
}

/** Runs `npm view electron dist-tags --json`; resolves with its output. */
export type NpmView = () => Promise<string>

/** The registry's latest Electron version, or why it could not be had. */
export async function latestElectron(view: NpmView): Promise<{ latest: string } | { unavailable: string }> {
  let output: string
  try {
    output = await view()
  } catch (error) {
    const first = (error instanceof Error ? error.message : String(error)).split('\n')[0]
    return { unavailable: `the npm registry could not be asked (${first})` }
  }
  try {
    const tags: unknown = JSON.parse(output)
    const latest = typeof tags === 'object' && tags !== null && 'latest' in tags ? tags.latest : undefined
    if (typeof latest === 'string') return { latest }
  } catch {
    // Reported below, like any other answer without a latest version.
  }
  return { unavailable: 'the npm registry gave no latest version' }
}

/** npm itself, as the running npm script found it (npm_execpath), so the project's registry settings apply. */
const npmView: NpmView = () =>
  new Promise((resolve, reject) => {
    const npmCli = process.env.npm_execpath
    const [command, args] = npmCli ? [process.execPath, [npmCli]] : ['npm', []]
    // No retries and short timeouts: offline, the check should skip in seconds, not minutes.
    execFile(
      command,
      [...args, 'view', 'electron', 'dist-tags', '--json', '--fetch-retries=0', '--fetch-timeout=5000'],
      { timeout: 20_000, shell: !npmCli && process.platform === 'win32' },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout)
        // npm's first error line names the cause (e.g. "npm error code ENOTFOUND"); the error's own message is the command line.
        reject(new Error(error.killed ? 'no answer within 20 s' : stderr.trim().split('\n')[0] || error.message))
      },
    )
  })

async function main(): Promise<void> {
  const manifest = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as {
    devDependencies?: Record<string, string>
    dependencies?: Record<string, string>
  }
  const pinned = manifest.devDependencies?.electron ?? manifest.dependencies?.electron
  if (!pinned) throw new Error('package.json does not depend on electron.')
  const answer = await latestElectron(npmView)
  const verdict = 'latest' in answer ? electronSupport(pinned, answer.latest) : electronSupport(pinned, null, answer.unavailable)
  if (verdict.status === 'out-of-support') {
    console.error(verdict.message)
    process.exitCode = 1
  } else console.log(verdict.message)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main()
