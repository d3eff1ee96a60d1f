// Code editors: a line-number gutter beside the code, a hover tooltip over the code, a minimap
// (text too small to be text: left out of the truth, and a reader should ignore it), tabs,
// breadcrumbs, a menu bar and a 10-11 px status bar; the dark one has a context menu open over
// the code. Issue 20: the gutter's numbers must not be glued to the code ("38 import ...").
import type { Rng } from '../screens/text.js'
import { codeLine, ident } from '../screens/text.js'
import { crumbs, dropMenu, esc, frame, menuBar, seg, statusBar, tabStrip } from './parts.js'
import type { BuildContext } from './docs.js'

function codeArea(
  r: Rng,
  o: { left: number; top: number; rows: number; size: number; lh: number; start: number; comments?: string[]; font?: string },
): string {
  const gutter = Array.from(
    { length: o.rows },
    (_, i) => `<div data-seg style="height:${o.lh}px;text-align:right">${o.start + i}</div>`,
  ).join('')
  const lines = Array.from({ length: o.rows }, (_, i) => {
    if (o.comments && i % 9 === 4)
      return `<div data-seg class="cm" style="height:${o.lh}px;white-space:pre">// ${esc(r.pick(o.comments))}</div>`
    const line = codeLine(r)
    const html = line.tokens.map((t) => `<span class="${t.kind}">${esc(t.text)}</span>`).join('')
    return `<div data-seg style="height:${o.lh}px;white-space:pre;padding-left:${line.indent * 2}ch">${html}</div>`
  }).join('')
  // The minimap: the same code at 2 px, below any size a reader should take as text.
  const mini = Array.from(
    { length: 120 },
    () =>
      `<div style="height:3px;white-space:pre">${esc(
        codeLine(r)
          .tokens.map((t) => t.text)
          .join(''),
      )}</div>`,
  ).join('')
  const font = o.font ? `font-family:${o.font};` : ''
  return `<div data-case="code" class="mono" style="${font}position:absolute;left:${o.left}px;top:${o.top}px;right:0;bottom:22px;font-size:${o.size}px;line-height:${o.lh}px;overflow:hidden">
    <div style="position:absolute;left:0;top:0;width:${o.size * 3.6}px;color:var(--muted)">${gutter}</div>
    <div style="position:absolute;left:${o.size * 3.6 + 18}px;top:0;right:120px;overflow:hidden">${lines}</div>
    <div style="position:absolute;right:14px;top:0;width:96px;bottom:0;font-size:2px;line-height:3px;opacity:.6;overflow:hidden;border-left:1px solid var(--border)">${mini}</div></div>`
}

function explorer(r: Rng, top: number, width: number, size: number): string {
  const files = Array.from({ length: 28 }, (_, i) =>
    i % 6 === 0
      ? `<div data-seg style="font-weight:bold">${r.pick(['src', 'test', 'electron', 'bench', 'docs'])}</div>`
      : `<div data-seg style="padding-left:24px">${esc(ident(r))}.ts</div>`,
  ).join('')
  return `<div data-case="chrome" style="position:absolute;left:0;top:${top}px;width:${width}px;bottom:22px;background:var(--panel);padding:8px 12px;font-size:${size}px;line-height:1.7;overflow:hidden">
    <div data-seg style="font-size:10px;letter-spacing:1px" class="muted">EXPLORER</div>${files}</div>`
}

// The light editor draws its code in Liberation Mono, the dark one in DejaVu Sans Mono (set 1's).
const LIBERATION_MONO = "'Liberation Mono', monospace"

export function editorLight({ r, theme }: BuildContext): string {
  const tabs = ['layout.ts', 'reader.ts', 'regions.ts', 'README.md', 'package.json']
  const body = `${menuBar(['File', 'Edit', 'Selection', 'View', 'Go', 'Run', 'Terminal', 'Help'], 12)}
    ${explorer(r, 26, 260, 13)}
    <div style="position:absolute;left:260px;right:0;top:26px">${tabStrip(tabs, 12)}${crumbs(['src', 'ocr', 'layout.ts', 'groupLines'], 11)}</div>
    ${codeArea(r, { left: 260, top: 86, rows: 44, size: 13, lh: 20, start: r.int(20, 300), font: LIBERATION_MONO })}
    <div data-case="code" style="position:absolute;left:560px;top:330px;width:620px;background:var(--panel);border:1px solid var(--border);box-shadow:0 4px 14px rgba(0,0,0,.3);padding:8px 12px;font-size:13px;z-index:5">
      <div data-seg class="mono" style="font-family:${LIBERATION_MONO}">(method) ScreenReader.read(image: Uint8Array): Promise&lt;OcrResult&gt;</div>
      <div data-seg style="margin-top:6px">Reads the text of one image, lines in reading order with their boxes.</div></div>
    ${statusBar([`main*`, `Ln ${r.int(1, 400)}, Col ${r.int(1, 80)}`, 'Spaces: 2', 'UTF-8', 'LF', 'TypeScript', 'Prettier'], 11)}`
  return frame({ x: 0, y: 0, w: 1920, h: 1080, theme, title: 'layout.ts - local-vision-assistant - Code', body })
}

export function editorDark({ r, theme }: BuildContext): string {
  const tabs = ['main.go', 'handler.go', 'config.yaml', 'Makefile']
  const comments = ['Größe des Puffers prüfen', 'Zażółć gęślą jaźń: test znaków', 'Vérifier la réponse reçue', 'Übersicht aktualisieren']
  const menu = dropMenu(
    [
      ['Go to Definition', 'F12'],
      ['Find All References', 'Shift+F12'],
      ['Rename Symbol', 'F2'],
      ['-', ''],
      ['Cut', 'Ctrl+X'],
      ['Copy', 'Ctrl+C'],
      ['Paste', 'Ctrl+V'],
      ['-', ''],
      ['Format Document', 'Ctrl+Shift+I'],
      ['Command Palette', 'Ctrl+Shift+P'],
    ],
    420,
    300,
    13,
    'overlap',
  )
  const body = `${menuBar(['File', 'Edit', 'Selection', 'View', 'Go', 'Run', 'Terminal', 'Help'], 11)}
    ${explorer(r, 26, 230, 12)}
    <div style="position:absolute;left:230px;right:0;top:26px">${tabStrip(tabs, 11)}${crumbs(['cmd', 'server', 'main.go', 'handleRequest'], 10)}</div>
    ${codeArea(r, { left: 230, top: 82, rows: 46, size: 12, lh: 19, start: r.int(1, 90), comments })}
    ${menu}
    <div data-case="chrome" style="position:absolute;left:230px;right:0;bottom:22px;height:150px;background:var(--bg);border-top:1px solid var(--border);font-size:12px;z-index:3">
      <div class="hb" style="gap:22px;padding:0 12px;height:28px;background:var(--bg)">${seg('PROBLEMS')}${seg('OUTPUT')}${seg('TERMINAL')}${seg('DEBUG CONSOLE')}</div>
      <div class="mono" style="padding:6px 12px;line-height:1.6">${Array.from({ length: 5 }, () => `<div data-seg>$ go test ./${esc(ident(r))}/... ok ${(r.int(10, 999) / 100).toFixed(2)}s</div>`).join('')}</div></div>
    ${statusBar(['main', '0 errors, 2 warnings', `Ln ${r.int(1, 400)}, Col ${r.int(1, 80)}`, 'Tab Size: 4', 'UTF-8', 'Go'], 10)}`
  return frame({ x: 0, y: 0, w: 1920, h: 1080, theme, title: 'main.go - server - Code', body })
}
