// The base URL of a remote engine, checked before anything is sent to it: only http(s), no
// credentials or query in the URL (they would leak into logs and every request), and plain
// http only where the traffic stays on this machine or the local network, unless the user
// explicitly allowed sending in the clear.
import { AppError } from '../ipc/errors.js'
import { isPrivateHost } from './private-host.js'

const EXAMPLE = 'http://192.168.1.20:8080/v1'

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
