// Generates the tiny models once before any test file runs, and gives the run its own
// temporary folder: the suites make scratch folders (data dirs, models, media files) in
// os.tmpdir() from many places, and a run left thousands behind in /tmp. Every worker and
// every process the tests start inherit it (TMPDIR, TEMP and TMP), so one removal at the end takes them all,
// including what a failed or interrupted test could not clean up itself.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ensureFixtures } from '../fixtures/generate.js'

export default async function setup(): Promise<() => Promise<void>> {
  await ensureFixtures()
  const root = await mkdtemp(join(tmpdir(), 'lva-run-'))
  // os.tmpdir() reads TMPDIR on Linux and macOS, TEMP and TMP on Windows.
  for (const name of ['TMPDIR', 'TEMP', 'TMP']) process.env[name] = root
  return async () => {
    await rm(root, { recursive: true, force: true, maxRetries: 3 })
  }
}
