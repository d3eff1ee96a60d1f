// The benchmarks' "renderer": a worker thread (renderer-worker.ts) wired to main's router over a
// MessagePort, so stream events cross by structured clone as IPC carries them in the app.
import { MessageChannel, Worker } from 'node:worker_threads'
import { STREAM_CANCEL, STREAM_START } from '../electron/ipc/contract.js'
import type { Router, Sender } from '../electron/ipc/router.js'

export interface RendererLink {
  renderer: Worker
  /** Lets the bench exit without closing the link (neither the worker nor main's port keeps it running). */
  unref(): void
}

export function linkRenderer(router: Router): RendererLink {
  const { port1: mainPort, port2: rendererPort } = new MessageChannel()
  const sender: Sender = {
    id: 1,
    url: 'bench://renderer',
    isMainFrame: true,
    send: (channel, payload) => mainPort.postMessage({ channel, payload }),
  }
  mainPort.on('message', async (m: { call: number; channel: string; payload: unknown }) => {
    const value =
      m.channel === STREAM_START
        ? await router.startStream(sender, m.payload)
        : m.channel === STREAM_CANCEL
          ? await router.cancelStream(sender, m.payload)
          : await router.invoke(sender, m.channel, m.payload)
    mainPort.postMessage({ reply: m.call, value })
  })
  const renderer = new Worker(new URL('./renderer-worker.mjs', import.meta.url), {
    workerData: { port: rendererPort },
    transferList: [rendererPort],
  })
  return {
    renderer,
    unref: () => {
      renderer.unref()
      mainPort.unref()
    },
  }
}
