import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import https from 'node:https'
import path from 'node:path'
import { ALL_MANIFEST_MEDIA_TYPES } from './aws-wording.js'
import type { RegistryEndpoint } from './topology.js'

/**
 * The real registry (Docker's distribution, TLS under the ECR hostname, htpasswd user AWS) that
 * stack/setup.sh runs, spoken to over the Registry HTTP API V2. The password and CA are read
 * from the state dir on every call, because the registry may come up after the stand-in.
 * The CA is given to node:https directly, so no NODE_EXTRA_CA_CERTS is needed.
 */

export const REGISTRY_USER = 'AWS'
export const REGISTRY_PASSWORD_FILE = 'registry-password'
export const REGISTRY_CA_FILE = 'ca.crt'

export interface StoredManifest {
  readonly digest: string
  readonly mediaType: string
  /** The manifest exactly as stored (ECR returns these bytes as `imageManifest`). */
  readonly body: string
}

/** The parts of an image config blob the stand-in looks at. */
export interface ImageConfigFacts {
  readonly architecture?: string
  readonly os?: string
  readonly variant?: string
}

/** What ECR and Lambda need from a registry; RegistryClient is the real one. */
export interface ImageRegistry {
  /** The registry password (what GetAuthorizationToken hands out). */
  password(): string
  /** The manifest a tag or digest names, or undefined when the registry has none. */
  manifest(
    endpoint: RegistryEndpoint,
    repository: string,
    reference: string
  ): Promise<StoredManifest | undefined>
  /** The digest a tag points at, without fetching the manifest. */
  digestOf(
    endpoint: RegistryEndpoint,
    repository: string,
    reference: string
  ): Promise<string | undefined>
  /** The image config blob of a single-image manifest, parsed; undefined for an index. */
  imageConfig(
    endpoint: RegistryEndpoint,
    repository: string,
    manifest: StoredManifest
  ): Promise<ImageConfigFacts | undefined>
  /** Every tag of a repository; none when the registry has never seen the repository. */
  tags(endpoint: RegistryEndpoint, repository: string): Promise<string[]>
  /** Stores a manifest under a tag or digest (ECR PutImage); the registry's digest of it. */
  storeManifest(
    endpoint: RegistryEndpoint,
    repository: string,
    reference: string,
    mediaType: string,
    body: string
  ): Promise<string>
}

export class RegistryUnavailableError extends Error {
  override name = 'RegistryUnavailableError'
}

interface RegistryResponse {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  readonly body: Buffer
}

export class RegistryClient implements ImageRegistry {
  constructor(
    private readonly stateDir: string,
    private readonly timeoutMs = 15_000
  ) {}

  /** The registry password (what GetAuthorizationToken hands out), or an explained failure. */
  password(): string {
    const file = path.join(this.stateDir, REGISTRY_PASSWORD_FILE)
    try {
      return readFileSync(file, 'utf8').trim()
    } catch (error) {
      throw new RegistryUnavailableError(
        `The registry password ${file} cannot be read (${(error as Error).message}); run stack/setup.sh first.`
      )
    }
  }

  /** The manifest a tag or digest names, or undefined when the registry has none. */
  async manifest(
    endpoint: RegistryEndpoint,
    repository: string,
    reference: string
  ): Promise<StoredManifest | undefined> {
    const answer = await this.send(endpoint, 'GET', `/v2/${repository}/manifests/${reference}`, {
      accept: ALL_MANIFEST_MEDIA_TYPES.join(', ')
    })
    if (answer.status === 404) return undefined
    expectOk(answer, endpoint, `manifest ${repository}:${reference}`)
    const body = answer.body.toString('utf8')
    return {
      // The digest of the exact bytes is the image's identity, whatever the registry says.
      digest: `sha256:${createHash('sha256').update(answer.body).digest('hex')}`,
      mediaType: mediaTypeOf(header(answer, 'content-type'), body),
      body
    }
  }

  /** The digest a tag points at, without fetching the manifest. */
  async digestOf(
    endpoint: RegistryEndpoint,
    repository: string,
    reference: string
  ): Promise<string | undefined> {
    const answer = await this.send(endpoint, 'HEAD', `/v2/${repository}/manifests/${reference}`, {
      accept: ALL_MANIFEST_MEDIA_TYPES.join(', ')
    })
    if (answer.status === 404) return undefined
    expectOk(answer, endpoint, `manifest ${repository}:${reference}`)
    return header(answer, 'docker-content-digest')
  }

  async blob(
    endpoint: RegistryEndpoint,
    repository: string,
    digest: string
  ): Promise<Buffer | undefined> {
    const answer = await this.send(endpoint, 'GET', `/v2/${repository}/blobs/${digest}`)
    if (answer.status === 404) return undefined
    expectOk(answer, endpoint, `blob ${repository}@${digest}`)
    return answer.body
  }

  async imageConfig(
    endpoint: RegistryEndpoint,
    repository: string,
    manifest: StoredManifest
  ): Promise<ImageConfigFacts | undefined> {
    const configDigest = (parseJson(manifest.body) as { config?: { digest?: string } }).config
      ?.digest
    if (!configDigest) return undefined
    const blob = await this.blob(endpoint, repository, configDigest)
    return blob ? (parseJson(blob.toString('utf8')) as ImageConfigFacts) : undefined
  }

  /** Every tag of a repository; none when the registry has never seen the repository. */
  async tags(endpoint: RegistryEndpoint, repository: string): Promise<string[]> {
    const answer = await this.send(endpoint, 'GET', `/v2/${repository}/tags/list`)
    if (answer.status === 404) return []
    expectOk(answer, endpoint, `tags of ${repository}`)
    const listed = parseJson(answer.body.toString('utf8')) as { tags?: string[] | null }
    return [...(listed.tags ?? [])].sort()
  }

  storeManifest(
    endpoint: RegistryEndpoint,
    repository: string,
    reference: string,
    mediaType: string,
    body: string
  ): Promise<string> {
    return this.putManifest(endpoint, repository, reference, mediaType, body)
  }

  /**
   * Copies a single-image manifest and the blobs it names into another repository, as
   * `crane copy` would, with no engine: the e2e harness seeds repositories with a fixture image
   * this way. Blobs are mounted within one registry and uploaded across registries. Returns the
   * digest of the copied manifest (the same bytes, so the same digest).
   */
  async copyImage(
    from: { endpoint: RegistryEndpoint; repository: string; reference: string },
    to: { endpoint: RegistryEndpoint; repository: string; reference: string }
  ): Promise<string> {
    const manifest = await this.manifest(from.endpoint, from.repository, from.reference)
    if (!manifest) {
      throw new Error(`No manifest ${from.repository}:${from.reference} on ${from.endpoint.host}`)
    }
    const parsed = parseJson(manifest.body) as {
      config?: { digest?: string }
      layers?: { digest?: string }[]
    }
    const blobs = [parsed.config?.digest, ...(parsed.layers ?? []).map(layer => layer.digest)]
    for (const digest of blobs) {
      if (!digest) throw new Error(`${from.repository}:${from.reference} is not a single image`)
      await this.copyBlob(from, to, digest)
    }
    await this.putManifest(
      to.endpoint,
      to.repository,
      to.reference,
      manifest.mediaType,
      manifest.body
    )
    return manifest.digest
  }

  private async copyBlob(
    from: { endpoint: RegistryEndpoint; repository: string },
    to: { endpoint: RegistryEndpoint; repository: string },
    digest: string
  ): Promise<void> {
    const there = await this.send(to.endpoint, 'HEAD', `/v2/${to.repository}/blobs/${digest}`)
    if (there.status === 200) return
    const sameRegistry = from.endpoint.host === to.endpoint.host
    const start = await this.send(
      to.endpoint,
      'POST',
      `/v2/${to.repository}/blobs/uploads/` +
        (sameRegistry ? `?mount=${digest}&from=${encodeURIComponent(from.repository)}` : ''),
      {},
      Buffer.alloc(0)
    )
    if (start.status === 201) return
    if (start.status !== 202) expectOk(start, to.endpoint, `an upload to ${to.repository}`)
    const content = await this.blob(from.endpoint, from.repository, digest)
    if (!content) throw new Error(`No blob ${digest} in ${from.repository}`)
    const location = new URL(header(start, 'location') ?? '', `https://${to.endpoint.host}`)
    location.searchParams.set('digest', digest)
    const put = await this.send(
      to.endpoint,
      'PUT',
      `${location.pathname}${location.search}`,
      { 'content-type': 'application/octet-stream' },
      content
    )
    if (put.status !== 201) expectOk(put, to.endpoint, `blob ${digest} into ${to.repository}`)
  }

  /** Stores a manifest (tests use it to put an index, which docker cannot push here). */
  async putManifest(
    endpoint: RegistryEndpoint,
    repository: string,
    reference: string,
    mediaType: string,
    body: string
  ): Promise<string> {
    const answer = await this.send(
      endpoint,
      'PUT',
      `/v2/${repository}/manifests/${reference}`,
      { 'content-type': mediaType },
      Buffer.from(body)
    )
    if (answer.status !== 201) {
      throw new Error(
        `The registry ${endpoint.host} refused manifest ${repository}:${reference}: ${answer.status} ${answer.body.toString('utf8')}`
      )
    }
    return header(answer, 'docker-content-digest') ?? ''
  }

  private send(
    endpoint: RegistryEndpoint,
    method: string,
    requestPath: string,
    headers: Record<string, string> = {},
    body?: Buffer
  ): Promise<RegistryResponse> {
    const password = this.password()
    const caFile = path.join(this.stateDir, REGISTRY_CA_FILE)
    let ca: Buffer
    try {
      ca = readFileSync(caFile)
    } catch (error) {
      throw new RegistryUnavailableError(
        `The registry CA ${caFile} cannot be read (${(error as Error).message}); run stack/setup.sh first.`
      )
    }
    const basic = Buffer.from(`${REGISTRY_USER}:${password}`).toString('base64')
    return new Promise((resolve, reject) => {
      const request = https.request(
        {
          // Connect to the address the hosts file gives the name, but verify the certificate
          // for the ECR hostname, as a client resolving the name would.
          host: endpoint.ip ?? endpoint.host,
          servername: endpoint.host,
          port: endpoint.port ?? 443,
          method,
          path: requestPath,
          ca,
          timeout: this.timeoutMs,
          headers: {
            host: endpoint.host,
            authorization: `Basic ${basic}`,
            ...(body ? { 'content-length': String(body.length) } : {}),
            ...headers
          }
        },
        response => {
          const chunks: Buffer[] = []
          response.on('data', (chunk: Buffer) => chunks.push(chunk))
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              headers: response.headers,
              body: Buffer.concat(chunks)
            })
          )
          response.on('error', reject)
        }
      )
      request.on('timeout', () =>
        request.destroy(new Error(`timed out after ${this.timeoutMs} ms`))
      )
      request.on('error', error =>
        reject(
          new RegistryUnavailableError(
            `The registry ${endpoint.host} (${endpoint.ip ?? 'by name'}) cannot be reached: ${error.message}`
          )
        )
      )
      request.end(body)
    })
  }
}

function expectOk(answer: RegistryResponse, endpoint: RegistryEndpoint, what: string): void {
  if (answer.status >= 200 && answer.status < 300) return
  throw new RegistryUnavailableError(
    `The registry ${endpoint.host} answered ${answer.status} for ${what}: ${answer.body.toString('utf8').slice(0, 300)}`
  )
}

function header(answer: RegistryResponse, name: string): string | undefined {
  const value = answer.headers[name]
  return Array.isArray(value) ? value[0] : value
}

/** The registry's Content-Type is the stored type; the body's own mediaType is the fallback
 * (an OCI manifest may omit it). */
function mediaTypeOf(contentType: string | undefined, body: string): string {
  const served = contentType?.split(';')[0]?.trim()
  if (served && ALL_MANIFEST_MEDIA_TYPES.includes(served)) return served
  return (parseJson(body) as { mediaType?: string }).mediaType ?? served ?? ''
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return {}
  }
}
