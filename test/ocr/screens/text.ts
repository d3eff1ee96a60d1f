// Deterministic text for the generated screens: a seeded generator and the kinds of strings
// real screens show (prose, identifiers, paths, numbers, timestamps, stack frames). Seeded so
// every render of a layout holds the same text, and the cache key (the sources) decides
// when the truth changes. ASCII only: accents and CJK belong to the second screen set (issue 20).

export class Rng {
  private state: number
  constructor(seed: number) {
    this.state = seed >>> 0
  }
  /** mulberry32: tiny, fast and good enough to vary text; not for anything secret. */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0)
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!
  }
  chance(p: number): boolean {
    return this.next() < p
  }
}

const WORDS = (
  'the of and to in is for that with on as this be are from by at an or was it not have which can will ' +
  'report update server request build release version data file error value system user account order ' +
  'invoice meeting project review budget customer payment team schedule design change test deploy ' +
  'network memory process window screen image model queue cache index table column record session ' +
  'quarterly estimate shipping warehouse contract support ticket feature branch commit pipeline ' +
  'approved pending failed running stopped timeout connection database migration backup weekly ' +
  'please thanks attached tomorrow morning afternoon agenda notes draft final summary details ' +
  'increase decrease revenue margin forecast balance transfer renewal licence policy security'
).split(' ')
const FIRST =
  'Anna Ben Carla David Elena Farid Grace Hugo Irene James Kofi Laura Marco Nina Oscar Priya Quentin Rosa Sam Tara Umar Vera Will Yusuf Zoe'.split(
    ' ',
  )
const LAST =
  'Adams Baker Chen Dubois Evans Fischer Garcia Hansen Ito Jensen Kowal Larsen Moreau Novak Olsen Patel Reyes Schmidt Tanaka Weber'.split(
    ' ',
  )
const IDENT =
  'config handler parse render result options buffer index stream client token payload retry worker state items count offset limit cursor'.split(
    ' ',
  )
const DIRS = 'src lib app core utils services components api models tests build dist config scripts internal'.split(' ')
const EXTS = ['.ts', '.js', '.py', '.go', '.rs', '.json', '.yaml', '.md', '.tsx', '.css']
const CITIES = 'Berlin Lisbon Oslo Denver Austin Toronto Madrid Dublin Vienna Prague Boston Seattle'.split(' ')
const PRODUCTS = 'Widget Adapter Bracket Sensor Cable Module Panel Switch Filter Valve Router Battery'.split(' ')

export const word = (r: Rng): string => r.pick(WORDS)
export const words = (r: Rng, min: number, max: number): string => Array.from({ length: r.int(min, max) }, () => word(r)).join(' ')
export const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1)
export const person = (r: Rng): string => `${r.pick(FIRST)} ${r.pick(LAST)}`
export const email = (r: Rng): string =>
  `${r.pick(FIRST).toLowerCase()}.${r.pick(LAST).toLowerCase()}@${r.pick(['example.com', 'acme.io', 'mail.org'])}`
export const ident = (r: Rng): string => r.pick(IDENT) + (r.chance(0.5) ? cap(r.pick(IDENT)) : '')
export const city = (r: Rng): string => r.pick(CITIES)
export const product = (r: Rng): string => `${r.pick(PRODUCTS)} ${r.pick(['A', 'B', 'X', 'Pro', 'Mini', 'S2'])}-${r.int(10, 99)}`

/** A sentence with punctuation and now and then a number, as prose on screen reads. */
export function sentence(r: Rng, min = 6, max = 14): string {
  const parts: string[] = []
  const n = r.int(min, max)
  for (let i = 0; i < n; i++) {
    if (r.chance(0.08)) parts.push(String(r.int(2, 2000)))
    else parts.push(word(r) + (i < n - 1 && r.chance(0.08) ? ',' : ''))
  }
  return cap(parts.join(' ')) + r.pick(['.', '.', '.', '?', '!'])
}
export const paragraph = (r: Rng, sentences: number): string => Array.from({ length: sentences }, () => sentence(r)).join(' ')

export function path(r: Rng, abs = true): string {
  const depth = r.int(1, 3)
  const dirs = Array.from({ length: depth }, () => r.pick(DIRS))
  const file = r.pick(IDENT) + r.pick(EXTS)
  return (abs ? `/home/${r.pick(FIRST).toLowerCase()}/${r.pick(['work', 'projects', 'src'])}/` : '') + [...dirs, file].join('/')
}
export const pad2 = (n: number): string => String(n).padStart(2, '0')
export const time = (r: Rng): string => `${pad2(r.int(7, 19))}:${pad2(r.int(0, 59))}`
export const timestamp = (r: Rng): string =>
  `2026-${pad2(r.int(1, 11))}-${pad2(r.int(1, 28))} ${time(r)}:${pad2(r.int(0, 59))}.${String(r.int(0, 999)).padStart(3, '0')}`
export const date = (r: Rng): string =>
  `${r.pick(['Mon', 'Tue', 'Wed', 'Thu', 'Fri'])} ${r.int(1, 28)} ${r.pick(['Jan', 'Mar', 'Jun', 'Sep', 'Nov'])}`
/** A money-like amount with thousands separators: 12,345.67 */
export const amount = (r: Rng, max = 99999): string =>
  (r.int(0, max) + r.int(0, 99) / 100).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })
export const hex = (r: Rng, n: number): string => Array.from({ length: n }, () => '0123456789abcdef'[r.int(0, 15)]).join('')

/** A JavaScript-ish stack trace: an error line then "at fn (path:line:col)" frames. */
export function stackTrace(r: Rng): string[] {
  const kind = r.pick(['TypeError', 'RangeError', 'Error', 'SyntaxError'])
  const head = `${kind}: Cannot read properties of undefined (reading '${r.pick(IDENT)}')`
  const frames = Array.from({ length: r.int(3, 6) }, () => `    at ${ident(r)} (${path(r)}:${r.int(1, 400)}:${r.int(1, 60)})`)
  return [head, ...frames]
}

/** A Python traceback, the other stack trace people screenshot most. */
export function pythonTrace(r: Rng): string[] {
  const out = ['Traceback (most recent call last):']
  for (let i = 0; i < r.int(2, 4); i++) {
    out.push(`  File "${path(r).replace(/\.\w+$/, '.py')}", line ${r.int(1, 500)}, in ${ident(r)}`)
    out.push(`    ${ident(r)} = ${ident(r)}(${ident(r)}, ${r.int(0, 99)})`)
  }
  out.push(`${r.pick(['KeyError', 'ValueError', 'ZeroDivisionError'])}: '${ident(r)}'`)
  return out
}

/** One line of TypeScript-ish code, as tokens with a syntax class each, plus its indent. */
export interface CodeToken {
  text: string
  kind: 'kw' | 'id' | 'str' | 'num' | 'cm' | 'pn'
}
export function codeLine(r: Rng): { indent: number; tokens: CodeToken[] } {
  const indent = r.int(0, 3)
  const t = (text: string, kind: CodeToken['kind']): CodeToken => ({ text, kind })
  const form = r.int(0, 6)
  switch (form) {
    case 0:
      return { indent, tokens: [t('const', 'kw'), t(` ${ident(r)} = `, 'id'), t(`'${word(r)}-${word(r)}'`, 'str')] }
    case 1:
      return { indent, tokens: [t('if', 'kw'), t(` (${ident(r)}.length > `, 'id'), t(String(r.int(0, 64)), 'num'), t(') {', 'pn')] }
    case 2:
      return { indent, tokens: [t('return', 'kw'), t(` ${ident(r)}(${ident(r)}, ${ident(r)})`, 'id')] }
    case 3:
      return { indent, tokens: [t(`// ${sentence(r, 4, 8)}`, 'cm')] }
    case 4:
      return {
        indent,
        tokens: [t('await', 'kw'), t(` this.${ident(r)}.${ident(r)}(`, 'id'), t(String(r.int(1, 999)), 'num'), t(')', 'pn')],
      }
    case 5:
      return {
        indent,
        tokens: [
          t('export function', 'kw'),
          t(` ${ident(r)}(${ident(r)}: `, 'id'),
          t('string', 'kw'),
          t('): ', 'pn'),
          t('number', 'kw'),
          t(' {', 'pn'),
        ],
      }
    default:
      return { indent, tokens: [t('import', 'kw'), t(` { ${ident(r)} } `, 'id'), t('from', 'kw'), t(` './${r.pick(IDENT)}.js'`, 'str')] }
  }
}
