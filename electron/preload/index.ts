import { contextBridge, ipcRenderer } from 'electron'
import { createBridge } from './bridge'

// Only this object crosses into the page; raw ipcRenderer never does.
contextBridge.exposeInMainWorld(
  'assistant',
  createBridge({
    invoke: (channel, payload) => ipcRenderer.invoke(channel, payload),
    on: (channel, listener) => {
      const wrapped = (_event: Electron.IpcRendererEvent, payload: unknown): void => listener(payload)
      ipcRenderer.on(channel, wrapped)
      return () => ipcRenderer.off(channel, wrapped)
    },
  }),
)
