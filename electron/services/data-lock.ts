// One writer per data folder. Conversations, the models folder, downloads and settings
// are each written by one process at a time; a second process writing the same folder
// would interleave its writes with the first's. The first process to start holds a lock
// file naming its pid; a later one is refused with a sentence saying which process holds
// it. A lock left by a process that is gone (killed or crashed) is taken over.
import { randomUUID } from 'node:crypto'
import { readFileSync, unlinkSync } from 'node:fs'
import { link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { AppError } from '../ipc/errors.js'

export const LOCK_FILE = 'data.lock'

/** What the lock file says about its owner. */
export interface LockOwner {
  pid: number
  /** When the owner started, for people reading the file. */
  startedAt: string
  /** Who the owner is beyond its pid, where the system can tell (see processIdentity); null elsewhere. */
  identity: string | null
}

export interface DataLock {
  readonly path: string
  readonly owner: LockOwner
  /** Removes the lock file if it is still ours. Also done when the process exits. */
  release(): void
}

export class DataFolderInUse extends AppError {
  constructor(readonly pid: number) {
    super('busy', `Local Vision Assistant is already running (pid ${pid}) and uses this data folder.`)
  }
}

/** Lock files this process holds: a lock naming our own pid that is not among them was left by an earlier process with the same pid. */
const held = new Set<string>()

export interface DataLockOptions {
  /**
   * The caller holds the platform's one-instance lock for this folder (Electron's
   * requestSingleInstanceLock, keyed by the same folder), so no other copy of the app runs on
   * it. Where a lock names its owner by pid alone (macOS, Windows: no identity), a live process
   * with that pid is then another program given the pid after a crash or a reboot, not a copy
   * of this app: without this, such a lock refused every start until the file was deleted by hand.
   */
  soleInstance?: boolean
}

/** Takes the data folder's lock, or throws DataFolderInUse naming the process that holds it. */
export async function acquireDataLock(dir: string, options: DataLockOptions = {}): Promise<DataLock> {
  await mkdir(dir, { recursive: true })
  const path = join(dir, LOCK_FILE)
  const owner: LockOwner = {
    pid: process.pid,
    startedAt: new Date(Date.now() - process.uptime() * 1000).toISOString(),
    identity: await processIdentity(process.pid),
  }
  const text = `${JSON.stringify(owner)}\n`
  // Races with other starters end within a few rounds: each round takes the lock, finds a
  // live owner, or removes one stale lock.
  for (let round = 0; round < 5; round++) {
    if (await create(path, text)) return hold(path, owner, text)
    const found = await readLock(path)
    if (found === null) continue
    // A lock that names no owner (damaged by hand, or not ours) protects nobody.
    if (found.owner && !(await isStale(found.owner, path, options.soleInstance === true))) throw new DataFolderInUse(found.owner.pid)
    await removeIfUnchanged(path, found.text)
  }
  throw new AppError('busy', 'Another Local Vision Assistant is starting with this data folder. Try again in a moment.')
}

/**
 * Creates the lock file whole or not at all: written under a unique name, then hard-linked
 * into place, which fails if a lock exists. Counts as held from the moment the link exists.
 */
async function create(path: string, text: string): Promise<boolean> {
  const draft = `${path}.${randomUUID()}`
  await writeFile(draft, text, { flag: 'wx' })
  try {
    await link(draft, path)
    held.add(path)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  } finally {
    await unlink(draft)
  }
}

/** The lock file's text and the owner it names; null when there is no lock file. */
async function readLock(path: string): Promise<{ text: string; owner: LockOwner | null } | null> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw error
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockOwner>
    if (Number.isInteger(parsed.pid) && typeof parsed.startedAt === 'string')
      return { text, owner: { pid: parsed.pid!, startedAt: parsed.startedAt, identity: parsed.identity ?? null } }
  } catch {
    // Not JSON: a lock that names no owner.
  }
  return { text, owner: null }
}

async function isStale(owner: LockOwner, path: string, soleInstance: boolean): Promise<boolean> {
  if (owner.pid === process.pid) return !held.has(path)
  // Only this process can be the app on this folder; a lock that cannot say who wrote it is an earlier run's.
  if (soleInstance && owner.identity === null) return true
  try {
    process.kill(owner.pid, 0)
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'ESRCH'
  }
  // A pid is handed out again once its process is gone (sooner still after a reboot).
  const identity = owner.identity === null ? null : await processIdentity(owner.pid)
  return identity !== null && identity !== owner.identity
}

/**
 * Linux only: the boot id and the process's start time in clock ticks since boot. Unlike a
 * pid, this pair is never reused, and neither depends on the wall clock.
 */
async function processIdentity(pid: number): Promise<string | null> {
  if (process.platform !== 'linux') return null
  try {
    const [boot, stat] = await Promise.all([readFile('/proc/sys/kernel/random/boot_id', 'utf8'), readFile(`/proc/${pid}/stat`, 'utf8')])
    // The command name, in parentheses, may hold spaces: count fields after it. Start time is field 22.
    const startTicks = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
    return startTicks ? `${boot.trim()}/${startTicks}` : null
  } catch {
    return null
  }
}

/**
 * Removes a stale lock unless another starter replaced it since it was read: the lock is
 * moved aside first (atomic), and put back if what was moved is not the one judged stale.
 */
async function removeIfUnchanged(path: string, staleText: string): Promise<void> {
  const aside = `${path}.stale-${randomUUID()}`
  try {
    await rename(path, aside)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
    throw error
  }
  // If yet another starter took the lock meanwhile, the link fails and theirs stands.
  if ((await readFile(aside, 'utf8')) !== staleText) await link(aside, path).catch(() => undefined)
  await unlink(aside)
}

function hold(path: string, owner: LockOwner, text: string): DataLock {
  const release = (): void => {
    if (!held.delete(path)) return
    process.off('exit', release)
    try {
      // Only our own lock: never one a later process took over after judging ours stale.
      if (readFileSync(path, 'utf8') === text) unlinkSync(path)
    } catch {
      // Already gone.
    }
  }
  process.on('exit', release)
  return { path, owner, release }
}
