// Screenshots with known text for the text layer's UI tests: lines drawn by Chromium at a
// desktop's size (16–20 px), so the real recogniser reads them as it reads a screen.
import type { Browser } from 'playwright-core'

export interface TextPngOptions {
  width?: number
  height?: number
  /** Blocks of lines, each drawn as its own panel: a region can then take one block and not the others. */
  blocks: string[][]
  dark?: boolean
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

export async function textPng(browser: Browser, { width = 900, height = 520, blocks, dark = false }: TextPngOptions): Promise<Uint8Array> {
  const page = await browser.newPage({ viewport: { width, height }, deviceScaleFactor: 1 })
  try {
    const panels = blocks.map((lines) => `<section>${lines.map((line) => `<div>${esc(line)}</div>`).join('')}</section>`).join('')
    await page.setContent(
      `<!doctype html><style>
        body { margin: 0; padding: 28px 36px; background: ${dark ? '#1e1f24' : '#f4f5f7'}; color: ${dark ? '#e8e8e8' : '#16181d'};
               font: 18px/1.6 'DejaVu Sans Mono', monospace; display: flex; flex-direction: column; gap: 90px; }
        section { padding: 14px 18px; border-radius: 8px; background: ${dark ? '#2a2c33' : '#ffffff'}; }
      </style>${panels}`,
    )
    return new Uint8Array(await page.screenshot({ type: 'png' }))
  } finally {
    await page.close()
  }
}

/** The words of some lines, lower-cased, for comparing with what the recogniser read (loosely: each word appears). */
export function wordsOf(lines: string[]): string[] {
  return lines.flatMap((line) => line.toLowerCase().match(/[a-z0-9]{3,}/g) ?? [])
}

/** The known words missing from a text: empty when every one was read. */
export function missingWords(text: string, lines: string[]): string[] {
  const read = text.toLowerCase()
  return wordsOf(lines).filter((word) => !read.includes(word))
}
