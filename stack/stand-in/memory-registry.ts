import { createHash } from 'node:crypto'
import { MEDIA_TYPES } from './aws-wording.js'
import type { ImageConfigFacts, ImageRegistry, StoredManifest } from './registry-client.js'
import type { RegistryEndpoint } from './topology.js'

/**
 * A registry in memory with the same answers as the real one, so unit tests can exercise ECR's
 * image operations and Lambda's image checks without Docker. Images are addressed by registry
 * host and repository, as in the real registry.
 */

interface StoredRepository {
  readonly manifests: Map<string, StoredManifest>
  readonly tags: Map<string, string>
  readonly blobs: Map<string, Buffer>
}

export interface ImageSpec {
  readonly tag?: string
  /** The image config's architecture; default amd64. */
  readonly architecture?: string
  readonly os?: string
  readonly layerSizes?: readonly number[]
  /** Docker schema 2 (default) or OCI. */
  readonly mediaType?: string
  /** Makes otherwise equal images differ. */
  readonly label?: string
}

export class MemoryRegistry implements ImageRegistry {
  private readonly repositories = new Map<string, StoredRepository>()

  constructor(private readonly registryPassword = 'memory-registry-password') {}

  password(): string {
    return this.registryPassword
  }

  /** Stores a config blob and a single-image manifest; returns the manifest digest. */
  pushImage(host: string, repository: string, spec: ImageSpec = {}): string {
    const stored = this.repository(host, repository)
    const config = Buffer.from(
      JSON.stringify({
        architecture: spec.architecture ?? 'amd64',
        os: spec.os ?? 'linux',
        config: { Labels: { 'stand-in': spec.label ?? '' } },
        rootfs: { type: 'layers', diff_ids: [] }
      })
    )
    const configDigest = digestOf(config)
    stored.blobs.set(configDigest, config)
    const oci = spec.mediaType === MEDIA_TYPES.ociManifest
    const manifest = {
      schemaVersion: 2,
      mediaType: spec.mediaType ?? MEDIA_TYPES.dockerManifest,
      config: {
        mediaType: oci
          ? 'application/vnd.oci.image.config.v1+json'
          : 'application/vnd.docker.container.image.v1+json',
        size: config.length,
        digest: configDigest
      },
      layers: (spec.layerSizes ?? [1234]).map((size, index) => ({
        mediaType: oci
          ? 'application/vnd.oci.image.layer.v1.tar+gzip'
          : 'application/vnd.docker.image.rootfs.diff.tar.gzip',
        size,
        digest: `sha256:${createHash('sha256')
          .update(`layer-${index}-${size}-${spec.label ?? ''}`)
          .digest('hex')}`
      }))
    }
    return this.putManifest(
      host,
      repository,
      spec.tag,
      manifest.mediaType,
      JSON.stringify(manifest, null, 3)
    )
  }

  /** Stores an image index over manifests already pushed; returns its digest. */
  pushIndex(
    host: string,
    repository: string,
    tag: string,
    manifestDigests: readonly string[],
    mediaType: string = MEDIA_TYPES.ociIndex
  ): string {
    const stored = this.repository(host, repository)
    const index = {
      schemaVersion: 2,
      mediaType,
      manifests: manifestDigests.map(digest => {
        const manifest = stored.manifests.get(digest)
        if (!manifest) throw new Error(`No manifest ${digest} in ${host}/${repository}`)
        return {
          mediaType: manifest.mediaType,
          size: Buffer.byteLength(manifest.body),
          digest,
          platform: { architecture: 'amd64', os: 'linux' }
        }
      })
    }
    return this.putManifest(host, repository, tag, mediaType, JSON.stringify(index))
  }

  putManifest(
    host: string,
    repository: string,
    tag: string | undefined,
    mediaType: string,
    body: string
  ): string {
    const stored = this.repository(host, repository)
    const digest = digestOf(Buffer.from(body))
    stored.manifests.set(digest, { digest, mediaType, body })
    if (tag) stored.tags.set(tag, digest)
    return digest
  }

  storeManifest(
    endpoint: RegistryEndpoint,
    repository: string,
    reference: string,
    mediaType: string,
    body: string
  ): Promise<string> {
    const tag = reference.startsWith('sha256:') ? undefined : reference
    return Promise.resolve(this.putManifest(endpoint.host, repository, tag, mediaType, body))
  }

  manifest(
    endpoint: RegistryEndpoint,
    repository: string,
    reference: string
  ): Promise<StoredManifest | undefined> {
    const stored = this.repositories.get(`${endpoint.host}/${repository}`)
    const digest = reference.startsWith('sha256:') ? reference : stored?.tags.get(reference)
    return Promise.resolve(digest ? stored?.manifests.get(digest) : undefined)
  }

  async digestOf(
    endpoint: RegistryEndpoint,
    repository: string,
    reference: string
  ): Promise<string | undefined> {
    return (await this.manifest(endpoint, repository, reference))?.digest
  }

  imageConfig(
    endpoint: RegistryEndpoint,
    repository: string,
    manifest: StoredManifest
  ): Promise<ImageConfigFacts | undefined> {
    const configDigest = (JSON.parse(manifest.body) as { config?: { digest?: string } }).config
      ?.digest
    const blob = configDigest
      ? this.repositories.get(`${endpoint.host}/${repository}`)?.blobs.get(configDigest)
      : undefined
    return Promise.resolve(
      blob ? (JSON.parse(blob.toString('utf8')) as ImageConfigFacts) : undefined
    )
  }

  tags(endpoint: RegistryEndpoint, repository: string): Promise<string[]> {
    return Promise.resolve(
      [...(this.repositories.get(`${endpoint.host}/${repository}`)?.tags.keys() ?? [])].sort()
    )
  }

  private repository(host: string, repository: string): StoredRepository {
    const key = `${host}/${repository}`
    let stored = this.repositories.get(key)
    if (!stored) {
      stored = { manifests: new Map(), tags: new Map(), blobs: new Map() }
      this.repositories.set(key, stored)
    }
    return stored
  }
}

function digestOf(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`
}
