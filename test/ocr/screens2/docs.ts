// Document screens: a PDF viewer with a two-column paper, a news site in three columns under a
// cookie banner, and a German/Polish wiki. Multi-column text is where a reader merges both
// columns into one line per row (issue 20); each column's rows are their own truth lines.
import type { Rng } from '../screens/text.js'
import { cap, paragraph, person, sentence, words } from '../screens/text.js'
import { accented, uiWords, type Lang } from './text2.js'
import { crumbs, div, esc, frame, menuBar, navBar, seg, statusBar, tabStrip, type Theme } from './parts.js'

export interface BuildContext {
  r: Rng
  theme: Theme
}

/** A paper page: a title across, then two justified columns of serif prose. */
export function pdfViewer({ r, theme }: BuildContext): string {
  const paras = (n: number): string =>
    Array.from({ length: n }, (_, i) =>
      i % 3 === 0
        ? div(`${i / 3 + 2}.${r.int(1, 4)} ${cap(words(r, 2, 4))}`, 'font-weight:bold;margin:10px 0 6px')
        : `<p data-seg style="text-align:justify;line-height:1.45">${esc(paragraph(r, r.int(2, 4)))}</p>`,
    ).join('')
  const thumbs = Array.from(
    { length: 6 },
    (_, i) =>
      `<div style="margin:10px auto;width:90px;height:118px;background:#fff;border:1px solid #aaa"></div>${div(`Page ${i + 1}`, 'text-align:center;font-size:11px')}`,
  ).join('')
  const paper = `<div style="position:absolute;left:330px;top:20px;width:1180px;height:1400px;background:#fff;color:#111;padding:56px 70px;font-family:'Liberation Serif',serif;font-size:14px;box-shadow:0 2px 10px rgba(0,0,0,.4)">
    ${div(cap(words(r, 5, 8)), 'font-size:22px;font-weight:bold;text-align:center;margin-bottom:8px')}
    ${div(`${person(r)}, ${person(r)} and ${person(r)}`, 'text-align:center;font-style:italic;margin-bottom:22px')}
    <div data-case="columns" style="column-count:2;column-gap:38px">${paras(22)}</div></div>`
  const body = `${menuBar(['File', 'Edit', 'View', 'Go', 'Bookmarks', 'Help'], 13)}
    <div class="hb" data-case="chrome" style="height:38px;gap:18px;padding:0 12px;font-size:13px">${seg(`Page ${r.int(2, 9)} of ${r.int(10, 40)}`, 'class="field"')}${seg('125%', 'class="field"')}${seg('Fit width', 'class="btn"')}${seg('Find in document', 'class="field ph" style="width:260px"')}</div>
    <div style="position:absolute;left:0;top:64px;width:140px;bottom:22px;background:var(--panel);overflow:hidden">${thumbs}</div>
    <div style="position:absolute;left:140px;right:0;top:64px;bottom:22px;overflow:hidden;background:${theme === 'dark' ? '#3b3b3b' : '#8a8f96'}">${paper}</div>
    ${statusBar(['report-2026.pdf', `${r.int(200, 990)} KB`, 'Two-page view off', 'Zoom 125%'], 11)}`
  return frame({ x: 0, y: 0, w: 1920, h: 1080, theme, title: 'report-2026.pdf - Document Viewer', body })
}

/** A news site in a browser: tabs, address bar, site navigation, breadcrumbs, three columns, a cookie banner over the bottom. */
export function newspaper({ r, theme }: BuildContext): string {
  const cols = Array.from(
    { length: 10 },
    () => `<p data-seg style="line-height:1.5;text-align:justify">${esc(paragraph(r, r.int(2, 3)))}</p>`,
  ).join('')
  const most = Array.from({ length: 6 }, (_, i) => div(`${i + 1}. ${cap(words(r, 4, 7))}`, 'margin-bottom:12px;line-height:1.4')).join('')
  const body = `${tabStrip([`${cap(words(r, 2, 3))} - The Daily`, 'Inbox (3)', `${cap(words(r, 1, 2))} - Docs`, 'New Tab'], 12)}
    <div class="hb" data-case="chrome" style="height:40px;padding:0 12px;gap:12px">${seg(`https://news.example.com/world/europe/${words(r, 3, 4).replace(/ /g, '-')}`, 'class="field" style="flex:1;font-size:14px"')}</div>
    ${navBar(['World', 'Business', 'Technology', 'Science', 'Sport', 'Culture', 'Opinion', 'Weather'], 15, 'font-weight:bold')}
    ${crumbs(['News', 'World', 'Europe'], 12)}
    <div style="position:absolute;left:120px;right:480px;top:150px;bottom:0;overflow:hidden;font-family:'Noto Serif',serif;font-size:15px">
      ${div(cap(sentence(r, 7, 11)).replace(/[.?!]$/, ''), 'font-size:30px;font-weight:bold;line-height:1.2;margin-bottom:10px')}
      ${div(`By ${person(r)} | ${r.int(1, 28)} November 2026`, 'font-style:italic;margin-bottom:18px', 'class="muted"')}
      <div data-case="columns" style="column-count:3;column-gap:34px">${cols}</div></div>
    <div style="position:absolute;right:60px;width:360px;top:170px;font-size:14px">${div('Most read', 'font-size:18px;font-weight:bold;margin-bottom:12px')}${most}</div>
    <div data-case="overlap" style="position:absolute;left:0;right:0;bottom:0;height:150px;background:${theme === 'dark' ? '#101418' : '#fdfdfd'};box-shadow:0 -4px 18px rgba(0,0,0,.35);padding:22px 120px;font-size:15px;z-index:5">
      ${div('We value your privacy', 'font-weight:bold;font-size:17px;margin-bottom:8px')}
      ${div('We use cookies to improve your experience, measure traffic and show relevant content.', 'margin-bottom:14px')}
      <div class="row" style="gap:14px">${seg('Accept all', 'class="btn primary"')}${seg('Reject all', 'class="btn"')}${seg('Manage preferences', 'class="btn"')}</div></div>`
  return frame({ x: 0, y: 0, w: 1920, h: 1080, theme, title: 'The Daily - Chromium', body })
}

/** A wiki in German with a Polish info box and French notes: accented Latin in every kind of text. */
export function wikiAccents({ r, theme }: BuildContext): string {
  const prose = (lang: Lang, n: number): string =>
    Array.from(
      { length: n },
      () => `<p data-seg style="line-height:1.5">${esc(Array.from({ length: 3 }, () => accented(r, lang)).join(' '))}</p>`,
    ).join('')
  const nav = uiWords('de')
    .map((w, i) => div(w, 'padding:4px 16px', i === 4 ? 'class="sel"' : ''))
    .join('')
  const body = `${menuBar(uiWords('de').slice(0, 6), 13)}
    ${tabStrip(['Übersicht', 'Größe ändern', 'Änderungen', 'Diskussion'], 13)}
    ${crumbs(['Startseite', 'Einstellungen', 'Größe ändern'], 12)}
    <div data-case="accents" style="position:absolute;left:0;top:82px;width:240px;bottom:22px;background:var(--panel);padding-top:10px;font-size:14px">${nav}</div>
    <div data-case="accents" style="position:absolute;left:280px;top:100px;width:880px;bottom:40px;overflow:hidden;font-size:15px">
      ${div('Größe und Übersicht der Änderungen', 'font-size:24px;font-weight:bold;margin-bottom:14px')}${prose('de', 4)}
      ${div('Remarques en français', 'font-size:18px;font-weight:bold;margin:14px 0 8px')}${prose('fr', 3)}</div>
    <div data-case="accents" style="position:absolute;left:1220px;top:110px;width:600px;border:1px solid var(--border);background:var(--panel);padding:16px;font-size:14px">
      ${div('Informacja po polsku', 'font-weight:bold;margin-bottom:10px')}${prose('pl', 3)}</div>
    ${statusBar(['Zuletzt geändert: 14. März 2026', 'Wörter: 1 284', 'Schließen'], 11)}`
  return frame({ x: 0, y: 0, w: 1920, h: 1080, theme, title: 'Wiki - Größe ändern', body })
}
