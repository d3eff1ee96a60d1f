// A stand-in for the Hugging Face hub on 127.0.0.1: the search and file-tree API that
// @huggingface/hub calls, and /resolve/ downloads with ranges and throttling.
import { createHash } from 'node:crypto'
import { startFileServer, type FileServer, type FileServerOptions } from './file-server.js'

export type HubRepos = Record<string, Record<string, Buffer>>

/** listAs: the files the listing describes (sizes, SHA-256), when they should differ from what is served. */
export async function startHubServer(repos: HubRepos, options: Omit<FileServerOptions, 'json'> & { listAs?: HubRepos } = {}): Promise<FileServer> {
  const files: Record<string, Buffer> = {}
  for (const [repo, entries] of Object.entries(repos)) for (const [name, body] of Object.entries(entries)) files[`${repo}/resolve/main/${name}`] = body
  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
  return startFileServer(files, {
    ...options,
    json: (path, query) => {
      if (path === 'api/models') {
        const q = (query.get('search') ?? '').toLowerCase()
        return Object.keys(repos)
          .filter((repo) => repo.toLowerCase().includes(q))
          .map((repo, i) => ({ _id: `id${i}`, id: repo, private: false, gated: false, downloads: 1000 - i, likes: 10, lastModified: '2026-01-01T00:00:00.000Z', pipeline_tag: 'image-text-to-text' }))
      }
      const tree = /^api\/models\/(.+)\/tree\/main$/.exec(path)
      if (tree) {
        const entries = (options.listAs ?? repos)[tree[1]!]
        if (!entries) return null
        return [
          { type: 'file', path: 'README.md', size: 12, oid: 'abc' },
          ...Object.entries(entries).map(([name, body]) => ({ type: 'file', path: name, size: 135, oid: 'git-oid', lfs: { oid: sha(body), size: body.length, pointerSize: 135 } })),
        ]
      }
      return undefined
    },
  })
}
