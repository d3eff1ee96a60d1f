/// <reference types="svelte" />
// Reads a controller's state inside an effect, as a component's template does, and records
// each value it sees: a test then knows the window would re-render, not only that a field
// changed. Effects run a microtask after the change, so wait for the values (vi.waitFor).
export function watch<T>(read: () => T): { values: T[]; stop: () => void } {
  const values: T[] = []
  const stop = $effect.root(() => {
    $effect(() => {
      values.push($state.snapshot(read()) as T)
    })
  })
  return { values, stop }
}
