/**
 * An ECR image URI as Lambda's ImageUri takes it: `ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME`
 * followed by `:TAG`, `@sha256:DIGEST` or both (then the digest wins). Source: Lambda
 * CreateFunction/UpdateFunctionCode "ImageUri"; ECR "Private registry concepts" for the host.
 */

export interface ImageReference {
  /** The URI exactly as given (Lambda quotes it back in messages and in GetFunction). */
  readonly uri: string
  readonly account: string
  readonly region: string
  readonly host: string
  readonly repository: string
  readonly tag?: string
  readonly digest?: string
  /** What to ask the registry for: the digest if given, else the tag (latest when none). */
  readonly reference: string
  /** `HOST/NAME`, the part before the tag or digest. */
  readonly repositoryUri: string
}

const IMAGE_URI =
  /^((\d{12})\.dkr\.ecr\.([a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com(?:\.cn)?)\/((?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*)(?::([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$/

/** Docker's rule: a reference without tag or digest means the `latest` tag. */
const DEFAULT_TAG = 'latest'

export function parseImageUri(uri: string): ImageReference | undefined {
  const match = IMAGE_URI.exec(uri)
  if (!match) return undefined
  const [, host, account, region, repository, tag, digest] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string | undefined,
    string | undefined
  ]
  return {
    uri,
    account,
    region,
    host,
    repository,
    tag,
    digest,
    reference: digest ?? tag ?? DEFAULT_TAG,
    repositoryUri: `${host}/${repository}`
  }
}
