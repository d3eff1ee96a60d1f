// A llama-server that keeps dying is started again a few times, then left stopped with the
// reason: the engine does not restart it for ever. The server here is a stand-in that answers
// /health and exits a moment later, as a build that crashes on its first request would.
import { chmod, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createEngine } from '../../electron/engine/engine.js'
import { ensureFixtures } from '../fixtures/generate.js'
import { scratchDir } from '../support/engine.js'

/** A llama-server stand-in: each start adds a line to $FAKE_SERVER_STARTS; it serves /health, then exits with code 3. */
async function dyingServer(dir: string): Promise<{ binary: string; starts: () => Promise<number> }> {
  const binary = join(dir, 'llama-server')
  const log = join(dir, 'starts')
  await writeFile(log, '')
  await writeFile(
    binary,
    [
      `#!${process.execPath}`,
      "const { appendFileSync } = require('node:fs')",
      "const { createServer } = require('node:http')",
      'appendFileSync(process.env.FAKE_SERVER_STARTS, "start\\n")',
      "const port = Number(process.argv[process.argv.indexOf('--port') + 1])",
      "createServer((req, res) => { res.writeHead(req.url === '/health' ? 200 : 404); res.end('{}') }).listen(port, '127.0.0.1')",
      'setTimeout(() => process.exit(3), 300)',
    ].join('\n'),
  )
  await chmod(binary, 0o755)
  process.env.FAKE_SERVER_STARTS = log
  return { binary, starts: async () => (await readFile(log, 'utf8')).split('\n').filter(Boolean).length }
}

describe('a llama-server that keeps dying', () => {
  it('is started again twice, then not, and the engine says why', async () => {
    const fx = await ensureFixtures()
    const fake = await dyingServer(await scratchDir())
    // Read once per engine process, on the first load: this file's only.
    process.env.LLAMA_SERVER_BIN = fake.binary
    const lost: string[] = []
    const engine = createEngine({ threads: 1, textBinding: 'llama-server', onLost: (message) => lost.push(message) })
    try {
      expect(await engine.load({ modelPath: fx.textModel, gpu: false })).toMatchObject({ binding: 'llama-server' })
      await expect.poll(() => lost, { timeout: 20_000 }).toHaveLength(1)
      expect(lost[0]).toBe(
        'The engine (llama-server) exited with code 3; it stopped 3 times within a minute, so it was not started again. Load the model again to retry.',
      )
      // No start after the third death.
      await new Promise((r) => setTimeout(r, 1000))
      expect(await fake.starts()).toBe(3)
      expect(engine.info()).toBeNull()
    } finally {
      await engine.unload()
    }
  })
})
