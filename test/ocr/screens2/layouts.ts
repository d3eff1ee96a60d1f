// The second screen set's layouts (issue 20): about a dozen desktop-like screens, light and
// dark, each drawn in one of the four font families and one of the four text-smoothing modes,
// so every family and every mode appears on several kinds of screen.
import { Rng } from '../screens/text.js'
import { editorDark, editorLight } from './code.js'
import { dialogBackdrop, hardPage, overlapDesktop } from './desktop.js'
import { newspaper, pdfViewer, wikiAccents, type BuildContext } from './docs.js'
import { chineseChat, chineseFiles, mailAccents } from './cjk.js'
import type { Smoothing } from './fontconfig.js'
import { page, type Theme } from './parts.js'
import { finance, spreadsheet } from './tables.js'

export interface Layout2 {
  name: string
  /** The page's colours; a desktop's windows may mix themes. */
  theme: Theme
  smoothing: Smoothing
  /** CSS font-family of the page (windows and panels may set their own). */
  font: string
  seed: number
  /** The body's content, or the content with its own background (desktops). */
  build: (c: BuildContext) => string | { html: string; background: string }
}

const LIBERATION = "'Liberation Sans', sans-serif"
const NOTO = "'Noto Sans', 'Noto Sans CJK SC', sans-serif"
const NOTO_CJK = "'Noto Sans CJK SC', 'Noto Sans', sans-serif"
const ROBOTO = "'Roboto', sans-serif"
const ROBOTO_CONDENSED = "'Roboto Condensed', sans-serif"
const DEJAVU = "'DejaVu Sans', sans-serif"

export const LAYOUTS2: Layout2[] = [
  { name: 'pdf-columns-light', theme: 'light', smoothing: 'grayscale', font: LIBERATION, seed: 2001, build: pdfViewer },
  { name: 'news-cookie-dark', theme: 'dark', smoothing: 'subpixel', font: NOTO, seed: 2002, build: newspaper },
  { name: 'editor-tooltip-light', theme: 'light', smoothing: 'mono', font: LIBERATION, seed: 2003, build: editorLight },
  { name: 'editor-menu-dark', theme: 'dark', smoothing: 'unhinted', font: DEJAVU, seed: 2004, build: editorDark },
  { name: 'sheet-light', theme: 'light', smoothing: 'grayscale', font: ROBOTO, seed: 2005, build: spreadsheet },
  { name: 'finance-condensed-dark', theme: 'dark', smoothing: 'subpixel', font: ROBOTO_CONDENSED, seed: 2006, build: finance },
  { name: 'desktop-overlap', theme: 'dark', smoothing: 'mono', font: DEJAVU, seed: 2007, build: overlapDesktop },
  { name: 'dialog-backdrop-light', theme: 'light', smoothing: 'subpixel', font: LIBERATION, seed: 2008, build: dialogBackdrop },
  { name: 'hard-page-light', theme: 'light', smoothing: 'grayscale', font: ROBOTO, seed: 2009, build: hardPage },
  { name: 'hard-page-dark', theme: 'dark', smoothing: 'mono', font: DEJAVU, seed: 2010, build: hardPage },
  { name: 'mail-accents-light', theme: 'light', smoothing: 'unhinted', font: NOTO, seed: 2011, build: mailAccents },
  { name: 'wiki-accents-dark', theme: 'dark', smoothing: 'grayscale', font: LIBERATION, seed: 2012, build: wikiAccents },
  { name: 'zh-files-light', theme: 'light', smoothing: 'subpixel', font: NOTO_CJK, seed: 2013, build: chineseFiles },
  { name: 'zh-chat-dark', theme: 'dark', smoothing: 'unhinted', font: NOTO_CJK, seed: 2014, build: chineseChat },
]

/** The page of a layout at 1920x1080 CSS px (4K is the same page at device scale 2). */
export function layoutPage(layout: Layout2, width = 1920, height = 1080): string {
  const built = layout.build({ r: new Rng(layout.seed), theme: layout.theme })
  const { html, background } = typeof built === 'string' ? { html: built, background: 'var(--bg)' } : built
  return page(html, { width, height, font: layout.font, background, theme: layout.theme })
}
