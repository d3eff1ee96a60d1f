// Which web pages may call the local API from a browser (CORS): the exact origins the user
// lists in Settings, and one wildcard, http://localhost:* (any port on localhost), for the
// development servers whose port changes from run to run.
export const ANY_LOCALHOST_PORT = 'http://localhost:*'

/** How many origins Settings keeps; far more than anyone lists by hand. */
export const MAX_ALLOWED_ORIGINS = 32

/** The longest entry kept: a host name of the most DNS allows, with its scheme and port. */
export const MAX_ORIGIN_LENGTH = 256

/** Why an entry cannot be an allowed origin, in a sentence for Settings; null when it can. */
export function originProblem(entry: string): string | null {
  if (entry.length > MAX_ORIGIN_LENGTH) return `This origin is ${entry.length} characters long; an origin has at most ${MAX_ORIGIN_LENGTH}.`
  if (entry === ANY_LOCALHOST_PORT) return null
  if (entry.includes('*')) return `"${entry}": the only wildcard allowed is ${ANY_LOCALHOST_PORT} (any port on localhost).`
  let url: URL
  try {
    url = new URL(entry)
  } catch {
    return `"${entry}" is not an origin; write it as scheme://host or scheme://host:port, like https://example.app.`
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `"${entry}": only http and https origins can be allowed.`
  // Browsers send the origin in this one form (lower case, no default port, no path): anything else would never match.
  if (url.origin !== entry) return `"${entry}" is not an origin as browsers send it; write ${url.origin}.`
  return null
}

/** Why the list as a whole cannot be kept (too long, an entry twice), in a sentence for Settings; null when it can. */
export function originListProblem(origins: readonly string[]): string | null {
  if (origins.length > MAX_ALLOWED_ORIGINS) return `At most ${MAX_ALLOWED_ORIGINS} origins can be allowed; remove one to add another.`
  if (new Set(origins).size !== origins.length) return 'An origin is listed twice.'
  return null
}

/** Whether a request's Origin header names a page the user allowed (the wildcard entry itself is no origin). */
export function originAllowed(origin: string, allowed: readonly string[]): boolean {
  if (origin === ANY_LOCALHOST_PORT) return false
  return allowed.includes(origin) || (allowed.includes(ANY_LOCALHOST_PORT) && /^http:\/\/localhost(:\d{1,5})?$/.test(origin))
}
