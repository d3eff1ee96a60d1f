// A stand-in for the Hugging Face hub on 127.0.0.1: the search and file-tree API that
// @huggingface/hub calls, and /resolve/ downloads with ranges and throttling.
import { createHash } from 'node:crypto'
import { startFileServer, type FileServer, type FileServerOptions } from './file-server.js'

export type HubRepos = Record<string, Record<string, Buffer>>

/**
 * How the file tree lists a file's checksum: 'lfs', as the hub lists model files (the LFS
 * object, whose id is the SHA-256); 'git', a file kept in git (its oid is the git blob SHA-1);
 * 'none', neither, as a bare mirror might.
 */
export type Listing = 'lfs' | 'git' | 'none'

export interface HubServerOptions extends Omit<FileServerOptions, 'json'> {
  /** The files the listing describes (sizes, checksums), when they should differ from what is served. */
  listAs?: HubRepos
  /** By file name; 'lfs' when absent. Read on every listing, so it can change while the hub runs. */
  listing?: Record<string, Listing>
}

const hubs = new WeakMap<FileServer, HubServerOptions>()

/** The hub options of a server startHubServer made, to change them while it runs. */
export function hubOptions(server: FileServer): HubServerOptions {
  const options = hubs.get(server)
  if (!options) throw new Error('not a stand-in hub')
  return options
}

/** Git's id for a file it keeps: the SHA-1 of "blob SIZE\0" and the content. */
export function gitBlobSha1(body: Buffer): string {
  return createHash('sha1').update(`blob ${body.length}\0`).update(body).digest('hex')
}

export async function startHubServer(repos: HubRepos, options: HubServerOptions = {}): Promise<FileServer> {
  const files: Record<string, Buffer> = {}
  for (const [repo, entries] of Object.entries(repos))
    for (const [name, body] of Object.entries(entries)) files[`${repo}/resolve/main/${name}`] = body
  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
  const treeEntry = (name: string, body: Buffer): object => {
    switch (live.listing?.[name] ?? 'lfs') {
      case 'lfs':
        // The oid of an LFS file hashes its pointer file, not the file.
        return { type: 'file', path: name, size: 135, oid: 'f'.repeat(40), lfs: { oid: sha(body), size: body.length, pointerSize: 135 } }
      case 'git':
        return { type: 'file', path: name, size: body.length, oid: gitBlobSha1(body) }
      case 'none':
        return { type: 'file', path: name, size: body.length }
    }
  }
  // One options object for the hub and its file server, which both read it live.
  const live: HubServerOptions & FileServerOptions = {
    ...options,
    json: (path, query) => {
      if (path === 'api/models') {
        const q = (query.get('search') ?? '').toLowerCase()
        return Object.keys(repos)
          .filter((repo) => repo.toLowerCase().includes(q))
          .map((repo, i) => ({
            _id: `id${i}`,
            id: repo,
            private: false,
            gated: false,
            downloads: 1000 - i,
            likes: 10,
            lastModified: '2026-01-01T00:00:00.000Z',
            pipeline_tag: 'image-text-to-text',
          }))
      }
      const tree = /^api\/models\/(.+)\/tree\/main$/.exec(path)
      if (tree) {
        const entries = (live.listAs ?? repos)[tree[1]!]
        if (!entries) return null
        return [
          { type: 'file', path: 'README.md', size: 12, oid: 'a'.repeat(40) },
          ...Object.entries(entries).map(([name, body]) => treeEntry(name, body)),
        ]
      }
      return undefined
    },
  }
  const server = await startFileServer(files, live)
  hubs.set(server, live)
  return server
}
