// Which hosts keep traffic on this machine or the local network. Plain TypeScript with no
// Node import, so main (electron/remote/url.ts) and the window (through the contract) decide
// alike whether plain http needs the user's consent.

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/
const isIPv4 = (host: string): boolean => {
  const m = IPV4.exec(host)
  return m !== null && m.slice(1).every((part) => Number(part) <= 255 && !/^0\d/.test(part))
}

function ipv4Private(address: string): boolean {
  const [a, b] = address.split('.').map(Number) as [number, number, number, number]
  return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254)
}

/** The eight 16-bit groups of an IPv6 address (an embedded dotted IPv4 tail counts as two); null when it is none. */
function ipv6Groups(address: string): number[] | null {
  if (!address.includes(':') || !/^[0-9a-f:.]+$/.test(address)) return null
  let text = address
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (v4) {
    const [a, b, c, d] = v4[1]!.split('.').map(Number) as [number, number, number, number]
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head, tail] = text.split('::') as [string, string | undefined]
  if (text.split('::').length > 2) return null
  const parse = (part: string): number[] =>
    part === '' ? [] : part.split(':').map((g) => (/^[0-9a-f]{1,4}$/.test(g) ? parseInt(g, 16) : NaN))
  const front = parse(head)
  const back = tail === undefined ? [] : parse(tail)
  const missing = 8 - front.length - back.length
  if ([...front, ...back].some(Number.isNaN) || missing < 0 || (tail === undefined && missing !== 0)) return null
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
