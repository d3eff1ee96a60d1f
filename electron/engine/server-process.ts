// One llama-server child: started on loopback at a free port with a key of its own, ready
// once /health answers, and never outliving the engine process. The engine process can die
// without running any JavaScript (a native crash in another binding, SIGKILL from main), so
// on POSIX the server runs under a tiny sh watchdog that holds a pipe from this process:
// when the pipe closes, however this process ended, the watchdog stops the server. On
// Windows libuv already puts children in a job object that is killed with the parent.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:net'

export interface ServerProcessOptions {
  binary: string
  /** llama-server's arguments, without host, port or key. */
  args: string[]
  /** How long loading the model may take before /health says ok. */
  readyTimeoutMs: number
  /** llama.cpp's log lines, as the in-process bindings write theirs to this process's stderr. */
  onOutput?: (text: string) => void
}

/** The engine's environment as a llama-server gets it: llama-server also reads LLAMA_ARG_* variables, and none leaks in. */
export function serverEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('LLAMA_ARG_') && k !== 'HF_TOKEN' && k !== 'LLAMA_API_KEY'),
  )
}

export interface ServerProcess {
  url: string
  apiKey: string
  /** The marker llama-server puts in a templated prompt for each image (LLAMA_MEDIA_MARKER). */
  mediaMarker: string
  /** Resolves with how the server ended (e.g. "was killed (SIGKILL)"), whoever ended it. */
  exited: Promise<string>
  /** Set once it has ended. */
  exitReason(): string | null
  /** The end of the server's log, for error messages. */
  log(): string
  stop(): Promise<void>
}

const LOG_TAIL = 16 * 1024
const STOP_GRACE_MS = 5000

// $0 is a name for ps; "$@" is the server and its arguments. fd 3 keeps the pipe from the
// engine for the watcher (a background job's stdin would be /dev/null); the server gets
// neither. The server's exit status (128 + signal when killed) becomes the script's.
const WATCHDOG = [
  'exec 3<&0',
  '"$@" </dev/null 3<&- & c=$!',
  '( read -r _ <&3; kill -TERM $c 2>/dev/null; i=0; while kill -0 $c 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; kill -KILL $c 2>/dev/null ) &',
  'w=$!',
  'exec 3<&-',
  'wait $c; s=$?',
  'kill $w 2>/dev/null',
  'exit $s',
].join('\n')

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

const SIGNALS: Record<number, string> = { 1: 'SIGHUP', 2: 'SIGINT', 6: 'SIGABRT', 9: 'SIGKILL', 11: 'SIGSEGV', 15: 'SIGTERM' }

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return `was killed (${signal})`
  // Under the watchdog a signal comes back as 128 + its number.
  if (process.platform !== 'win32' && code !== null && code > 128 && code < 160)
    return `was killed (${SIGNALS[code - 128] ?? `signal ${code - 128}`})`
  return `exited with code ${code}`
}

export async function startServerProcess(o: ServerProcessOptions): Promise<ServerProcess> {
  const port = await freePort()
  const apiKey = randomBytes(24).toString('base64url')
  const mediaMarker = `<__media_${randomBytes(12).toString('hex')}__>`
  const args = [...o.args, '--host', '127.0.0.1', '--port', String(port)]
  // The key travels in the environment, which other users cannot read, rather than on the
  // command line, which they can.
  const env = serverEnv()
  env.LLAMA_API_KEY = apiKey
  env.LLAMA_MEDIA_MARKER = mediaMarker
  const child: ChildProcess =
    process.platform === 'win32'
      ? spawn(o.binary, args, { env, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true })
      : spawn('/bin/sh', ['-c', WATCHDOG, 'llama-server-watchdog', o.binary, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] })
  // The pipe must not keep this process alive, and a write to it never happens.
  child.stdin?.on('error', () => undefined)
  let log = ''
  const keep = (b: Buffer): void => {
    const text = b.toString()
    log = (log + text).slice(-LOG_TAIL)
    o.onOutput?.(text)
  }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  let reason: string | null = null
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      reason ??= describeExit(code, signal)
      resolve(reason)
    })
    child.once('error', (err) => {
      reason ??= `could not start (${err.message})`
      resolve(reason)
    })
  })

  const url = `http://127.0.0.1:${port}`
  const stop = async (): Promise<void> => {
    if (reason) return
    // Closing the pipe is the watchdog's signal; on Windows there is no watchdog.
    if (child.stdin) child.stdin.end()
    else child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS + 1000)
    await exited
    clearTimeout(timer)
  }

  const deadline = Date.now() + o.readyTimeoutMs
  for (;;) {
    if (reason) throw new Error(`llama-server ${reason}: ${lastLines(log)}`)
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) })
      await res.body?.cancel()
      if (res.ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`llama-server did not get ready within ${Math.round(o.readyTimeoutMs / 1000)} s: ${lastLines(log)}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  return { url, apiKey, mediaMarker, exited, exitReason: () => reason, log: () => log, stop }
}

/** The last lines of a log that say something, for a one-paragraph error. */
export function lastLines(log: string, count = 6): string {
  return log
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-count)
    .join(' | ')
}
