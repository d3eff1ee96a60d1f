// The text layer from the command line, for scripts and checks:
//   npm run -s ocr -- --json shot.png other.jpg   → one JSON object: { "shot.png": "line\nline", ... }
//   npm run -s ocr -- shot.png                     → the text, for reading
//   npm run -s ocr -- --pack DIR shot.png          → read with a language pack (DIR holds rec.onnx and
//                                                    dict.txt, as MODELS/ocr/latin does once downloaded)
// A file that cannot be read maps to null (its reason on stderr) and the exit code is 1.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ScreenReader } from '../electron/ocr/reader.js'
import { ocrText } from '../electron/ocr/types.js'

const args = process.argv.slice(2)
const json = args.includes('--json')
const packAt = args.indexOf('--pack')
const pack = packAt >= 0 ? args[packAt + 1] : undefined
const paths = args.filter((a, i) => a !== '--json' && (packAt < 0 || (i !== packAt && i !== packAt + 1)))
if (paths.length === 0 || paths.some((p) => p.startsWith('--')) || (packAt >= 0 && !pack)) {
  process.stderr.write('usage: npm run -s ocr -- [--json] [--pack <folder with rec.onnx and dict.txt>] <image>...\n')
  process.exit(2)
}

const reader = await ScreenReader.open(pack ? { recogniser: { model: join(pack, 'rec.onnx'), dictionary: join(pack, 'dict.txt') } } : {})
const texts: Record<string, string | null> = {}
let failed = false
for (const path of paths) {
  try {
    const result = await reader.read(new Uint8Array(await readFile(path)))
    texts[path] = ocrText(result)
    if (!json) process.stdout.write(`${paths.length > 1 ? `== ${path} (${Math.round(result.ms)} ms)\n` : ''}${texts[path]}\n`)
  } catch (error) {
    failed = true
    texts[path] = null
    process.stderr.write(`${path}: ${error instanceof Error ? error.message : String(error)}\n`)
  }
}
await reader.close()
if (json) process.stdout.write(`${JSON.stringify(texts)}\n`)
process.exitCode = failed ? 1 : 0
