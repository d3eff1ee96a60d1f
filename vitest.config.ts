import { fileURLToPath } from 'node:url'
import { svelte } from '@sveltejs/vite-plugin-svelte'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  // Renderer controllers (.svelte.ts) use runes, which only Svelte's compiler turns into code.
  // The plugin compiles .svelte components and .svelte.ts/.js modules and nothing else, so the
  // other suites' modules reach Vitest as before. It compiles them for the browser, as the
  // renderer runs them: for Node it would emit Svelte's server code, where $state is a plain
  // field and nothing reacts, and the controller tests could not see what re-renders.
  plugins: [
    svelte({
      configFile: fileURLToPath(new URL('./svelte.config.js', import.meta.url)),
      dynamicCompileOptions: () => ({ generate: 'client' }),
    }),
  ],
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
    // Models run on llama-server where it is built and the CPU serves them (engine.ts chooses);
    // the suites written for llama.node and node-llama-cpp keep testing those bindings, and
    // test/engine/server-backend.test.ts and server-text.test.ts ask for llama-server.
    // TEST_VISION_BINDING / TEST_TEXT_BINDING run every suite on another binding instead.
    env: {
      ENGINE_VISION_BINDING: process.env.TEST_VISION_BINDING ?? 'llama.node',
      ENGINE_TEXT_BINDING: process.env.TEST_TEXT_BINDING ?? 'node-llama-cpp',
    },
    globalSetup: ['test/setup/global.ts'],
    reporters: ['default', './test/setup/summary-reporter.ts'],
  },
})
