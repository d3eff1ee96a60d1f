// The base URL of a remote engine, checked before anything is sent to it: only http(s), no
// credentials or query in the URL (they would leak into logs and every request), and plain
// http only where the traffic stays on this machine or the local network, unless the user
// explicitly allowed sending in the clear.
import { isIPv4, isIPv6 } from 'node:net'
import { AppError } from '../ipc/errors.js'

const EXAMPLE = 'http://192.168.1.20:8080/v1'

function ipv4Private(address: string): boolean {
  const [a, b] = address.split('.').map(Number) as [number, number, number, number]
  return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254)
}

/** The eight 16-bit groups of an IPv6 address (an embedded dotted IPv4 tail counts as two). */
function ipv6Groups(address: string): number[] | null {
  let text = address
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (v4) {
    const [a, b, c, d] = v4[1]!.split('.').map(Number) as [number, number, number, number]
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head, tail] = text.split('::') as [string, string | undefined]
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)))
  const front = parse(head)
  const back = tail === undefined ? [] : parse(tail)
  const missing = 8 - front.length - back.length
  if (missing < 0 || (tail === undefined && missing !== 0)) return null
  return [...front, ...new Array<number>(missing).fill(0), ...back]
}

/**
 * Whether traffic to this host stays on this machine or the local network: loopback,
 * RFC 1918, link-local, unique-local IPv6, localhost and mDNS (.local) names.
 */
export function isPrivateHost(hostname: string): boolean {
  const host = hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
  if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.local')) return true
  if (isIPv4(host)) return ipv4Private(host)
  if (!isIPv6(host)) return false
  const groups = ipv6Groups(host.replace(/%.*$/, ''))
  if (!groups) return false
  const [first] = groups as [number]
  if (groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1) return true // ::1
  if ((first & 0xfe00) === 0xfc00) return true // fc00::/7
  if ((first & 0xffc0) === 0xfe80) return true // fe80::/10
  // ::ffff:a.b.c.d is an IPv4 address in IPv6 clothing: judge the IPv4 address.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [hi, lo] = [groups[6]!, groups[7]!]
    return ipv4Private(`${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`)
  }
  return false
}

/**
 * Parses and checks a base URL (e.g. "http://192.168.1.20:8080/v1"). Throws
 * AppError('invalid-payload') with a sentence the user can act on; returns the URL with no
 * trailing slash on its path.
 */
export function checkBaseUrl(input: string, allowUnencrypted: boolean): URL {
  const text = input.trim()
  // "localhost:8080" parses as a URL with the scheme "localhost:": name the real mistake.
  if (/^[\w.-]+:\d+(\/|$)/.test(text) || /^[\w.-]+\.[a-z]{2,}(\/|$)/i.test(text)) {
    throw new AppError('invalid-payload', `“${text.slice(0, 200)}” needs http:// or https:// in front, as in ${EXAMPLE}.`)
  }
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new AppError('invalid-payload', `“${text.slice(0, 200)}” is not a web address; enter one such as ${EXAMPLE}.`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new AppError(
      'invalid-payload',
      `Only http:// and https:// addresses can be used for a server, not ${url.protocol}; enter one such as ${EXAMPLE}.`,
    )
  }
  if (!url.hostname) throw new AppError('invalid-payload', `The address has no host name; enter one such as ${EXAMPLE}.`)
  if (url.username || url.password) {
    throw new AppError('invalid-payload', 'The address contains a user name or password; remove them and put the API key in its own field.')
  }
  if (url.search || url.hash || /[?#]/.test(text)) {
    throw new AppError('invalid-payload', 'The address must not contain a query (?…) or a fragment (#…); enter the API’s base only.')
  }
  if (url.protocol === 'http:' && !allowUnencrypted && !isPrivateHost(url.hostname)) {
    throw new AppError(
      'invalid-payload',
      `http:// to ${url.hostname} would send your questions, images and API key unencrypted over the internet; use https://, or turn on “Allow unencrypted” if you trust the network.`,
    )
  }
  url.pathname = url.pathname.replace(/\/+$/, '')
  return url
}

/** The base URL as text with no trailing slash, ready for "/models" to be appended. */
export function baseHref(url: URL): string {
  return url.href.replace(/\/+$/, '')
}
