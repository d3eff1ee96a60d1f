// Saves one conversation over and over, growing it, until killed. The parent kills it
// at a random moment and checks that what is on disk is whole.
import { ChatStore } from '../../electron/chats/store.js'

const [root, id] = process.argv.slice(2) as [string, string]
const store = new ChatStore(root)
for (let i = 0; ; i++) {
  await store.update(id, (c) => {
    c.messages.push(store.newMessage('user', `message ${i} ${'x'.repeat(2000)}`))
  })
  if (i === 0) process.send?.('writing')
}
