// The middle value the layout measures against (a row's line height, a crop's letter gap):
// the upper median, 0 for nothing.
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? 0
}
