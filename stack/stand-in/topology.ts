import { randomBytes } from 'node:crypto'
import topologyFile from '../topology.json' with { type: 'json' }

/**
 * The stand-in's world as stack/topology.json describes it: which access keys belong to which
 * account, which regions exist, and which registry host serves which (account, region).
 */

export interface Account {
  readonly id: string
  readonly accessKeyId: string
  readonly secretAccessKey: string
}

export interface RegistryEndpoint {
  readonly account: string
  readonly region: string
  /** The ECR hostname, e.g. 111111111111.dkr.ecr.us-east-1.amazonaws.com. */
  readonly host: string
  /** The loopback address the hosts file maps `host` to; connecting to it needs no DNS. */
  readonly ip?: string
  /** HTTPS port; default 443, as docker expects of a registry named without a port. */
  readonly port?: number
}

/** A policy document as topology.json holds it. */
export type PolicyObject = { readonly Statement?: unknown } & Record<string, unknown>

export interface Topology {
  readonly stateDir: string
  readonly partition: string
  readonly accounts: readonly Account[]
  readonly iam: {
    /** The IAM user each account's access key belongs to. */
    readonly userName: string
    /** Policy name → document: what every user and role carries until a test replaces it. */
    readonly defaultPolicies: Readonly<Record<string, PolicyObject>>
  }
  readonly regions: readonly string[]
  readonly ecrRegistries: readonly RegistryEndpoint[]
  readonly standIn: { readonly host: string; readonly port: number }
}

export const topology: Topology = topologyFile

/** Temporary credentials handed out by AssumeRole: a role session in an account. */
export interface Session extends Account {
  readonly roleName: string
  readonly sessionName: string
  /** What the caller must send as X-Amz-Security-Token with every request it signs. */
  readonly sessionToken: string
  /** Epoch ms. */
  readonly expiresAt: number
}

const sessions = new Map<string, Session>()

export function accountByAccessKey(accessKeyId: string): Account | Session | undefined {
  return (
    topology.accounts.find(account => account.accessKeyId === accessKeyId) ??
    sessions.get(accessKeyId)
  )
}

export function isSession(account: Account | Session): account is Session {
  return 'sessionToken' in account
}

/** Registers temporary credentials for a role session (STS AssumeRole); they sign like any other
 * key, together with their session token. */
export function addSession(
  account: string,
  roleName: string,
  sessionName: string,
  lifetimeMs: number
): Session {
  const session: Session = {
    id: account,
    // Temporary access keys start with ASIA (IAM "Unique identifiers").
    accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString('base64'),
    roleName,
    sessionName,
    sessionToken: randomBytes(48).toString('base64'),
    expiresAt: Date.now() + lifetimeMs
  }
  sessions.set(session.accessKeyId, session)
  return session
}

/** The IAM user ARN of an account's long-term key. */
export function userArn(account: string): string {
  return `arn:${topology.partition}:iam::${account}:user/${topology.iam.userName}`
}

export function roleArn(account: string, roleName: string): string {
  return `arn:${topology.partition}:iam::${account}:role/${roleName}`
}

export function isKnownAccount(account: string): boolean {
  return topology.accounts.some(candidate => candidate.id === account)
}

export function isKnownRegion(region: string): boolean {
  return topology.regions.includes(region)
}

/** The registry of one account in one region, or undefined when the topology has none. */
export function registryEndpoint(account: string, region: string): RegistryEndpoint | undefined {
  return topology.ecrRegistries.find(
    registry => registry.account === account && registry.region === region
  )
}

/** The ECR hostname of a registry, whether or not the topology runs a registry for it. */
export function registryHost(account: string, region: string): string {
  return registryEndpoint(account, region)?.host ?? `${account}.dkr.ecr.${region}.amazonaws.com`
}
