import { resolve } from 'node:path'
import { defineConfig } from 'electron-vite'
import { svelte } from '@sveltejs/vite-plugin-svelte'

const root = import.meta.dirname
const contract = { '@contract': resolve(root, 'electron/ipc/contract.ts') }

export default defineConfig({
  main: {
    build: {
      // Native bindings load their own binaries at run time; keep them out of the bundle.
      externalizeDeps: true,
      rollupOptions: {
        input: {
          index: resolve(root, 'electron/main/index.ts'),
          'engine-host': resolve(root, 'electron/engine/host.ts'),
          'ocr-host': resolve(root, 'electron/ocr/host.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      // A sandboxed preload can require nothing but 'electron': bundle everything else.
      externalizeDeps: false,
      rollupOptions: {
        input: { index: resolve(root, 'electron/preload/index.ts') },
        // Sandboxed preloads cannot be ES modules.
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(root, 'renderer'),
    resolve: { alias: contract },
    plugins: [svelte({ configFile: resolve(root, 'svelte.config.js') })],
    build: {
      rollupOptions: {
        input: {
          index: resolve(root, 'renderer/index.html'),
          quick: resolve(root, 'renderer/quick.html'),
          overlay: resolve(root, 'renderer/overlay.html'),
        },
      },
    },
  },
})
