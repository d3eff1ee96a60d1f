// The quantisation a GGUF file name states (…-Q4_K_M.gguf, …-f16.gguf), for files whose
// header does not say, and for hub files not downloaded yet.
const QUANT = /(?:^|[-_.])(I?Q\d+_[A-Z0-9_]*?|Q\d_\d|[BF]F16|F16|F32)(?=\.gguf$)/i

export function quantisationFromName(path: string): string | null {
  return QUANT.exec(path.split(/[\\/]/).pop() ?? '')?.[1]?.toUpperCase() ?? null
}
