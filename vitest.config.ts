import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  // Renderer modules tested under Node import the contract by the renderer's alias.
  resolve: { alias: { '@contract': fileURLToPath(new URL('./electron/ipc/contract.ts', import.meta.url)) } },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // The engine and browser suites start processes and load models: give them room,
    // and run files one at a time so timing assertions are not skewed by each other on 2 cores.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    globalSetup: ['test/setup/global.ts'],
    reporters: ['default', './test/setup/summary-reporter.ts'],
  },
})
