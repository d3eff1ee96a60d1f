/// <reference types="vite/client" />
// Entry of the page markdown.test.ts builds: Markdown.svelte mounted alone, with the app's styles.
import { flushSync, mount } from 'svelte'
import '../../renderer/src/app.css'
import Fixture from './markdown-fixture.svelte'

declare global {
  interface Window {
    __markdown?: {
      /** Sets the answer's text, and whether it is still arriving, as Message.svelte does. */
      show(text: string, live: boolean): void
      /** Applies pending state to the DOM now, so that a frame's cost can be timed whole. */
      flush(): void
    }
  }
}

const target = document.getElementById('app')
if (!target) throw new Error('missing #app')
const fixture = mount(Fixture, { target })
window.__markdown = { show: (text, live) => fixture.show(text, live), flush: () => flushSync() }
