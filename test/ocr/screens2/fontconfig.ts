// Text smoothing for the second screen set (issue 20): real desktops draw text with no
// anti-aliasing, with grey anti-aliasing, with subpixel colour fringes, and with different
// hinting. Chromium on Linux takes these from fontconfig, so each mode is a fontconfig file that
// includes the system's and overrides the rendering properties, and a browser is launched with
// FONTCONFIG_FILE pointing at it.
//
// Measured here (Chromium 156, headless): all four take effect at 1080p (no anti-aliasing leaves
// 3 grey levels in black-on-white text, grey leaves ~245, subpixel leaves coloured pixels, and
// hinting changes the pixels); at device scale 2 anti-aliasing and subpixel still apply, but
// Chromium stops hinting, so 'grayscale' and 'unhinted' render the same 4K pixels.
import { execFileSync } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { launchChromium } from '../../support/chromium.js'

export type Smoothing = 'mono' | 'grayscale' | 'subpixel' | 'unhinted'
export const SMOOTHINGS: readonly Smoothing[] = ['mono', 'grayscale', 'subpixel', 'unhinted']

const bool = (name: string, v: boolean): string => `<edit name="${name}" mode="assign"><bool>${v}</bool></edit>`
const konst = (name: string, v: string): string => `<edit name="${name}" mode="assign"><const>${v}</const></edit>`

const EDITS: Record<Smoothing, string> = {
  // Bitmap-like text: no anti-aliasing, full hinting (old X11 setups, some remote desktops).
  mono: bool('antialias', false) + bool('hinting', true) + konst('hintstyle', 'hintfull'),
  // GNOME's default: grey anti-aliasing, slight hinting.
  grayscale: bool('antialias', true) + konst('rgba', 'none') + bool('hinting', true) + konst('hintstyle', 'hintslight'),
  // LCD subpixel rendering: colour fringes along glyph edges (Windows ClearType-like).
  subpixel:
    bool('antialias', true) +
    konst('rgba', 'rgb') +
    konst('lcdfilter', 'lcddefault') +
    bool('hinting', true) +
    konst('hintstyle', 'hintslight'),
  // Grey anti-aliasing without hinting (macOS-like glyph shapes).
  unhinted: bool('antialias', true) + konst('rgba', 'none') + bool('hinting', false),
}

/** The fontconfig file for a mode: the system configuration, then the mode's overrides. */
export function fontconfigXml(mode: Smoothing): string {
  return `<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <match target="font">${EDITS[mode]}</match>
</fontconfig>
`
}

/** Chromium with a smoothing mode: its own fontconfig file, in its environment only. */
export async function launchWithSmoothing(mode: Smoothing): Promise<Browser> {
  const dir = join(tmpdir(), 'lva-ocr-fontconfig')
  await mkdir(dir, { recursive: true })
  const file = join(dir, `${mode}.conf`)
  await writeFile(file, fontconfigXml(mode))
  return launchChromium([], { FONTCONFIG_FILE: file })
}

/** Families the set draws with (Debian: fonts-liberation2 fonts-noto-core fonts-noto-cjk fonts-roboto-unhinted, fonts-dejavu-core). */
export const FONT_FAMILIES = [
  'DejaVu Sans',
  'DejaVu Sans Mono',
  'DejaVu Serif',
  'Liberation Sans',
  'Liberation Serif',
  'Liberation Mono',
  'Noto Sans',
  'Noto Serif',
  'Noto Sans CJK SC',
  'Roboto',
  'Roboto Condensed',
] as const

/** The families fontconfig cannot find (Chromium would fall back to another font), or every one when fc-list is missing. */
export function missingFonts(families: readonly string[] = FONT_FAMILIES): string[] {
  let listed: string
  try {
    listed = execFileSync('fc-list', [':', 'family'], { encoding: 'utf8' })
  } catch {
    return [...families]
  }
  const have = new Set(listed.split('\n').flatMap((l) => l.split(',').map((f) => f.trim())))
  return families.filter((f) => !have.has(f))
}
