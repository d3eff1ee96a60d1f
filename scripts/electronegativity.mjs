// Runs @doyensec/electronegativity on the app's own sources and fails on any finding
// that security/electronegativity-allow.json does not explain.
import { execFileSync } from 'node:child_process'
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const allow = JSON.parse(readFileSync(join(root, 'security/electronegativity-allow.json'), 'utf8'))
const stage = mkdtempSync(join(tmpdir(), 'electronegativity-'))
const report = join(stage, 'report.sarif')
try {
  // Only our code (and package.json, for the Electron version): never node_modules. Every page
  // (index, quick-ask, overlay), so each page's CSP meta tag is checked, not the first one only.
  const pages = readdirSync(join(root, 'renderer')).filter((name) => name.endsWith('.html'))
  for (const part of ['electron', ...pages.map((page) => `renderer/${page}`), 'renderer/src', 'package.json'])
    cpSync(join(root, part), join(stage, 'app', part), { recursive: true })
  execFileSync(
    join(root, 'node_modules/.bin/electronegativity'),
    ['-i', join(stage, 'app'), '-r', '-v', 'false', '-x', 'AvailableSecurityFixesGlobalCheck', '-o', report],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  )
  const sarif = JSON.parse(readFileSync(report, 'utf8'))
  const findings = sarif.runs[0].results.map((r) => {
    const where = r.locations[0].physicalLocation
    return { check: r.ruleId, file: where.artifactLocation.uri, line: where.region?.startLine ?? 0, message: r.message.text }
  })
  // An entry may pin the finding's message: the CSP check says a policy "seems to be" vulnerable
  // for the script-src 'self' we explain, and "are vulnerable" for a policy that really is
  // ('unsafe-inline', a wildcard), which must still fail.
  const matches = (a, f) => a.check === f.check && a.file === f.file && (a.message === undefined || a.message === f.message)
  const explained = (f) => allow.find((a) => matches(a, f))
  const unexplained = findings.filter((f) => !explained(f))
  for (const f of findings)
    console.log(
      `${explained(f) ? 'allowed' : 'FINDING'} ${f.check} ${f.file}:${f.line} ${explained(f) ? `(${explained(f).reason})` : f.message}`,
    )
  const stale = allow.filter((a) => !findings.some((f) => matches(a, f)))
  for (const a of stale) console.log(`stale allow-list entry (no longer found): ${a.check} ${a.file}`)
  if (unexplained.length || stale.length) {
    console.error(`electronegativity: ${unexplained.length} unexplained finding(s), ${stale.length} stale allow-list entr(ies)`)
    process.exit(1)
  }
  console.log(`electronegativity: ${findings.length} finding(s), all explained in security/electronegativity-allow.json`)
} finally {
  rmSync(stage, { recursive: true, force: true })
}
