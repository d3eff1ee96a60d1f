// Generates the tiny models once before any test file runs.
import { ensureFixtures } from '../fixtures/generate.js'

export default async function setup(): Promise<void> {
  await ensureFixtures()
}
