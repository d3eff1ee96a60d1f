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
