import { ECR_MESSAGES } from './aws-wording.js'
import type { RegistryRequest, RegistryVerdict } from './registry-authorization.js'
import type { ImageRegistry } from './registry-client.js'
import { recordKey, type StandInState } from './state.js'
import { DEFAULT_TAG_MUTABILITY, tagIsImmutable } from './tag-mutability.js'
import { registryEndpoint } from './topology.js'

/**
 * ECR's registry refuses a manifest PUT under a tag that exists and is immutable, whatever the
 * manifest: also when it is the very manifest the tag names already (moby/buildkit#3776: a
 * second `--push` of an unchanged image fails). docker prints the refusal as
 * `tag invalid: The image tag '...' already exists in the '...' repository and cannot be
 * overwritten because the tag is immutable.` (TAG_INVALID, Docker Registry HTTP API V2 "Errors").
 * Asked by the registry gate after the request was authorized; undefined when it may pass.
 */

// The ECR registry hostname (ECR User Guide, "Private registry concepts"); `.cn` for China.
const ECR_HOST = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?(?::\d+)?$/
const MANIFEST_PATH = /^\/v2\/(.+?)\/manifests\/([^/?]+)$/

export async function immutableTagRefusal(
  request: RegistryRequest,
  state: StandInState,
  registry: ImageRegistry
): Promise<RegistryVerdict | undefined> {
  if (request.method.toUpperCase() !== 'PUT') return undefined
  const host = ECR_HOST.exec(request.host)
  const manifest = MANIFEST_PATH.exec(request.path.split('?')[0] ?? '')
  if (!host || !manifest) return undefined
  const [, account = '', region = ''] = host
  const [, name = '', tag = ''] = manifest
  // A push by digest names no tag: nothing to overwrite.
  if (tag.startsWith('sha256:')) return undefined
  const repository = state.repositories.get(recordKey(account, region, name))
  const endpoint = registryEndpoint(account, region)
  if (!repository || !endpoint) return undefined
  if (!tagIsImmutable(repository.tagMutability ?? DEFAULT_TAG_MUTABILITY, tag)) return undefined
  if (!(await registry.tags(endpoint, name)).includes(tag)) return undefined
  return {
    allowed: false,
    status: 400,
    code: 'TAG_INVALID',
    message: ECR_MESSAGES.tagImmutable(tag, name)
  }
}
