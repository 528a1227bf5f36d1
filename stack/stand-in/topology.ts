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

export interface Topology {
  readonly stateDir: string
  readonly partition: string
  readonly accounts: readonly Account[]
  readonly regions: readonly string[]
  readonly ecrRegistries: readonly RegistryEndpoint[]
  readonly standIn: { readonly host: string; readonly port: number }
}

export const topology: Topology = topologyFile

/** Temporary credentials handed out by AssumeRole: key id → the account they act in. */
const sessions = new Map<string, Account>()

export function accountByAccessKey(accessKeyId: string): Account | undefined {
  return (
    topology.accounts.find(account => account.accessKeyId === accessKeyId) ??
    sessions.get(accessKeyId)
  )
}

/** Registers temporary credentials for an account (STS AssumeRole); they sign like any other key. */
export function addSession(account: string): Account {
  const id = randomBytes(8).toString('hex').toUpperCase()
  const session = {
    id: account,
    accessKeyId: `ASIA${id}`,
    secretAccessKey: randomBytes(30).toString('base64')
  }
  sessions.set(session.accessKeyId, session)
  return session
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
