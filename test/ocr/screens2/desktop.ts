// Desktops and hard rendering: overlapping windows with a drop-down menu over content on a
// noisy wallpaper; a dimmed backdrop under a modal dialog beside a settings window full of
// low-contrast hints, placeholders and disabled buttons; and a landing page of text on
// gradients and a photo, 9-11 px footers, bold, italic and condensed type. What a window, a
// menu or a backdrop covers is left out of the truth by the hit test (set 1's measure.ts).
import type { Rng } from '../screens/text.js'
import { cap, paragraph, person, sentence, time, words } from '../screens/text.js'
import { div, dropMenu, esc, frame, LOW, menuBar, noisyWallpaper, seg, segs, type Theme } from './parts.js'
import type { BuildContext } from './docs.js'

const icons = (labels: readonly string[], x: number): string =>
  labels
    .map((l, i) => `<div class="dicon" data-case="hard" style="left:${x}px;top:${30 + i * 96}px"><span data-seg>${esc(l)}</span></div>`)
    .join('')
const dock = (r: Rng, apps: readonly string[]): string =>
  `<div class="dock" data-case="chrome">${segs(apps)}<span style="flex:1"></span>${seg(time(r))}${seg(`Thu ${r.int(1, 28)} Nov`)}</div>`

export function overlapDesktop({ r }: BuildContext): { html: string; background: string } {
  const prose = Array.from(
    { length: 24 },
    () => `<div data-seg style="white-space:nowrap;line-height:22px">${esc(sentence(r, 9, 14))}</div>`,
  ).join('')
  const files = Array.from(
    { length: 18 },
    () =>
      `<tr data-seg>${[`${words(r, 1, 2).replace(/ /g, '_')}.${r.pick(['pdf', 'png', 'txt', 'zip'])}`, `${r.int(1, 999)} KB`, `${r.int(1, 28)} Nov ${time(r)}`].map((c, i) => `<td class="${i === 1 ? 'n' : ''}" style="border:0">${esc(c)}</td>`).join('')}</tr>`,
  ).join('')
  const chat = Array.from(
    { length: 9 },
    () =>
      `<div style="margin:0 0 10px">${div(`${person(r)}  ${time(r)}`, 'font-weight:bold;font-size:12px')}${div(sentence(r, 3, 9), 'line-height:1.4')}</div>`,
  ).join('')
  const back = frame({
    x: 150,
    y: 40,
    w: 980,
    h: 640,
    theme: 'light',
    title: 'notes.txt - Text Editor',
    body: `<div data-case="overlap" class="mono" style="padding:10px 14px;font-size:13px">${prose}</div>`,
    z: 1,
  })
  const mid = frame({
    x: 700,
    y: 260,
    w: 820,
    h: 560,
    theme: 'dark',
    title: 'Downloads - Files',
    z: 2,
    body: `${menuBar(['File', 'Edit', 'View', 'Go', 'Bookmarks', 'Help'], 13)}<div data-case="overlap" style="padding:6px 10px;font-size:13px"><table style="width:100%">${files}</table></div>
      ${dropMenu(
        [
          ['New Window', 'Ctrl+N'],
          ['New Tab', 'Ctrl+T'],
          ['Open Location', 'Ctrl+L'],
          ['-', ''],
          ['Properties', 'Alt+Enter'],
          ['Close', 'Ctrl+W'],
        ],
        4,
        26,
        13,
        'overlap',
      )}`,
  })
  const front = frame({
    x: 1380,
    y: 120,
    w: 470,
    h: 820,
    theme: 'light',
    title: `# ${words(r, 1, 1)} - Chat`,
    z: 3,
    body: `<div data-case="overlap" style="padding:12px;font-size:13px">${chat}</div>`,
  })
  const html = `${icons(['Home', 'Trash', 'Projects', 'Screenshot 14-02.png', 'Budget 2026.ods'], 20)}${back}${mid}${front}${dock(r, ['Files', 'Text Editor', 'Chat', 'Terminal'])}`
  return { html, background: noisyWallpaper(3) }
}

/** A settings window beside an app whose dialog dims it: low contrast, placeholders, disabled buttons. */
export function dialogBackdrop({ r, theme }: BuildContext): string {
  const low = LOW[theme]
  const fields = Array.from({ length: 9 }, (_, i) => {
    const label = cap(words(r, 2, 3))
    const value =
      i % 3 === 0
        ? seg(`e.g. ${words(r, 1, 2)}`, 'class="field ph" style="width:380px"')
        : seg(r.pick([`${r.int(1, 60)} minutes`, 'Automatic', cap(words(r, 1, 2))]), 'class="field" style="width:380px"')
    return `<div class="row" style="gap:20px;margin-bottom:6px">${seg(label, 'style="width:220px"')}${value}</div>
      ${div(sentence(r, 6, 11), `color:${low.fg};font-size:11px;margin:0 0 12px 240px`)}`
  }).join('')
  const settings = frame({
    x: 20,
    y: 20,
    w: 900,
    h: 1000,
    theme,
    title: 'Settings - Privacy',
    body: `<div data-case="hard" style="padding:20px 24px;font-size:13px;background:${low.bg};position:absolute;inset:0">
      ${div('Privacy and security', 'font-size:20px;font-weight:bold;margin-bottom:18px')}${fields}
      <div class="row" style="gap:12px;margin-top:20px">${seg('Save changes', 'class="btn primary disabled"')}${seg('Reset to defaults', 'class="btn disabled"')}${seg('Cancel', 'class="btn"')}</div>
      ${div(`Last saved ${time(r)} by ${person(r)}`, `color:${low.fg};font-size:10px;margin-top:24px`)}</div>`,
  })
  const list = Array.from({ length: 30 }, () =>
    div(`${person(r)} - ${sentence(r, 4, 8)}`, 'padding:6px 0;border-bottom:1px solid var(--border)'),
  ).join('')
  const dialog = `<div data-case="overlap" style="position:absolute;left:260px;top:300px;width:520px;background:var(--bg);border-radius:8px;box-shadow:0 12px 40px rgba(0,0,0,.5);padding:22px;font-size:14px;z-index:10">
    ${div('Delete this account?', 'font-size:18px;font-weight:bold;margin-bottom:10px')}
    <div data-seg style="line-height:1.5;margin-bottom:14px">${esc(paragraph(r, 2))}</div>
    ${div('Type the account name to confirm', 'font-size:12px;margin-bottom:6px')}
    ${seg('account-name', 'class="field ph" style="display:block;margin-bottom:18px"')}
    <div class="row" style="gap:10px;justify-content:flex-end">${seg('Cancel', 'class="btn"')}${seg('Delete account', 'class="btn primary disabled"')}</div></div>`
  const app = frame({
    x: 940,
    y: 20,
    w: 960,
    h: 1000,
    theme: theme === 'light' ? 'dark' : 'light',
    title: 'Accounts - Admin',
    body: `<div style="padding:16px 20px;font-size:13px">${list}</div><div style="position:absolute;inset:0;background:rgba(0,0,0,.5);z-index:9"></div>${dialog}`,
  })
  return settings + app
}

/** A landing page: a hero on a gradient, cards on a photo, bold/italic/condensed lines, a low-contrast 9-10 px footer. */
export function hardPage({ r, theme }: BuildContext & { theme: Theme }): string {
  const low = LOW[theme]
  const style = (i: number): string =>
    [
      'font-weight:bold',
      'font-style:italic',
      "font-family:'Roboto Condensed',sans-serif",
      'font-stretch:condensed',
      'font-weight:300',
      'font-style:italic;font-weight:bold',
    ][i % 6]!
  const lines = Array.from({ length: 12 }, (_, i) =>
    div(sentence(r, 6, 11), `${style(i)};font-size:${[14, 12, 11, 15][i % 4]}px;margin-bottom:8px`),
  ).join('')
  const footer = Array.from({ length: 4 }, (_, i) =>
    div(`${cap(words(r, 3, 6))} · ${i % 2 ? 'Privacy' : 'Terms'}`, `font-size:${9 + (i % 3)}px;margin-bottom:5px`),
  ).join('')
  const content = `<div data-case="hard" style="position:absolute;left:0;right:0;top:0;height:340px;background:linear-gradient(100deg,#0f2027,#2c5364 40%,#e96443 75%,#f7d26a);color:#fff;padding:60px 120px">
      ${div(cap(words(r, 3, 5)), 'font-size:46px;font-weight:bold;margin-bottom:14px')}${div(sentence(r, 8, 12), 'font-size:20px;opacity:.85;margin-bottom:10px')}${div(sentence(r, 8, 12), 'font-size:15px;color:rgba(255,255,255,.7)')}
      <div style="position:absolute;right:90px;top:170px;width:640px;text-align:right">${Array.from({ length: 3 }, () => div(sentence(r, 5, 9), 'font-size:16px;margin-bottom:6px')).join('')}</div></div>
    <div data-case="hard" style="position:absolute;left:120px;top:380px;width:760px;bottom:120px;overflow:hidden">${lines}</div>
    <div data-case="hard" style="position:absolute;left:960px;top:380px;width:840px;height:420px;background:${noisyWallpaper(7)};padding:30px;color:#fff;text-shadow:0 1px 2px rgba(0,0,0,.6)">
      ${Array.from({ length: 8 }, () => div(sentence(r, 5, 9), 'font-size:16px;margin-bottom:12px')).join('')}</div>
    <div data-case="hard" style="position:absolute;left:960px;top:830px;width:840px">
      <div class="row" style="gap:14px;font-size:13px">${seg('Your e-mail address', 'class="field ph" style="width:300px"')}${seg('Subscribe', 'class="btn primary disabled"')}${seg('Not now', 'class="btn disabled"')}</div></div>
    <div data-case="hard" style="position:absolute;left:0;right:0;bottom:0;height:110px;background:${low.bg};color:${low.fg};padding:14px 120px">${footer}</div>`
  return frame({ x: 0, y: 0, w: 1920, h: 1080, theme, title: `${cap(words(r, 2, 3))} - Browser`, body: content })
}
