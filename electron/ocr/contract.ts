// The text layer's part of the IPC contract: its language packs (which one reads screens,
// which are downloaded, their sizes). Downloads themselves go through the model manager's
// channels ('downloads:start' with source 'ocr').
import { z } from 'zod'

/** A pack id as the renderer may send it; main checks it names a pack it knows. */
const PackId = z.string().regex(/^[a-z0-9-]{1,32}$/, 'not a language pack id')

export interface OcrPackView {
  id: string
  name: string
  /** The languages it reads, for people. */
  languages: string
  builtIn: boolean
  /** Its files are on this computer (always, for the built-in pack). */
  installed: boolean
  /** Download size in bytes (0 for the built-in pack). */
  bytes: number
  /** bytes is the hub's own figure; false: the catalog's estimate, shown with ≈. */
  exact: boolean
}

export interface OcrLanguagesView {
  /** What the user chose: 'auto' (from the system's languages) or a pack id. */
  choice: string
  /** The system's languages, most preferred first, as the app read them. */
  systemLanguages: string[]
  /** The pack 'auto' stands for on this system. */
  automatic: string
  /** The pack the choice asks for. */
  wanted: string
  /** The pack screens are read with now. */
  inUse: string
  /** Why the pack in use is not the one wanted (not downloaded, damaged), in words; null when it is. */
  problem: string | null
  packs: OcrPackView[]
}

export const ocrInvoke = {
  'ocr:languages': { request: z.undefined() },
  'ocr:set-language': { request: z.strictObject({ choice: z.union([z.literal('auto'), PackId]) }) },
  'ocr:delete-language': { request: z.strictObject({ id: PackId }) },
} as const

export interface OcrResponses {
  'ocr:languages': OcrLanguagesView
  'ocr:set-language': OcrLanguagesView
  'ocr:delete-language': OcrLanguagesView
}
