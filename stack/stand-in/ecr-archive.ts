import type { RegistryVerdict } from './registry-authorization.js'
import type { ImageRegistry } from './registry-client.js'
import { recordKey, type RepositoryRecord, type StandInState } from './state.js'
import { registryEndpoint } from './topology.js'
import { AwsError } from './wire.js'

/**
 * ECR's archive storage class (November 2025), as the stand-in models it. Sources:
 * - ECR user guide, "Archiving an image" (archive-image.html): an archived image cannot be
 *   pulled ("Requests to pull the archived image will fail with a 404 error"), is still described
 *   by DescribeImages with imageStatus ARCHIVED, has a 90-day minimum storage duration, and is
 *   restored by a restore request or by pushing it again.
 * - "Restoring an image" (restore-image.html): a restore usually takes up to 20 minutes; while it
 *   runs, DescribeImages reports imageStatus ACTIVATING and the image still cannot be pulled.
 * - API reference, UpdateImageStorageClass: targetStorageClass STANDARD | ARCHIVE; the answer's
 *   imageStatus is ACTIVE, ARCHIVED or ACTIVATING. DescribeImagesFilter.imageStatus: ACTIVE,
 *   ARCHIVED, ACTIVATING or ANY; "If not specified, only images with ACTIVE status are returned".
 * The restore takes RESTORE_DURATION_MS here rather than 20 minutes: long enough that a client
 * must wait for ACTIVE, short enough for a test. An image Lambda cannot pull is refused where
 * Lambda reads it (lambda-image.ts), at the registry (the registry gate) and by BatchGetImage
 * (the stricter candidate: the guide says pulls fail, BatchGetImage is how a pull reads the
 * manifest).
 */

export type ImageStatus = 'ACTIVE' | 'ARCHIVED' | 'ACTIVATING'

/** How long a restore stays ACTIVATING in the stand-in (AWS: up to 20 minutes). */
export const RESTORE_DURATION_MS = 2_000

export interface ArchivedImageRecord {
  /** Epoch ms of the move to archive. */
  readonly archivedAt: number
  /** Epoch ms a restore completes; undefined while the image stays archived. */
  readonly activatesAt?: number
}

/** The image's status at `now`; a restore that has completed forgets the archive record. */
export function imageStatus(
  repository: RepositoryRecord,
  digest: string,
  now = Date.now()
): ImageStatus {
  const record = repository.archivedImages?.[digest]
  if (!record) return 'ACTIVE'
  if (record.activatesAt === undefined) return 'ARCHIVED'
  if (record.activatesAt > now) return 'ACTIVATING'
  delete repository.archivedImages![digest]
  return 'ACTIVE'
}

/** Whether a pull of the image is refused now (archived, or still being restored). */
export function pullRefused(repository: RepositoryRecord, digest: string, now = Date.now()) {
  return imageStatus(repository, digest, now) !== 'ACTIVE'
}

/** Moves an image to archive (UpdateImageStorageClass ARCHIVE, a transition rule, or a seed). */
export function archiveImage(repository: RepositoryRecord, digest: string, archivedAt: number) {
  repository.archivedImages = { ...repository.archivedImages, [digest]: { archivedAt } }
}

/** A push of an archived image restores it at once ("Archiving an image"). */
export function restoredByPush(repository: RepositoryRecord, digest: string): void {
  if (repository.archivedImages?.[digest]) delete repository.archivedImages[digest]
}

/** The DescribeImages fields of the archive storage class for one image. */
export function archiveFields(repository: RepositoryRecord, digest: string) {
  const status = imageStatus(repository, digest)
  const record = repository.archivedImages?.[digest]
  return {
    imageStatus: status,
    ...(record ? { lastArchivedAt: record.archivedAt / 1000 } : {})
  }
}

/** Whether DescribeImagesFilter.imageStatus admits an image of this status (default ACTIVE). */
export function statusFilterAdmits(filter: unknown, status: ImageStatus): boolean {
  const wanted = (filter as { imageStatus?: unknown } | undefined)?.imageStatus ?? 'ACTIVE'
  if (!['ACTIVE', 'ARCHIVED', 'ACTIVATING', 'ANY'].includes(wanted as string)) {
    throw new AwsError(
      'InvalidParameterException',
      `Invalid parameter at 'filter.imageStatus' failed to satisfy constraint: 'Member must satisfy enum value set: [ACTIVE, ARCHIVED, ACTIVATING, ANY]'`,
      400
    )
  }
  return wanted === 'ANY' || wanted === status
}

/**
 * UpdateImageStorageClass (API reference). The image must exist (ImageNotFoundException);
 * archiving an archived image, or restoring an active one, is refused as the API's
 * ImageStorageClassUpdateNotSupportedException ("The requested image storage class update is
 * not supported"), the stricter candidate where the reference gives no detail.
 */
export function updateImageStorageClass(
  repository: RepositoryRecord,
  digest: string,
  targetStorageClass: unknown,
  now = Date.now()
): { imageStatus: ImageStatus } {
  if (targetStorageClass !== 'STANDARD' && targetStorageClass !== 'ARCHIVE') {
    throw new AwsError(
      'InvalidParameterException',
      `Invalid parameter at 'targetStorageClass' failed to satisfy constraint: 'Member must satisfy enum value set: [STANDARD, ARCHIVE]'`,
      400
    )
  }
  const status = imageStatus(repository, digest, now)
  const refused = () =>
    new AwsError(
      'ImageStorageClassUpdateNotSupportedException',
      `The requested image storage class update is not supported for image '${digest}' with status ${status}.`,
      400
    )
  if (targetStorageClass === 'ARCHIVE') {
    if (status !== 'ACTIVE') throw refused()
    archiveImage(repository, digest, now)
    return { imageStatus: 'ARCHIVED' }
  }
  if (status === 'ACTIVE') throw refused()
  if (status === 'ARCHIVED') {
    const record = repository.archivedImages![digest]!
    repository.archivedImages![digest] = { ...record, activatesAt: now + RESTORE_DURATION_MS }
  }
  return { imageStatus: 'ACTIVATING' }
}

// The ECR registry hostname and a manifest path (as registry-tag-guard.ts reads them).
const ECR_HOST = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?(?::\d+)?$/
const MANIFEST_PATH = /^\/v2\/(.+?)\/manifests\/([^/?]+)$/

/**
 * A pull (GET or HEAD of a manifest, by tag or digest) of an archived image: "Requests to pull
 * the archived image will fail with a 404 error" ("Archiving an image"). MANIFEST_UNKNOWN is the
 * registry API's code for a manifest it does not serve (Docker Registry HTTP API V2, "Errors").
 * Asked by the registry gate after the request was authorized; undefined when it may pass.
 */
export async function archivedPullRefusal(
  request: { readonly method: string; readonly host: string; readonly path: string },
  state: StandInState,
  registry: ImageRegistry
): Promise<RegistryVerdict | undefined> {
  const method = request.method.toUpperCase()
  if (method !== 'GET' && method !== 'HEAD') return undefined
  const host = ECR_HOST.exec(request.host)
  const manifest = MANIFEST_PATH.exec(request.path.split('?')[0] ?? '')
  if (!host || !manifest) return undefined
  const [, account = '', region = '', name = '', reference = ''] = [...host, ...manifest.slice(1)]
  const repository = state.repositories.get(recordKey(account, region, name))
  const endpoint = registryEndpoint(account, region)
  if (!repository?.archivedImages || !endpoint) return undefined
  if (Object.keys(repository.archivedImages).length === 0) return undefined
  const digest = reference.startsWith('sha256:')
    ? reference
    : (await registry.manifest(endpoint, name, decodeURIComponent(reference)))?.digest
  if (!digest || !pullRefused(repository, digest)) return undefined
  return {
    allowed: false,
    status: 404,
    code: 'MANIFEST_UNKNOWN',
    message: `The image ${digest} in repository ${name} is archived and cannot be pulled until it is restored.`
  }
}
