// The llama-server children of an engine process, found in /proc (Linux), for tests that kill
// or inspect them.
import { readdir, readFile } from 'node:fs/promises'

/** The llama-server processes below a pid (the engine host, then the watchdog shell). */
export async function serversUnder(root: number): Promise<number[]> {
  const parents = new Map<number, number>()
  const names = new Map<number, string>()
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8')
      const close = stat.lastIndexOf(')')
      parents.set(Number(entry), Number(stat.slice(close + 2).split(' ')[1]))
      names.set(Number(entry), stat.slice(stat.indexOf('(') + 1, close))
    } catch {
      // gone meanwhile
    }
  }
  const under = (pid: number): boolean => {
    for (let p = parents.get(pid); p !== undefined && p > 1; p = parents.get(p)) if (p === root) return true
    return false
  }
  return [...names].filter(([pid, name]) => name === 'llama-server' && under(pid)).map(([pid]) => pid)
}
