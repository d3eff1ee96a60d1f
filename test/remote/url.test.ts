import { describe, expect, it } from 'vitest'
import { AppError } from '../../electron/ipc/errors.js'
import { checkBaseUrl } from '../../electron/remote/url.js'
import { isPrivateHost } from '../../electron/remote/private-host.js'

function refusal(input: string, allowUnencrypted = false): string {
  try {
    checkBaseUrl(input, allowUnencrypted)
  } catch (error) {
    expect(error).toBeInstanceOf(AppError)
    expect((error as AppError).code).toBe('invalid-payload')
    return (error as AppError).message
  }
  throw new Error(`${input} was accepted`)
}

describe('checkBaseUrl', () => {
  it('accepts http(s) base URLs and drops trailing slashes', () => {
    expect(checkBaseUrl('http://192.168.1.20:8080/v1/', false).href).toBe('http://192.168.1.20:8080/v1')
    expect(checkBaseUrl('  https://api.example.com/v1  ', false).href).toBe('https://api.example.com/v1')
    expect(checkBaseUrl('http://localhost:11434/v1//', false).pathname).toBe('/v1')
    expect(checkBaseUrl('http://[::1]:8080/v1', false).hostname).toBe('[::1]')
  })

  it('refuses non-URLs and every scheme but http and https, saying so', () => {
    expect(refusal('not a url')).toMatch(/not a web address/)
    expect(refusal('')).toMatch(/not a web address/)
    expect(refusal('192.168.1.20:8080/v1')).toMatch(/needs http:\/\/ or https:\/\/ in front/)
    expect(refusal('localhost:8080')).toMatch(/needs http:\/\/ or https:\/\/ in front/)
    expect(refusal('api.example.com/v1')).toMatch(/needs http:\/\/ or https:\/\/ in front/)
    for (const bad of ['file:///etc/passwd', 'javascript:alert(1)', 'data:text/html,hi', 'ftp://example.com/v1', 'ws://localhost/v1']) {
      expect(refusal(bad)).toMatch(/Only http:\/\/ and https:\/\/ addresses/)
    }
  })

  it('refuses credentials, queries and fragments in the URL', () => {
    expect(refusal('https://user:pass@example.com/v1')).toMatch(/user name or password/)
    expect(refusal('https://key@example.com/v1')).toMatch(/user name or password/)
    expect(refusal('https://example.com/v1?key=1')).toMatch(/query/)
    expect(refusal('https://example.com/v1#x')).toMatch(/fragment/)
    expect(refusal('https://example.com/v1?')).toMatch(/query/)
  })

  it('allows http:// only to loopback and private addresses unless unencrypted is allowed', () => {
    for (const ok of [
      'http://127.0.0.1:8080',
      'http://10.1.2.3/v1',
      'http://172.16.0.1/v1',
      'http://172.31.255.255/v1',
      'http://192.168.0.10/v1',
      'http://169.254.1.1/v1',
      'http://localhost/v1',
      'http://gpu-box.local:8080/v1',
      'http://[::1]/v1',
      'http://[fd12:3456::1]/v1',
      'http://[fe80::1]/v1',
      'http://[::ffff:192.168.1.2]/v1',
    ]) {
      expect(() => checkBaseUrl(ok, false), ok).not.toThrow()
    }
    for (const open of [
      'http://8.8.8.8/v1',
      'http://172.32.0.1/v1',
      'http://api.example.com/v1',
      'http://[2001:db8::1]/v1',
      'http://[::ffff:8.8.8.8]/v1',
    ]) {
      expect(refusal(open), open).toMatch(/unencrypted.*Allow unencrypted/)
      expect(() => checkBaseUrl(open, true)).not.toThrow()
    }
    expect(() => checkBaseUrl('https://8.8.8.8/v1', false)).not.toThrow()
  })
})

describe('isPrivateHost', () => {
  it('knows the private IPv4 ranges', () => {
    expect(isPrivateHost('127.5.5.5')).toBe(true)
    expect(isPrivateHost('10.255.0.1')).toBe(true)
    expect(isPrivateHost('172.15.0.1')).toBe(false)
    expect(isPrivateHost('172.16.0.1')).toBe(true)
    expect(isPrivateHost('192.169.0.1')).toBe(false)
    expect(isPrivateHost('169.254.169.254')).toBe(true)
    expect(isPrivateHost('1.1.1.1')).toBe(false)
  })

  it('knows the private IPv6 ranges, bracketed or not', () => {
    expect(isPrivateHost('::1')).toBe(true)
    expect(isPrivateHost('[::1]')).toBe(true)
    expect(isPrivateHost('fc00::1')).toBe(true)
    expect(isPrivateHost('fdff:ffff::1')).toBe(true)
    expect(isPrivateHost('fe80::abcd')).toBe(true)
    expect(isPrivateHost('febf::1')).toBe(true)
    expect(isPrivateHost('fec0::1')).toBe(false)
    expect(isPrivateHost('2001:db8::1')).toBe(false)
    expect(isPrivateHost('::')).toBe(false)
    expect(isPrivateHost('::ffff:7f00:1')).toBe(true)
  })

  it('takes nothing that only looks like an address (the same rule runs in the window, without Node)', () => {
    expect(isPrivateHost('[fe80::1%eth0]')).toBe(true)
    expect(isPrivateHost('::ffff:10.0.0.1')).toBe(true)
    expect(isPrivateHost('fe80::zz')).toBe(false)
    expect(isPrivateHost('fc00::1::2')).toBe(false)
    expect(isPrivateHost('fc00:1:2:3:4:5:6:7:8')).toBe(false)
    expect(isPrivateHost('10.0.0.256')).toBe(false)
    expect(isPrivateHost('010.0.0.1')).toBe(false)
    expect(isPrivateHost('10.0.0')).toBe(false)
  })

  it('treats localhost and mDNS names as local, and nothing else by name', () => {
    expect(isPrivateHost('localhost')).toBe(true)
    expect(isPrivateHost('LOCALHOST.')).toBe(true)
    expect(isPrivateHost('box.local')).toBe(true)
    expect(isPrivateHost('localhost.example.com')).toBe(false)
    expect(isPrivateHost('local')).toBe(false)
    expect(isPrivateHost('10.0.0.1.example.com')).toBe(false)
  })
})
