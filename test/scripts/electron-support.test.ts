import { execFile } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { electronSupport, latestElectron, majorOf } from '../../scripts/electron-support.js'
import { scratchDir } from '../support/engine.js'

describe('Electron support check', () => {
  it('reads the major version of a pinned version or a plain range', () => {
    expect(majorOf('45.5.0')).toBe(45)
    expect(majorOf('^45.1.0')).toBe(45)
    expect(majorOf('~44')).toBe(44)
    expect(majorOf('>=43.0.0')).toBe(43)
    expect(majorOf('46.0.0-beta.3')).toBe(46)
    expect(majorOf('latest')).toBeNull()
  })

  it('accepts the latest three majors and rejects older ones', () => {
    expect(electronSupport('45.5.0', '45.5.0').status).toBe('ok')
    expect(electronSupport('44.2.1', '45.5.0').status).toBe('ok')
    const oldest = electronSupport('43.0.0', '45.5.0')
    expect(oldest.status).toBe('ok')
    expect(oldest.message).toContain('drops out when Electron 46 is released')
    expect(electronSupport('42.9.3', '45.5.0')).toEqual({
      status: 'out-of-support',
      message:
        'Electron 42.9.3 is out of support: Electron supports its latest 3 major versions, 43 to 45. Move to Electron 45 (latest 45.5.0).',
    })
    expect(electronSupport('40.9.3', '45.5.0').status).toBe('out-of-support')
    // A beta of the next major, ahead of the registry's latest, is supported.
    expect(electronSupport('46.0.0-beta.1', '45.5.0').status).toBe('ok')
  })

  it('skips, saying so, when the registry has no answer', () => {
    expect(electronSupport('40.9.3', null, 'the npm registry could not be asked (npm error code ENOTFOUND)')).toEqual({
      status: 'skipped',
      message: 'Electron support check skipped: the npm registry could not be asked (npm error code ENOTFOUND). Pinned: Electron 40.9.3.',
    })
    expect(electronSupport('45.5.0', 'nightly').status).toBe('skipped')
    expect(() => electronSupport('workspace:*', '45.5.0')).toThrow('names no major version')
  })

  it('reads the latest version from npm view, and says why when it cannot', async () => {
    expect(await latestElectron(async () => '{"latest": "45.5.0", "beta": "46.0.0-beta.2"}\n')).toEqual({ latest: '45.5.0' })
    expect(await latestElectron(async () => '{"beta": "46.0.0-beta.2"}')).toEqual({
      unavailable: 'the npm registry gave no latest version',
    })
    expect(await latestElectron(async () => 'npm notice: offline')).toEqual({ unavailable: 'the npm registry gave no latest version' })
    expect(
      await latestElectron(async () => {
        throw new Error('npm error code ENOTFOUND\nnpm error network request failed')
      }),
    ).toEqual({ unavailable: 'the npm registry could not be asked (npm error code ENOTFOUND)' })
  })

  it('fails npm test when out of support and passes with a message when offline', async () => {
    const dir = await scratchDir()
    // Stands in for npm (the script runs npm_execpath under node, as npm scripts do).
    const newer = join(dir, 'npm-newer.mjs')
    await writeFile(newer, `console.log(JSON.stringify({ latest: '99.0.0' }))\n`)
    const offline = join(dir, 'npm-offline.mjs')
    await writeFile(offline, `console.error('npm error code ENOTFOUND'); process.exit(1)\n`)

    const outdated = await runCheck(newer)
    expect(outdated.code).toBe(1)
    expect(outdated.stderr).toMatch(
      /^Electron \S+ is out of support: Electron supports its latest 3 major versions, 97 to 99\. Move to Electron 99 \(latest 99\.0\.0\)\./,
    )

    const skipped = await runCheck(offline)
    expect(skipped.code).toBe(0)
    expect(skipped.stdout).toMatch(
      /^Electron support check skipped: the npm registry could not be asked \(npm error code ENOTFOUND\)\. Pinned: Electron \S+\./,
    )
  })
})

function runCheck(fakeNpm: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const script = fileURLToPath(new URL('../../scripts/electron-support.ts', import.meta.url))
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, npm_execpath: fakeNpm } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    )
  })
}
