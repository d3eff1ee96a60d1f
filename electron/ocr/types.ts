// What the text layer reads off an image. Plain types (no zod): results only travel from
// main to the renderer and to the engine, never in from an untrusted side.

/** A rectangle in pixels of the full-resolution image the text was read from. */
export interface OcrBox {
  x: number
  y: number
  width: number
  height: number
}

/** One line of text as a reader would take it: items of one row of one region, left to right. */
export interface OcrLine {
  text: string
  box: OcrBox
  /** 0..1, the recogniser's mean character confidence. */
  confidence: number
}

/** A region read on its own (a window, a panel, a column), its lines in reading order. */
export interface OcrBlock {
  box: OcrBox
  lines: OcrLine[]
}

export interface OcrResult {
  /** Size of the image as given (before any scaling the reader did). */
  width: number
  height: number
  /** Regions in reading order: top to bottom, then left to right. */
  blocks: OcrBlock[]
  /** The recognition model's language, e.g. "en". */
  language: string
  /** Wall time of the recognition, in milliseconds. */
  ms: number
}

/** The recognised text, lines in reading order joined by "\n". */
export function ocrText(result: OcrResult): string {
  return result.blocks.flatMap((block) => block.lines.map((line) => line.text)).join('\n')
}

/** How the text layer is used: 'auto' reads every image and gives the model the text of images that hold
 *  some; 'always' gives it even a few words; 'never' reads nothing unless asked (copy text). */
export type ScreenTextMode = 'auto' | 'always' | 'never'

/** The text read off one image, as kept with it (in a conversation, or with the screenshot in hand). */
export type ScreenText =
  | {
      status: 'read'
      /** Lines in reading order joined by "\n"; regions (windows, panels) separated by a blank line. */
      text: string
      lines: number
      /** Mean line confidence, 0..1. */
      confidence: number
      /** Lines dropped for low confidence (a script the language does not cover, a blurred photo). */
      unsure: number
      language: string
      ms: number
    }
  /** Nothing legible: a photo, a blank screen. */
  | { status: 'none'; unsure: number; ms: number }
  /** Not read: too slow, stopped, or an error; the reason is a sentence for the user. */
  | { status: 'failed'; reason: string }
