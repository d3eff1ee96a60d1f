// Messages between the main process and the text layer's process.
import type { OcrResult } from './types.js'

export type ToOcrHost = { kind: 'read'; id: number; bytes: Uint8Array } | { kind: 'cancel'; id: number }

export type FromOcrHost =
  | { kind: 'result'; id: number; result: OcrResult }
  | { kind: 'error'; id: number; message: string; aborted: boolean }
  /** The recogniser is loaded: which language pack, and why not the one asked for (a damaged file). */
  | { kind: 'ready'; pack: string; problem: string | null }

/** A language pack's recogniser as the text layer's process is given it (in OCR_RECOGNISER, as JSON):
 * a downloaded PP-OCR model with its dictionary, or tesseract with traineddata of the app's own. */
export type OcrRecogniser = {
  pack: string
  /** For sentences: "Latin script". */
  name: string
  /** What its readings report as their language. */
  language: string
} & (
  | {
      engine: 'paddle'
      model: string
      dictionary: string
      /** Reads a right-to-left script (Arabic): its lines are put in the order they are written. */
      rtl?: boolean
    }
  | { engine: 'tesseract'; languages: string[] }
)

/** The text layer's process as main sees it: a Node fork in tests and scripts, a utility process in the app. */
export interface OcrProcess {
  send(message: ToOcrHost): void
  onMessage(listener: (message: FromOcrHost) => void): void
  onExit(listener: (code: number | null) => void): void
  kill(): void
}

export type SpawnOcr = () => OcrProcess

/** The environment that hands a process its recogniser; the built-in one when null. */
export function recogniserEnv(recogniser: OcrRecogniser | null): Record<string, string> {
  // Empty rather than absent, so a value in the app's own environment never leaks through.
  return { OCR_RECOGNISER: recogniser ? JSON.stringify(recogniser) : '' }
}

/** The recogniser from OCR_RECOGNISER; null when absent or not one (the built-in is used). */
export function recogniserFromEnv(value: string | undefined): OcrRecogniser | null {
  if (!value) return null
  try {
    const parsed: unknown = JSON.parse(value)
    if (typeof parsed !== 'object' || parsed === null) return null
    const fields = parsed as Record<string, unknown>
    const text = (key: string): string | null => (typeof fields[key] === 'string' ? (fields[key] as string) : null)
    const [pack, name, language] = [text('pack'), text('name'), text('language')]
    if (pack === null || name === null || language === null) return null
    if (fields.engine === 'tesseract') {
      const languages = fields.languages
      if (!Array.isArray(languages) || languages.length === 0 || !languages.every((l) => typeof l === 'string' && /^[a-z_]{3,12}$/.test(l)))
        return null
      return { pack, name, language, engine: 'tesseract', languages: languages as string[] }
    }
    const [model, dictionary] = [text('model'), text('dictionary')]
    if (fields.engine !== 'paddle' || model === null || dictionary === null) return null
    return { pack, name, language, engine: 'paddle', model, dictionary, ...(fields.rtl === true ? { rtl: true } : {}) }
  } catch {
    return null
  }
}
