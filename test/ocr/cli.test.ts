// The text layer's command line (scripts/ocr.ts), run as scripts run it: `--json` prints exactly
// one JSON object mapping each path to its text (null for a file it cannot read, exit code 1),
// `--language` reads with the pack the app picks on such a system, and bad usage says how.
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { distance } from 'fastest-levenshtein'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const ROOT = join(import.meta.dirname, '..', '..')

function ocr(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'scripts/ocr.ts', ...args], { cwd: ROOT, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    )
  })
}

/** A PNG of lines of dark text on white, as a small window shows them. */
async function png(path: string, lines: string[]): Promise<void> {
  const rows = lines.map((line, i) => `<text x="16" y="${34 + i * 30}" font-family="DejaVu Sans" font-size="16" fill="#222">${line}</text>`)
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="420" height="${24 + lines.length * 30}"><rect width="100%" height="100%" fill="#fff"/>${rows.join('')}</svg>`
  await writeFile(path, await sharp(Buffer.from(svg)).png().toBuffer())
}

let dir = ''
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lva-ocr-cli-'))
  await png(join(dir, 'plain.png'), ['Build finished in 12 seconds', 'Open the settings to continue'])
  await png(join(dir, 'polish.png'), ['Zażółć gęślą jaźń w Łodzi'])
})
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('npm run -s ocr', () => {
  it('prints one JSON object mapping each path to its lines, null and exit code 1 for a file it cannot read', async () => {
    const plain = join(dir, 'plain.png')
    const missing = join(dir, 'missing.png')
    const { code, stdout, stderr } = await ocr('--json', plain, missing)
    expect(code).toBe(1)
    expect(stdout.trim().split('\n')).toHaveLength(1)
    const texts = JSON.parse(stdout) as Record<string, string | null>
    expect(Object.keys(texts)).toEqual([plain, missing])
    expect(texts[missing]).toBeNull()
    expect(stderr).toContain(missing)
    const lines = texts[plain]!.split('\n')
    expect(lines).toHaveLength(2)
    expect(distance(lines[0]!, 'Build finished in 12 seconds')).toBeLessThanOrEqual(2)
    expect(distance(lines[1]!, 'Open the settings to continue')).toBeLessThanOrEqual(2)
  }, 60_000)

  it("reads with a language's pack: a Polish line with the app's own Polish traineddata", async () => {
    const polish = join(dir, 'polish.png')
    const { code, stdout } = await ocr('--json', '--language', 'pl-PL', polish)
    expect(code).toBe(0)
    const text = (JSON.parse(stdout) as Record<string, string>)[polish]!
    expect(distance(text, 'Zażółć gęślą jaźń w Łodzi'), text).toBeLessThanOrEqual(1)
  }, 60_000)

  it('says how to use it, and where a downloadable pack must come from', async () => {
    for (const args of [[], ['--json'], ['--language'], ['--pack', 'x', '--language', 'pl', 'a.png'], ['--bogus', 'a.png']]) {
      const { code, stderr } = await ocr(...args)
      expect(code, args.join(' ')).toBe(2)
      expect(stderr).toMatch(/^usage: /)
    }
    const { code, stderr } = await ocr('--language', 'es', join(dir, 'plain.png'))
    expect(code).toBe(2)
    expect(stderr).toContain('--pack models/ocr/latin')
  }, 60_000)
})
