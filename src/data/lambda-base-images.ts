/**
 * AWS's Lambda base images and when AWS stops supporting them: the one table the action reads
 * (base-image-support.ts). Edit it here when AWS changes a date or adds a base.
 *
 * Source: AWS Lambda Developer Guide, "Lambda runtimes", tables "Supported runtimes" and
 * "Deprecated runtimes" (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html),
 * column "Deprecation date": from that date AWS no longer patches the runtime or its base image
 * (https://docs.aws.amazon.com/lambda/latest/dg/runtime-support-policy.html). The dates were
 * read on 2026-12-07 from the page as copied by endoflife.date (products/aws-lambda.md, commit
 * a70eca3 of 2026-08-22, which takes them from that page).
 * Image names: the public.ecr.aws/lambda gallery (https://gallery.ecr.aws/lambda), one
 * repository per language, one tag per runtime; the same images are on Docker Hub as
 * amazon/aws-lambda-LANGUAGE.
 * Amazon Linux 2 reached its end of life on 2026-06-30 (https://aws.amazon.com/amazon-linux-2/
 * faqs); AWS's Lambda base images on it keep language runtime patches, and fixes for critical
 * and selected important Amazon Linux 2 issues only, until their deprecation date
 * (https://github.com/aws/aws-lambda-roadmap/issues/86, by the Lambda team).
 */

/** The Amazon Linux release a base image is built on. */
export type AmazonLinuxRelease = 'Amazon Linux' | 'Amazon Linux 2' | 'Amazon Linux 2023'

export interface LambdaBaseImage {
  /** Lambda's runtime identifier, e.g. `python3.12`. */
  readonly runtime: string
  /** As the runtimes page names it. */
  readonly label: string
  /** The repository under public.ecr.aws/lambda/ (and amazon/aws-lambda- on Docker Hub). */
  readonly repository: string
  /** The tag that names this runtime's newest image (versioned and per-arch tags start with it). */
  readonly tag: string
  readonly os: AmazonLinuxRelease
  /** The deprecation date (YYYY-MM-DD): AWS's support ends on it. */
  readonly endOfSupport: string
  /** The runtime to move to: the same language on a supported base, else the newest one. */
  readonly successor?: string
}

export const LAMBDA_RUNTIMES_PAGE =
  'https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html'

/** End of life of the Amazon Linux releases the bases are built on. */
export const AMAZON_LINUX_END_OF_LIFE: Readonly<Record<AmazonLinuxRelease, string | undefined>> = {
  // https://aws.amazon.com/amazon-linux-ami/faqs/
  'Amazon Linux': '2023-12-31',
  // https://aws.amazon.com/amazon-linux-2/faqs/
  'Amazon Linux 2': '2026-06-30',
  // https://docs.aws.amazon.com/linux/al2023/ug/release-cadence.html
  'Amazon Linux 2023': '2029-06-30'
}

// One row per base image, as the runtimes page lists them.
// prettier-ignore
export const LAMBDA_BASE_IMAGES: readonly LambdaBaseImage[] = [
  // Node.js
  { runtime: 'nodejs24.x', label: 'Node.js 24', repository: 'nodejs', tag: '24', os: 'Amazon Linux 2023', endOfSupport: '2028-04-30' },
  { runtime: 'nodejs22.x', label: 'Node.js 22', repository: 'nodejs', tag: '22', os: 'Amazon Linux 2023', endOfSupport: '2027-04-30', successor: 'nodejs24.x' },
  { runtime: 'nodejs20.x', label: 'Node.js 20', repository: 'nodejs', tag: '20', os: 'Amazon Linux 2023', endOfSupport: '2026-04-30', successor: 'nodejs24.x' },
  { runtime: 'nodejs18.x', label: 'Node.js 18', repository: 'nodejs', tag: '18', os: 'Amazon Linux 2', endOfSupport: '2025-09-01', successor: 'nodejs24.x' },
  { runtime: 'nodejs16.x', label: 'Node.js 16', repository: 'nodejs', tag: '16', os: 'Amazon Linux 2', endOfSupport: '2024-06-12', successor: 'nodejs24.x' },
  { runtime: 'nodejs14.x', label: 'Node.js 14', repository: 'nodejs', tag: '14', os: 'Amazon Linux 2', endOfSupport: '2023-12-04', successor: 'nodejs24.x' },
  { runtime: 'nodejs12.x', label: 'Node.js 12', repository: 'nodejs', tag: '12', os: 'Amazon Linux 2', endOfSupport: '2023-03-31', successor: 'nodejs24.x' },
  // Python
  { runtime: 'python3.14', label: 'Python 3.14', repository: 'python', tag: '3.14', os: 'Amazon Linux 2023', endOfSupport: '2029-06-30' },
  { runtime: 'python3.13', label: 'Python 3.13', repository: 'python', tag: '3.13', os: 'Amazon Linux 2023', endOfSupport: '2029-06-30' },
  { runtime: 'python3.12', label: 'Python 3.12', repository: 'python', tag: '3.12', os: 'Amazon Linux 2023', endOfSupport: '2028-10-31', successor: 'python3.14' },
  { runtime: 'python3.11', label: 'Python 3.11', repository: 'python', tag: '3.11', os: 'Amazon Linux 2', endOfSupport: '2027-06-30', successor: 'python3.14' },
  { runtime: 'python3.10', label: 'Python 3.10', repository: 'python', tag: '3.10', os: 'Amazon Linux 2', endOfSupport: '2026-10-31', successor: 'python3.14' },
  { runtime: 'python3.9', label: 'Python 3.9', repository: 'python', tag: '3.9', os: 'Amazon Linux 2', endOfSupport: '2025-12-15', successor: 'python3.14' },
  { runtime: 'python3.8', label: 'Python 3.8', repository: 'python', tag: '3.8', os: 'Amazon Linux 2', endOfSupport: '2024-10-14', successor: 'python3.14' },
  { runtime: 'python3.7', label: 'Python 3.7', repository: 'python', tag: '3.7', os: 'Amazon Linux', endOfSupport: '2023-12-04', successor: 'python3.14' },
  // Java: 8, 11 and 17 also on Amazon Linux 2023 since 2026-07-31, under the tags N.al2023.
  { runtime: 'java25', label: 'Java 25', repository: 'java', tag: '25', os: 'Amazon Linux 2023', endOfSupport: '2029-06-30' },
  { runtime: 'java21', label: 'Java 21', repository: 'java', tag: '21', os: 'Amazon Linux 2023', endOfSupport: '2029-06-30' },
  { runtime: 'java17.al2023', label: 'Java 17 (AL2023)', repository: 'java', tag: '17.al2023', os: 'Amazon Linux 2023', endOfSupport: '2029-06-30' },
  { runtime: 'java11.al2023', label: 'Java 11 (AL2023)', repository: 'java', tag: '11.al2023', os: 'Amazon Linux 2023', endOfSupport: '2029-06-30' },
  { runtime: 'java8.al2023', label: 'Java 8 (AL2023)', repository: 'java', tag: '8.al2023', os: 'Amazon Linux 2023', endOfSupport: '2029-06-30' },
  { runtime: 'java17', label: 'Java 17', repository: 'java', tag: '17', os: 'Amazon Linux 2', endOfSupport: '2027-06-30', successor: 'java17.al2023' },
  { runtime: 'java11', label: 'Java 11', repository: 'java', tag: '11', os: 'Amazon Linux 2', endOfSupport: '2027-06-30', successor: 'java11.al2023' },
  { runtime: 'java8.al2', label: 'Java 8 (AL2)', repository: 'java', tag: '8.al2', os: 'Amazon Linux 2', endOfSupport: '2027-06-30', successor: 'java8.al2023' },
  { runtime: 'java8', label: 'Java 8', repository: 'java', tag: '8', os: 'Amazon Linux', endOfSupport: '2024-01-08', successor: 'java8.al2023' },
  // .NET
  { runtime: 'dotnet10', label: '.NET 10', repository: 'dotnet', tag: '10', os: 'Amazon Linux 2023', endOfSupport: '2028-11-14' },
  { runtime: 'dotnet9', label: '.NET 9 (container only)', repository: 'dotnet', tag: '9', os: 'Amazon Linux 2023', endOfSupport: '2026-11-10', successor: 'dotnet10' },
  { runtime: 'dotnet8', label: '.NET 8', repository: 'dotnet', tag: '8', os: 'Amazon Linux 2023', endOfSupport: '2026-11-10', successor: 'dotnet10' },
  { runtime: 'dotnet7', label: '.NET 7 (container only)', repository: 'dotnet', tag: '7', os: 'Amazon Linux 2', endOfSupport: '2024-05-14', successor: 'dotnet10' },
  { runtime: 'dotnet6', label: '.NET 6', repository: 'dotnet', tag: '6', os: 'Amazon Linux 2', endOfSupport: '2024-12-20', successor: 'dotnet10' },
  // Ruby
  { runtime: 'ruby3.4', label: 'Ruby 3.4', repository: 'ruby', tag: '3.4', os: 'Amazon Linux 2023', endOfSupport: '2028-03-31' },
  { runtime: 'ruby3.3', label: 'Ruby 3.3', repository: 'ruby', tag: '3.3', os: 'Amazon Linux 2023', endOfSupport: '2027-03-31', successor: 'ruby3.4' },
  { runtime: 'ruby3.2', label: 'Ruby 3.2', repository: 'ruby', tag: '3.2', os: 'Amazon Linux 2', endOfSupport: '2026-03-31', successor: 'ruby3.4' },
  { runtime: 'ruby2.7', label: 'Ruby 2.7', repository: 'ruby', tag: '2.7', os: 'Amazon Linux 2', endOfSupport: '2023-12-07', successor: 'ruby3.4' },
  // OS-only
  { runtime: 'provided.al2023', label: 'OS-only runtime (Amazon Linux 2023)', repository: 'provided', tag: 'al2023', os: 'Amazon Linux 2023', endOfSupport: '2029-06-30' },
  { runtime: 'provided.al2', label: 'OS-only runtime (Amazon Linux 2)', repository: 'provided', tag: 'al2', os: 'Amazon Linux 2', endOfSupport: '2026-07-31', successor: 'provided.al2023' },
  { runtime: 'provided', label: 'OS-only runtime (Amazon Linux)', repository: 'provided', tag: 'alami', os: 'Amazon Linux', endOfSupport: '2024-01-08', successor: 'provided.al2023' },
  { runtime: 'go1.x', label: 'Go 1.x', repository: 'go', tag: '1', os: 'Amazon Linux', endOfSupport: '2024-01-08', successor: 'provided.al2023' }
]
