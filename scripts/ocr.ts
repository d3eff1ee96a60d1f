// The text layer from the command line, for scripts and checks:
//   npm run -s ocr -- --json shot.png other.jpg   → one JSON object: { "shot.png": "line\nline", ... }
//   npm run -s ocr -- shot.png                     → the text, for reading
//   npm run -s ocr -- --language pl shot.png       → read with the pack the app picks on a system
//                                                    of that language (French, German and Polish
//                                                    come with the app)
//   npm run -s ocr -- --pack DIR shot.png          → read with a downloaded language pack (DIR holds
//                                                    rec.onnx and dict.txt, as MODELS/ocr/latin does)
// A file that cannot be read maps to null (its reason on stderr) and the exit code is 1.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { BUILT_IN_PACK, findPack, packForLocales, tesseractLanguages } from '../electron/ocr/languages.js'
import { ScreenReader, type ReaderOptions } from '../electron/ocr/reader.js'
import { ocrText } from '../electron/ocr/types.js'

const USAGE = 'usage: npm run -s ocr -- [--json] [--language <tag> | --pack <folder with rec.onnx and dict.txt>] <image>...\n'
const args = process.argv.slice(2)
const json = args.includes('--json')
/** The value after an option, and the option's index (-1 when absent). */
const option = (name: string): [number, string | undefined] => {
  const at = args.indexOf(name)
  return [at, at >= 0 ? args[at + 1] : undefined]
}
const [packAt, pack] = option('--pack')
const [languageAt, language] = option('--language')
const optionAt = new Set([packAt, languageAt].filter((i) => i >= 0).flatMap((i) => [i, i + 1]))
const paths = args.filter((a, i) => a !== '--json' && !optionAt.has(i))
const fail = (message: string, code: number): never => {
  process.stderr.write(message)
  process.exit(code)
}
if (
  paths.length === 0 ||
  paths.some((p) => p.startsWith('--')) ||
  (packAt >= 0 && !pack) ||
  (languageAt >= 0 && !language) ||
  (pack && language)
)
  fail(USAGE, 2)

function readerOptions(): ReaderOptions {
  if (pack) return { recogniser: { model: join(pack, 'rec.onnx'), dictionary: join(pack, 'dict.txt') } }
  if (!language) return {}
  const chosen = findPack(packForLocales([language]))!
  if (chosen.tesseract) return { tesseract: tesseractLanguages(chosen, [language]) }
  if (chosen.id === BUILT_IN_PACK) return {}
  return fail(`${chosen.name} is downloaded from the Models page; read with --pack models/ocr/${chosen.id}\n`, 2)
}

const reader = await ScreenReader.open(readerOptions())
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
