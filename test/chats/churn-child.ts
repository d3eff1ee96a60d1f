// Creates and deletes conversations over and over, until killed, and tells the parent what
// it has done: a conversation is acknowledged only once create() (or the save of its first
// message) has returned, and a delete is announced before it starts and acknowledged after.
// The parent kills it at a random moment and checks what the next start finds.
// No top-level await: the test bundles this file as CommonJS (see bundledChurnChild).
import { ChatStore } from '../../electron/chats/store.js'
import { solidPng } from '../support/images.js'

export type ChurnReport = { kind: 'ready' } | { kind: 'created' | 'filled' | 'deleting' | 'deleted'; id: string; title: string }

/** Conversations kept alive at once: the oldest beyond this is deleted. */
const KEEP = 2

async function churn(root: string): Promise<never> {
  const store = new ChatStore(root)
  const report = (message: ChurnReport): void => void process.send?.(message)
  const png = await solidPng(64, 48)
  // Oldest first: the ones a previous (killed) writer left are deleted first.
  const alive = (await store.list()).map((c) => ({ id: c.id, title: c.title })).reverse()
  report({ kind: 'ready' })
  for (let i = 0; ; i++) {
    const title = `churn ${process.pid}-${i}`
    const chat = await store.create({ title })
    report({ kind: 'created', id: chat.id, title })
    const image = await store.saveImage(chat.id, png, 'shot.png')
    await store.update(chat.id, (c) => void c.messages.push(store.newMessage('user', `look ${i}`, [image])))
    report({ kind: 'filled', id: chat.id, title })
    alive.push({ id: chat.id, title })
    while (alive.length > KEEP) {
      const oldest = alive.shift()!
      report({ kind: 'deleting', ...oldest })
      await store.delete(oldest.id)
      report({ kind: 'deleted', ...oldest })
    }
  }
}

// A failure ends the process with the error on stderr; the parent sees it exit on its own.
void churn(process.argv[2]!)
