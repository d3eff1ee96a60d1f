import { fork, spawn, type ChildProcess } from 'node:child_process'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { acquireDataLock, DataFolderInUse, LOCK_FILE, type LockOwner } from '../../electron/services/data-lock.js'
import { scratchDir } from '../support/engine.js'
import type { LockReport } from './lock-child.js'

const inUse = (pid: number): string => `Local Vision Assistant is already running (pid ${pid}) and uses this data folder.`

interface Holder {
  child: ChildProcess
  report: LockReport
  exited: Promise<number | null>
}

/** Starts a process that takes the lock on `dir`; resolves once it says whether it got it. */
async function startHolder(dir: string): Promise<Holder> {
  const child = fork(fileURLToPath(new URL('./lock-child.ts', import.meta.url)), [dir], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const report = await new Promise<LockReport>((resolve, reject) => {
    child.once('message', (m: LockReport) => resolve(m))
    child.once('exit', (code) => reject(new Error(`lock child exited (${code}) before reporting`)))
  })
  return { child, report, exited }
}

const lockOwner = async (dir: string): Promise<LockOwner> => JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8')) as LockOwner

describe('data folder lock', () => {
  it('refuses a second process, and a third takes over once the first is killed', async () => {
    const dir = await scratchDir()
    const first = await startHolder(dir)
    expect(first.report).toEqual({ kind: 'locked', pid: first.child.pid })
    expect((await lockOwner(dir)).pid).toBe(first.child.pid)

    const second = await startHolder(dir)
    expect(second.report).toEqual({ kind: 'refused', message: inUse(first.child.pid!) })
    expect(await second.exited).toBe(1)

    first.child.kill('SIGKILL')
    await first.exited
    // Killed: nothing released the lock, it names a process that is gone.
    expect((await lockOwner(dir)).pid).toBe(first.child.pid)

    const third = await startHolder(dir)
    expect(third.report).toEqual({ kind: 'locked', pid: third.child.pid })
    expect((await lockOwner(dir)).pid).toBe(third.child.pid)
    // A clean exit releases it.
    third.child.send('exit')
    expect(await third.exited).toBe(0)
    expect(await readdir(dir)).toEqual([])
  })

  it('lets exactly one of several processes starting at once take over a stale lock', async () => {
    const dir = await scratchDir()
    await writeFile(join(dir, LOCK_FILE), JSON.stringify({ pid: await exitedPid(), startedAt: new Date().toISOString(), identity: null }))
    const holders = await Promise.all(Array.from({ length: 6 }, () => startHolder(dir)))
    const winners = holders.filter((h) => h.report.kind === 'locked')
    expect(winners).toHaveLength(1)
    const winner = winners[0]!.child.pid!
    for (const h of holders) if (h.report.kind === 'refused') expect(h.report.message).toBe(inUse(winner))
    expect((await lockOwner(dir)).pid).toBe(winner)
    for (const h of holders) h.child.kill('SIGKILL')
    await Promise.all(holders.map((h) => h.exited))
    // Only the lock itself: no drafts or set-aside stale locks left behind.
    expect(await readdir(dir)).toEqual([LOCK_FILE])
  })

  it('is held once per process and released on demand', async () => {
    const dir = await scratchDir()
    const lock = await acquireDataLock(dir)
    expect(lock.owner).toMatchObject({ pid: process.pid })
    expect(await lockOwner(dir)).toEqual(lock.owner)
    const again = await acquireDataLock(dir).catch((e: unknown) => e)
    expect(again).toBeInstanceOf(DataFolderInUse)
    expect(again).toMatchObject({ code: 'busy', pid: process.pid, message: inUse(process.pid) })
    lock.release()
    expect(await readdir(dir)).toEqual([])
    const later = await acquireDataLock(dir)
    later.release()
  })

  it('takes over a lock whose owner is gone, was an earlier process with our pid, or cannot be read', async () => {
    const dir = await scratchDir()
    const stale: unknown[] = [
      { pid: await exitedPid(), startedAt: '2026-01-01T00:00:00.000Z', identity: null },
      // Written by an earlier process that had this pid (this process holds no lock).
      { pid: process.pid, startedAt: '2026-01-01T00:00:00.000Z', identity: null },
      'not a lock file',
    ]
    for (const content of stale) {
      await writeFile(join(dir, LOCK_FILE), typeof content === 'string' ? content : JSON.stringify(content))
      const lock = await acquireDataLock(dir)
      expect(await lockOwner(dir)).toEqual(lock.owner)
      lock.release()
    }
  })

  it.runIf(process.platform === 'linux')('takes over a lock whose pid now belongs to another process', async () => {
    const dir = await scratchDir()
    // process.ppid is alive, but it is not the process that wrote this lock: another boot, another start time.
    await writeFile(
      join(dir, LOCK_FILE),
      JSON.stringify({ pid: process.ppid, startedAt: '2026-01-01T00:00:00.000Z', identity: 'an-earlier-boot/12345' }),
    )
    const lock = await acquireDataLock(dir)
    expect(lock.owner.identity).toMatch(/^[0-9a-f-]{36}\/\d+$/)
    lock.release()
    // The same pid with its true identity is a live owner.
    const holder = await startHolder(dir)
    const owner = await lockOwner(dir)
    await expect(acquireDataLock(dir)).rejects.toMatchObject({ message: inUse(owner.pid) })
    holder.child.kill('SIGKILL')
    await holder.exited
  })

  it('held as the sole instance, takes over a lock that names a live pid without an identity (macOS, Windows after a crash)', async () => {
    const dir = await scratchDir()
    // What macOS or Windows leaves after a crash: a pid alone, now another program's (here, our parent's).
    const stale = JSON.stringify({ pid: process.ppid, startedAt: '2026-01-01T00:00:00.000Z', identity: null })
    await writeFile(join(dir, LOCK_FILE), stale)
    // Without the one-instance lock, a live pid may be another copy writing the folder: refused.
    await expect(acquireDataLock(dir)).rejects.toMatchObject({ message: inUse(process.ppid) })
    const lock = await acquireDataLock(dir, { soleInstance: true })
    expect(lock.owner.pid).toBe(process.pid)
    lock.release()
    // A lock with an identity is still judged by it: a live holder is refused even so.
    const holder = await startHolder(dir)
    if (process.platform === 'linux') await expect(acquireDataLock(dir, { soleInstance: true })).rejects.toBeInstanceOf(DataFolderInUse)
    holder.child.kill('SIGKILL')
    await holder.exited
  })

  it('never removes a lock that another process has taken over', async () => {
    const dir = await scratchDir()
    const lock = await acquireDataLock(dir)
    const successor = JSON.stringify({ pid: 4242, startedAt: new Date().toISOString(), identity: null })
    await writeFile(join(dir, LOCK_FILE), successor)
    lock.release()
    expect(await readFile(join(dir, LOCK_FILE), 'utf8')).toBe(successor)
  })
})

/** The pid of a process that has exited. */
async function exitedPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  await new Promise((resolve) => child.once('exit', resolve))
  return child.pid!
}
